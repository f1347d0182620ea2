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
#include "wangge/grid/locator.hpp"

#include "wangge/error.hpp"
#include "wangge/geo/orientation.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <thread>
#include <vector>

namespace wangge::grid {

namespace {

// An edge in canonical order: (ay, ax) < (by, bx).
struct Seg {
    double ax, ay, bx, by;
};

inline bool crosses(const Seg& s, double x, double y) {
    if (y < s.ay || y >= s.by) return false;
    if (x < s.ax && x < s.bx) return true;  // wholly east of p: certainly crossed
    if (x > s.ax && x > s.bx) return false; // wholly west
    return geo::orientation(s.ax, s.ay, s.bx, s.by, x, y) > 0;
}

inline bool on_segment(const Seg& s, double x, double y) {
    return y >= s.ay && y <= s.by && x >= std::min(s.ax, s.bx) && x <= std::max(s.ax, s.bx) &&
           geo::orientation(s.ax, s.ay, s.bx, s.by, x, y) == 0;
}

// Squared distance from the origin to segment s given in metric coordinates around p.
inline double dist2_to_segment(const Seg& s, double px, double py, double kx, double ky) {
    const double ax = (s.ax - px) * kx, ay = (s.ay - py) * ky;
    const double vx = (s.bx - s.ax) * kx, vy = (s.by - s.ay) * ky;
    const double len2 = vx * vx + vy * vy;
    double t = len2 > 0 ? -(ax * vx + ay * vy) / len2 : 0.0;
    t = std::clamp(t, 0.0, 1.0);
    const double dx = ax + t * vx, dy = ay + t * vy;
    return dx * dx + dy * dy;
}

// Metres per degree of longitude and latitude at a latitude (WGS 84 ellipsoid).
inline void metres_per_degree(double lat, double& kx, double& ky) {
    constexpr double a = 6378137.0;
    constexpr double f = 1.0 / 298.257223563;
    constexpr double e2 = f * (2.0 - f);
    constexpr double deg = 3.14159265358979323846 / 180.0;
    const double phi = std::clamp(lat, -89.999, 89.999) * deg;
    const double s = std::sin(phi);
    const double w = 1.0 - e2 * s * s;
    const double n = a / std::sqrt(w);
    const double m = a * (1.0 - e2) / (w * std::sqrt(w));
    kx = n * std::cos(phi) * deg;
    ky = m * deg;
}

// One candidate cell of a border square. Its edges through the square are
// edges[inner[k]] for k in [inner, next.inner); the y values where the parity of the crossings east
// of the square flips are toggles[toggle & 0x7fffffff, next.toggle & ...), and the top bit of
// toggle is that parity below all of them. A sentinel follows the last candidate.
struct Candidate {
    std::int32_t cell = -1;
    std::uint32_t inner = 0;
    std::uint32_t toggle = 0;
};
constexpr std::uint32_t toggle_mask = 0x7fffffffu;

// Squares per edge when sizing the grid automatically (measured: see bench/).
constexpr double squares_per_edge = 4.0;
// Beyond this (about 100,000 small cells) more squares cost more in build time and memory
// than they save in look-ups.
constexpr double max_auto_squares = 1.5e6;
// Above this size a batch of plain look-ups is sorted first (see in_spatial_order).
constexpr std::size_t sort_above_bytes = std::size_t{24} << 20;

struct Box {
    double x0, y0, x1, y1;
};

// A tree of boxes over edges[first, first + count) in their given (ring) order: level 1
// boxes bound 8 consecutive edges, level 2 boxes 8 consecutive level-1 boxes, and so on up
// to a level of at most 8 boxes. The levels are stored one after another from box_first.
//
// Trees over many edges also get a grid of candidate lists over their bounding box: for
// each square, every edge that can be the nearest one for some point in it (see
// build_candidates). A query then tests one short list; an empty list means "use the tree".
struct Tree {
    std::uint32_t first = 0, count = 0;
    std::uint32_t box_first = 0;
    std::uint32_t grid_start = no_grid; // into cand_start, gnx * gny + 1 entries
    int gnx = 0, gny = 0;
    double gx0 = 0, gy0 = 0, inv_gdx = 0, inv_gdy = 0;
    static constexpr std::uint32_t no_grid = 0xffffffffu;
};
constexpr std::uint32_t fanout = 8;
// Candidate lists longer than this are dropped (the tree answers there).
constexpr std::size_t max_list = 128;

template <class F> void parallel_ranges(std::size_t n, int threads, F&& f) {
    unsigned t = threads > 0 ? static_cast<unsigned>(threads) : std::thread::hardware_concurrency();
    if (t == 0) t = 1;
    // Starting a thread costs tens of microseconds; small batches stay on this one.
    const std::size_t max_useful = std::max<std::size_t>(1, n / 8192);
    t = static_cast<unsigned>(std::min<std::size_t>(t, max_useful));
    if (t <= 1) {
        f(std::size_t{0}, n);
        return;
    }
    const std::size_t chunk = (n + t - 1) / t;
    std::vector<std::thread> pool;
    pool.reserve(t - 1);
    for (unsigned k = 1; k < t; ++k) {
        const std::size_t b = std::min(n, k * chunk), e = std::min(n, b + chunk);
        pool.emplace_back([&f, b, e] { f(b, e); });
    }
    f(std::size_t{0}, std::min(n, chunk));
    for (auto& th : pool)
        th.join();
}

} // namespace

struct Locator::Impl {
    std::vector<std::string> codes;
    bool empty = true;
    // The cells' exact bounding box, and the acceleration grid over it.
    double bx0 = 0, by0 = 0, bx1 = 0, by1 = 0;
    double x0 = 0, y0 = 0, dx = 1, dy = 1, inv_dx = 1, inv_dy = 1;
    int nx = 1, ny = 1;
    // Per square: >= 0 the cell holding the whole square, -1 outside, <= -2 border square
    // number -(v + 2).
    std::vector<std::int32_t> squares;
    // Border square b's candidates are cands[border_cands[b], border_cands[b + 1]).
    std::vector<std::uint32_t> border_cands;
    std::vector<Candidate> cands;
    std::vector<std::uint32_t> inner; // indices into edges
    std::vector<double> toggles;
    // Distances: every cell's edges (cell order, ring order within a cell) and the outline
    // (edges of one cell only), each under a tree of boxes.
    std::vector<Seg> edges;
    std::vector<Seg> outline;
    std::vector<Box> boxes;
    std::vector<Tree> cell_trees;
    Tree outline_tree;
    std::vector<std::uint32_t> cand_start; // candidate lists of the trees' grids
    std::vector<std::uint32_t> cand_edges; // indices relative to the tree's first edge
    // Per candidate, a lower bound in metres of its distance from any point of the square
    // (in any query's frame); lists are sorted by it, so a query stops at the first one
    // that cannot beat the best so far.
    std::vector<float> cand_lower;
    // Metres per degree of longitude and latitude at the middle of each row of squares.
    std::vector<std::pair<double, double>> row_scale;
    LocatorStats stats;

