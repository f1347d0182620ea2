// Private to the locator: the structures of Locator::Impl, shared by its build
// (locator_build.cpp) and its queries (locator.cpp). The design is described in locator.cpp.
#pragma once

#include "wangge/error.hpp"
#include "wangge/geo/orientation.hpp"
#include "wangge/grid/locator.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <thread>
#include <vector>

namespace wangge::grid::locator_detail {

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

} // namespace wangge::grid::locator_detail

namespace wangge::grid {

using namespace locator_detail; // private header: only the locator's sources include it

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

} // namespace wangge::grid
