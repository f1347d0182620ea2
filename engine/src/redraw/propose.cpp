// Balanced proposals (redraw/propose.hpp): generated household points, blocks cut with
// split_cell, a METIS partition per village, parts dissolved with merge_cells.
#include "wangge/redraw/propose.hpp"

#include "redraw/edit_shared.hpp"
#include "wangge/base/random.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/locator.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <metis.h>
#include <numeric>
#include <optional>
#include <set>

namespace wangge::redraw {

namespace {

using geo::Point;

grid::Cell& cell_in(grid::Grid& g, const std::string& code) {
    for (auto& c : g.cells)
        if (c.code == code) return c;
    throw DataError("no cell " + code, {.cell = code});
}

struct Household {
    Point p;
    std::int64_t persons = 0;
};

// Metres per degree near the area (lon/lat grids; only proportions matter here).
struct Scale {
    double x = 111320, y = 110540;
    explicit Scale(double lat) : x(111320 * std::cos(lat * 3.14159265358979323846 / 180)) {}
};

std::uint64_t text_hash(const std::string& s) {
    std::uint64_t h = 0x243F6A8885A308D3ULL;
    for (const unsigned char c : s)
        h = base::mix64(h ^ c);
    return h;
}

// The GENERATED households of cell `area.cells[self]`: clustered around 1 + households/150
// settlement centres (70%), the rest spread over the cell; persons shared out so that
// they sum to the cell's population.
std::vector<Household> generate_households(const grid::Grid& area, std::int32_t self,
                                           const grid::Locator& locator, std::uint64_t seed) {
    const auto& cell = area.cells[static_cast<std::size_t>(self)];
    std::vector<Household> out;
    if (cell.households <= 0) return out;
    base::SplitMix64 rng(base::substream(seed, text_hash(cell.code)));
    const auto box = geo::bounds(cell.geometry);
    const auto inside = [&](Point p) { return locator.locate(p) == self; };
    const auto anywhere = [&]() {
        for (int t = 0; t < 10000; ++t) {
            const Point p{rng.range(box.minx, box.maxx), rng.range(box.miny, box.maxy)};
            if (inside(p)) return p;
        }
        throw DataError("cell " + cell.code + " is too thin to place generated households in",
                        {.cell = cell.code});
    };
    std::vector<Point> centres(1 + static_cast<std::size_t>(cell.households / 150));
    for (auto& c : centres)
        c = anywhere();
    const double sx = 0.08 * (box.maxx - box.minx), sy = 0.08 * (box.maxy - box.miny);
    // About normal: the sum of four uniforms, centred.
    const auto spread = [&]() {
        return rng.uniform() + rng.uniform() + rng.uniform() + rng.uniform() - 2.0;
    };
    const auto households = static_cast<std::size_t>(cell.households);
    const std::int64_t q = cell.population / cell.households;
    const std::int64_t r = cell.population % cell.households;
    out.reserve(households);
    for (std::size_t i = 0; i < households; ++i) {
        std::optional<Point> p;
        if (rng.uniform() < 0.7) {
            const Point c = centres[rng.below(centres.size())];
            for (int t = 0; t < 20 && !p; ++t) {
                const Point cand{c.x + spread() * sx, c.y + spread() * sy};
                if (inside(cand)) p = cand;
            }
        }
        out.push_back({p ? *p : anywhere(), q + (static_cast<std::int64_t>(i) < r ? 1 : 0)});
    }
    return out;
}

struct Blocks {
    std::map<std::string, std::vector<Household>> households; // by block code
    std::map<std::string, std::string> origin;                // block -> former cell
    std::size_t next = 0;
    std::string fresh() { return "~block" + std::to_string(next++); }
};

// Cuts block `code` of `g` at the households' median along its longer side (then other
// positions and the other side when the line would cross the block more than once), again
// and again, until a block holds at most `cap` households or is smaller than `min_m`.
void cut_blocks(grid::Grid& g, const std::string& code, std::size_t cap, double min_m,
                const Scale& scale, Blocks& blocks) {
    std::vector<std::string> todo{code};
    while (!todo.empty()) {
        const std::string c = todo.back();
        todo.pop_back();
        auto& hh = blocks.households[c];
        if (hh.size() <= cap) continue;
        const grid::Cell* cell = g.find_cell(c);
        if (cell->geometry.polygons.size() != 1 || cell->geometry.polygons[0].rings.size() != 1)
            continue; // exclaves and holes stay whole
        const auto box = geo::bounds(cell->geometry);
        const double w = (box.maxx - box.minx) * scale.x, h = (box.maxy - box.miny) * scale.y;
        if (std::max(w, h) < min_m) continue;
        bool done = false;
        for (const bool vertical : {w >= h, w < h}) {
            for (const double share : {0.5, 0.35, 0.65}) {
                std::vector<double> v;
                v.reserve(hh.size());
                for (const auto& x : hh)
                    v.push_back(vertical ? x.p.x : x.p.y);
                std::sort(v.begin(), v.end());
                const auto k = std::clamp<std::size_t>(
                    static_cast<std::size_t>(share * static_cast<double>(v.size())), 1,
                    v.size() - 1);
                const double m = (v[k - 1] + v[k]) / 2;
                const double lo = vertical ? box.minx : box.miny,
                             hi = vertical ? box.maxx : box.maxy;
                if (!(m > lo && m < hi)) continue;
                const double pad_x = (box.maxx - box.minx) * 0.01 + 1e-9;
                const double pad_y = (box.maxy - box.miny) * 0.01 + 1e-9;
                // Northwards (the part left of it is west) or eastwards (north on the left).
                const Line line = vertical ? Line{{m, box.miny - pad_y}, {m, box.maxy + pad_y}}
                                           : Line{{box.minx - pad_x, m}, {box.maxx + pad_x, m}};
                const std::string a = blocks.fresh(), b = blocks.fresh();
                try {
                    (void)split_cell(g, c, line, {a, b});
                } catch (const Error&) { // crosses the block more than once: another line
                    continue;
                }
                // A line crossing a polygon without holes exactly twice leaves the parts
                // on either side of it.
                std::vector<Household> ha, hb;
                for (auto& x : hh) {
                    const bool first = vertical ? x.p.x < m : x.p.y > m;
                    (first ? ha : hb).push_back(x);
                }
                blocks.origin[a] = blocks.origin[c];
                blocks.origin[b] = blocks.origin[c];
                blocks.households.erase(c);
                blocks.households[a] = std::move(ha);
                blocks.households[b] = std::move(hb);
                todo.push_back(a);
                todo.push_back(b);
                done = true;
                break;
            }
            if (done) break;
        }
    }
}

struct Graph {
    std::vector<std::string> codes;
    std::vector<std::int64_t> weight;              // households
    std::vector<std::map<std::size_t, idx_t>> adj; // neighbour -> edge weight
};

// The adjacency of the blocks (shared edges are bit-identical segments: the cuts inserted
// their end points into every neighbour), weighted by shared length in metres, three times
// as heavy inside a former cell as on an existing cell boundary.
Graph block_graph(const grid::Grid& g, const std::vector<std::string>& codes, const Blocks& blocks,
                  const Scale& scale) {
    Graph graph;
    graph.codes = codes;
    graph.adj.resize(codes.size());
    std::map<std::array<double, 4>, std::size_t> first_owner;
    std::map<std::pair<std::size_t, std::size_t>, double> length;
    for (std::size_t i = 0; i < codes.size(); ++i) {
        graph.weight.push_back(static_cast<std::int64_t>(blocks.households.at(codes[i]).size()));
        for (const auto& poly : g.find_cell(codes[i])->geometry.polygons)
            for (const auto& ring : poly.rings)
                for (std::size_t k = 0; k + 1 < ring.size(); ++k) {
                    Point a = ring[k], b = ring[k + 1];
                    if (std::pair(b.x, b.y) < std::pair(a.x, a.y)) std::swap(a, b);
                    const std::array<double, 4> key{a.x, a.y, b.x, b.y};
                    const auto [it, fresh] = first_owner.emplace(key, i);
                    if (fresh || it->second == i) continue;
                    const double dx = (b.x - a.x) * scale.x, dy = (b.y - a.y) * scale.y;
                    length[{std::min(i, it->second), std::max(i, it->second)}] +=
                        std::sqrt(dx * dx + dy * dy);
                }
    }
    for (const auto& [ij, m] : length) {
        const bool inside = blocks.origin.at(codes[ij.first]) == blocks.origin.at(codes[ij.second]);
        const auto w = static_cast<idx_t>(std::max(1.0, std::round(m * (inside ? 3 : 1))));
        graph.adj[ij.first][ij.second] = w;
        graph.adj[ij.second][ij.first] = w;
    }
    return graph;
}

// The connected pieces of `graph` (a village may have exclaves), as vertex lists.
std::vector<std::vector<std::size_t>> components(const Graph& graph) {
    std::vector<int> seen(graph.codes.size(), -1);
    std::vector<std::vector<std::size_t>> out;
    for (std::size_t s = 0; s < graph.codes.size(); ++s) {
        if (seen[s] >= 0) continue;
        out.emplace_back();
        std::vector<std::size_t> stack{s};
        seen[s] = static_cast<int>(out.size() - 1);
        while (!stack.empty()) {
            const auto v = stack.back();
            stack.pop_back();
            out.back().push_back(v);
            for (const auto& [u, w] : graph.adj[v])
                if (seen[u] < 0) {
                    seen[u] = seen[s];
                    stack.push_back(u);
                }
        }
        std::sort(out.back().begin(), out.back().end());
    }
    return out;
}

// Splits the vertices `piece` of `graph` into `k` contiguous parts of about equal weight
// with METIS; the best of a few tries. Returns the part of each vertex of `piece`.
std::vector<idx_t> partition(const Graph& graph, const std::vector<std::size_t>& piece, idx_t k,
                             double target, double tolerance, std::uint64_t seed,
                             const std::string& village) {
    std::vector<idx_t> local(graph.codes.size(), -1);
    for (std::size_t i = 0; i < piece.size(); ++i)
        local[piece[i]] = static_cast<idx_t>(i);
    std::vector<idx_t> xadj{0}, adjncy, adjwgt, vwgt;
    for (const auto v : piece) {
        vwgt.push_back(static_cast<idx_t>(graph.weight[v]));
        for (const auto& [u, w] : graph.adj[v]) {
            adjncy.push_back(local[u]);
            adjwgt.push_back(w);
        }
        xadj.push_back(static_cast<idx_t>(adjncy.size()));
    }
    idx_t n = static_cast<idx_t>(piece.size()), ncon = 1;
    const double total = std::accumulate(vwgt.begin(), vwgt.end(), 0.0);
    const double mean = total / static_cast<double>(k);
    std::vector<idx_t> best;
    std::pair<std::size_t, double> best_score{0, 0}; // cells outside the tolerance, worst gap
    // METIS bounds only the heaviest part (ufactor: its excess over the mean, in 1/1000), so
    // a few tighter bounds and seeds are tried and the division closest to the target kept.
    for (const double ufactor : {tolerance * 250, tolerance * 500, tolerance * 1000})
        for (std::uint64_t t = 0; t < 8; ++t) {
            idx_t options[METIS_NOPTIONS];
            METIS_SetDefaultOptions(options);
            options[METIS_OPTION_CONTIG] = 1;
            options[METIS_OPTION_SEED] = static_cast<idx_t>((seed + t) % 1000003);
            options[METIS_OPTION_UFACTOR] = static_cast<idx_t>(std::max(1.0, ufactor));
            idx_t parts = k, cut = 0;
            std::vector<idx_t> part(piece.size(), 0);
            if (METIS_PartGraphKway(&n, &ncon, xadj.data(), adjncy.data(), vwgt.data(), nullptr,
                                    adjwgt.data(), &parts, nullptr, nullptr, options, &cut,
                                    part.data()) != METIS_OK)
                continue;
            // Every part used and contiguous (METIS may give up on contiguity silently).
            std::vector<double> sum(static_cast<std::size_t>(k), 0);
            std::vector<std::size_t> size(static_cast<std::size_t>(k), 0);
            for (std::size_t i = 0; i < piece.size(); ++i) {
                sum[static_cast<std::size_t>(part[i])] += vwgt[i];
                ++size[static_cast<std::size_t>(part[i])];
            }
            if (std::find(size.begin(), size.end(), 0u) != size.end()) continue;
            std::vector<char> seen(piece.size(), 0);
            std::size_t regions = 0;
            for (std::size_t s = 0; s < piece.size(); ++s) {
                if (seen[s]) continue;
                ++regions;
                std::vector<std::size_t> stack{s};
                seen[s] = 1;
                while (!stack.empty()) {
                    const auto v = stack.back();
                    stack.pop_back();
                    for (idx_t e = xadj[v]; e < xadj[v + 1]; ++e) {
                        const auto u =
                            static_cast<std::size_t>(adjncy[static_cast<std::size_t>(e)]);
                        if (!seen[u] && part[u] == part[v]) {
                            seen[u] = 1;
                            stack.push_back(u);
                        }
                    }
                }
            }
            if (regions != static_cast<std::size_t>(k)) continue;
            std::pair<std::size_t, double> score{0, 0};
            for (const double w : sum) {
                if (std::abs(w - target) > tolerance * target) ++score.first;
                score.second = std::max(score.second, std::abs(w - mean));
            }
            if (best.empty() || score < best_score) {
                best = part;
                best_score = score;
            }
        }
    if (best.empty())
        throw DataError("village " + village + ": METIS found no partition into " +
                        std::to_string(k) + " contiguous cells; try another target");
    return best;
}

} // namespace

void check_options(const ProposeOptions& o) {
    if (o.village.empty() == o.township.empty())
        throw InputError("give either --village or --township (the area to redraw)");
    if (!(o.households > 0) || !std::isfinite(o.households))
        throw InputError("--households must be a number of households above 0, not " +
                         std::to_string(o.households));
    if (!(o.tolerance > 0 && o.tolerance < 1))
        throw InputError("--tolerance must lie between 0 and 1 (a share of the target, e.g. "
                         "0.1), not " +
                         std::to_string(o.tolerance));
}

Proposal propose_cells(grid::Grid& g_in, const ProposeOptions& o) {
    check_options(o);
    const std::string& area_code = o.village.empty() ? o.township : o.village;
    const auto* unit = g_in.find_unit(area_code);
    const auto level = o.village.empty() ? grid::UnitLevel::township : grid::UnitLevel::village;
    if (!unit || unit->level != level)
        throw InputError(std::string(o.village.empty() ? "township " : "village ") + area_code +
                         " is not in the grid");
    const auto in_area = [&](const grid::Cell& c) {
        return o.village.empty() ? c.township_code == o.township : c.village_code == o.village;
    };

    grid::Grid g = g_in; // the grid changes only when everything worked
    Proposal out;
    grid::Grid area;
    for (const auto& c : g.cells)
        if (in_area(c)) area.cells.push_back(c);
    if (area.cells.empty()) throw InputError(area_code + " has no cells");
    out.old_cells = area.cells.size();
    const auto box = area.bounds();
    const Scale scale((box.miny + box.maxy) / 2);

    // 1. The generated households of every cell of the area.
    Blocks blocks;
    std::set<std::string> villages;
    {
        const grid::Locator locator(area);
        for (std::size_t i = 0; i < area.cells.size(); ++i) {
            auto hh = generate_households(area, static_cast<std::int32_t>(i), locator, o.seed);
            out.household_points += hh.size();
            auto& cell = cell_in(g, area.cells[i].code);
            const std::string block = blocks.fresh();
            blocks.origin[block] = cell.code;
            blocks.households[block] = std::move(hh);
            cell.code = block;
            villages.insert(cell.village_code);
        }
    }
    // 2. Blocks.
    const auto cap = static_cast<std::size_t>(std::max(1.0, o.households * o.tolerance / 2));
    for (const auto& [code, former] : std::map(blocks.origin)) // a copy: cutting adds blocks
        cut_blocks(g, code, cap, 30.0, scale, blocks);
    out.blocks = blocks.households.size();

    // 3 and 4. Per village: partition, dissolve, number.
    std::map<std::string, std::vector<std::string>> proposed; // village -> merged cells
    for (const auto& village : villages) {
        std::vector<std::string> codes;
        for (const auto& c : g.cells)
            if (c.village_code == village && blocks.households.count(c.code))
                codes.push_back(c.code);
        const Graph graph = block_graph(g, codes, blocks, scale);
        for (const auto& piece : components(graph)) {
            double households = 0;
            for (const auto v : piece)
                households += static_cast<double>(graph.weight[v]);
            const auto k = static_cast<idx_t>(std::clamp<double>(
                std::round(households / o.households), 1, static_cast<double>(piece.size())));
            std::vector<idx_t> part(piece.size(), 0);
            if (k > 1)
                part = partition(graph, piece, k, o.households, o.tolerance, o.seed, village);
            for (idx_t p = 0; p < k; ++p) {
                std::vector<std::string> members;
                for (std::size_t i = 0; i < piece.size(); ++i)
                    if (part[i] == p) members.push_back(graph.codes[piece[i]]);
                if (members.size() > 1) (void)merge_cells(g, members);
                proposed[village].push_back(members.front());
            }
        }
    }

    // Codes and names: north to south, west to east within the village; households are the
    // generated points in each cell.
    grid::Grid result_area;
    std::vector<std::size_t> result_index;
    for (auto& [village, cells] : proposed) {
        std::vector<std::pair<Point, std::string>> order;
        for (const auto& c : cells) {
            const auto b = geo::bounds(g.find_cell(c)->geometry);
            order.push_back({{(b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2}, c});
        }
        std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
            return a.first.y != b.first.y ? a.first.y > b.first.y : a.first.x < b.first.x;
        });
        // Named like the village's cells were ("滨河社区第1网格"), else after the village.
        std::string prefix;
        for (const auto& c : g_in.cells)
            if (c.village_code == village && c.name.size() > 9 &&
                c.name.compare(c.name.size() - 6, 6, "网格") == 0)
                if (const auto at = c.name.rfind("第"); at != std::string::npos && at > 0) {
                    prefix = c.name.substr(0, at);
                    break;
                }
        if (const auto* v = g.find_unit(village); prefix.empty() && v) prefix = v->name;
        int seq = 0;
        for (const auto& [at, temp] : order) {
            std::string code;
            do {
                if (++seq > 99)
                    throw DataError("village " + village + " would need more than 99 cells");
                code = village + (seq < 10 ? "0" : "") + std::to_string(seq);
            } while (g.find_cell(code));
            auto& cell = cell_in(g, temp);
            cell.code = code;
            cell.name = prefix.empty() ? "" : prefix + "第" + std::to_string(seq) + "网格";
            cell.households = 0;
            cell.population = 0;
        }
    }
    for (std::size_t i = 0; i < g.cells.size(); ++i)
        if (in_area(g.cells[i])) {
            result_area.cells.push_back(g.cells[i]);
            result_index.push_back(i);
        }
    {
        // Every generated household lies in exactly one proposed cell (the locator's
        // half-open rule settles points on a shared edge).
        const grid::Locator locator(result_area);
        for (const auto& [code, hh] : blocks.households)
            for (const auto& h : hh) {
                const auto k = locator.locate(h.p);
                if (k < 0)
                    throw DataError("a generated household at " + std::to_string(h.p.x) + " " +
                                    std::to_string(h.p.y) + " fell outside the proposed cells");
                auto& cell = g.cells[result_index[static_cast<std::size_t>(k)]];
                ++cell.households;
                cell.population += h.persons;
            }
    }

