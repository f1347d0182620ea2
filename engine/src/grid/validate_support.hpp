// The coverage validator's building blocks (private to the engine): measuring in metres
// (an interpolated Jacobian), a uniform grid over boxes, GEOS helpers and the shared-edge
// hash index. Used by the Validator (validator.hpp) in validate*.cpp.
#pragma once

#include "validate_geometry.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/box_index.hpp"
#include "wangge/geo/geometry.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/grid/validate.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <geos_c.h>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wangge::grid::detail {

using geo::Box;
using geo::MultiPolygon;
using geo::Point;
using geo::Polygon;
using geo::Ring;

inline constexpr double pi = 3.14159265358979323846;

inline double sq(double v) {
    return v * v;
}

inline bool is_areal(IssueType t) {
    return t == IssueType::overlap || t == IssueType::gap || t == IssueType::sliver ||
           t == IssueType::outside_boundary || t == IssueType::not_nested;
}

inline std::string format(const char* fmt, double a) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, a);
    return buf;
}

inline std::string join(const std::vector<std::string>& items, const char* sep) {
    std::string out;
    for (const auto& s : items)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

// ---- measuring in metres ----------------------------------------------------------------

// The Jacobian of lon/lat -> metric CRS at a point.
struct Jacobian {
    double xx = 0, xy = 0, yx = 0, yy = 0; // dX/dlon, dX/dlat, dY/dlon, dY/dlat
    [[nodiscard]] double det() const { return std::abs(xx * yy - xy * yx); }
    [[nodiscard]] double length(double dlon, double dlat) const {
        const double x = xx * dlon + xy * dlat, y = yx * dlon + yy * dlat;
        return std::sqrt(x * x + y * y); // std::hypot is several times slower
    }
};

// Projecting 100,000 cells exactly means a million points through PROJ (about half a
// second); the projection is smooth, so a Jacobian sampled on a lattice over the grid and
// interpolated measures a cell to about 1e-7, enough to screen for slivers. What is
// reported is measured exactly.
class LocalScale {
  public:
    LocalScale(const geo::Transformer& to_metric, Box box) {
        if (box.maxx - box.minx < 1e-6) box.minx -= 1e-6, box.maxx += 1e-6;
        if (box.maxy - box.miny < 1e-6) box.miny -= 1e-6, box.maxy += 1e-6;
        m_box = box;
        m_dx = (box.maxx - box.minx) / (nodes - 1);
        m_dy = (box.maxy - box.miny) / (nodes - 1);
        constexpr double h = 1e-5; // degrees; central differences
        std::vector<Point> pts;
        pts.reserve(nodes * nodes * 4);
        for (int j = 0; j < nodes; ++j)
            for (int i = 0; i < nodes; ++i) {
                const Point c{box.minx + i * m_dx, box.miny + j * m_dy};
                pts.push_back({c.x + h, c.y});
                pts.push_back({c.x - h, c.y});
                pts.push_back({c.x, c.y + h});
                pts.push_back({c.x, c.y - h});
            }
        to_metric.forward(std::span<Point>(pts));
        m_j.resize(nodes * nodes);
        for (std::size_t k = 0; k < m_j.size(); ++k) {
            const Point* p = &pts[4 * k];
            m_j[k] = {(p[0].x - p[1].x) / (2 * h), (p[2].x - p[3].x) / (2 * h),
                      (p[0].y - p[1].y) / (2 * h), (p[2].y - p[3].y) / (2 * h)};
        }
    }

    [[nodiscard]] Jacobian at(Point p) const {
        const double fx =
            std::clamp((p.x - m_box.minx) / m_dx, 0.0, static_cast<double>(nodes - 1));
        const double fy =
            std::clamp((p.y - m_box.miny) / m_dy, 0.0, static_cast<double>(nodes - 1));
        const int i = std::min(static_cast<int>(fx), nodes - 2);
        const int j = std::min(static_cast<int>(fy), nodes - 2);
        const double tx = fx - i, ty = fy - j;
        const auto& a = m_j[static_cast<std::size_t>(j * nodes + i)];
        const auto& b = m_j[static_cast<std::size_t>(j * nodes + i + 1)];
        const auto& c = m_j[static_cast<std::size_t>((j + 1) * nodes + i)];
        const auto& d = m_j[static_cast<std::size_t>((j + 1) * nodes + i + 1)];
        auto mix = [&](double Jacobian::*m) {
            return (a.*m * (1 - tx) + b.*m * tx) * (1 - ty) + (c.*m * (1 - tx) + d.*m * tx) * ty;
        };
        return {mix(&Jacobian::xx), mix(&Jacobian::xy), mix(&Jacobian::yx), mix(&Jacobian::yy)};
    }

  private:
    static constexpr int nodes = 17;
    Box m_box;
    double m_dx = 1, m_dy = 1;
    std::vector<Jacobian> m_j;
};

// The box index is the engine's one R-tree (geo/box_index.hpp).
using geo::BoxIndex;

// ---- GEOS helpers --------------------------------------------------------------------------

class Prepared {
  public:
    Prepared(const geo::GeosContext& ctx, const GEOSGeometry* g)
        : m_ctx(ctx), m_p(GEOSPrepare_r(ctx.get(), g)) {
        if (!m_p) throw LibraryError("GEOS: cannot prepare a geometry: " + ctx.last_error());
    }
    ~Prepared() { GEOSPreparedGeom_destroy_r(m_ctx.get(), m_p); }
    Prepared(const Prepared&) = delete;
    Prepared& operator=(const Prepared&) = delete;
    [[nodiscard]] const GEOSPreparedGeometry* get() const noexcept { return m_p; }

  private:
    const geo::GeosContext& m_ctx;
    const GEOSPreparedGeometry* m_p;
};

enum class Op { intersection, difference };

// Floating overlay, then snap-rounding on a 1e-11 degree grid (about a micrometre) when
// the floating one fails on a nearly degenerate input.
inline geo::GeosGeometry overlay(const geo::GeosContext& ctx, Op op, const GEOSGeometry* a,
                                 const GEOSGeometry* b) {
    auto* h = ctx.get();
    GEOSGeometry* r =
        op == Op::intersection ? GEOSIntersection_r(h, a, b) : GEOSDifference_r(h, a, b);
    if (!r)
        r = op == Op::intersection ? GEOSIntersectionPrec_r(h, a, b, 1e-11)
                                   : GEOSDifferencePrec_r(h, a, b, 1e-11);
    return ctx.check(r, "overlay failed");
}

inline geo::GeosGeometry unary_union(const geo::GeosContext& ctx, const GEOSGeometry* g) {
    GEOSGeometry* r = GEOSUnaryUnion_r(ctx.get(), g);
    if (!r) r = GEOSUnaryUnionPrec_r(ctx.get(), g, 1e-11);
    return ctx.check(r, "union failed");
}

inline std::optional<Point> point_on_surface(const geo::GeosContext& ctx, const GEOSGeometry* g) {
    if (!g || GEOSisEmpty_r(ctx.get(), g)) return std::nullopt;
    GEOSGeometry* p = GEOSPointOnSurface_r(ctx.get(), g);
    if (!p) return std::nullopt;
    geo::GeosGeometry owned(ctx, p);
    double x = 0, y = 0;
    if (GEOSisEmpty_r(ctx.get(), p) || !GEOSGeomGetX_r(ctx.get(), p, &x) ||
        !GEOSGeomGetY_r(ctx.get(), p, &y))
        return std::nullopt;
    return Point{x, y};
}

inline MultiPolygon parts_to_multipolygon(const std::vector<detail::Part>& parts) {
    MultiPolygon mp;
    for (const auto& p : parts)
        mp.polygons.push_back({p.rings});
    return mp;
}

inline double planar_area(const std::vector<detail::Part>& parts) {
    double a = 0;
    for (const auto& p : parts)
        for (std::size_t r = 0; r < p.rings.size(); ++r)
            a += (r == 0 ? 1 : -1) * std::abs(geo::signed_area(p.rings[r]));
    return a;
}

inline bool lexless(Point a, Point b) {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
}

// One directed edge in the shared-edge index, endpoints in canonical order.
struct Segment {
    Point a, b;
    std::uint32_t owner; // cell, or unit group for the nesting check
    std::int32_t dir;    // +1 when the cell runs a -> b, -1 when b -> a
};

inline std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

inline std::uint64_t bits(double d) {
    return d == 0 ? 0 : std::bit_cast<std::uint64_t>(d);
}

inline std::uint64_t hash(const Segment& s, bool by_owner) {
    std::uint64_t h = mix(bits(s.a.x) + (by_owner ? s.owner : 0));
    h = mix(h ^ bits(s.a.y));
    h = mix(h ^ bits(s.b.x));
    return mix(h ^ bits(s.b.y));
}

inline bool same(const Segment& s, const Segment& t, bool by_owner) {
    return s.a == t.a && s.b == t.b && (!by_owner || s.owner == t.owner);
}

// Calls f(members) for each group of equal segments (equal ends; with by_owner also the
// same owner), in the order their first members come. An open-addressing table of indices
// tagged with hash bits: sorting a million segments (or their hashes) costs several times
// more, and a cell's neighbours usually come soon after it, so the exact comparisons that
// confirm a match mostly hit the cache.
inline constexpr std::uint32_t no_segment = 0xffffffffu;

struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t index = no_segment;
};

