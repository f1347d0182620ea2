// The coverage validator. The plan, cheapest checks first:
//  1. codes: duplicates, and the scheme's length/digits/prefixes;
//  2. each cell alone: empty, lon/lat range (crs_mismatch), validity (an exact-or-abstain
//     ring test; GEOS when that abstains or the cell has holes or parts, and for its reason),
//     slivers (areas from an interpolated Jacobian of the metric projection, measured
//     exactly near a threshold). An invalid cell takes part in the coverage checks as its
//     GEOS MakeValid repair, so it does not also show up as a gap;
//  3. the shared-edge index: every edge of every cell, ends in canonical order, grouped by
//     a hash table. An edge that occurs exactly twice, in opposite directions, in two cells
//     is clean; the others are candidates and their cells form the set K (in a clean
//     coverage: the cells along its outer boundary);
//  4. overlaps: each candidate edge's cell against the cells whose boxes meet the edge,
//     ruled out by an exact contact-and-wedge certificate or measured with GEOS;
//  5. gaps: when all edges are clean or single and nothing overlaps, the single edges are
//     the union's boundary (polygonized, trusted only if the areas balance). Otherwise the
//     union of K: each bounded part of its complement is wholly filled by clean cells or
//     wholly a gap, as depth cannot change across a clean edge, so one point decides. An
//     area balance (cells = union + overlaps) catches overlaps hidden under clean patches
//     and sends those rare inputs to an all-pairs check. Gaps are the bounded parts of the
//     union's complement (holes, and areas enclosed by parts that touch at points);
//  6. the county boundary: gaps = county - union, outside = union - county;
//  7. nesting: a unit whose outline is exactly the net edges of its cells holds them all;
//     the other units' cells are checked with GEOS.
#include "wangge/grid/validate.hpp"

#include "validate_geometry.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/geo/proj.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <geos_c.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <set>
#include <span>
#include <unordered_map>
#include <unordered_set>

