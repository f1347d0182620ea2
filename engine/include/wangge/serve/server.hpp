// The command centre's live map server (`wangge serve`): HTTP over Boost.Beast/Asio serving
// the page (apps/web), map tiles, the JSON/GeoJSON API, Open311 GeoReport v2 and a
// Server-Sent Events stream of changes to a workspace.
//
// Threads: `threads` I/O threads run every connection asynchronously (an idle /events client
// costs a socket and a small buffer, not a thread); as many worker threads do the work that
// may block (SQLite), and as many again draw map tiles (Mapnik), so a changed tile is never
// queued behind data requests. One watcher thread notices commits to the workspace by any
// process (SQLite's PRAGMA data_version) and publishes what changed.
//
// Safety: binds to what `listen` says (loopback by default); requests are bounded (header
// bytes and fields, body bytes); malformed requests get 400; paths are looked up in an
// in-memory table of the page's files, never on disk; every read and write has a deadline,
// so a slow client cannot hold a thread or stall other clients.
#pragma once

#include "wangge/loop/calendar.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace wangge::serve {

struct ServeOptions {
    std::string workspace;
    std::string listen = "127.0.0.1:8080"; // host:port; port 0 picks a free one
    std::string token;                     // bearer token for writes; "" = read-only server
    int threads = 2;                       // I/O threads, data workers, tile workers each
    std::string web_root;                  // the built page (apps/web/dist); "" = no page
    std::string cache_dir;                 // imagery tiles kept on disk here ("" = memory only)
    std::string style_dir;                 // "" = the default styles
    std::size_t cache_bytes = 256u << 20;  // in-memory tile cache bound
    int metatile = 4;                      // imagery tiles per side drawn in one go (1-16)
    // The server's clock: starts at this local time and runs on with the wall clock (to
    // show a sample workspace "live"); unset = the real local time (UTC+8).
    std::optional<loop::LocalTime> start_time;
    // Limits.
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_header_fields = 64;
    std::size_t max_body_bytes = 64 * 1024;
    std::size_t max_connections = 4096;
    int watch_interval_ms = 50; // how often the watcher asks SQLite for data_version
};

// Reads a token file: its first line, trimmed. Throws InputError when missing or empty.
[[nodiscard]] std::string read_token_file(const std::string& path);

class Server {
  public:
    // Opens the workspace (throws StoreError / DataError), loads the page and binds the
    // listening socket (throws InputError for a bad address, StoreError-free LibraryError
    // when the port is taken).
    explicit Server(ServeOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // The bound port (useful with port 0).
    [[nodiscard]] unsigned short port() const;
    // Serves until stop() or SIGTERM/SIGINT (when handle_signals), then drains: stops
    // accepting, finishes responses in flight, closes event streams, and returns.
    void run(bool handle_signals = true);
    // Thread-safe; may be called from a signal-free context such as a test.
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace wangge::serve
