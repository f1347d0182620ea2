#include "tile_service.hpp"

#include "app.hpp"
#include "wangge/error.hpp"
#include "wangge/tiles/plan.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace wangge::serve {

namespace fs = std::filesystem;

namespace {

std::optional<int> small_int(std::string_view s) {
    int v = 0;
    const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || s.size() > 8 || r.ec != std::errc() || r.ptr != s.data() + s.size())
        return std::nullopt;
    return v;
}

const char* cache_control(tiles::Layer layer) {
    // Imagery never changes while served; an overlay tile changes with the matters, so the
    // browser revalidates it (a 304 when unchanged).
    return layer == tiles::Layer::imagery ? "public, max-age=86400" : "no-cache";
}

tiles::TileOptions single_tile(tiles::TileOptions o) {
    o.metatile = 1;
    return o;
}

} // namespace

TileService::TileService(std::shared_ptr<const render::MapData> data, TileServiceOptions options)
    : m_data(data), m_options(std::move(options)), m_source(data, m_options.tiles),
      m_single(data, single_tile(m_options.tiles)) {
    const auto b = data->grid_3857().bounds();
    const auto sw = render::mercator_to_lonlat({b.minx, b.miny});
    const auto ne = render::mercator_to_lonlat({b.maxx, b.maxy});
    m_lonlat = {sw.x, sw.y, ne.x, ne.y};
    if (!m_options.cache_dir.empty()) fs::create_directories(m_options.cache_dir);
}

tiles::TileSource& TileService::overlay_at(Live& live, loop::LocalTime at) {
    return overlay_of(live, live.version_at(at));
}

tiles::TileSource& TileService::overlay_of(Live& live, int version) {
    if (version == live.grid_version()) return m_single;
    std::lock_guard lock(m_past_mutex);
    auto& source = m_past[version];
    if (!source)
        source = std::make_unique<tiles::TileSource>(live.map_data(version),
                                                     single_tile(m_options.tiles));
    return *source;
}

std::variant<TileService::Parsed, Response> TileService::parse(const Request& req) const {
    // /tiles/{layer}.json or /tiles/{layer}/{z}/{x}/{y}.{ext}
    std::string_view p = req.path;
    p.remove_prefix(7); // "/tiles/"
    Parsed out;
    const auto layer_of = [&](std::string_view name) -> std::optional<tiles::Layer> {
        if (name == "imagery") return tiles::Layer::imagery;
        if (name == "overlay") return tiles::Layer::overlay;
        return std::nullopt;
    };
    if (p.find('/') == std::string_view::npos) {
        if (!p.ends_with(".json")) return json_error(404, "no such tile layer");
        const auto l = layer_of(p.substr(0, p.size() - 5));
        if (!l) return json_error(404, "no such tile layer (imagery, overlay)");
        out.tilejson = true;
        out.layer = *l;
        return out;
    }
    std::vector<std::string_view> parts;
    while (!p.empty()) {
        const auto slash = p.find('/');
        parts.push_back(p.substr(0, slash));
        if (slash == std::string_view::npos) break;
        p.remove_prefix(slash + 1);
    }
    if (parts.size() != 4) return json_error(404, "tiles are /tiles/{layer}/{z}/{x}/{y}.{ext}");
    const auto l = layer_of(parts[0]);
    if (!l) return json_error(404, "no such tile layer (imagery, overlay)");
    const auto dot = parts[3].find('.');
    if (dot == std::string_view::npos) return json_error(404, "a tile needs its extension");
    const auto ext = parts[3].substr(dot + 1);
    if ((*l == tiles::Layer::imagery && ext != "jpg") ||
        (*l == tiles::Layer::overlay && ext != "png"))
        return json_error(404, "imagery tiles are .jpg, overlay tiles .png");
    const auto z = small_int(parts[1]), x = small_int(parts[2]),
               y = small_int(parts[3].substr(0, dot));
    if (!z || !x || !y) return json_error(400, "tile z, x and y must be integers");
    if (*z < 0 || *z > tiles::max_zoom || *x < 0 || *y < 0 || *x >= (1 << *z) || *y >= (1 << *z))
        return json_error(404, "no such tile: " + std::to_string(*z) + "/" + std::to_string(*x) +
                                   "/" + std::to_string(*y));
    if (!m_options.zoom.contains(*z))
        return json_error(404, "zoom " + std::to_string(*z) + " is not served (" +
                                   std::to_string(m_options.zoom.min) + "-" +
                                   std::to_string(m_options.zoom.max) + ")");
    out.layer = *l;
    out.tile = {*z, *x, *y};
    return out;
}