    // What changed: the area's cells, and neighbours that got or lost a cut vertex.
    std::set<std::string> now;
    for (const auto& c : g.cells)
        now.insert(c.code);
    std::map<std::string, const grid::Cell*> before;
    for (const auto& c : g_in.cells)
        before[c.code] = &c;
    for (const auto& c : g_in.cells)
        if (in_area(c) && !now.count(c.code)) out.change.removed.push_back(c.code);
    for (const auto& c : g.cells) {
        const auto it = before.find(c.code);
        if (in_area(c) || it == before.end() || !(it->second->geometry == c.geometry))
            out.change.changed.push_back(c.code);
    }
    for (const auto& c : g.cells)
        if (in_area(c)) {
            ProposedCell p{.code = c.code,
                           .name = c.name,
                           .village = c.village_code,
                           .households = c.households,
                           .population = c.population};
            p.deviation = (static_cast<double>(c.households) - o.households) / o.households;
            p.within = std::abs(p.deviation) <= o.tolerance + 1e-12;
            out.cells.push_back(p);
        }
    std::sort(out.cells.begin(), out.cells.end(),
              [](const ProposedCell& a, const ProposedCell& b) { return a.code < b.code; });
    for (const auto& village : villages) {
        std::int64_t households = 0;
        std::size_t n = 0;
        bool all_within = true;
        for (const auto& c : out.cells)
            if (c.village == village) {
                households += c.households;
                ++n;
                all_within = all_within && c.within;
            }
        if (all_within) continue;
        const double mean = static_cast<double>(households) / static_cast<double>(n);
        const double dev = (mean - o.households) / o.households;
        if (std::abs(dev) > o.tolerance)
            out.notes.push_back("village " + village + ": its " + std::to_string(households) +
                                " households make " + std::to_string(n) + " cell" +
                                (n == 1 ? "" : "s") + " of " + std::to_string(std::llround(mean)) +
                                " on average, " + std::to_string(std::llround(dev * 100)) +
                                "% from the target: no division can keep every cell within it");
        else
            out.notes.push_back("village " + village +
                                ": the best contiguous division found leaves some cells "
                                "outside the tolerance (blocks of up to " +
                                std::to_string(cap) +
                                " households, exclaves and holes stay whole)");
    }
    // Cut points stay where a proposed boundary meets the area's outline, in the cells
    // outside it too: the outlines of their villages and townships follow.
    std::set<std::string> units;
    for (const auto& code : out.change.changed)
        if (const auto* c = g.find_cell(code)) {
            units.insert(c->village_code);
            units.insert(c->township_code);
        }
    detail::refresh_units(g, units);
    out.change.units.assign(units.begin(), units.end());
    out.change.summary = "proposed " + std::to_string(out.cells.size()) +
                         (out.cells.size() == 1 ? " cell for " : " cells for ") +
                         std::string(o.village.empty() ? "township " : "village ") + area_code +
                         " (target " + std::to_string(std::llround(o.households)) +
                         " households, from " + std::to_string(out.household_points) +
                         " GENERATED household points)";
    g_in = std::move(g);
    return out;
}

} // namespace wangge::redraw