    Impl(const Grid& grid, const LocatorOptions& options);

    // Monotone in x and y (so comparisons of indices imply comparisons of coordinates).
    [[nodiscard]] int col(double x) const noexcept {
        const double f = (x - x0) * inv_dx;
        if (!(f >= 0)) return 0;
        if (f >= nx) return nx - 1;
        return static_cast<int>(f);
    }
    [[nodiscard]] int row(double y) const noexcept {
        const double f = (y - y0) * inv_dy;
        if (!(f >= 0)) return 0;
        if (f >= ny) return ny - 1;
        return static_cast<int>(f);
    }

    [[nodiscard]] std::int32_t query_border(std::size_t b, double x, double y) const noexcept {
        const std::uint32_t first = border_cands[b], last = border_cands[b + 1];
        for (std::uint32_t c = first; c < last; ++c) {
            const Candidate& cd = cands[c];
            const Candidate& next = cands[c + 1];
            unsigned parity = cd.toggle >> 31;
            for (std::uint32_t t = cd.toggle & toggle_mask; t < (next.toggle & toggle_mask); ++t)
                parity ^= toggles[t] <= y ? 1u : 0u;
            for (std::uint32_t e = cd.inner; e < next.inner; ++e)
                parity ^= crosses(edges[inner[e]], x, y) ? 1u : 0u;
            if (parity & 1u) return cd.cell;
        }
        // In no cell by the half-open rule: on an edge of the outline (or of a gap)?
        for (std::uint32_t c = first; c < last; ++c)
            for (std::uint32_t e = cands[c].inner; e < cands[c + 1].inner; ++e)
                if (on_segment(edges[inner[e]], x, y)) return cands[c].cell;
        return -1;
    }

