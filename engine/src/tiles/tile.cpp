// Tile math (XYZ over EPSG:3857). No Mapnik.
#include "wangge/tiles/tile.hpp"

#include "wangge/error.hpp"
#include "wangge/render/renderer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace wangge::tiles {

namespace {

int parse_int(std::string_view text, const std::string& what) {
    int v = 0;
    const auto* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, v);
    if (text.empty() || r.ec != std::errc() || r.ptr != end)
        throw InputError(what + ": not a whole number: '" + std::string(text) + "'");
    return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i)
        if (i == s.size() || s[i] == sep) {
            out.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    return out;
}

} // namespace

std::string to_string(const TileId& t) {
    return std::to_string(t.z) + "/" + std::to_string(t.x) + "/" + std::to_string(t.y);
}

TileId parse_tile(const std::string& text) {
    const auto parts = split(text, '/');
    if (parts.size() != 3) throw InputError("a tile is z/x/y: '" + text + "'");
    TileId t{parse_int(parts[0], "tile zoom"), parse_int(parts[1], "tile column"),
             parse_int(parts[2], "tile row")};
    if (t.z < 0 || t.z > max_zoom) throw InputError("tile zoom outside 0-22: '" + text + "'");
    const int n = 1 << t.z;
    if (t.x < 0 || t.x >= n || t.y < 0 || t.y >= n)
        throw InputError("tile outside its zoom's 0-" + std::to_string(n - 1) + ": '" + text + "'");
    return t;
}

double resolution(int z) {
    return 2 * world_half / (tile_px * std::ldexp(1.0, z));
}

geo::Box tile_bounds_3857(const TileId& t) {
    const double size = 2 * world_half / std::ldexp(1.0, t.z);
    const double minx = -world_half + t.x * size;
    const double maxy = world_half - t.y * size;
    return {minx, maxy - size, minx + size, maxy};
}

geo::Box tile_bounds_lonlat(const TileId& t) {
    const auto b = tile_bounds_3857(t);
    const auto sw = render::mercator_to_lonlat({b.minx, b.miny});
    const auto ne = render::mercator_to_lonlat({b.maxx, b.maxy});
    return {sw.x, sw.y, ne.x, ne.y};
}

TileId tile_at_3857(geo::Point xy, int z) {
    const int n = 1 << z;
    const double size = 2 * world_half / n;
    const auto clamp = [n](double v) {
        return static_cast<int>(std::clamp(std::floor(v), 0.0, static_cast<double>(n - 1)));
    };
    return {z, clamp((xy.x + world_half) / size), clamp((world_half - xy.y) / size)};
}

TileId tile_at_lonlat(geo::Point lonlat, int z) {
    return tile_at_3857(render::lonlat_to_3857(lonlat), z);
}

ZoomRange parse_zoom_range(const std::string& text) {
    const auto parts = split(text, '-');
    if (parts.empty() || parts.size() > 2)
        throw InputError("--zoom takes MIN-MAX or one zoom, e.g. 8-18: '" + text + "'");
    ZoomRange r;
    r.min = parse_int(parts[0], "--zoom");
    r.max = parts.size() == 2 ? parse_int(parts[1], "--zoom") : r.min;
    if (r.min < 0 || r.max > max_zoom || r.min > max_zoom || r.max < 0)
        throw InputError("--zoom must lie within 0-22: '" + text + "'");
    if (r.min > r.max) throw InputError("--zoom is reversed (MIN-MAX): '" + text + "'");
    return r;
}

MetaId metatile_of(const TileId& t, int n) {
    if (n != 1 && n != 2 && n != 4 && n != 8 && n != 16)
        throw InputError("metatile size must be 1, 2, 4, 8 or 16, not " + std::to_string(n));
    const int size = std::min(n, 1 << t.z);
    return {t.z, t.x / size * size, t.y / size * size, size};
}

geo::Box metatile_bounds_3857(const MetaId& m, int buffer_px) {
    const auto tl = tile_bounds_3857({m.z, m.x0, m.y0});
    const auto br = tile_bounds_3857({m.z, m.x0 + m.size - 1, m.y0 + m.size - 1});
    const double pad = buffer_px * resolution(m.z);
    return {tl.minx - pad, br.miny - pad, br.maxx + pad, tl.maxy + pad};
}

} // namespace wangge::tiles