namespace wangge::grid {

using geo::Box;
using geo::MultiPolygon;
using geo::Point;
using geo::Polygon;
using geo::Ring;

std::string_view to_string(IssueType type) {
    switch (type) {
    case IssueType::invalid_geometry:
        return "invalid_geometry";
    case IssueType::empty_geometry:
        return "empty_geometry";
    case IssueType::duplicate_code:
        return "duplicate_code";
    case IssueType::bad_code:
        return "bad_code";
    case IssueType::overlap:
        return "overlap";
    case IssueType::gap:
        return "gap";
    case IssueType::sliver:
        return "sliver";
    case IssueType::outside_boundary:
        return "outside_boundary";
    case IssueType::crs_mismatch:
        return "crs_mismatch";
    case IssueType::not_nested:
        return "not_nested";
    }
    return "unknown";
}

namespace {

constexpr double pi = 3.14159265358979323846;

double sq(double v) {
    return v * v;
}

bool is_areal(IssueType t) {
    return t == IssueType::overlap || t == IssueType::gap || t == IssueType::sliver ||
           t == IssueType::outside_boundary || t == IssueType::not_nested;
}

std::string format(const char* fmt, double a) {
    char buf[64];
    std::snprintf(buf, sizeof buf, fmt, a);
    return buf;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
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

// ---- a uniform grid over boxes -----------------------------------------------------------

class BoxIndex {
  public:
    BoxIndex(const std::vector<Box>& boxes, const std::vector<char>& include) {
        for (std::size_t i = 0; i < boxes.size(); ++i)
            if (include[i]) m_extent.expand(boxes[i]);
        const std::size_t n = boxes.size();
        m_stamp.assign(n, 0);
        if (!m_extent.valid()) return;
        const double w = std::max(m_extent.maxx - m_extent.minx, 1e-12);
        const double h = std::max(m_extent.maxy - m_extent.miny, 1e-12);
        const double per = std::sqrt(static_cast<double>(std::max<std::size_t>(n, 1)) / (w * h));
        m_nx = std::clamp(static_cast<int>(std::ceil(w * per)), 1, 2048);
        m_ny = std::clamp(static_cast<int>(std::ceil(h * per)), 1, 2048);
        m_sx = m_nx / w;
        m_sy = m_ny / h;
        // Two passes into one flat array: counts, then items.
        m_start.assign(static_cast<std::size_t>(m_nx) * m_ny + 1, 0);
        auto each_bucket = [&](const Box& b, auto&& f) {
            int i0, j0, i1, j1;
            range(b, i0, j0, i1, j1);
            for (int j = j0; j <= j1; ++j)
                for (int i = i0; i <= i1; ++i)
                    f(static_cast<std::size_t>(j) * m_nx + i);
        };
        for (std::size_t k = 0; k < n; ++k)
            if (include[k]) each_bucket(boxes[k], [&](std::size_t b) { ++m_start[b + 1]; });
        for (std::size_t b = 1; b < m_start.size(); ++b)
            m_start[b] += m_start[b - 1];
        m_items.resize(m_start.back());
        std::vector<std::uint32_t> fill(m_start.begin(), m_start.end() - 1);
        for (std::size_t k = 0; k < n; ++k)
            if (include[k])
                each_bucket(boxes[k], [&](std::size_t b) {
                    m_items[fill[b]++] = static_cast<std::uint32_t>(k);
                });
        m_boxes = &boxes;
    }

    // Calls f(index) once for every included box that intersects b.
    template <class F> void query(const Box& b, F&& f) {
        if (!m_boxes || !b.valid() || !b.intersects(m_extent)) return;
        if (++m_epoch == 0) {
            std::fill(m_stamp.begin(), m_stamp.end(), 0);
            m_epoch = 1;
        }
        int i0, j0, i1, j1;
        range(b, i0, j0, i1, j1);
        for (int j = j0; j <= j1; ++j)
            for (int i = i0; i <= i1; ++i) {
                const std::size_t bucket = static_cast<std::size_t>(j) * m_nx + i;
                for (std::uint32_t s = m_start[bucket]; s < m_start[bucket + 1]; ++s) {
                    const std::uint32_t k = m_items[s];
                    if (m_stamp[k] == m_epoch) continue;
                    m_stamp[k] = m_epoch;
                    if ((*m_boxes)[k].intersects(b)) f(k);
                }
            }
    }

  private:
    void range(const Box& b, int& i0, int& j0, int& i1, int& j1) const {
        auto cx = [&](double x) {
            return std::clamp(static_cast<int>((x - m_extent.minx) * m_sx), 0, m_nx - 1);
        };
        auto cy = [&](double y) {
            return std::clamp(static_cast<int>((y - m_extent.miny) * m_sy), 0, m_ny - 1);
        };
        i0 = cx(b.minx), i1 = cx(b.maxx), j0 = cy(b.miny), j1 = cy(b.maxy);
    }

    const std::vector<Box>* m_boxes = nullptr;
    Box m_extent;
    int m_nx = 1, m_ny = 1;
    double m_sx = 1, m_sy = 1;
    std::vector<std::uint32_t> m_start, m_items, m_stamp;
    std::uint32_t m_epoch = 0;
};

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
geo::GeosGeometry overlay(const geo::GeosContext& ctx, Op op, const GEOSGeometry* a,
                          const GEOSGeometry* b) {
    auto* h = ctx.get();
    GEOSGeometry* r =
        op == Op::intersection ? GEOSIntersection_r(h, a, b) : GEOSDifference_r(h, a, b);
    if (!r)
        r = op == Op::intersection ? GEOSIntersectionPrec_r(h, a, b, 1e-11)
                                   : GEOSDifferencePrec_r(h, a, b, 1e-11);
    return ctx.check(r, "overlay failed");
}

geo::GeosGeometry unary_union(const geo::GeosContext& ctx, const GEOSGeometry* g) {
    GEOSGeometry* r = GEOSUnaryUnion_r(ctx.get(), g);
    if (!r) r = GEOSUnaryUnionPrec_r(ctx.get(), g, 1e-11);
    return ctx.check(r, "union failed");
}

std::optional<Point> point_on_surface(const geo::GeosContext& ctx, const GEOSGeometry* g) {
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

MultiPolygon parts_to_multipolygon(const std::vector<detail::Part>& parts) {
    MultiPolygon mp;
    for (const auto& p : parts)
        mp.polygons.push_back({p.rings});
    return mp;
}

double planar_area(const std::vector<detail::Part>& parts) {
    double a = 0;
    for (const auto& p : parts)
        for (std::size_t r = 0; r < p.rings.size(); ++r)
            a += (r == 0 ? 1 : -1) * std::abs(geo::signed_area(p.rings[r]));
    return a;
}

bool lexless(Point a, Point b) {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
}

// One directed edge in the shared-edge index, endpoints in canonical order.
struct Segment {
    Point a, b;
    std::uint32_t owner; // cell, or unit group for the nesting check
    std::int32_t dir;    // +1 when the cell runs a -> b, -1 when b -> a
};

std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::uint64_t bits(double d) {
    return d == 0 ? 0 : std::bit_cast<std::uint64_t>(d);
}

std::uint64_t hash(const Segment& s, bool by_owner) {
    std::uint64_t h = mix(bits(s.a.x) + (by_owner ? s.owner : 0));
    h = mix(h ^ bits(s.a.y));
    h = mix(h ^ bits(s.b.x));
    return mix(h ^ bits(s.b.y));
}

bool same(const Segment& s, const Segment& t, bool by_owner) {
    return s.a == t.a && s.b == t.b && (!by_owner || s.owner == t.owner);
}

// Calls f(members) for each group of equal segments (equal ends; with by_owner also the
// same owner), in the order their first members come. An open-addressing table of indices
// tagged with hash bits: sorting a million segments (or their hashes) costs several times
// more, and a cell's neighbours usually come soon after it, so the exact comparisons that
// confirm a match mostly hit the cache.
constexpr std::uint32_t no_segment = 0xffffffffu;

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

void add_segments(const std::vector<detail::Part>& parts, std::uint32_t owner, std::int32_t sign,
                  std::vector<Segment>& out) {
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

// ---- the validator ---------------------------------------------------------------------

struct CellGeometry {
    bool usable = false;   // takes part in the coverage checks
    bool repaired = false; // invalid: a repaired stand-in takes part
    std::vector<detail::Part> parts;
    Box box;
    double planar = 0;      // lon/lat area
    bool candidate = false; // owns an edge that is not cleanly shared (the set K)
};

class Validator {
  public:
    Validator(const Grid& grid, const ValidateOptions& options)
        : m_grid(grid), m_opt(options), m_cells(grid.cells.size()), m_geos(grid.cells.size()) {}

    ValidationReport run() {
        m_report.cells = m_grid.cells.size();
        check_codes();
        prepare_geometry();
        setup_metric();
        if (m_metric) check_slivers();
        build_edge_index();
        std::vector<char> usable(m_cells.size());
        std::vector<Box> boxes(m_cells.size());
        for (std::size_t i = 0; i < m_cells.size(); ++i) {
            usable[i] = m_cells[i].usable;
            boxes[i] = m_cells[i].box;
        }
        m_boxes = std::move(boxes);
        m_index = std::make_unique<BoxIndex>(m_boxes, usable);
        check_overlaps();
        check_gaps_and_boundary();
        check_nesting();
        finish();
        return std::move(m_report);
    }

  private:
    // ---- issues
    Issue& add(IssueType type, std::vector<std::string> cells, std::string message,
               MultiPolygon geometry = {}) {
        std::sort(cells.begin(), cells.end());
        Issue issue;
        issue.type = type;
        issue.cells = std::move(cells);
        issue.message = std::move(message);
        issue.geometry = std::move(geometry);
        m_report.issues.push_back(std::move(issue));
        return m_report.issues.back();
    }

    const std::string& code(std::size_t i) const { return m_grid.cells[i].code; }

    // The cell's geometry for showing a code defect: only when it is sound.
    MultiPolygon shown(std::size_t i) const {
        return m_cells[i].usable && !m_cells[i].repaired ? m_grid.cells[i].geometry
                                                         : MultiPolygon{};
    }

    // ---- 1. codes
    void check_codes() {
        const std::size_t n = m_grid.cells.size();
        for (const auto& problem : m_opt.unusable)
            if (!problem.geometry) add(IssueType::bad_code, {code(problem.cell)}, problem.message);

        // Duplicates: the first cell of each code, then the others that repeat it.
        std::unordered_map<std::string_view, std::size_t> first;
        first.reserve(n);
        std::map<std::size_t, std::vector<std::size_t>> repeats;
        for (std::size_t i = 0; i < n; ++i) {
            if (code(i).empty()) continue;
            const auto [it, inserted] = first.emplace(code(i), i);
            if (!inserted) repeats[it->second].push_back(i);
        }
        for (const auto& [i, others] : repeats) {
            // Appended piece by piece: GCC 12 warns (wrongly) on "#" + std::to_string().
            std::string where = "#";
            where += std::to_string(i + 1);
            for (auto k : others) {
                where += ", #";
                where += std::to_string(k + 1);
            }
            m_duplicates.push_back({i, "code '" + code(i) + "' is used by " +
                                           std::to_string(others.size() + 1) + " cells (" + where +
                                           ")"});
        }

        auto digits = [](std::string_view s) {
            return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
        };
        std::optional<CodeScheme> scheme = m_opt.code_scheme;
        if (!scheme) {
            // The scheme most codes follow, if most follow one.
            std::map<std::size_t, std::size_t> votes; // length -> codes
            for (const auto& c : m_grid.cells)
                if (digits(c.code)) ++votes[c.code.size()];
            for (auto s :
                 {CodeScheme::national14, CodeScheme::beijing15, CodeScheme::professional20})
                if (2 * votes[code_length(s)] >= n && votes[code_length(s)] > 0) scheme = s;
            if (!scheme && n > 0)
                m_report.notes.push_back(
                    "cell codes were not checked: most are not national grid codes (14, 15 or "
                    "20 digits); give a code scheme to check them");
        }
        if (!scheme) return;
        const std::size_t len = code_length(*scheme);
        for (std::size_t i = 0; i < n; ++i) {
            const Cell& c = m_grid.cells[i];
            const std::string_view v = c.code;
            if (v.empty()) continue; // reported by the reader
            std::vector<std::string> why;
            if (v.size() != len || !digits(v)) {
                why.push_back("is not a " + std::to_string(len) + "-digit cell code");
            } else {
                if (!m_opt.county_code.empty() && v.substr(0, 6) != m_opt.county_code)
                    why.push_back("does not start with the county code " + m_opt.county_code);
                if (!c.township_code.empty() && v.substr(0, 9) != c.township_code)
                    why.push_back("does not start with its township code " + c.township_code);
                if (!c.village_code.empty() && v.substr(0, 12) != c.village_code)
                    why.push_back("does not start with its village code " + c.village_code);
            }
            if (!why.empty())
                m_bad_codes.push_back({i, "code '" + c.code + "' " + join(why, " and ")});
        }
    }

    // ---- 2. each cell alone
    // GEOS validity; false with GEOS's reason (and where) when invalid or not buildable.
    bool geos_valid(const MultiPolygon& mp, std::string& reason, std::optional<Point>& where) {
        m_ctx.clear_error();
        geo::GeosGeometry g;
        try {
            g = m_ctx.from(mp);
        } catch (const LibraryError&) {
            std::string why = m_ctx.last_error();
            if (const auto colon = why.find("Exception: "); colon != std::string::npos)
                why.erase(0, colon + 11);
            reason = "GEOS cannot build it: " + why;
            for (const auto& poly : mp.polygons)
                for (const auto& ring : poly.rings)
                    if (!where && !ring.empty()) where = ring.front();
            return false;
        }
        char* text = nullptr;
        GEOSGeometry* location = nullptr;
        const char v = GEOSisValidDetail_r(m_ctx.get(), g.get(), 0, &text, &location);
        geo::GeosGeometry owned_location(m_ctx, location);
        if (v == 1) return true;
        reason = text ? text : "GEOS cannot check it: " + m_ctx.last_error();
        if (text) GEOSFree_r(m_ctx.get(), text);
        double x = 0, y = 0;
        if (location && !GEOSisEmpty_r(m_ctx.get(), location) &&
            GEOSGeomGetX_r(m_ctx.get(), location, &x) && GEOSGeomGetY_r(m_ctx.get(), location, &y))
            where = Point{x, y};
        return false;
    }

    // Whether the cell's geometry is valid; if so, its parts for the coverage checks.
    bool valid_geometry(const MultiPolygon& mp, std::vector<detail::Part>& parts,
                        std::string& reason, std::optional<Point>& where) {
        // The common case, one ring, decided without GEOS.
        if (mp.polygons.size() == 1 && mp.polygons[0].rings.size() == 1) {
            const Ring& raw = mp.polygons[0].rings[0];
            if (raw.size() >= 4 && raw.front() == raw.back()) {
                Ring ring = detail::clean_ring(raw);
                if (detail::ring_is_simple(ring) == detail::Answer::yes) {
                    if (geo::signed_area(ring) < 0) std::reverse(ring.begin(), ring.end());
                    const Box box = geo::bounds(ring);
                    parts.push_back({{std::move(ring)}, box});
                    return true;
                }
            }
        }
        if (!geos_valid(mp, reason, where)) return false;
        parts = detail::make_parts(mp);
        return true;
    }

    // A stand-in for an invalid cell so that its area still counts in the coverage checks:
    // rings closed, those too short dropped, then GEOS MakeValid.
    MultiPolygon repair(const MultiPolygon& mp) {
        MultiPolygon fixed;
        for (const auto& poly : mp.polygons) {
            Polygon p;
            for (std::size_t r = 0; r < poly.rings.size(); ++r) {
                Ring ring = detail::clean_ring(poly.rings[r]);
                if (ring.size() >= 4)
                    p.rings.push_back(std::move(ring));
                else if (r == 0)
                    break;
            }
            if (!p.rings.empty()) fixed.polygons.push_back(std::move(p));
        }
        if (fixed.empty()) return {};
        try {
            const auto g = m_ctx.from(fixed);
            GEOSGeometry* v = GEOSMakeValid_r(m_ctx.get(), g.get());
            if (!v) return {};
            return geo::GeosGeometry(m_ctx, v).to_multipolygon();
        } catch (const LibraryError&) {
            return {};
        }
    }

    void prepare_geometry() {
        std::unordered_map<std::size_t, const FeatureProblem*> unreadable;
        for (const auto& p : m_opt.unusable)
            if (p.geometry) unreadable[p.cell] = &p;
        std::vector<std::size_t> projected;
        std::optional<Point> example;
        for (std::size_t i = 0; i < m_grid.cells.size(); ++i) {
            const MultiPolygon& mp = m_grid.cells[i].geometry;
            auto& cg = m_cells[i];
            if (auto it = unreadable.find(i); it != unreadable.end()) {
                add(IssueType::invalid_geometry, {code(i)}, it->second->message);
                continue;
            }
            bool any = false, in_range = true;
            for (const auto& poly : mp.polygons)
                for (const auto& ring : poly.rings)
                    for (const auto& p : ring) {
                        any = true;
                        if (in_range && !(std::abs(p.x) <= 180 && std::abs(p.y) <= 90)) {
                            in_range = false;
                            if (!example) example = p;
                        }
                    }
            if (!any) {
                add(IssueType::empty_geometry, {code(i)}, "the cell has no geometry");
                continue;
            }
            if (!in_range) {
                projected.push_back(i);
                continue;
            }
            std::string reason;
            std::optional<Point> where;
            if (!valid_geometry(mp, cg.parts, reason, where)) {
                auto& issue = add(IssueType::invalid_geometry, {code(i)}, reason);
                issue.location = where;
                cg.parts = detail::make_parts(repair(mp));
                cg.repaired = true;
            }
            if (cg.parts.empty()) continue;
            cg.usable = true;
            for (const auto& p : cg.parts)
                cg.box.expand(p.box);
            cg.planar = planar_area(cg.parts);
        }
        if (!projected.empty()) {
            std::vector<std::string> codes;
            for (auto i : projected)
                codes.push_back(code(i));
            char buf[160];
            std::snprintf(buf, sizeof buf, "(%.3f, %.3f)", example->x, example->y);
            add(IssueType::crs_mismatch, std::move(codes),
                std::to_string(projected.size()) +
                    (projected.size() == 1 ? " cell has" : " cells have") +
                    " coordinates impossible in EPSG:4326, e.g. " + buf +
                    ": the layer is probably projected but labelled EPSG:4326; give its real "
                    "CRS (--src-crs)");
        }
        // Code defects are shown with the cell once its geometry is known to be sound.
        for (const auto& [i, message] : m_duplicates)
            add(IssueType::duplicate_code, {code(i)}, message, shown(i));
        for (const auto& [i, message] : m_bad_codes)
            add(IssueType::bad_code, {code(i)}, message, shown(i));
    }

    void setup_metric() {
        Box box;
        for (const auto& c : m_cells)
            if (c.usable) box.expand(c.box);
        if (m_opt.county_boundary) box.expand(geo::bounds(*m_opt.county_boundary));
        std::string crs = m_opt.metric_crs;
        if (crs.empty() && box.valid())
            crs = geo::suggest_metric_crs((box.minx + box.maxx) / 2, (box.miny + box.maxy) / 2);
        m_report.metric_crs = crs;
        if (crs.empty()) return;
        m_metric = std::make_unique<geo::Transformer>("EPSG:4326", crs);
        if (box.valid()) m_scale = std::make_unique<LocalScale>(*m_metric, box);
    }

    struct Measure {
        double area = 0, perimeter = 0;
    };

    Measure exact_measure(const std::vector<detail::Part>& parts) const {
        Measure m;
        for (const auto& part : parts)
            for (std::size_t r = 0; r < part.rings.size(); ++r) {
                Ring ring = part.rings[r];
                m_metric->forward(std::span<Point>(ring));
                m.area += (r == 0 ? 1 : -1) * std::abs(geo::signed_area(ring));
                for (std::size_t i = 0; i + 1 < ring.size(); ++i)
                    m.perimeter +=
                        std::sqrt(sq(ring[i + 1].x - ring[i].x) + sq(ring[i + 1].y - ring[i].y));
            }
        return m;
    }

    void check_slivers() {
        if (!m_scale) return;
        const double area_limit = m_opt.sliver_area_m2, thin_limit = m_opt.sliver_thinness;
        for (std::size_t i = 0; i < m_cells.size(); ++i) {
            const auto& c = m_cells[i];
            if (!c.usable || c.repaired) continue;
            const Jacobian j =
                m_scale->at({(c.box.minx + c.box.maxx) / 2, (c.box.miny + c.box.maxy) / 2});
            Measure m{c.planar * j.det(), 0};
            for (const auto& part : c.parts)
                for (const auto& ring : part.rings)
                    for (std::size_t k = 0; k + 1 < ring.size(); ++k)
                        m.perimeter +=
                            j.length(ring[k + 1].x - ring[k].x, ring[k + 1].y - ring[k].y);
            auto thinness = [](const Measure& x) {
                return x.perimeter > 0 ? 4 * pi * x.area / (x.perimeter * x.perimeter) : 0.0;
            };
            // Screen with a margin, decide exactly.
            if (m.area >= area_limit * 1.001 && thinness(m) >= thin_limit * 1.001) continue;
            m = exact_measure(c.parts);
            const double t = thinness(m);
            std::string why;
            if (m.area < area_limit)
                why = "tiny cell: " + format("%.2f", m.area) + " m2, under " +
                      format("%g", area_limit) + " m2";
            else if (t < thin_limit)
                why = "extremely thin cell: thinness 4*pi*A/P^2 = " + format("%.4f", t) +
                      ", under " + format("%g", thin_limit);
            else
                continue;
            add(IssueType::sliver, {code(i)}, why, m_grid.cells[i].geometry);
        }
    }

    // ---- 3. the shared-edge index
    void build_edge_index() {
        std::vector<Segment>& segs = m_segments;
        std::size_t total = 0;
        for (const auto& c : m_cells)
            if (c.usable)
                for (const auto& p : c.parts)
                    for (const auto& r : p.rings)
                        total += r.size() - 1;
        segs.reserve(total);
        for (std::size_t i = 0; i < m_cells.size(); ++i)
            if (m_cells[i].usable)
                add_segments(m_cells[i].parts, static_cast<std::uint32_t>(i), 1, segs);
        m_partner.assign(segs.size(), no_segment);
        std::vector<std::pair<Box, std::uint32_t>> candidates;
        for_each_group(segs, false, [&](const std::vector<std::uint32_t>& group) {
            if (group.size() == 2) {
                const Segment &s0 = segs[group[0]], &s1 = segs[group[1]];
                if (s0.dir != s1.dir && s0.owner != s1.owner) { // cleanly shared
                    m_partner[group[0]] = s1.owner;
                    m_partner[group[1]] = s0.owner;
                    return;
                }
            }
            if (group.size() == 1)
                m_single_edges.push_back({segs[group[0]].a, segs[group[0]].b});
            else
                m_tangled = true;
            for (std::size_t k = 0; k < group.size(); ++k) {
                const Segment& sk = segs[group[k]];
                Box b;
                b.expand(sk.a);
                b.expand(sk.b);
                candidates.push_back({b, sk.owner});
                m_cells[sk.owner].candidate = true;
                // Cells sharing an edge that is not cleanly shared: test them directly.
                for (std::size_t l = 0; l < k; ++l)
                    if (segs[group[l]].owner != sk.owner)
                        m_pair_seed.push_back(pair_key(segs[group[l]].owner, sk.owner));
            }
        });
        m_edge_candidates = std::move(candidates);
    }

    static std::uint64_t pair_key(std::uint32_t a, std::uint32_t b) {
        if (a > b) std::swap(a, b);
        return (static_cast<std::uint64_t>(a) << 32) | b;
    }

    // ---- 4. overlaps
    const GEOSGeometry* geos_of(std::size_t i) {
        if (!m_geos[i]) m_geos[i] = m_ctx.from(parts_to_multipolygon(m_cells[i].parts));
        return m_geos[i].get();
    }

    bool disjoint(std::size_t i, std::size_t j) const {
        for (const auto& a : m_cells[i].parts)
            for (const auto& b : m_cells[j].parts)
                if (!detail::certainly_disjoint(a, b)) return false;
        return true;
    }

    void test_pair(std::size_t i, std::size_t j) {
        if (disjoint(i, j)) return;
        auto x = overlay(m_ctx, Op::intersection, geos_of(i), geos_of(j));
        MultiPolygon mp = x.to_multipolygon();
        const double planar = geo::planar_area(mp);
        if (planar <= 0) return;
        m_overlap_planar += planar;
        if (m_metric && geo::area_m2(mp, *m_metric) < m_opt.min_defect_area_m2) return;
        add(IssueType::overlap, {code(i), code(j)},
            "cells " + code(std::min(i, j)) + " and " + code(std::max(i, j)) + " overlap",
            std::move(mp));
    }

    void check_overlaps() {
        std::unordered_set<std::uint64_t> pairs(m_pair_seed.begin(), m_pair_seed.end());
        for (const auto& [box, owner] : m_edge_candidates)
            m_index->query(box, [&](std::uint32_t other) {
                if (other != owner) pairs.insert(pair_key(owner, other));
            });
        std::vector<std::uint64_t> sorted(pairs.begin(), pairs.end());
        std::sort(sorted.begin(), sorted.end());
        for (auto key : sorted)
            test_pair(key >> 32, key & 0xffffffffu);
        m_tested = std::move(pairs);
    }

    // Every pair of cells whose boxes meet: for overlaps the edge index cannot see (a cell
    // lying over a clean patch of others).
    void check_all_pairs() {
        m_report.notes.push_back(
            "the cells' areas exceed their union's: every pair of cells was checked for overlaps");
        for (std::size_t i = 0; i < m_cells.size(); ++i) {
            if (!m_cells[i].usable) continue;
            std::vector<std::uint32_t> others;
            m_index->query(m_cells[i].box, [&](std::uint32_t j) {
                if (j > i) others.push_back(j);
            });
            std::sort(others.begin(), others.end());
            for (auto j : others)
                if (!m_tested.count(pair_key(static_cast<std::uint32_t>(i), j))) test_pair(i, j);
        }
    }

    // ---- 5. and 6. gaps, and the county boundary
    geo::GeosGeometry union_of_candidates(double& expected_planar) {
        std::vector<GEOSGeometry*> parts;
        expected_planar = 0;
        for (std::size_t i = 0; i < m_cells.size(); ++i)
            if (m_cells[i].usable && m_cells[i].candidate) {
                parts.push_back(GEOSGeom_clone_r(m_ctx.get(), geos_of(i)));
                expected_planar += m_cells[i].planar;
            }
        auto all = m_ctx.check(GEOSGeom_createCollection_r(m_ctx.get(), GEOS_GEOMETRYCOLLECTION,
                                                           parts.data(),
                                                           static_cast<unsigned>(parts.size())),
                               "cannot build a collection");
        // The coverage union is exact and fast for cells noded together without overlaps;
        // it is trusted only when no overlap was found and the areas agree.
        if (m_overlap_planar == 0) {
            if (GEOSGeometry* u = GEOSCoverageUnion_r(m_ctx.get(), all.get())) {
                geo::GeosGeometry cu(m_ctx, u);
                if (std::abs(cu.area() - expected_planar) <= m_planar_tolerance) return cu;
            }
        }
        return unary_union(m_ctx, all.get());
    }

    bool covered_by_clean_cell(Point p) {
        bool covered = false;
        Box b;
        b.expand(p);
        m_index->query(b, [&](std::uint32_t k) {
            if (covered || m_cells[k].candidate) return;
            for (const auto& part : m_cells[k].parts) {
                const auto side = detail::locate(p, part);
                if (side == detail::Side::inside || side == detail::Side::boundary)
                    covered = true;
                else if (side == detail::Side::unknown) {
                    const auto pt = m_ctx.point(p);
                    if (GEOSCovers_r(m_ctx.get(), geos_of(k), pt.get()) == 1) covered = true;
                }
            }
        });
        return covered;
    }

    std::vector<std::string> bordering(const GEOSGeometry* g, const Box& box) {
        std::vector<std::uint32_t> near;
        m_index->query(box, [&](std::uint32_t k) { near.push_back(k); });
        std::vector<std::string> codes;
        if (near.size() <= 256) {
            // Sharing a stretch of boundary, not just a point.
            for (auto k : near)
                if (GEOSRelatePattern_r(m_ctx.get(), g, geos_of(k), "****1****") == 1)
                    codes.push_back(code(k));
        } else {
            Prepared prepared(m_ctx, g);
            for (auto k : near)
                if (GEOSPreparedIntersects_r(m_ctx.get(), prepared.get(), geos_of(k)) == 1)
                    codes.push_back(code(k));
        }
        std::sort(codes.begin(), codes.end());
        codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
        return codes;
    }

    // The union of all cells from their single edges (GEOS polygonize, even-odd).
    geo::GeosGeometry polygonize_single_edges() {
        std::vector<geo::GeosGeometry> lines;
        lines.reserve(m_single_edges.size());
        for (const auto& [a, b] : m_single_edges) {
            GEOSCoordSequence* seq = GEOSCoordSeq_create_r(m_ctx.get(), 2, 2);
            GEOSCoordSeq_setXY_r(m_ctx.get(), seq, 0, a.x, a.y);
            GEOSCoordSeq_setXY_r(m_ctx.get(), seq, 1, b.x, b.y);
            lines.push_back(m_ctx.check(GEOSGeom_createLineString_r(m_ctx.get(), seq), "line"));
        }
        std::vector<const GEOSGeometry*> raw;
        raw.reserve(lines.size());
        for (const auto& l : lines)
            raw.push_back(l.get());
        return m_ctx.check(
            GEOSPolygonize_valid_r(m_ctx.get(), raw.data(), static_cast<unsigned>(raw.size())),
            "polygonize failed");
    }

    geo::GeosGeometry union_of(const GEOSGeometry* a, const GEOSGeometry* b) {
        GEOSGeometry* r = GEOSUnion_r(m_ctx.get(), a, b);
        if (!r) r = GEOSUnionPrec_r(m_ctx.get(), a, b, 1e-11);
        return m_ctx.check(r, "union failed");
    }

    double metric_area(const MultiPolygon& mp) const {
        return m_metric ? geo::area_m2(mp, *m_metric) : 0.0;
    }

    void report_gaps(const MultiPolygon& gaps) {
        for (const auto& poly : gaps.polygons) {
            MultiPolygon one{{poly}};
            if (geo::planar_area(one) <= 0) continue;
            if (m_metric && metric_area(one) < m_opt.min_defect_area_m2) continue;
            const auto g = m_ctx.from(one);
            auto cells = bordering(g.get(), geo::bounds(one));
            std::string message = cells.empty() ? "an area in no cell"
                                                : "an area in no cell, between " +
                                                      std::to_string(cells.size()) +
                                                      (cells.size() == 1 ? " cell" : " cells");
            if (m_opt.county_boundary) message += " inside the county boundary";
            add(IssueType::gap, std::move(cells), std::move(message), std::move(one));
        }
    }

    void check_gaps_and_boundary() {
        double total = 0, centre_scale = 1;
        Box box;
        for (const auto& c : m_cells)
            if (c.usable) {
                total += c.planar;
                box.expand(c.box);
            }
        if (!box.valid()) {
            if (m_opt.county_boundary && !m_opt.county_boundary->empty())
                report_gaps(*m_opt.county_boundary);
            return;
        }
        if (m_scale)
            centre_scale =
                m_scale->at({(box.minx + box.maxx) / 2, (box.miny + box.maxy) / 2}).det();
        // Areas agree when they differ by less than rounding or than the smallest defect.
        m_planar_tolerance = std::max(1e-9 * total, m_opt.min_defect_area_m2 / centre_scale);

        // The bounded parts of the complement of a union are its holes, and areas enclosed
        // by parts that touch at points.
        Box frame = box;
        const double margin = std::max({frame.maxx - frame.minx, frame.maxy - frame.miny, 1e-6});
        frame = {frame.minx - margin, frame.miny - margin, frame.maxx + margin,
                 frame.maxy + margin};
        const auto frame_g = m_ctx.from(Polygon{{{{frame.minx, frame.miny},
                                                  {frame.maxx, frame.miny},
                                                  {frame.maxx, frame.maxy},
                                                  {frame.minx, frame.maxy},
                                                  {frame.minx, frame.miny}}}});
        auto enclosed = [&](const GEOSGeometry* u) {
            MultiPolygon out;
            for (auto& poly :
                 overlay(m_ctx, Op::difference, frame_g.get(), u).to_multipolygon().polygons) {
                const Box b = geo::bounds(poly.rings.front());
                if (b.minx > frame.minx && b.maxx < frame.maxx && b.miny > frame.miny &&
                    b.maxy < frame.maxy)
                    out.polygons.push_back(std::move(poly));
            }
            return out;
        };

        // Direct: when every edge is cleanly shared or single and no overlap was found, the
        // single edges are the union's boundary. Trusted only if the areas balance.
        geo::GeosGeometry all_g;
        MultiPolygon holes;
        if (m_overlap_planar == 0 && !m_tangled) {
            all_g = polygonize_single_edges();
            if (std::abs(all_g.area() - total) <= m_planar_tolerance)
                holes = enclosed(all_g.get());
            else
                all_g = {};
        }
        if (!all_g) {
            // Otherwise the union of K. Each bounded part of its complement is wholly filled
            // by clean cells or wholly a gap, as depth cannot change across a clean edge: one
            // point decides.
            double expected = 0;
            const auto uk = union_of_candidates(expected);
            MultiPolygon filled;
            for (auto& poly : enclosed(uk.get()).polygons) {
                const auto pg = m_ctx.from(poly);
                const auto p = point_on_surface(m_ctx, pg.get());
                (p && covered_by_clean_cell(*p) ? filled : holes)
                    .polygons.push_back(std::move(poly));
            }
            all_g = filled.empty() ? m_ctx.from(uk.to_multipolygon())
                                   : union_of(uk.get(), m_ctx.from(filled).get());
            // Cells that overlap where every edge is clean (one lying over a patch of
            // others) show only here: the cells' areas exceed the union's and the overlaps'.
            if (total - all_g.area() - m_overlap_planar > m_planar_tolerance) check_all_pairs();
        }

        if (!m_opt.county_boundary) {
            report_gaps(holes);
            return;
        }
        auto county = m_ctx.from(*m_opt.county_boundary);
        if (!county.is_valid()) {
            m_report.notes.push_back("the county boundary is not a valid polygon (" +
                                     county.invalid_reason() + "); it was repaired");
            county = m_ctx.check(GEOSMakeValid_r(m_ctx.get(), county.get()), "make valid");
        }
        const auto& ug = all_g;
        report_gaps(overlay(m_ctx, Op::difference, county.get(), ug.get()).to_multipolygon());

        // Parts outside, assigned to the cells they come from.
        const auto outside =
            overlay(m_ctx, Op::difference, ug.get(), county.get()).to_multipolygon();
        std::map<std::size_t, MultiPolygon> per_cell;
        for (const auto& poly : outside.polygons) {
            MultiPolygon one{{poly}};
            if (geo::planar_area(one) <= 0) continue;
            if (m_metric && metric_area(one) < m_opt.min_defect_area_m2) continue;
            const auto og = m_ctx.from(one);
            std::vector<std::uint32_t> near;
            m_index->query(geo::bounds(one), [&](std::uint32_t k) { near.push_back(k); });
            for (auto k : near) {
                auto piece =
                    overlay(m_ctx, Op::intersection, og.get(), geos_of(k)).to_multipolygon();
                if (geo::planar_area(piece) <= 0) continue;
                auto& dst = per_cell[k].polygons;
                dst.insert(dst.end(), piece.polygons.begin(), piece.polygons.end());
            }
        }
        for (auto& [k, mp] : per_cell) {
            if (m_metric && metric_area(mp) < m_opt.min_defect_area_m2) continue;
            add(IssueType::outside_boundary, {code(k)},
                "part of the cell lies outside the county boundary", std::move(mp));
        }
    }

    // ---- 7. nesting
    void check_nesting() {
        for (auto level : {UnitLevel::village, UnitLevel::township}) {
            std::unordered_map<std::string_view, std::size_t> units; // code -> grid.units index
            for (std::size_t u = 0; u < m_grid.units.size(); ++u)
                if (m_grid.units[u].level == level && !m_grid.units[u].geometry.empty())
                    units.emplace(m_grid.units[u].code, u);
            if (units.empty()) continue;
            std::map<std::size_t, std::vector<std::size_t>> members; // unit -> cells
            std::vector<std::uint32_t> unit_of(m_cells.size(), no_segment);
            for (std::size_t i = 0; i < m_cells.size(); ++i) {
                if (!m_cells[i].usable) continue;
                const auto& c = m_grid.cells[i];
                const auto it =
                    units.find(level == UnitLevel::village ? c.village_code : c.township_code);
                if (it == units.end()) continue;
                members[it->second].push_back(i);
                unit_of[i] = static_cast<std::uint32_t>(it->second);
            }
            // A unit whose outline is exactly the net edges of its cells holds them all. Edges
            // cleanly shared by two cells of the unit cancel: only the others are compared
            // with the unit's outline.
            std::vector<Segment> segs;
            for (const auto& [u, cells] : members)
                add_segments(detail::make_parts(m_grid.units[u].geometry),
                             static_cast<std::uint32_t>(u), -1, segs);
            for (std::size_t k = 0; k < m_segments.size(); ++k) {
                const Segment& s = m_segments[k];
                const std::uint32_t u = unit_of[s.owner];
                if (u == no_segment) continue;
                if (m_partner[k] != no_segment && unit_of[m_partner[k]] == u) continue;
                segs.push_back({s.a, s.b, u, s.dir});
            }
            std::set<std::uint32_t> inexact;
            for_each_group(segs, true, [&](const std::vector<std::uint32_t>& group) {
                int net = 0;
                for (auto k : group)
                    net += segs[k].dir;
                if (net != 0) inexact.insert(segs[group[0]].owner);
            });
            for (auto u : inexact)
                check_unit_members(m_grid.units[u], members[u]);
        }
    }

    void check_unit_members(const AdminUnit& unit, const std::vector<std::size_t>& cells) {
        auto ug = m_ctx.from(unit.geometry);
        if (!ug.is_valid()) ug = m_ctx.check(GEOSMakeValid_r(m_ctx.get(), ug.get()), "make valid");
        Prepared prepared(m_ctx, ug.get());
        const std::string level = unit.level == UnitLevel::village ? "village" : "township";
        for (auto i : cells) {
            if (GEOSPreparedCovers_r(m_ctx.get(), prepared.get(), geos_of(i)) == 1) continue;
            auto out = overlay(m_ctx, Op::difference, geos_of(i), ug.get()).to_multipolygon();
            if (geo::planar_area(out) <= 0) continue;
            if (m_metric && metric_area(out) < m_opt.min_defect_area_m2) continue;
            add(IssueType::not_nested, {code(i)},
                "part of the cell lies outside its " + level + " " + unit.code, std::move(out));
        }
    }

    // ---- locations, areas, widths; order
    void finish() {
        for (auto& issue : m_report.issues) {
            if (issue.geometry.empty()) continue;
            try {
                const auto g = m_ctx.from(issue.geometry);
                if (!issue.location) issue.location = point_on_surface(m_ctx, g.get());
                if (!m_metric || !is_areal(issue.type)) continue;
                MultiPolygon metric = issue.geometry;
                m_metric->forward(metric);
                issue.area_m2 = geo::planar_area(metric);
                const auto mg = m_ctx.from(metric);
                const double tolerance = std::max(1e-4, std::sqrt(*issue.area_m2) * 1e-3);
                if (GEOSGeometry* mic =
                        GEOSMaximumInscribedCircle_r(m_ctx.get(), mg.get(), tolerance)) {
                    geo::GeosGeometry line(m_ctx, mic);
                    double radius = 0;
                    if (GEOSGeomGetLength_r(m_ctx.get(), mic, &radius)) issue.width_m = 2 * radius;
                }
            } catch (const Error&) {
                // A defect that cannot be measured is still reported.
            }
        }
        std::stable_sort(
            m_report.issues.begin(), m_report.issues.end(), [](const Issue& a, const Issue& b) {
                if (a.type != b.type) return a.type < b.type;
                if (a.cells != b.cells) return a.cells < b.cells;
                const Point pa = a.location.value_or(Point{}), pb = b.location.value_or(Point{});
                return lexless(pa, pb);
            });
    }

    const Grid& m_grid;
    const ValidateOptions& m_opt;
    geo::GeosContext m_ctx;
    ValidationReport m_report;
    std::vector<CellGeometry> m_cells;
    std::vector<geo::GeosGeometry> m_geos; // built on demand from the cells' parts
    std::vector<std::pair<std::size_t, std::string>> m_duplicates, m_bad_codes;
    std::unique_ptr<geo::Transformer> m_metric;
    std::unique_ptr<LocalScale> m_scale;
    std::vector<std::pair<Box, std::uint32_t>> m_edge_candidates;
    std::vector<std::uint64_t> m_pair_seed;
    std::vector<Box> m_boxes;
    std::unique_ptr<BoxIndex> m_index;
    std::unordered_set<std::uint64_t> m_tested;
    std::vector<Segment> m_segments;      // every edge of every usable cell
    std::vector<std::uint32_t> m_partner; // per edge: the cell sharing it cleanly, if any
    std::vector<std::pair<Point, Point>> m_single_edges;
    bool m_tangled = false; // some edge occurs more than twice, or twice the same way
    double m_overlap_planar = 0;
    double m_planar_tolerance = 0;
};

// Rounds to 1/per_unit (1e7: 1e-7); dividing by the exact power of ten gives the double
// nearest the decimal, which JSON then prints briefly.
double round_to(double x, double per_unit) {
    return std::round(x * per_unit) / per_unit;
}

} // namespace

// ---- the report ------------------------------------------------------------------------

std::string Issue::describe() const {
    std::string s(to_string(type));
    s.resize(std::max<std::size_t>(s.size(), 16), ' ');
    s += ' ';
    s += cells.empty() ? std::string("-") : join(cells, ",");
    if (location) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "  at %.7f,%.7f", location->x, location->y);
        s += buf;
    }
    if (area_m2) s += "  area " + format("%.2f", *area_m2) + " m2";
    if (width_m) s += "  width " + format("%.2f", *width_m) + " m";
    return s + "  " + message;
}

std::map<IssueType, std::size_t> ValidationReport::counts() const {
    std::map<IssueType, std::size_t> n;
    for (const auto& i : issues)
        ++n[i.type];
    return n;
}

std::string ValidationReport::summary() const {
    if (issues.empty()) return "no defects";
    std::vector<std::string> parts;
    for (const auto& [type, n] : counts())
        parts.push_back(std::to_string(n) + " " + std::string(to_string(type)));
    return std::to_string(issues.size()) + (issues.size() == 1 ? " defect: " : " defects: ") +
           join(parts, ", ");
}

namespace {
nlohmann::ordered_json issue_properties(const Issue& i) {
    nlohmann::ordered_json j;
    j["type"] = std::string(to_string(i.type));
    j["cells"] = i.cells;
    j["location"] = i.location ? nlohmann::ordered_json::array(
                                     {round_to(i.location->x, 1e7), round_to(i.location->y, 1e7)})
                               : nlohmann::ordered_json();
    j["area_m2"] =
        i.area_m2 ? nlohmann::ordered_json(round_to(*i.area_m2, 100)) : nlohmann::ordered_json();
    j["width_m"] =
        i.width_m ? nlohmann::ordered_json(round_to(*i.width_m, 1000)) : nlohmann::ordered_json();
    j["message"] = i.message;
    return j;
}

nlohmann::ordered_json ring_json(const Ring& ring) {
    auto arr = nlohmann::ordered_json::array();
    for (const auto& p : ring)
        arr.push_back({p.x, p.y});
    return arr;
}
} // namespace

std::string ValidationReport::to_json(int indent) const {
    nlohmann::ordered_json j;
    j["valid"] = valid();
    j["cells"] = cells;
    j["metric_crs"] = metric_crs;
    auto c = nlohmann::ordered_json::object();
    for (const auto& [type, n] : counts())
        c[std::string(to_string(type))] = n;
    j["counts"] = c;
    j["notes"] = notes;
    j["issues"] = nlohmann::ordered_json::array();
    for (const auto& i : issues)
        j["issues"].push_back(issue_properties(i));
    return j.dump(indent);
}

std::string ValidationReport::to_geojson() const {
    nlohmann::ordered_json fc;
    fc["type"] = "FeatureCollection";
    fc["name"] = "defects";
    fc["features"] = nlohmann::ordered_json::array();
    for (const auto& i : issues) {
        nlohmann::ordered_json f;
        f["type"] = "Feature";
        auto props = issue_properties(i);
        props["cells"] = join(i.cells, ",");
        props.erase("location");
        f["properties"] = props;
        if (!i.geometry.empty()) {
            auto polys = nlohmann::ordered_json::array();
            for (const auto& p : i.geometry.polygons) {
                auto rings = nlohmann::ordered_json::array();
                for (const auto& r : p.rings)
                    rings.push_back(ring_json(r));
                polys.push_back(rings);
            }
            f["geometry"] = {{"type", "MultiPolygon"}, {"coordinates", polys}};
        } else if (i.location) {
            f["geometry"] = {{"type", "Point"}, {"coordinates", {i.location->x, i.location->y}}};
        } else {
            f["geometry"] = nullptr;
        }
        fc["features"].push_back(f);
    }
    return fc.dump();
}

ValidationReport validate(const Grid& grid, const ValidateOptions& options) {
    Validator v(grid, options);
    return v.run();
}

// ---- the county boundary ---------------------------------------------------------------

MultiPolygon read_boundary(const std::string& source, const std::string& layer_name) {
    auto ds = geo::Dataset::open_vector(source);
    OGRLayerH layer = nullptr;
    if (!layer_name.empty()) {
        layer = ds.layer(layer_name);
    } else {
        for (int i = 0; i < ds.layer_count() && !layer; ++i) {
            const auto t = wkbFlatten(OGR_L_GetGeomType(ds.layer(i)));
            if (t == wkbPolygon || t == wkbMultiPolygon || ds.layer_count() == 1)
                layer = ds.layer(i);
        }
        if (!layer && ds.layer_count() > 0) layer = ds.layer(0);
    }
    if (!layer) throw InputError("the boundary source has no layers", {.file = source});
    const ErrorContext where{.file = source, .layer = geo::layer_name(layer)};
    auto src = geo::SpatialRef::clone_of(OGR_L_GetSpatialRef(layer));
    if (src.empty()) throw InputError("the boundary layer has no CRS", where);
    const auto wgs84 = geo::SpatialRef::from_user_input("EPSG:4326");
    OGRCoordinateTransformationH ct = nullptr;
    if (!src.is_same(wgs84)) {
        ct = OCTNewCoordinateTransformation(src.get(), wgs84.get());
        if (!ct) throw InputError("no transformation from the boundary's CRS to EPSG:4326", where);
    }
    struct CtGuard {
        OGRCoordinateTransformationH h;
        ~CtGuard() {
            if (h) OCTDestroyCoordinateTransformation(h);
        }
    } guard{ct};

    MultiPolygon all;
    OGR_L_ResetReading(layer);
    while (geo::FeaturePtr f{OGR_L_GetNextFeature(layer)}) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f.get());
        if (!g) continue;
        const auto t = wkbFlatten(OGR_G_GetGeometryType(g));
        if (t != wkbPolygon && t != wkbMultiPolygon && !OGR_GT_IsNonLinear(t)) continue;
        if (ct && OGR_G_Transform(g, ct) != OGRERR_NONE)
            throw InputError("boundary coordinates cannot be transformed to EPSG:4326", where);
        try {
            auto mp = geo::to_multipolygon(g);
            all.polygons.insert(all.polygons.end(), mp.polygons.begin(), mp.polygons.end());
        } catch (const InputError&) {
            continue; // curves that are not surfaces
        }
    }
    if (all.empty()) throw InputError("the boundary source holds no polygon", where);
    geo::GeosContext ctx;
    std::vector<GEOSGeometry*> parts;
    for (const auto& p : all.polygons)
        parts.push_back(ctx.from(p).release());
    const auto coll =
        ctx.check(GEOSGeom_createCollection_r(ctx.get(), GEOS_GEOMETRYCOLLECTION, parts.data(),
                                              static_cast<unsigned>(parts.size())),
                  "cannot build a collection");
    return unary_union(ctx, coll.get()).to_multipolygon();
}

} // namespace wangge::grid
