// The HTTP layer of the server: Boost.Beast sessions over Asio, the event stream (SSE) and
// its replay log. Knows nothing of workspaces: a Handler turns a Request into a Response.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wangge::serve {

struct Request {
    std::string method; // "GET", "POST", ...
    std::string path;   // percent-decoded, without the query
    std::map<std::string, std::string> query;
    std::map<std::string, std::string> headers; // lower-case names
    std::string body;
    [[nodiscard]] std::string header(const std::string& lower_name) const {
        const auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
    [[nodiscard]] std::string param(const std::string& name) const {
        const auto it = query.find(name);
        return it == query.end() ? std::string() : it->second;
    }
};

struct Response {
    unsigned status = 200;
    std::string content_type = "application/json; charset=utf-8";
    std::string body;
    // Instead of body: bytes shared with a cache (a tile), sent without a copy. Immutable.
    std::shared_ptr<const std::string> shared_body;
    std::vector<std::pair<std::string, std::string>> headers;
};

[[nodiscard]] Response json_error(unsigned status, const std::string& message);

// Parses "/a%20b?x=1&y=2" into a decoded path and query. Returns nullopt for a malformed
// target (bad escape, NUL, not starting with '/').
[[nodiscard]] std::optional<std::pair<std::string, std::map<std::string, std::string>>>
parse_target(std::string_view target);

class Handler {
  public:
    virtual ~Handler() = default;
    // Answers cheap requests (cached tiles, the page) on the I/O thread; nullopt when the
    // request needs a worker.
    virtual std::optional<Response> fast(const Request& request) = 0;
    // Answers on a worker thread; may block (SQLite, rendering).
    virtual Response handle(const Request& request) = 0;
    // Requests handle() draws (map tiles) run on workers of their own, so a map waiting for
    // a changed tile never queues behind slower data requests (and the reverse).
    [[nodiscard]] virtual bool draws(const Request& /*request*/) const { return false; }
    // Runs once on every drawing worker before its first request (load per-thread state).
    virtual void warm() {}
};

// The replay log and fan-out of the event stream. Event ids grow by one; the last
// `capacity` events are kept so a client reconnecting with Last-Event-ID gets what it
// missed. Thread-safe.
class EventHub {
  public:
    explicit EventHub(std::size_t capacity = 4096) : m_capacity(capacity) {}
    struct Subscriber {
        virtual ~Subscriber() = default;
        virtual void push(std::shared_ptr<const std::string> frame) = 0;
        virtual void close() = 0;
    };
    // Publishes an event of type `type` with JSON `data`; returns its id.
    std::uint64_t publish(const std::string& type, const std::string& data);
    // Registers a subscriber and returns the frames it must send first: those after
    // `last_id`, or a "reset" frame when they are no longer kept (or last_id is unknown).
    std::vector<std::shared_ptr<const std::string>> subscribe(std::weak_ptr<Subscriber> s,
                                                              std::optional<std::uint64_t> last_id);
    [[nodiscard]] std::uint64_t last_id() const;
    [[nodiscard]] std::size_t subscribers() const;
    void close_all();

  private:
    mutable std::mutex m_mutex;
    std::size_t m_capacity;
    std::uint64_t m_next = 1;
    std::deque<std::pair<std::uint64_t, std::shared_ptr<const std::string>>> m_log;
    std::vector<std::weak_ptr<Subscriber>> m_subscribers;
};

struct HttpLimits {
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_header_fields = 64;
    std::size_t max_body_bytes = 64 * 1024;
    std::size_t max_connections = 4096;
};

// Accepts connections and runs sessions. `run` blocks on `threads` I/O threads until
// drain() has finished.
class HttpServer {
  public:
    HttpServer(const std::string& host, unsigned short port, HttpLimits limits, Handler& handler,
               EventHub& hub, int threads);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    [[nodiscard]] unsigned short port() const;
    // Runs the I/O and worker threads; returns after drain().
    void run(bool handle_signals);
    // Stops accepting, closes event streams, lets responses in flight finish. Thread-safe.
    void drain();

    struct Impl; // public so the sessions in http.cpp can name it

  private:
    std::shared_ptr<Impl> m_impl;
};

} // namespace wangge::serve