Response TileService::tilejson(const Request& req, tiles::Layer layer) const {
    auto host = req.header("host");
    if (host.empty() || host.find_first_of(" /\\\"<>") != std::string::npos) host = "127.0.0.1";
    const bool imagery = layer == tiles::Layer::imagery;
    const auto ext = imagery ? "jpg" : "png";
    const auto& img = m_data->imagery();
    std::string attribution = img ? img->attribution : "";
    if (!m_data->generated_notice().empty())
        attribution += (attribution.empty() ? "" : "; ") + m_data->generated_notice();
    nlohmann::ordered_json j{
        {"tilejson", "3.0.0"},
        {"name", std::string(m_data->area_name()) + (imagery ? " imagery" : " status overlay")},
        {"description", imagery ? "satellite imagery (never changes while served)"
                                : "cells coloured by the state of their open matters, "
                                  "boundaries, labels and pins; refetch the tiles listed by "
                                  "/events"},
        {"version", "1.0.0"},
        {"attribution", attribution},
        {"scheme", "xyz"},
        {"tiles",
         {"http://" + host + "/tiles/" + std::string(tiles::to_string(layer)) + "/{z}/{x}/{y}." +
          ext}},
        {"minzoom", m_options.zoom.min},
        {"maxzoom", m_options.zoom.max},
        {"bounds", {m_lonlat.minx, m_lonlat.miny, m_lonlat.maxx, m_lonlat.maxy}},
        {"center",
         {(m_lonlat.minx + m_lonlat.maxx) / 2, (m_lonlat.miny + m_lonlat.maxy) / 2,
          std::min(m_options.zoom.max, std::max(m_options.zoom.min, 11))}}};
    if (!imagery) j["vector_layers"] = nlohmann::ordered_json::array();
    Response r;
    r.body = j.dump();
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
}

Response TileService::reply(const Request& req, tiles::Layer layer, const EntryPtr& e) const {
    Response r;
    r.content_type = layer == tiles::Layer::imagery ? "image/jpeg" : "image/png";
    r.headers.emplace_back("ETag", e->etag);
    r.headers.emplace_back("Cache-Control", cache_control(layer));
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
    if (req.header("if-none-match") == e->etag) {
        r.status = 304;
        return r;
    }
    r.shared_body = std::shared_ptr<const std::string>(e, &e->bytes); // no copy
    return r;
}

TileService::EntryPtr TileService::lookup(const Key& key) {
    std::lock_guard lock(m_mutex);
    const auto it = m_cache.find(key);
    if (it == m_cache.end()) return nullptr;
    m_lru.splice(m_lru.begin(), m_lru, it->second.second);
    return it->second.first;
}

void TileService::insert(const Key& key, EntryPtr e) {
    std::lock_guard lock(m_mutex);
    const auto size = e->bytes.size() + 64;
    if (const auto it = m_cache.find(key); it != m_cache.end()) {
        m_bytes -= it->second.first->bytes.size() + 64;
        m_lru.erase(it->second.second);
        m_cache.erase(it);
    }
    m_lru.push_front(key);
    m_cache.emplace(key, std::pair{std::move(e), m_lru.begin()});
    m_bytes += size;
    while (m_bytes > m_options.cache_bytes && !m_lru.empty()) {
        const auto it = m_cache.find(m_lru.back());
        m_bytes -= it->second.first->bytes.size() + 64;
        m_cache.erase(it);
        m_lru.pop_back();
    }
}

TileService::EntryPtr TileService::from_disk(const Key& key) const {
    if (m_options.cache_dir.empty() || key.layer != tiles::Layer::imagery) return nullptr;
    const auto path =
        fs::path(m_options.cache_dir) / "imagery" / (tiles::to_string(key.tile) + ".jpg");
    std::ifstream in(path, std::ios::binary);
    if (!in) return nullptr;
    std::stringstream ss;
    ss << in.rdbuf();
    auto e = std::make_shared<Entry>();
    e->bytes = ss.str();
    e->etag = etag_of(e->bytes);
    return e;
}

void TileService::to_disk(const Key& key, const std::string& bytes) const {
    if (m_options.cache_dir.empty() || key.layer != tiles::Layer::imagery) return;
    const auto path =
        fs::path(m_options.cache_dir) / "imagery" / (tiles::to_string(key.tile) + ".jpg");
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    // Written whole, then renamed: a crash never leaves half a tile.
    const auto tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) return;
    }
    fs::rename(tmp, path, ec);
}

std::optional<Response> TileService::fast(const Request& req) {
    if (req.method != "GET" && req.method != "HEAD") return json_error(405, "tiles are read-only");
    auto parsed = parse(req);
    if (auto* r = std::get_if<Response>(&parsed)) return std::move(*r);
    const auto& p = std::get<Parsed>(parsed);
    if (p.tilejson) return tilejson(req, p.layer);
    if (!req.param("at").empty() && p.layer == tiles::Layer::overlay) return std::nullopt;
    if (auto e = lookup({p.layer, p.tile})) {
        ++m_hits;
        return reply(req, p.layer, e);
    }
    return std::nullopt;
}