    [[nodiscard]] std::int32_t locate(double x, double y) const noexcept {
        if (!(x >= bx0 && x <= bx1 && y >= by0 && y <= by1)) return -1; // NaN too
        const std::int32_t v = squares[static_cast<std::size_t>(row(y)) * nx + col(x)];
        if (v >= -1) return v;
        return query_border(static_cast<std::size_t>(-(v + 2)), x, y);
    }

    // Squared metric distance from p to the nearest of a tree's edges, below best2.
    [[nodiscard]] double tree_nearest2(const Tree& t, const Seg* leaves, double px, double py,
                                       double kx, double ky, double best2) const noexcept;
    // Appends to out (distance, relative index) of the tree's edges within `limit` metres
    // of the rectangle, measured in the metric frame (kx, ky); stops early (returning false)
    // once out holds more than `cap` edges.
    bool tree_within(const Tree& t, const Seg* leaves, const Box& rect, double kx, double ky,
                     double limit, std::size_t cap,
                     std::vector<std::pair<double, std::uint32_t>>& out) const;
    // A tree's candidate lists while they are built (offsets local to the tree).
    struct Lists {
        std::vector<std::uint32_t> start, edges;
        std::vector<float> lower;
    };
    // only_outside: lists only for squares that can hold points outside every cell. Reads
    // only what is built before it, so trees can be done on several threads.
    void build_candidates(Tree& t, const Seg* leaves, bool only_outside, Lists& out) const;
    // Whether any point of the lon/lat box can be outside every cell (not in an interior
    // square of the locator's grid).
    [[nodiscard]] bool may_hold_outside(const Box& r) const noexcept;

    // Distance to the nearest boundary of a point located in `cell` (-1: outside).
    [[nodiscard]] double distance_m(double px, double py, std::int32_t cell) const noexcept;

