#include "wangge/geo/geometry.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace wangge::geo {

Box bounds(const Ring& ring) {
    Box b;
    for (const auto& p : ring)
        b.expand(p);
    return b;
}

Box bounds(const MultiPolygon& mp) {
    Box b;
    for (const auto& poly : mp.polygons)
        if (!poly.rings.empty()) b.expand(bounds(poly.rings.front()));
    return b;
}

double signed_area(const Ring& ring) {
    if (ring.size() < 4) return 0.0;
    // Shift to the first point to keep the products small (lon/lat or 7-digit metres).
    const double ox = ring[0].x, oy = ring[0].y;
    double sum = 0.0;
    for (std::size_t i = 0; i + 1 < ring.size(); ++i) {
        const double x0 = ring[i].x - ox, y0 = ring[i].y - oy;
        const double x1 = ring[i + 1].x - ox, y1 = ring[i + 1].y - oy;
        sum += x0 * y1 - x1 * y0;
    }
    return sum / 2.0;
}

double planar_area(const Polygon& polygon) {
    double a = 0.0;
    for (std::size_t i = 0; i < polygon.rings.size(); ++i) {
        const double r = std::abs(signed_area(polygon.rings[i]));
        a += i == 0 ? r : -r;
    }
    return a;
}

double planar_area(const MultiPolygon& mp) {
    double a = 0.0;
    for (const auto& p : mp.polygons)
        a += planar_area(p);
    return a;
}

std::size_t vertex_count(const MultiPolygon& mp) {
    std::size_t n = 0;
    for (const auto& poly : mp.polygons)
        for (const auto& ring : poly.rings)
            n += ring.size();
    return n;
}

void normalise_orientation(MultiPolygon& mp) {
    for (auto& poly : mp.polygons)
        for (std::size_t i = 0; i < poly.rings.size(); ++i) {
            const bool ccw = signed_area(poly.rings[i]) > 0;
            const bool want_ccw = i == 0;
            if (ccw != want_ccw) std::reverse(poly.rings[i].begin(), poly.rings[i].end());
        }
}

namespace {

constexpr std::uint32_t wkb_polygon = 3;
constexpr std::uint32_t wkb_multipolygon = 6;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
    std::uint8_t b[4];
    std::memcpy(b, &v, 4); // the engine only builds on little-endian hosts (x86_64, arm64)
    out.insert(out.end(), b, b + 4);
}

void put_f64(std::vector<std::uint8_t>& out, double v) {
    std::uint8_t b[8];
    std::memcpy(b, &v, 8);
    out.insert(out.end(), b, b + 8);
}

void put_polygon(std::vector<std::uint8_t>& out, const Polygon& poly) {
    out.push_back(1);
    put_u32(out, wkb_polygon);
    put_u32(out, static_cast<std::uint32_t>(poly.rings.size()));
    for (const auto& ring : poly.rings) {
        put_u32(out, static_cast<std::uint32_t>(ring.size()));
        for (const auto& p : ring) {
            put_f64(out, p.x);
            put_f64(out, p.y);
        }
    }
}

class WkbReader {
  public:
    explicit WkbReader(std::span<const std::uint8_t> data) : m_data(data) {}

    MultiPolygon read() {
        MultiPolygon mp;
        const auto type = header();
        if (type == wkb_polygon) {
            mp.polygons.push_back(polygon_body());
        } else if (type == wkb_multipolygon) {
            const auto n = u32();
            mp.polygons.reserve(n);
            for (std::uint32_t i = 0; i < n; ++i) {
                if (header() != wkb_polygon)
                    throw InputError("WKB: multipolygon part is not a polygon");
                mp.polygons.push_back(polygon_body());
            }
        } else {
            throw InputError("WKB: geometry type " + std::to_string(type) +
                             " is not a polygon or multipolygon");
        }
        return mp;
    }

  private:
    std::uint32_t header() {
        const auto order = byte();
        m_swap = order == 0;
        auto type = u32();
        // Z/M variants (ISO 1000s and EWKB flags) are not accepted: cells are 2D.
        if (type >= 1000 || (type & 0xE0000000u) != 0)
            throw InputError("WKB: only 2D geometries are accepted");
        return type;
    }
    Polygon polygon_body() {
        Polygon poly;
        const auto nrings = u32();
        poly.rings.resize(nrings);
        for (auto& ring : poly.rings) {
            const auto npts = u32();
            need(static_cast<std::size_t>(npts) * 16);
            ring.resize(npts);
            for (auto& p : ring) {
                p.x = f64();
                p.y = f64();
            }
        }
        return poly;
    }
    void need(std::size_t n) const {
        if (m_pos + n > m_data.size()) throw InputError("WKB: truncated geometry");
    }
    std::uint8_t byte() {
        need(1);
        return m_data[m_pos++];
    }
    std::uint32_t u32() {
        need(4);
        std::uint8_t b[4];
        std::memcpy(b, m_data.data() + m_pos, 4);
        if (m_swap) std::reverse(b, b + 4);
        m_pos += 4;
        std::uint32_t v;
        std::memcpy(&v, b, 4);
        return v;
    }
    double f64() {
        need(8);
        std::uint8_t b[8];
        std::memcpy(b, m_data.data() + m_pos, 8);
        if (m_swap) std::reverse(b, b + 8);
        m_pos += 8;
        double v;
        std::memcpy(&v, b, 8);
        return v;
    }

    std::span<const std::uint8_t> m_data;
    std::size_t m_pos = 0;
    bool m_swap = false;
};

} // namespace

std::vector<std::uint8_t> to_wkb(const MultiPolygon& mp) {
    std::vector<std::uint8_t> out;
    out.reserve(9 + vertex_count(mp) * 16 + mp.polygons.size() * 16);
    out.push_back(1);
    put_u32(out, wkb_multipolygon);
    put_u32(out, static_cast<std::uint32_t>(mp.polygons.size()));
    for (const auto& poly : mp.polygons)
        put_polygon(out, poly);
    return out;
}

MultiPolygon multipolygon_from_wkb(std::span<const std::uint8_t> wkb) {
    return WkbReader(wkb).read();
}

} // namespace wangge::geo