Response TileService::handle(const Request& req, Live& live) {
    auto parsed = parse(req);
    if (auto* r = std::get_if<Response>(&parsed)) return std::move(*r);
    const auto p = std::get<Parsed>(parsed);
    const auto format = p.layer == tiles::Layer::imagery ? tiles::Format::jpeg : tiles::Format::png;
    if (p.layer == tiles::Layer::overlay && !req.param("at").empty()) {
        // A past moment (the page's time slider): drawn for this request, not cached.
        loop::LocalTime at;
        try {
            at = loop::parse_time(req.param("at"));
        } catch (const Error& e) {
            return json_error(400, "at: " + e.message());
        }
        const auto status = live.status_at(at);
        auto e = std::make_shared<Entry>();
        e->bytes = overlay_at(live, at).tile(p.tile, p.layer, format, status);
        e->etag = etag_of(e->bytes);
        return reply(req, p.layer, e);
    }
    const Key key{p.layer, p.tile};
    // Every overlay source draws metatiles of one tile (single_tile), whatever its grid.
    const auto meta = tiles::metatile_of(p.tile, source_of(p.layer).options().metatile);
    const auto flight = std::pair{p.layer, meta};
    for (;;) {
        if (auto e = lookup(key)) {
            ++m_hits;
            return reply(req, p.layer, e);
        }
        if (auto e = from_disk(key)) {
            insert(key, e);
            return reply(req, p.layer, e);
        }
        std::unique_lock lock(m_mutex);
        if (!m_in_flight.contains(flight)) {
            m_in_flight.insert(flight);
            break;
        }
        // Someone draws this metatile already: wait for it rather than draw it twice.
        m_done.wait(lock, [&] { return !m_in_flight.contains(flight); });
    }
    ++m_misses;
    ++m_metatiles;
    const auto epoch = m_epoch.load();
    const auto snap = live.snapshot();
    // The overlay of the grid in force now (after a publish took effect: not the one served
    // from the start).
    auto& source =
        p.layer == tiles::Layer::imagery ? m_source : overlay_of(live, snap->grid_version);
    EntryPtr mine;
    try {
        auto result = source.metatile(p.tile, p.layer, format, *snap->status);
        // Tiles drawn from a status an expiry has since overtaken are served, not kept.
        const bool keep = p.layer == tiles::Layer::imagery || m_epoch.load() == epoch;
        for (auto& t : result.tiles) {
            auto e = std::make_shared<Entry>();
            e->etag = etag_of(t.bytes);
            e->bytes = std::move(t.bytes);
            const Key k{p.layer, t.id};
            if (t.id == p.tile) mine = e;
            to_disk(k, e->bytes);
            if (keep) insert(k, std::move(e));
        }
    } catch (...) {
        std::lock_guard lock(m_mutex);
        m_in_flight.erase(flight);
        m_done.notify_all();
        throw;
    }
    {
        std::lock_guard lock(m_mutex);
        m_in_flight.erase(flight);
    }
    m_done.notify_all();
    if (!mine) return json_error(500, "the metatile did not hold its tile");
    return reply(req, p.layer, mine);
}

void TileService::warm(Live& live) {
    // The tile at the middle of the grid at the served zoom nearest 14.
    const auto b = m_data->grid_3857().bounds();
    const int z = std::clamp(14, m_options.zoom.min, m_options.zoom.max);
    const auto t = tiles::tile_at_3857({(b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2}, z);
    const auto snap = live.snapshot();
    (void)m_single.tile(t, tiles::Layer::overlay, tiles::Format::png, *snap->status);
    (void)m_source.tile(t, tiles::Layer::imagery, tiles::Format::jpeg, *snap->status);
}

std::vector<std::string> TileService::expire(const Change& change, const render::MapData& data) {
    ++m_epoch;
    std::vector<tiles::TileId> list;
    if (change.before)
        list = tiles::expired_tiles(
            data, tiles::diff_status(*change.before->status, *change.after->status),
            m_options.zoom);
    std::vector<std::string> out;
    out.reserve(list.size());
    {
        std::lock_guard lock(m_mutex);
        for (const auto& t : list) {
            const auto it = m_cache.find({tiles::Layer::overlay, t});
            if (it != m_cache.end()) {
                m_bytes -= it->second.first->bytes.size() + 64;
                m_lru.erase(it->second.second);
                m_cache.erase(it);
            }
            out.push_back(tiles::to_string(t));
        }
    }
    ++m_epoch; // renders that began before the removal must not put old tiles back
    return out;
}

void TileService::expire_all() {
    ++m_epoch;
    {
        std::lock_guard lock(m_mutex);
        for (auto it = m_cache.begin(); it != m_cache.end();) {
            if (it->first.layer != tiles::Layer::overlay) {
                ++it;
                continue;
            }
            m_bytes -= it->second.first->bytes.size() + 64;
            m_lru.erase(it->second.second);
            it = m_cache.erase(it);
        }
    }
    ++m_epoch; // renders that began before the removal must not put old tiles back
}

TileService::Stats TileService::stats() const {
    std::lock_guard lock(m_mutex);
    return {m_cache.size(), m_bytes, m_hits.load(), m_misses.load(), m_metatiles.load()};
}

} // namespace wangge::serve
