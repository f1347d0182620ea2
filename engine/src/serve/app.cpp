// The server's front door: the page's files, routing, write authorisation, change events.
// The API's routes are in api_cells.cpp, api_matters.cpp and open311.cpp.
#include "app.hpp"

#include "api_support.hpp"
#include "tile_service.hpp"
#include "wangge/error.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace wangge::serve {

namespace fs = std::filesystem;

std::string etag_of(std::string_view bytes) {
    // FNV-1a 64: stable across runs, so a browser's cached copy stays valid after a restart.
    std::uint64_t h = 1469598103934665603ull;
    for (const unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
    return buf;
}

namespace {

std::string mime_of(const fs::path& p) {
    static const std::map<std::string, std::string> types{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".map", "application/json; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"}};
    const auto it = types.find(p.extension().string());
    return it == types.end() ? "application/octet-stream" : it->second;
}

} // namespace

StaticFiles load_static_files(const std::string& root) {
    StaticFiles files;
    if (root.empty()) return files;
    if (!fs::is_directory(root))
        throw InputError("the page folder does not exist (build it: ./dev build)", {.file = root});
    const auto base = fs::canonical(root);
    for (const auto& e : fs::recursive_directory_iterator(base)) {
        if (!e.is_regular_file() || e.is_symlink()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        StaticFile f;
        f.body = ss.str();
        f.content_type = mime_of(e.path());
        f.etag = etag_of(f.body);
        files["/" + fs::relative(e.path(), base).generic_string()] = std::move(f);
    }
    return files;
}

App::App(Live& live, EventHub& hub, StaticFiles files, std::string token, TileService* tiles,
         const std::string& style_dir)
    : m_live(live), m_hub(hub), m_files(std::move(files)), m_token(std::move(token)),
      m_tiles(tiles),
      m_palette(json(render::read_style_params(style_dir.empty() ? render::default_style_dir()
                                                                 : style_dir))
                    .dump()) {}

std::optional<Response> App::static_file(const Request& req) const {
    std::string path = req.path == "/" ? "/index.html" : req.path;
    const auto it = m_files.find(path);
    if (it == m_files.end()) return std::nullopt;
    const auto& f = it->second;
    Response r;
    r.content_type = f.content_type;
    r.headers.emplace_back("ETag", f.etag);
    // index.html names the bundle; everything is revalidated (cheap 304s).
    r.headers.emplace_back("Cache-Control", "no-cache");
    if (req.header("if-none-match") == f.etag) {
        r.status = 304;
        return r;
    }
    r.body = f.body;
    return r;
}

std::optional<Response> App::fast(const Request& req) {
    // No path may climb out of the page or tile roots: refuse any ".." segment outright
    // (the lookups below are in memory anyway).
    if (req.path.find("/..") != std::string::npos || req.path.find('\\') != std::string::npos)
        return json_error(400, "path escapes the served roots");
    if (req.method != "GET" && req.method != "HEAD" && req.method != "POST")
        return json_error(405, "method not allowed");
    if (req.path.starts_with("/tiles/") && m_tiles) return m_tiles->fast(req);
    if (req.method == "GET" || req.method == "HEAD")
        if (!req.path.starts_with("/api/") && !req.path.starts_with("/open311/") &&
            !req.path.starts_with("/tiles/")) {
            if (auto r = static_file(req)) return r;
            return not_found("no such page or file: " + req.path);
        }
    return std::nullopt;
}

Response App::handle(const Request& req) {
    try {
        return route(req);
    } catch (const std::exception& e) {
        return error_response(e);
    }
}

Response App::route(const Request& req) {
    if (req.path.starts_with("/api/")) return api(req);
    if (req.path.starts_with("/open311/")) return open311(req);
    if (req.path.starts_with("/tiles/") && m_tiles) return m_tiles->handle(req, m_live);
    return not_found("no such resource: " + req.path);
}

std::optional<Response> App::check_write(const Request& req, const std::string& form_key) const {
    if (m_token.empty())
        return json_error(403, "this server is read-only (start it with --token-file to allow "
                               "writes)");
    std::string given;
    const auto auth = req.header("authorization");
    if (auth.starts_with("Bearer ")) given = auth.substr(7);
    if (given.empty() && !form_key.empty()) given = form_key;
    if (given != m_token) {
        auto r = json_error(401, "writes need 'Authorization: Bearer <token>'");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"wangge\"");
        return r;
    }
    return std::nullopt;
}

Response App::api(const Request& req) {
    const std::string& p = req.path;
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (p == "/api/health" && get) {
        const auto snap = m_live.snapshot();
        return json_response({{"ok", true},
                              {"workspace", m_live.path()},
                              {"now", loop::format_time(m_live.now())},
                              {"snapshot", snap->version},
                              {"snapshot_at", loop::format_time(snap->at)},
                              {"matters", snap->records.size()},
                              {"last_event_id", m_hub.last_id()},
                              {"event_clients", m_hub.subscribers()},
                              {"writable", !m_token.empty()}});
    }
    if (auto r = places_api(req)) return std::move(*r);
    if (auto r = matters_api(req)) return std::move(*r);
    if (p == "/api/palette" && get) {
        Response r;
        r.body = m_palette;
        return r;
    }
    if (p == "/api/categories" && get) {
        json arr = json::array();
        for (const auto& c : m_live.catalogue().categories())
            arr.push_back({{"code", c.code}, {"name", c.name}, {"function", c.function}});
        return json_response(arr);
    }
    if (get || req.method == "POST") return not_found("no such API resource: " + p);
    return json_error(405, "method not allowed");
}

bool App::draws(const Request& req) const {
    return m_tiles && req.path.starts_with("/tiles/");
}

void App::warm() {
    if (m_tiles) m_tiles->warm(m_live);
}

void App::publish(const Change& change) {
    const auto& after = *change.after;
    if (change.grid_changed()) {
        // Every tile and outline may differ: drop the drawn overlay and let pages reload.
        if (m_tiles) m_tiles->expire_all();
        m_hub.publish("grid", json{{"version", after.version},
                                   {"grid_version", after.grid_version},
                                   {"at", loop::format_time(after.at)}}
                                  .dump());
        return;
    }
    json cells = json::array();
    for (const auto& code : change.cells)
        cells.push_back(
            {{"code", code}, {"status", render::to_string(cell_state(*after.status, code))}});
    json matters_json = json::array();
    for (const auto id : change.matters) {
        const auto it = after.by_id.find(id);
        if (it == after.by_id.end()) {
            matters_json.push_back({{"id", id}, {"removed", true}});
            continue;
        }
        const auto& r = after.records[it->second];
        const auto st = m_live.loop().status(r.incident, std::max(after.at, r.incident.updated_at));
        matters_json.push_back({{"id", id},
                                {"lon", r.lonlat.x},
                                {"lat", r.lonlat.y},
                                {"cell", r.cell},
                                {"state", loop::to_string(r.incident.state)},
                                {"status", loop::to_string(st)},
                                {"open", !loop::is_final(r.incident.state)}});
    }
    json tiles = json::array();
    if (m_tiles)
        for (const auto& t : m_tiles->expire(change, *m_live.map_data(after.grid_version)))
            tiles.push_back(t);
    m_hub.publish("change", json{{"version", after.version},
                                 {"build_ms", std::round(change.build_ms * 10) / 10},
                                 {"at", loop::format_time(after.at)},
                                 {"cells", std::move(cells)},
                                 {"matters", std::move(matters_json)},
                                 {"tiles", std::move(tiles)}}
                                .dump());
}

} // namespace wangge::serve
