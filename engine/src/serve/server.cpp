#include "wangge/serve/server.hpp"

#include "app.hpp"
#include "http.hpp"
#include "live.hpp"
#include "tile_service.hpp"
#include "wangge/error.hpp"

#include <charconv>
#include <fstream>

namespace wangge::serve {

std::string read_token_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw InputError("cannot read the token file", {.file = path});
    std::string line;
    std::getline(in, line);
    const auto b = line.find_first_not_of(" \t\r\n");
    const auto e = line.find_last_not_of(" \t\r\n");
    if (b == std::string::npos)
        throw InputError("the token file's first line is empty", {.file = path});
    return line.substr(b, e - b + 1);
}

namespace {

std::pair<std::string, unsigned short> split_listen(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) throw InputError("--listen: '" + listen + "' is not host:port");
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const auto port_text = listen.substr(colon + 1);
    unsigned v = 0;
    const auto r = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
    if (port_text.empty() || r.ec != std::errc() || r.ptr != port_text.data() + port_text.size() ||
        v > 65535)
        throw InputError("--listen: '" + port_text + "' is not a port number");
    return {host, static_cast<unsigned short>(v)};
}

TileServiceOptions tile_options(const ServeOptions& o) {
    TileServiceOptions t;
    t.tiles.metatile = o.metatile;
    t.tiles.style_dir = o.style_dir;
    t.cache_bytes = o.cache_bytes;
    t.cache_dir = o.cache_dir;
    return t;
}

} // namespace

struct Server::Impl {
    explicit Impl(ServeOptions o)
        : options(std::move(o)),
          live(options.workspace, ServerClock(options.start_time), options.watch_interval_ms),
          // The served version's map data, read once through Live's open workspace (Live
          // keeps it for expiry; no second GDAL open of the file).
          tiles(live.map_data(live.grid_version()), tile_options(options)),
          app(live, hub, load_static_files(options.web_root), options.token, &tiles,
              options.style_dir),
          http(split_listen(options.listen).first, split_listen(options.listen).second,
               HttpLimits{options.max_header_bytes, options.max_header_fields,
                          options.max_body_bytes, options.max_connections},
               app, hub, options.threads) {}
    ServeOptions options;
    EventHub hub;
    Live live;
    TileService tiles;
    App app;
    HttpServer http;
};

Server::Server(ServeOptions options) : m_impl(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() = default;

unsigned short Server::port() const {
    return m_impl->http.port();
}

void Server::run(bool handle_signals) {
    m_impl->live.start([this](const Change& c) { m_impl->app.publish(c); });
    m_impl->http.run(handle_signals);
    m_impl->live.stop();
}

void Server::stop() {
    m_impl->http.drain();
}

} // namespace wangge::serve