template <class F> void for_each_group(const std::vector<Segment>& segs, bool by_owner, F&& f) {
    constexpr std::uint32_t none = no_segment;
    std::size_t capacity = 16;
    while (capacity < segs.size() + segs.size() / 2)
        capacity *= 2;
    const std::size_t mask = capacity - 1;
    std::vector<Slot> table(capacity);
    std::vector<std::uint32_t> next(segs.size(), none), heads;
    heads.reserve(segs.size() / 2 + 1);
    for (std::uint32_t i = 0; i < segs.size(); ++i) {
        const std::uint64_t h = hash(segs[i], by_owner);
        const auto tag = static_cast<std::uint32_t>(h >> 32);
        for (std::size_t slot = h & mask;; slot = (slot + 1) & mask) {
            Slot& t = table[slot];
            if (t.index == none) {
                t = {tag, i};
                heads.push_back(i);
                break;
            }
            if (t.tag == tag && same(segs[t.index], segs[i], by_owner)) {
                next[i] = next[t.index];
                next[t.index] = i;
                break;
            }
        }
    }
    std::vector<std::uint32_t> members;
    for (const auto head : heads) {
        members.clear();
        for (std::uint32_t k = head; k != none; k = next[k])
            members.push_back(k);
        f(members);
    }
}

inline void add_segments(const std::vector<detail::Part>& parts, std::uint32_t owner,
                         std::int32_t sign, std::vector<Segment>& out) {
    for (const auto& part : parts)
        for (const auto& ring : part.rings)
            for (std::size_t i = 0; i + 1 < ring.size(); ++i) {
                const Point p = ring[i], q = ring[i + 1];
                if (lexless(p, q))
                    out.push_back({p, q, owner, sign});
                else
                    out.push_back({q, p, owner, -sign});
            }
}

struct CellGeometry {
    bool usable = false;   // takes part in the coverage checks
    bool repaired = false; // invalid: a repaired stand-in takes part
    std::vector<detail::Part> parts;
    Box box;
    double planar = 0;      // lon/lat area
    bool candidate = false; // owns an edge that is not cleanly shared (the set K)
};

} // namespace wangge::grid::detail
