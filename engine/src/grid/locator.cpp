// Point location over a coverage of cells, exact on shared edges.
//
// THE RULE. A point p belongs to cell C when the number of C's edges e that satisfy
//
//     cross(e, p)  :=  a.y <= p.y < b.y  and  orient(a, b, p) > 0
//
// is odd, where every edge is first put in canonical order (a is the endpoint lower by
// (y, x), b the other) and orient is the exact sign of the 2x2 determinant
// (b - a) x (p - a) (positive: p lies west of the upward edge, so a ray from p to the east
// crosses it). Both neighbours on a shared edge hold the same canonical edge, evaluate the
// same predicate on it and so agree. The half-open test is the ordinary crossing number for
// the point p + (d, e) moved by infinitesimals 0 < e << d (north-north-east), which never
// lies on an edge: every point goes to exactly one cell of a valid coverage, namely
//   - a point on a shared edge: the cell east of it (north of a horizontal edge);
//   - a point on a shared vertex: the cell that holds the sector just east-north-east of it.
// A point that this leaves in no cell but that lies exactly on an edge (the county outline,
// the rim of a gap) belongs to the cell owning that edge; with several such cells, the one
// with the lowest index. Overlapping cells (an invalid coverage): the lowest index wins.
//
// EXACTNESS. orient() (geo::orientation) uses the standard floating-point filter (the error bound
// of the 2x2 determinant, (3 + 16 eps) eps (|l| + |r|)) and falls back to an exact evaluation: the
// six products expand into twelve doubles by fused multiply-add, which are summed without loss as a
// nonoverlapping expansion (two-sum chains); the sign is that of the largest term. We use our own
// predicate rather than GEOSOrientationIndex_r because this one is exact (GEOS uses double-double,
// robust but not proved exact), needs no per-thread GEOS context, and inlines into the hot loop.
//
// SPEED. A uniform grid of squares over the cells' bounding box. A square that no edge
// touches stores the one cell it lies in (or "outside"); it answers without any polygon
// test. A square that edges pass through ("border square") stores, per candidate cell
// (every cell with an edge through the square): those edges, tested with cross(),
// and the crossings east of the square folded into a parity bit plus a few y values where
// that parity flips within the square's row. An edge not through the square but in its row
// lies wholly east of it (cross() reduces to the y test) or wholly west (never crosses), so
// this sum equals the full count along the ray. Which squares an edge passes through is
// decided conservatively (a margin of 1e-6 square plus the rounding error of the clip), so
// the exact tests always see every edge that could matter.
//
// DISTANCE. Inside a cell the nearest boundary is on the cell's own boundary (a path to
// any other edge leaves the cell first); outside every cell it is on the outline (the edges
// that only one cell holds). So each cell, and the outline, has a tree of boxes over its
// edges in ring order (8 per box), and where it has many edges also a small grid of
// candidate lists: for each square, every edge that can be the nearest one for some point
// of the square (those within "distance from the square's centre to its nearest edge plus
// half the square's diagonal" of the square). A query tests one list, or searches the tree
// nearest box first. Distances are exact point-segment distances in a local metric frame
// at the point: longitude scaled by N(lat) cos(lat) and latitude by M(lat), the WGS 84
// normal and meridional radii per degree (taken at the middle of the point's row of
// squares, within 1e-5 of the point's own). The frame's scale drifts by about
// tan(lat) * dlat, 1e-4 relative over a kilometre near 35 N, so the error for distances
// under a kilometre is below 0.1 m. For an invalid coverage (overlaps) this is the
// distance to the boundary of the cell the point was given.
//
// MEMORY. On small virtual machines a random access beyond the L2 cache costs 200-600 ns,
// more than a whole look-up. Batches are therefore located in spatial order (sorted by
// blocks of squares) when the structures are large, and always when distances are wanted.
#include "grid/locator_impl.hpp"

