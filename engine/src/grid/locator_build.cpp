// Building a Locator, in seven stages: the cells' edges, the grid of squares, the squares
// each edge passes through, the candidates of border squares, the crossings east of them,
// the cells of the squares no edge touches, and the distance trees. The design is described
// in locator.cpp.
#include "grid/locator_impl.hpp"

namespace wangge::grid {

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

} // namespace wangge::grid