    // Runs f(x, y, index into points) over points[begin, end) in an order that keeps neighbouring
    // queries together (blocks of 8 x 8 squares), so the structures they read stay in cache:
    // on machines where a random memory access costs 200 ns, that is most of the cost.
    template <class F>
    void in_spatial_order(std::span<const geo::Point> points, std::size_t begin, std::size_t end,
                          F&& f) const;
};

template <class F>
void Locator::Impl::in_spatial_order(std::span<const geo::Point> points, std::size_t begin,
                                     std::size_t end, F&& f) const {
    struct Rec {
        std::uint32_t key;
        std::uint32_t index; // within the chunk
        double x, y;
    };
    // A million points at a time: as local as all at once on grids like Jishan's (hundreds
    // of points per block), with bounded memory.
    constexpr std::size_t chunk = std::size_t{1} << 20;
    std::vector<Rec> a, b;
    std::vector<std::uint32_t> count;
    const int bnx = (nx + 7) / 8;
    for (std::size_t cb = begin; cb < end; cb += chunk) {
        const std::size_t ce = std::min(end, cb + chunk), n = ce - cb;
        a.resize(n);
        b.resize(n);
        std::uint32_t max_key = 0;
        for (std::size_t k = 0; k < n; ++k) {
            const geo::Point p = points[cb + k];
            std::uint32_t key = 0;
            if (p.x >= bx0 && p.x <= bx1 && p.y >= by0 && p.y <= by1)
                key = static_cast<std::uint32_t>((row(p.y) >> 3) * bnx + (col(p.x) >> 3)) + 1;
            a[k] = {key, static_cast<std::uint32_t>(k), p.x, p.y};
            max_key = std::max(max_key, key);
        }
        // LSD radix sort on the key, 11 bits a pass (the counts stay in L1).
        constexpr int bits = 11;
        constexpr std::uint32_t radix = 1u << bits;
        count.assign(radix, 0);
        for (int shift = 0; shift < 32 && (max_key >> shift) != 0; shift += bits) {
            std::fill(count.begin(), count.end(), 0u);
            for (const Rec& r : a)
                ++count[(r.key >> shift) & (radix - 1)];
            std::uint32_t sum = 0;
            for (auto& c : count) {
                const std::uint32_t t = c;
                c = sum;
                sum += t;
            }
            for (const Rec& r : a)
                b[count[(r.key >> shift) & (radix - 1)]++] = r;
            a.swap(b);
        }
        for (const Rec& r : a)
            f(r.x, r.y, cb + r.index);
    }
}

Locator::Impl::Impl(const Grid& grid, const LocatorOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    codes.reserve(grid.cells.size());
    for (const auto& c : grid.cells)
        codes.push_back(c.code);

    // ---- 1. the edges of every cell, canonical, in cell order
    std::vector<std::int32_t> edge_cell;
    {
        std::size_t n = 0;
        for (const auto& c : grid.cells)
            n += geo::vertex_count(c.geometry);
        edges.reserve(n);
        edge_cell.reserve(n);
    }
    for (std::size_t ci = 0; ci < grid.cells.size(); ++ci) {
        const auto& cell = grid.cells[ci];
        auto add = [&](geo::Point p, geo::Point q) {
            if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(q.x) ||
                !std::isfinite(q.y))
                throw DataError("non-finite coordinate in the cell's geometry",
                                ErrorContext{.cell = cell.code});
            if (p == q) return;
            if (p.y > q.y || (p.y == q.y && p.x > q.x)) std::swap(p, q);
            // +0.0 turns -0.0 into 0.0, so equal coordinates are equal bit for bit.
            edges.push_back({p.x + 0.0, p.y + 0.0, q.x + 0.0, q.y + 0.0});
            edge_cell.push_back(static_cast<std::int32_t>(ci));
        };
        for (const auto& poly : cell.geometry.polygons)
            for (const auto& ring : poly.rings) {
                for (std::size_t k = 0; k + 1 < ring.size(); ++k)
                    add(ring[k], ring[k + 1]);
                if (ring.size() > 2 && !(ring.front() == ring.back()))
                    add(ring.back(), ring.front()); // tolerate unclosed rings
            }
    }
    stats.segments = edges.size();
    if (edges.empty()) {
        squares.assign(1, -1);
        border_cands.assign(1, 0);
        cands.resize(1);
        cell_trees.resize(grid.cells.size());
        stats.columns = stats.rows = 1;
        return;
    }
    empty = false;

    // ---- 2. the grid: squares about square in metres, sized from the edge count
    bx0 = by0 = std::numeric_limits<double>::infinity();
    bx1 = by1 = -std::numeric_limits<double>::infinity();
    for (const auto& s : edges) {
        bx0 = std::min({bx0, s.ax, s.bx});
        bx1 = std::max({bx1, s.ax, s.bx});
        by0 = std::min(by0, s.ay);
        by1 = std::max(by1, s.by);
    }
    x0 = bx0;
    y0 = by0;
    double w = bx1 - bx0, h = by1 - by0;
    if (!(w > 0)) w = std::max(h, 1e-9);
    if (!(h > 0)) h = std::max(w, 1e-9);
    const double mid_lat = (by0 + by1) / 2;
    const double cos_lat =
        std::abs(mid_lat) < 89 ? std::cos(mid_lat * 3.14159265358979323846 / 180) : 1.0;
    const double aspect = std::clamp(w * cos_lat / h, 1e-3, 1e3); // width / height in metres
    if (options.grid_resolution > 0) {
        const double side = options.grid_resolution;
        nx = static_cast<int>(aspect >= 1 ? side : std::max(1.0, std::round(side * aspect)));
        ny = static_cast<int>(aspect >= 1 ? std::max(1.0, std::round(side / aspect)) : side);
    } else {
        const double target = std::clamp(squares_per_edge * static_cast<double>(edges.size()),
                                         4096.0, max_auto_squares);
        nx = static_cast<int>(std::clamp(std::round(std::sqrt(target * aspect)), 1.0, 4096.0));
        ny = static_cast<int>(std::clamp(std::round(target / nx), 1.0, 4096.0));
    }
    dx = w / nx;
    dy = h / ny;
    inv_dx = nx / w;
    inv_dy = ny / h;
    const double max_abs = std::max({std::abs(bx0), std::abs(bx1), std::abs(by0), std::abs(by1)});
    const double eps = std::numeric_limits<double>::epsilon();
    // Far above any rounding in the square arithmetic, far below a square.
    const double margin = 1e-6 * std::min(dx, dy) + 8 * eps * max_abs;

