// Plain geometry values used across the engine. They own their coordinates, copy like
// values and know nothing of GDAL or GEOS; geo/gdal.hpp and geo/geos.hpp convert them.
// Rings are closed (first point == last point). Polygon::rings[0] is the shell, the rest
// are holes. Orientation is not normalised on input; use normalise_orientation() where a
// consumer needs it (shell counter-clockwise, holes clockwise).
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace wangge::geo {

struct Point {
    double x = 0;
    double y = 0;
    friend bool operator==(const Point&, const Point&) = default;
};

using Ring = std::vector<Point>;

struct Polygon {
    std::vector<Ring> rings;
    friend bool operator==(const Polygon&, const Polygon&) = default;
};

struct MultiPolygon {
    std::vector<Polygon> polygons;
    [[nodiscard]] bool empty() const noexcept { return polygons.empty(); }
    friend bool operator==(const MultiPolygon&, const MultiPolygon&) = default;
};

struct Box {
    double minx = std::numeric_limits<double>::infinity();
    double miny = std::numeric_limits<double>::infinity();
    double maxx = -std::numeric_limits<double>::infinity();
    double maxy = -std::numeric_limits<double>::infinity();

    [[nodiscard]] bool valid() const noexcept { return minx <= maxx && miny <= maxy; }
    void expand(const Point& p) noexcept {
        if (p.x < minx) minx = p.x;
        if (p.y < miny) miny = p.y;
        if (p.x > maxx) maxx = p.x;
        if (p.y > maxy) maxy = p.y;
    }
    void expand(const Box& b) noexcept {
        if (!b.valid()) return;
        expand(Point{b.minx, b.miny});
        expand(Point{b.maxx, b.maxy});
    }
    [[nodiscard]] bool contains(const Point& p) const noexcept {
        return p.x >= minx && p.x <= maxx && p.y >= miny && p.y <= maxy;
    }
    [[nodiscard]] bool intersects(const Box& b) const noexcept {
        return minx <= b.maxx && b.minx <= maxx && miny <= b.maxy && b.miny <= maxy;
    }
};

[[nodiscard]] Box bounds(const Ring& ring);
[[nodiscard]] Box bounds(const MultiPolygon& mp);

// Signed shoelace area of a closed ring: positive when counter-clockwise.
[[nodiscard]] double signed_area(const Ring& ring);
// Planar area (shell minus holes) in the units of the coordinates squared.
[[nodiscard]] double planar_area(const Polygon& polygon);
[[nodiscard]] double planar_area(const MultiPolygon& mp);
[[nodiscard]] std::size_t vertex_count(const MultiPolygon& mp);

// Shells counter-clockwise, holes clockwise (the OGC/GeoJSON convention).
void normalise_orientation(MultiPolygon& mp);

// Apply f to every coordinate in place (used to reproject with a geo::Transformer).
template <class F> void for_each_point(MultiPolygon& mp, F&& f) {
    for (auto& poly : mp.polygons)
        for (auto& ring : poly.rings)
            for (auto& p : ring)
                f(p);
}

// ISO WKB (little endian, 2D) of a MultiPolygon, and its reader, which also accepts a
// Polygon. The reader throws InputError on anything else.
[[nodiscard]] std::vector<std::uint8_t> to_wkb(const MultiPolygon& mp);
[[nodiscard]] MultiPolygon multipolygon_from_wkb(std::span<const std::uint8_t> wkb);

} // namespace wangge::geo
