// Tile math of the web map (XYZ, "slippy map") in spherical Mercator, EPSG:3857: tile ids,
// their bounds, lon/lat <-> tile, zoom ranges, metatiles. Pure functions, no Mapnik, no I/O;
// safe from any thread.
//
// Conventions: x grows east, y grows SOUTH from the top-left of the world (XYZ, as Google,
// OSM and Leaflet); MBTiles stores the TMS row, tms_row(t) = 2^z - 1 - y. A tile is 256 px.
#pragma once

#include "wangge/geo/geometry.hpp"

#include <compare>
#include <cstdint>
#include <string>

namespace wangge::tiles {

inline constexpr int max_zoom = 22;
inline constexpr int tile_px = 256;
// Half the width of the Mercator world in metres (pi * 6378137).
inline constexpr double world_half = 20037508.342789244;

struct TileId {
    int z = 0;
    int x = 0;
    int y = 0; // XYZ row, 0 at the top
    auto operator<=>(const TileId&) const = default;
};

// "z/x/y" (the line format of renderd's expiry tools and of our `tiles expire`).
[[nodiscard]] std::string to_string(const TileId& t);
// Parses "z/x/y"; throws InputError for anything else or a tile outside its zoom.
[[nodiscard]] TileId parse_tile(const std::string& text);

[[nodiscard]] inline int tms_row(const TileId& t) {
    return (1 << t.z) - 1 - t.y;
}
// Metres per pixel at zoom z (on the Mercator plane, not on the ground).
[[nodiscard]] double resolution(int z);
// Bounds of a tile in EPSG:3857 metres.
[[nodiscard]] geo::Box tile_bounds_3857(const TileId& t);
// Bounds of a tile in lon/lat degrees (minx = west, miny = south).
[[nodiscard]] geo::Box tile_bounds_lonlat(const TileId& t);
// The tile containing a point (EPSG:3857 metres or lon/lat), clamped to the world. A point on
// a tile edge belongs to the tile east / south of it.
[[nodiscard]] TileId tile_at_3857(geo::Point xy, int z);
[[nodiscard]] TileId tile_at_lonlat(geo::Point lonlat, int z);

// An inclusive zoom range, 0 <= min <= max <= max_zoom.
struct ZoomRange {
    int min = 0;
    int max = 0;
    [[nodiscard]] bool contains(int z) const noexcept { return z >= min && z <= max; }
};
// "8-18" or "12"; throws InputError ("--zoom ...") for a reversed range or one outside 0-22.
[[nodiscard]] ZoomRange parse_zoom_range(const std::string& text);

// A metatile: the block of size x size tiles (size = min(N, 2^z)) whose top-left tile is
// (x0, y0), with x0 and y0 multiples of size. Drawn in one Mapnik render.
struct MetaId {
    int z = 0;
    int x0 = 0;
    int y0 = 0;
    int size = 1;
    auto operator<=>(const MetaId&) const = default;
    [[nodiscard]] bool contains(const TileId& t) const noexcept {
        return t.z == z && t.x >= x0 && t.x < x0 + size && t.y >= y0 && t.y < y0 + size;
    }
};
// The metatile of n x n tiles (n: 1, 2, 4, 8 or 16) that contains t.
[[nodiscard]] MetaId metatile_of(const TileId& t, int n);
// Bounds of the metatile in EPSG:3857, grown by buffer_px pixels on every side.
[[nodiscard]] geo::Box metatile_bounds_3857(const MetaId& m, int buffer_px);

} // namespace wangge::tiles