namespace wangge::grid {

namespace {
// Level sizes of a tree and where each level's boxes start (level 0 is the leaves).
struct TreeLevels {
    std::array<std::uint32_t, 12> size{};
    std::array<std::uint32_t, 12> first{};
    int top = 0;
};

TreeLevels tree_levels(const Tree& t) {
    TreeLevels v;
    v.size[0] = t.count;
    v.first[1] = t.box_first;
    while (v.size[static_cast<std::size_t>(v.top)] > fanout) {
        const auto l = static_cast<std::size_t>(v.top);
        v.size[l + 1] = (v.size[l] + fanout - 1) / fanout;
        if (l + 2 < v.first.size()) v.first[l + 2] = v.first[l + 1] + v.size[l + 1];
        ++v.top;
    }
    return v;
}

} // namespace

double Locator::Impl::tree_nearest2(const Tree& t, const Seg* leaves, double px, double py,
                                    double kx, double ky, double best2) const noexcept {
    if (t.count == 0) return best2;
    // Plain references, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const TreeLevels levels = tree_levels(t);
    const auto &size = levels.size, &first = levels.first;
    const auto top = levels.top;
    auto box2 = [&](const Box& b) {
        const double ex = std::max(std::max(b.x0 - px, px - b.x1), 0.0) * kx;
        const double ey = std::max(std::max(b.y0 - py, py - b.y1), 0.0) * ky;
        return ex * ex + ey * ey;
    };
    // Visit entries [b, e) of a level, nearest box first, skipping what cannot beat the best.
    auto visit = [&](auto& self, int level, std::uint32_t b, std::uint32_t e) -> void {
        if (level == 0) {
            for (std::uint32_t k = b; k < e; ++k)
                best2 = std::min(best2, dist2_to_segment(leaves[k], px, py, kx, ky));
            return;
        }
        std::array<std::pair<double, std::uint32_t>, fanout> order; // filled below
        std::size_t n = 0;
        for (std::uint32_t k = b; k < e; ++k) {
            const double d2 = box2(boxes[first[static_cast<std::size_t>(level)] + k]);
            std::size_t at = n++;
            while (at > 0 && order[at - 1].first > d2) {
                order[at] = order[at - 1];
                --at;
            }
            order[at] = {d2, k};
        }
        const std::uint32_t below = size[static_cast<std::size_t>(level - 1)];
        for (std::size_t q = 0; q < n && order[q].first < best2; ++q) {
            const std::uint32_t k = order[q].second;
            self(self, level - 1, k * fanout, std::min((k + 1) * fanout, below));
        }
    };
    visit(visit, top, 0, size[static_cast<std::size_t>(top)]);
    return best2;
}

namespace {

// Distance in metres between a lon/lat rectangle and a segment, in the frame (kx, ky):
// zero when they meet, else attained at a segment end or a rectangle corner.
double rect_segment_distance(const Box& r, const Seg& s, double kx, double ky) {
    const double cx = (r.x0 + r.x1) / 2, cy = (r.y0 + r.y1) / 2;
    const double hw = (r.x1 - r.x0) / 2 * kx, hh = (r.y1 - r.y0) / 2 * ky;
    const double ax = (s.ax - cx) * kx, ay = (s.ay - cy) * ky;
    const double bx = (s.bx - cx) * kx, by = (s.by - cy) * ky;
    // Liang-Barsky: does the segment cross the rectangle?
    double t0 = 0, t1 = 1;
    const double dxs = bx - ax, dys = by - ay;
    const double p[4] = {-dxs, dxs, -dys, dys};
    const double q[4] = {ax + hw, hw - ax, ay + hh, hh - ay};
    bool meets = true;
    for (int k = 0; k < 4 && meets; ++k) {
        if (p[k] == 0) {
            if (q[k] < 0) meets = false;
        } else {
            const double t = q[k] / p[k];
            if (p[k] < 0)
                t0 = std::max(t0, t);
            else
                t1 = std::min(t1, t);
            if (t0 > t1) meets = false;
        }
    }
    if (meets) return 0.0;
    auto point_rect = [&](double x, double y) {
        const double ex = std::max(std::abs(x) - hw, 0.0), ey = std::max(std::abs(y) - hh, 0.0);
        return ex * ex + ey * ey;
    };
    double best = std::min(point_rect(ax, ay), point_rect(bx, by));
    const Seg local{ax, ay, bx, by};
    for (const double sx : {-hw, hw})
        for (const double sy : {-hh, hh})
            best = std::min(best, dist2_to_segment(local, sx, sy, 1.0, 1.0));
    return std::sqrt(best);
}

} // namespace

bool Locator::Impl::tree_within(const Tree& t, const Seg* leaves, const Box& rect, double kx,
                                double ky, double limit, std::size_t cap,
                                std::vector<std::pair<double, std::uint32_t>>& out) const {
    // Plain references, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const TreeLevels levels = tree_levels(t);
    const auto &size = levels.size, &first = levels.first;
    const auto top = levels.top;
    auto gap = [&](const Box& b) {
        const double ex = std::max(std::max(b.x0 - rect.x1, rect.x0 - b.x1), 0.0) * kx;
        const double ey = std::max(std::max(b.y0 - rect.y1, rect.y0 - b.y1), 0.0) * ky;
        return std::sqrt(ex * ex + ey * ey);
    };
    auto visit = [&](auto& self, int level, std::uint32_t b, std::uint32_t e) -> bool {
        for (std::uint32_t k = b; k < e; ++k) {
            if (level == 0) {
                const Seg& sg = leaves[k];
                // The gap between the boxes first: a cheap lower bound.
                if (gap(Box{std::min(sg.ax, sg.bx), sg.ay, std::max(sg.ax, sg.bx), sg.by}) > limit)
                    continue;
                const double d = rect_segment_distance(rect, sg, kx, ky);
                if (d <= limit) {
                    out.emplace_back(d, k);
                    if (out.size() > cap) return false;
                }
                continue;
            }
            if (gap(boxes[first[static_cast<std::size_t>(level)] + k]) > limit) continue;
            if (!self(self, level - 1, k * fanout,
                      std::min((k + 1) * fanout, size[static_cast<std::size_t>(level - 1)])))
                return false;
        }
        return true;
    };
    return visit(visit, top, 0, size[static_cast<std::size_t>(top)]);
}

bool Locator::Impl::may_hold_outside(const Box& r) const noexcept {
    if (r.x0 < bx0 || r.x1 > bx1 || r.y0 < by0 || r.y1 > by1) return true;
    for (int j = row(r.y0); j <= row(r.y1); ++j)
        for (int i = col(r.x0); i <= col(r.x1); ++i)
            if (squares[static_cast<std::size_t>(j) * nx + i] < 0) return true;
    return false;
}

void Locator::Impl::build_candidates(Tree& t, const Seg* leaves, bool only_outside,
                                     Lists& out) const {
    // Worth it for more than a few boxes' worth of edges.
    if (t.count <= 3 * fanout) return;
    Box bb{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
           -std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
    for (std::uint32_t k = 0; k < t.count; ++k) {
        const Seg& s = leaves[k];
        bb = {std::min(bb.x0, std::min(s.ax, s.bx)), std::min(bb.y0, s.ay),
              std::max(bb.x1, std::max(s.ax, s.bx)), std::max(bb.y1, s.by)};
    }
    if (!(bb.x1 > bb.x0) || !(bb.y1 > bb.y0)) return;
    // Lists are chosen in each square's metric frame and used in the query point's: the two
    // scales differ by at most eps ~ tan(lat) * (latitude span), so distances by a factor
    // (1 + eps) each way. Skip the grid where that is coarse.
    constexpr double deg = 3.14159265358979323846 / 180.0;
    const double max_lat = std::max(std::abs(bb.y0), std::abs(bb.y1));
    if (max_lat > 80) return;
    const double eps = std::tan(max_lat * deg) * (bb.y1 - bb.y0) * deg + 1e-5;
    if (eps > 0.02) return;
    double kx = 0, ky = 0;
    metres_per_degree((bb.y0 + bb.y1) / 2, kx, ky);
    const double aspect = std::clamp((bb.x1 - bb.x0) * kx / ((bb.y1 - bb.y0) * ky), 1e-2, 1e2);
    // About one square per edge; the outline (whose squares far outside hold long lists
    // otherwise) at least 16384.
    const double target =
        std::clamp(static_cast<double>(t.count), only_outside ? 16384.0 : 1.0, 16384.0);
    t.gnx = static_cast<int>(std::clamp(std::round(std::sqrt(target * aspect)), 1.0, 128.0));
    t.gny = static_cast<int>(std::clamp(std::round(target / t.gnx), 1.0, 128.0));
    const double gdx = (bb.x1 - bb.x0) / t.gnx, gdy = (bb.y1 - bb.y0) / t.gny;
    t.gx0 = bb.x0;
    t.gy0 = bb.y0;
    t.inv_gdx = t.gnx / (bb.x1 - bb.x0);
    t.inv_gdy = t.gny / (bb.y1 - bb.y0);
    t.grid_start = 0; // placed when the lists are gathered
    std::vector<std::pair<double, std::uint32_t>> found;
    std::vector<std::pair<float, std::uint32_t>> ranked;
    for (int j = 0; j < t.gny; ++j)
        for (int i = 0; i < t.gnx; ++i) {
            out.start.push_back(static_cast<std::uint32_t>(out.edges.size()));
            // A hair wider than the square: a point's square index is computed with rounding.
            const double hx = gdx * 1e-6, hy = gdy * 1e-6;
            const Box r{bb.x0 + i * gdx - hx, bb.y0 + j * gdy - hy, bb.x0 + (i + 1) * gdx + hx,
                        bb.y0 + (j + 1) * gdy + hy};
            if (only_outside && !may_hold_outside(r)) continue; // empty list: never asked
            double fx = 0, fy = 0;
            metres_per_degree((r.y0 + r.y1) / 2, fx, fy);
            const double cx = (r.x0 + r.x1) / 2, cy = (r.y0 + r.y1) / 2;
            const double centre = std::sqrt(
                tree_nearest2(t, leaves, cx, cy, fx, fy, std::numeric_limits<double>::infinity()));
            const double half_diag = std::hypot((r.x1 - r.x0) * fx, (r.y1 - r.y0) * fy) / 2;
            // Every point p of the square has an edge within centre + half_diag (in this
            // frame). The edge nearest to p in p's frame is then within
            // (1 + eps)^2 (centre + half_diag) of the square in this frame; farther edges
            // never win.
            const double reach = (centre + half_diag) * (1 + eps) * (1 + eps) + 1e-6;
            found.clear();
            // Long lists (far from every edge) are left empty: the tree answers there.
            if (!tree_within(t, leaves, r, fx, fy, reach, max_list, found)) continue;
            ranked.clear();
            for (const auto& [d, k] : found) {
                // Measured in this frame; in a query's frame at least this / (1 + eps).
                const double lower = d / (1 + eps);
                // Rounded down to a float.
                auto f = static_cast<float>(lower);
                if (static_cast<double>(f) > lower) f = std::nextafter(f, 0.0f);
                ranked.emplace_back(f, k);
            }
            std::sort(ranked.begin(), ranked.end());
            for (const auto& [lower, k] : ranked) {
                out.edges.push_back(k);
                out.lower.push_back(lower);
            }
        }
    out.start.push_back(static_cast<std::uint32_t>(out.edges.size()));
}

double Locator::Impl::distance_m(double px, double py, std::int32_t cell) const noexcept {
    if (empty || !std::isfinite(px) || !std::isfinite(py))
        return std::numeric_limits<double>::infinity();
    // Inside a cell the nearest boundary is the cell's own: a path to any other edge leaves
    // the cell first. Outside every cell it is on the outline, for the same reason.
    const bool in_cell = cell >= 0;
    const Tree& t = in_cell ? cell_trees[static_cast<std::size_t>(cell)] : outline_tree;
    const Seg* leaves = (in_cell ? edges.data() : outline.data()) + t.first;
    if (t.count == 0) return std::numeric_limits<double>::infinity();
    double kx = 0, ky = 0;
    if (py >= by0 && py <= by1) {
        // The scale at the row's middle: within half a row (tens of metres) it differs from
        // the scale at p by under 1e-5, centimetres over a kilometre.
        const auto& k = row_scale[static_cast<std::size_t>(row(py))];
        kx = k.first;
        ky = k.second;
    } else {
        metres_per_degree(py, kx, ky);
    }
    if (t.grid_start != Tree::no_grid) {
        const double fi = (px - t.gx0) * t.inv_gdx, fj = (py - t.gy0) * t.inv_gdy;
        if (fi >= 0 && fj >= 0 && fi <= t.gnx && fj <= t.gny) {
            const int i = std::min(static_cast<int>(fi), t.gnx - 1);
            const int j = std::min(static_cast<int>(fj), t.gny - 1);
            const std::size_t q = t.grid_start + static_cast<std::size_t>(j) * t.gnx + i;
            const std::uint32_t b = cand_start[q], e = cand_start[q + 1];
            if (b < e) {
                double best2 = std::numeric_limits<double>::infinity();
                for (std::uint32_t k = b; k < e; ++k) {
                    const double lower = cand_lower[k];
                    if (lower * lower >= best2) break;
                    best2 =
                        std::min(best2, dist2_to_segment(leaves[cand_edges[k]], px, py, kx, ky));
                }
                return std::sqrt(best2);
            }
        }
    }
    return std::sqrt(
        tree_nearest2(t, leaves, px, py, kx, ky, std::numeric_limits<double>::infinity()));
}

// ---- the public face -------------------------------------------------------------------

Locator::Locator(const Grid& grid, LocatorOptions options)
    : m_impl(std::make_unique<Impl>(grid, options)) {}
Locator::~Locator() = default;
Locator::Locator(Locator&&) noexcept = default;
Locator& Locator::operator=(Locator&&) noexcept = default;

std::int32_t Locator::locate(geo::Point lonlat) const {
    return m_impl->locate(lonlat.x, lonlat.y);
}

Location Locator::locate_with_distance(geo::Point lonlat) const {
    const std::int32_t cell = m_impl->locate(lonlat.x, lonlat.y);
    return {cell, m_impl->distance_m(lonlat.x, lonlat.y, cell)};
}

void Locator::locate_batch(std::span<const geo::Point> points, std::span<std::int32_t> out,
                           int threads) const {
    if (out.size() != points.size())
        throw InputError("locate_batch: " + std::to_string(points.size()) + " points but " +
                         std::to_string(out.size()) + " results");
    const Impl& impl = *m_impl;
    // Sorting pays only when the structures do not fit in the caches anyway.
    const bool sort = impl.stats.bytes > sort_above_bytes;
    parallel_ranges(points.size(), threads, [&](std::size_t b, std::size_t e) {
        if (sort && e - b >= 4096) {
            impl.in_spatial_order(points, b, e, [&](double x, double y, std::size_t i) {
                out[i] = impl.locate(x, y);
            });
        } else {
            for (std::size_t i = b; i < e; ++i)
                out[i] = impl.locate(points[i].x, points[i].y);
        }
    });
}

void Locator::locate_batch(std::span<const geo::Point> points, std::span<Location> out,
                           int threads) const {
    if (out.size() != points.size())
        throw InputError("locate_batch: " + std::to_string(points.size()) + " points but " +
                         std::to_string(out.size()) + " results");
    const Impl& impl = *m_impl;
    parallel_ranges(points.size(), threads, [&](std::size_t b, std::size_t e) {
        if (e - b >= 4096) {
            impl.in_spatial_order(points, b, e, [&](double x, double y, std::size_t i) {
                const std::int32_t cell = impl.locate(x, y);
                out[i] = {cell, impl.distance_m(x, y, cell)};
            });
        } else {
            for (std::size_t i = b; i < e; ++i) {
                const std::int32_t cell = impl.locate(points[i].x, points[i].y);
                out[i] = {cell, impl.distance_m(points[i].x, points[i].y, cell)};
            }
        }
    });
}

std::size_t Locator::cell_count() const noexcept {
    return m_impl->codes.size();
}

const std::string& Locator::cell_code(std::int32_t index) const {
    if (index < 0 || static_cast<std::size_t>(index) >= m_impl->codes.size())
        throw InputError("no cell number " + std::to_string(index) + " (the grid has " +
                         std::to_string(m_impl->codes.size()) + " cells)");
    return m_impl->codes[static_cast<std::size_t>(index)];
}

LocatorStats Locator::stats() const noexcept {
    return m_impl->stats;
}

} // namespace wangge::grid