    // ---- 3. which squares each edge passes through: per row, a column range
    struct RowEntry {
        std::int32_t row;
        std::uint32_t edge;
        std::int32_t c0, c1;
    };
    std::vector<RowEntry> entries;
    entries.reserve(edges.size() * 2);
    for (std::uint32_t k = 0; k < edges.size(); ++k) {
        const Seg& s = edges[k];
        const int r0 = row(s.ay - margin), r1 = row(s.by + margin);
        const double sxmin = std::min(s.ax, s.bx), sxmax = std::max(s.ax, s.bx);
        for (int j = r0; j <= r1; ++j) {
            double xmin = sxmin, xmax = sxmax;
            if (s.by > s.ay && r0 != r1) {
                // The part of the edge within the row (widened by the margin).
                const double lo = std::max(y0 + j * dy - margin, s.ay);
                const double hi = std::min(y0 + (j + 1) * dy + margin, s.by);
                auto x_at = [&s](double y) {
                    if (y <= s.ay) return s.ax;
                    if (y >= s.by) return s.bx;
                    return s.ax + (y - s.ay) / (s.by - s.ay) * (s.bx - s.ax);
                };
                if (lo <= hi) {
                    const double xa = x_at(lo), xb = x_at(hi);
                    // Rounding of the interpolation: a few ulps of its terms.
                    const double err = 8 * eps * (std::abs(s.ax) + std::abs(s.bx - s.ax));
                    xmin = std::max(sxmin, std::min(xa, xb) - err);
                    xmax = std::min(sxmax, std::max(xa, xb) + err);
                }
            }
            entries.push_back({j, k, col(xmin - margin), col(xmax + margin)});
        }
    }
    // Bucket by row, keeping edge order (and so cell order) within a row.
    const std::size_t n_squares = static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny);
    std::vector<std::uint32_t> row_start(static_cast<std::size_t>(ny) + 1, 0);
    for (const auto& e : entries)
        ++row_start[static_cast<std::size_t>(e.row) + 1];
    for (int j = 0; j < ny; ++j)
        row_start[j + 1] += row_start[j];
    std::vector<RowEntry> by_row(entries.size());
    {
        std::vector<std::uint32_t> fill(row_start.begin(), row_start.end() - 1);
        for (const auto& e : entries)
            by_row[fill[static_cast<std::size_t>(e.row)]++] = e;
    }
    entries.clear();
    entries.shrink_to_fit();

    // Edges per square (CSR), in edge order.
    std::vector<std::uint32_t> sq_start(n_squares + 1, 0);
    for (const auto& e : by_row)
        for (int c = e.c0; c <= e.c1; ++c)
            ++sq_start[static_cast<std::size_t>(e.row) * nx + static_cast<std::size_t>(c) + 1];
    for (std::size_t q = 0; q < n_squares; ++q)
        sq_start[q + 1] += sq_start[q];
    std::vector<std::uint32_t> sq_edges(sq_start.back());
    {
        std::vector<std::uint32_t> fill(sq_start.begin(), sq_start.end() - 1);
        for (const auto& e : by_row)
            for (int c = e.c0; c <= e.c1; ++c)
                sq_edges[fill[static_cast<std::size_t>(e.row) * nx +
                              static_cast<std::size_t>(c)]++] = e.edge;
    }

    // ---- 4. border squares: candidates (runs of one cell) with their edges through the
    // square. Edges that another cell also holds are marked; the rest form the outline.
    squares.assign(n_squares, -1);
    inner.reserve(sq_edges.size());
    std::vector<std::uint8_t> twinned(edges.size(), 0);
    for (std::size_t q = 0; q < n_squares; ++q) {
        const std::uint32_t b = sq_start[q], e = sq_start[q + 1];
        if (b == e) continue;
        squares[q] = -static_cast<std::int32_t>(border_cands.size()) - 2;
        border_cands.push_back(static_cast<std::uint32_t>(cands.size()));
        for (std::uint32_t k = b; k < e;) {
            const std::int32_t cell = edge_cell[sq_edges[k]];
            const std::uint32_t run = k;
            cands.push_back({cell, static_cast<std::uint32_t>(inner.size()), 0});
            for (; k < e && edge_cell[sq_edges[k]] == cell; ++k) {
                const std::uint32_t edge = sq_edges[k];
                inner.push_back(edge);
                // Twins share every square; compare with the earlier candidates' edges
                // (squares hold few edges: a linear look-up beats hashing here).
                const Seg& s = edges[edge];
                for (std::uint32_t m = b; m < run; ++m) {
                    const Seg& t = edges[sq_edges[m]];
                    if (s.ax == t.ax && s.ay == t.ay && s.bx == t.bx && s.by == t.by)
                        twinned[edge] = twinned[sq_edges[m]] = 1;
                }
            }
        }
    }
    border_cands.push_back(static_cast<std::uint32_t>(cands.size()));
    cands.push_back({-1, static_cast<std::uint32_t>(inner.size()), 0}); // sentinel
    sq_edges = {};
    sq_start = {};

    // ---- 5. crossings east of each border square. Sweep each row from east to west,
    // keeping per cell the parity of the crossings by its edges wholly east of the current
    // square (an edge is, once the sweep passes west of its first column) and the y values
    // inside the row where that parity flips (a toggle at each end of an edge; equal ones
    // cancel, so chains of edges leave only their ends).
    std::vector<std::uint8_t> parity(grid.cells.size(), 0);
    std::vector<std::vector<double>> flips(grid.cells.size());
    std::vector<std::int32_t> touched;
    std::vector<std::uint32_t> by_col_start(static_cast<std::size_t>(nx) + 2);
    std::vector<std::uint32_t> by_col;
    struct Snapshot {
        std::uint32_t cand;
        std::uint32_t flip_first, flip_count;
    };
    std::vector<Snapshot> snaps;
    std::vector<double> snap_flips;
    toggles.reserve(cands.size());
    for (int j = 0; j < ny; ++j) {
        const double lo = y0 + j * dy - margin, hi = y0 + (j + 1) * dy + margin;
        const std::uint32_t rb = row_start[j], re = row_start[j + 1];
        // The row's entries bucketed by first column.
        std::fill(by_col_start.begin(), by_col_start.end(), 0u);
        for (std::uint32_t k = rb; k < re; ++k)
            ++by_col_start[static_cast<std::size_t>(by_row[k].c0) + 1];
        for (int i = 0; i <= nx; ++i)
            by_col_start[i + 1] += by_col_start[i];
        by_col.resize(re - rb);
        {
            for (std::uint32_t k = rb; k < re; ++k)
                by_col[by_col_start[static_cast<std::size_t>(by_row[k].c0)]++] = k;
            for (int i = nx; i > 0; --i)
                by_col_start[i] = by_col_start[i - 1];
            by_col_start[0] = 0;
        }
        auto toggle = [&](std::int32_t cell, double t) {
            if (t <= lo) {
                parity[static_cast<std::size_t>(cell)] ^= 1u; // every point of the row is above
            } else if (t < hi) {
                auto& f = flips[static_cast<std::size_t>(cell)];
                auto it = std::lower_bound(f.begin(), f.end(), t);
                if (it != f.end() && *it == t)
                    f.erase(it); // pairs cancel
                else
                    f.insert(it, t);
            }
        };
        snaps.clear();
        snap_flips.clear();
        touched.clear();
        for (int i = nx - 1; i >= 0; --i) {
            // Edges starting in column i + 1 are now wholly east of square i.
            if (i + 1 < nx)
                for (std::uint32_t m = by_col_start[i + 1]; m < by_col_start[i + 2]; ++m) {
                    const auto& en = by_row[by_col[m]];
                    const std::int32_t cell = edge_cell[en.edge];
                    touched.push_back(cell);
                    toggle(cell, edges[en.edge].ay);
                    toggle(cell, edges[en.edge].by);
                }
            const std::int32_t v = squares[static_cast<std::size_t>(j) * nx + i];
            if (v > -2) continue;
            const auto bi = static_cast<std::size_t>(-(v + 2));
            for (std::uint32_t c = border_cands[bi + 1]; c-- > border_cands[bi];) {
                const auto cell = static_cast<std::size_t>(cands[c].cell);
                const auto& f = flips[cell];
                snaps.push_back({c | (static_cast<std::uint32_t>(parity[cell]) << 31),
                                 static_cast<std::uint32_t>(snap_flips.size()),
                                 static_cast<std::uint32_t>(f.size())});
                snap_flips.insert(snap_flips.end(), f.begin(), f.end());
            }
        }
        // Snapshots were taken east to west; candidates are numbered west to east.
        for (auto it = snaps.rbegin(); it != snaps.rend(); ++it) {
            const std::uint32_t c = it->cand & toggle_mask;
            if (toggles.size() > toggle_mask)
                throw DataError("the grid is too detailed for the locator");
            cands[c].toggle =
                static_cast<std::uint32_t>(toggles.size()) | (it->cand & ~toggle_mask);
            toggles.insert(toggles.end(), snap_flips.begin() + it->flip_first,
                           snap_flips.begin() + it->flip_first + it->flip_count);
        }
        for (const auto cell : touched) {
            parity[static_cast<std::size_t>(cell)] = 0;
            flips[static_cast<std::size_t>(cell)].clear();
        }
    }
    // Candidates of squares in rows without snapshots do not exist; the sentinel closes the
    // last range.
    cands.back().toggle = static_cast<std::uint32_t>(toggles.size());
    by_row = {};

    // ---- 6. squares no edge touches: the cell of a point on the west side of the next
    // border square to the east (the same cell, as no edge separates them), or outside.
    for (int j = 0; j < ny; ++j) {
        const double yc = y0 + (j + 0.5) * dy;
        std::int32_t owner = -1;
        int pending = -1; // the border square whose west side is not yet resolved
        for (int i = nx - 1; i >= 0; --i) {
            std::int32_t& v = squares[static_cast<std::size_t>(j) * nx + i];
            if (v <= -2) {
                pending = i;
                continue;
            }
            if (pending >= 0) {
                const std::int32_t pv = squares[static_cast<std::size_t>(j) * nx + pending];
                owner = query_border(static_cast<std::size_t>(-(pv + 2)), x0 + pending * dx, yc);
                pending = -1;
            }
            v = owner;
        }
    }

    // ---- 7. trees of boxes for distances: one per cell, one over the outline
    for (std::size_t k = 0; k < edges.size(); ++k)
        if (!twinned[k]) outline.push_back(edges[k]);
    auto build_tree = [this](const std::vector<Seg>& leaves, std::uint32_t first,
                             std::uint32_t count) {
        Tree t{first, count, static_cast<std::uint32_t>(boxes.size())};
        // Level 1 from the edges, then each level from the one below, until <= 8 boxes.
        std::uint32_t below_first = 0, below_count = count;
        bool from_edges = true;
        while (below_count > fanout) {
            const std::uint32_t level_first = static_cast<std::uint32_t>(boxes.size());
            for (std::uint32_t g = 0; g < below_count; g += fanout) {
                Box bx{std::numeric_limits<double>::infinity(),
                       std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity(),
                       -std::numeric_limits<double>::infinity()};
                for (std::uint32_t m = g; m < std::min(g + fanout, below_count); ++m) {
                    if (from_edges) {
                        const Seg& s = leaves[first + m];
                        bx = {std::min({bx.x0, s.ax, s.bx}), std::min({bx.y0, s.ay, s.by}),
                              std::max({bx.x1, s.ax, s.bx}), std::max({bx.y1, s.ay, s.by})};
                    } else {
                        const Box& c = boxes[below_first + m];
                        bx = {std::min(bx.x0, c.x0), std::min(bx.y0, c.y0), std::max(bx.x1, c.x1),
                              std::max(bx.y1, c.y1)};
                    }
                }
                boxes.push_back(bx);
            }
            below_first = level_first;
            below_count = (below_count + fanout - 1) / fanout;
            from_edges = false;
        }
        return t;
    };
    cell_trees.resize(grid.cells.size());
    for (std::uint32_t k = 0; k < edges.size();) {
        const std::int32_t cell = edge_cell[k];
        std::uint32_t e = k;
        while (e < edges.size() && edge_cell[e] == cell)
            ++e;
        cell_trees[static_cast<std::size_t>(cell)] = build_tree(edges, k, e - k);
        k = e;
    }
    outline_tree = build_tree(outline, 0, static_cast<std::uint32_t>(outline.size()));
    {
        // Trees are independent: build their lists on all cores (the outline, the largest,
        // first), then lay them out one after another.
        const std::size_t n = cell_trees.size() + 1;
        std::vector<Lists> lists(n);
        auto tree_at = [&](std::size_t k) -> Tree& {
            return k == 0 ? outline_tree : cell_trees[k - 1];
        };
        std::atomic<std::size_t> next{0};
        std::vector<std::exception_ptr> errors(std::max(1u, std::thread::hardware_concurrency()));
        auto work = [&](std::size_t worker) {
            try {
                for (std::size_t k; (k = next.fetch_add(1)) < n;) {
                    // Built locally and moved: neighbouring trees' lists share cache lines.
                    Tree t = tree_at(k);
                    Lists local;
                    build_candidates(t, (k == 0 ? outline.data() : edges.data()) + t.first, k == 0,
                                     local);
                    tree_at(k) = t;
                    lists[k] = std::move(local);
                }
            } catch (...) {
                errors[worker] = std::current_exception();
            }
        };
        std::vector<std::thread> pool;
        for (std::size_t k = 1; k < errors.size(); ++k)
            pool.emplace_back(work, k);
        work(0);
        for (auto& th : pool)
            th.join();
        for (const auto& e : errors)
            if (e) std::rethrow_exception(e);
        for (std::size_t k = 0; k < n; ++k) {
            Tree& t = tree_at(k);
            if (t.grid_start == Tree::no_grid) continue;
            const auto base = static_cast<std::uint32_t>(cand_edges.size());
            t.grid_start = static_cast<std::uint32_t>(cand_start.size());
            for (const auto b : lists[k].start)
                cand_start.push_back(base + b);
            cand_edges.insert(cand_edges.end(), lists[k].edges.begin(), lists[k].edges.end());
            cand_lower.insert(cand_lower.end(), lists[k].lower.begin(), lists[k].lower.end());
        }
    }
    row_scale.resize(static_cast<std::size_t>(ny));
    for (int j = 0; j < ny; ++j)
        metres_per_degree(y0 + (j + 0.5) * dy, row_scale[static_cast<std::size_t>(j)].first,
                          row_scale[static_cast<std::size_t>(j)].second);

    stats.columns = nx;
    stats.rows = ny;
    stats.border_squares = border_cands.size() - 1;
    stats.bytes = squares.capacity() * sizeof(std::int32_t) +
                  border_cands.capacity() * sizeof(std::uint32_t) +
                  cands.capacity() * sizeof(Candidate) + inner.capacity() * sizeof(std::uint32_t) +
                  toggles.capacity() * sizeof(double) + edges.capacity() * sizeof(Seg) +
                  outline.capacity() * sizeof(Seg) + boxes.capacity() * sizeof(Box) +
                  cell_trees.capacity() * sizeof(Tree) +
                  (cand_start.capacity() + cand_edges.capacity()) * sizeof(std::uint32_t) +
                  cand_lower.capacity() * sizeof(float);
    stats.build_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
}

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
