// The generated Jishan grid. Method, in local metres of EPSG:4546 around Jifeng:
//  1. The county is rasterised on a 50 m lattice: a noisy ellipse cut off along the Fen
//     River, scaled so its area is 686 km2, made one 4-connected piece without holes.
//  2. Townships, then villages inside each township, then cells inside each village are
//     grown by multi-source Dijkstra over a noise cost field, with per-seed weights tuned
//     towards target areas (and a few Lloyd steps for compact shapes). Growth keeps every
//     region inside its parent; a tidy pass removes diagonal pinches and stray fragments so
//     every region is one 4-connected piece.
//  3. The cell labels give a planar graph: nodes are lattice corners where three or more
//     labels meet, chains run between them. Each chain is smoothed once and every polygon
//     of every level is assembled from the same chains, so shared boundaries are identical
//     vertex for vertex. Chains whose smoothing would make them touch another chain fall back
//     to less smoothing, down to the raw pixel staircase, which is always valid.
//  4. The chains are transformed once to lon/lat.
// The steps live in jishan_county.cpp (1), jishan_regions.cpp (2), jishan_chains.cpp (3);
// this file holds the plan (households, cells, areas per village) and puts them together.

#include "jishan_chains.hpp"
#include "jishan_regions.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/sample/catalogue.hpp"
#include "wangge/sample/jishan.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

namespace wangge::sample {

namespace {

using namespace detail;

constexpr int total_cells = 398;

// ---- the plan: households, cells and areas -----------------------------------------------

enum class Kind { community, devzone, centre, seat, rural };

bool is_town(Kind k) {
    return k == Kind::community || k == Kind::devzone || k == Kind::centre;
}

struct VillagePlan {
    int township = 0;
    Kind kind = Kind::rural;
    double households = 0;
    int cells = 0;
    double km2 = 0; // target area
};

struct TownshipLayout {
    const char* code;
    double u_km, v_km;  // where the township lies relative to Jifeng
    double cell_factor; // rural cell size relative to the county's average
};

// Roughly where the units lie (hills in the north have bigger, emptier cells).
constexpr TownshipLayout layouts[] = {
    {"140824100", -1.0, 5.0, 0.85},   {"140824101", 9.0, 13.0, 1.45},
    {"140824102", -3.0, 14.0, 1.3},   {"140824103", -10.0, 3.5, 1.0},
    {"140824104", -15.0, 11.0, 1.25}, {"140824200", -18.0, 1.5, 1.0},
    {"140824201", 9.0, 2.5, 0.95},    {"140824400", 0.0, 0.0, 1.0},
    {"140824401", 2.35, -0.45, 1.0}};

const TownshipLayout& layout_of(const std::string& code) {
    for (const auto& l : layouts)
        if (code == l.code) return l;
    throw DataError("Jishan sample: no layout for township " + code);
}

// Cells per village from its households, rounded by largest remainder to exactly 398.
void allocate_cells(std::vector<VillagePlan>& plans) {
    std::vector<double> quota(plans.size());
    double sum = 0;
    for (Sz v = 0; v < plans.size(); ++v) {
        quota[v] = plans[v].households / (is_town(plans[v].kind) ? 400.0 : 300.0);
        sum += quota[v];
    }
    int assigned = 0;
    for (Sz v = 0; v < plans.size(); ++v) {
        quota[v] *= total_cells / sum;
        plans[v].cells = std::max(1, static_cast<int>(std::floor(quota[v])));
        assigned += plans[v].cells;
    }
    std::vector<Sz> order(plans.size());
    for (Sz v = 0; v < order.size(); ++v)
        order[v] = v;
    auto rem = [&](Sz v) { return quota[v] - plans[v].cells; };
    std::stable_sort(order.begin(), order.end(), [&](Sz x, Sz y) { return rem(x) > rem(y); });
    for (Sz k = 0; assigned < total_cells; k = (k + 1) % order.size()) {
        ++plans[order[k]].cells;
        ++assigned;
    }
    for (Sz k = order.size(); assigned > total_cells && k-- > 0;)
        if (plans[order[k]].cells > 1) {
            --plans[order[k]].cells;
            --assigned;
        }
    if (assigned != total_cells) throw LibraryError("Jishan sample: cell allocation failed");
}

std::string strip_suffix(std::string name) {
    static const std::array<std::string, 2> suffixes = {"村委会", "居委会"};
    for (const auto& suffix : suffixes)
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return name.substr(0, name.size() - suffix.size());
    return name;
}

} // namespace

grid::Grid generate_jishan_grid(const JishanOptions& options) {
    const std::uint64_t seed = options.seed;
    const auto& townships = jishan_townships();
    const auto& villages = jishan_villages();
    // One transformer both ways: creating one costs PROJ a database search.
    const geo::Transformer lonlat_metric("EPSG:4326", detail::metric_crs);
    const geo::Point origin = detail::local_origin(lonlat_metric);
    const detail::FenRiver river(seed);

    // ---- plan: households, cells and target areas per village ----
    std::vector<VillagePlan> plans(villages.size());
    {
        Rng rng(substream(seed, 0x11));
        for (Sz v = 0; v < villages.size(); ++v) {
            const auto& vc = villages[v];
            auto& p = plans[v];
            p.township = -1;
            for (Sz t = 0; t < townships.size(); ++t)
                if (townships[t].code == vc.parent_code) p.township = static_cast<int>(t);
            if (p.township < 0) throw DataError("Jishan sample: village without township");
            const std::string& tcode = vc.parent_code;
            const std::string tail = vc.code.substr(9);
            if (tcode == "140824400")
                p.kind = Kind::community;
            else if (tcode == "140824401")
                p.kind = Kind::devzone;
            else if (tcode == "140824100" && tail >= "200" && tail <= "204")
                p.kind = Kind::centre;
            else if (tail == "200")
                p.kind = Kind::seat;
            else
                p.kind = Kind::rural;
            switch (p.kind) {
            case Kind::community:
                p.households = rng.range(1400, 2400);
                break;
            case Kind::devzone:
                p.households = rng.range(1100, 1400);
                break;
            case Kind::centre:
                p.households = rng.range(1000, 1600);
                break;
            case Kind::seat:
                p.households = rng.range(800, 1200);
                break;
            case Kind::rural:
                p.households = rng.range(560, 940);
                break;
            }
        }
        allocate_cells(plans);
    }

    // ---- the county ----
    const County county = make_county(seed, river);
    const Lattice& lat = county.lat;
    long county_px = 0;
    for (int l : county.mask)
        county_px += l == 0;

    // Target areas: town cells have fixed sizes, rural ones share what is left.
    {
        Rng rng(substream(seed, 0x12));
        double town = 0, rural = 0;
        for (auto& p : plans) {
            const double f = layout_of(townships[uz(p.township)].code).cell_factor;
            switch (p.kind) {
            case Kind::community:
                p.km2 = p.cells * 0.22 * rng.range(0.8, 1.2);
                break;
            case Kind::devzone:
                p.km2 = p.cells * 0.35;
                break;
            case Kind::centre:
                p.km2 = p.cells * 0.3 * rng.range(0.85, 1.15);
                break;
            case Kind::seat:
                p.km2 = p.cells * f * 0.65;
                break;
            case Kind::rural:
                p.km2 = p.cells * f * rng.range(0.8, 1.25);
                break;
            }
            (is_town(p.kind) ? town : rural) += p.km2;
        }
        const double scale = (county_px * pixel_m2 / 1e6 - town) / rural;
        for (auto& p : plans)
            if (!is_town(p.kind)) p.km2 *= scale;
    }

    std::vector<int> county_pixels;
    for (int p = 0; p < lat.size(); ++p)
        if (county.mask[uz(p)] == 0) county_pixels.push_back(p);

    // ---- townships ----
    Labels tlab;
    std::vector<Child> tkids(townships.size());
    {
        Rng rng(substream(seed, 0x21));
        for (Sz t = 0; t < townships.size(); ++t) {
            const auto& lay = layout_of(townships[t].code);
            const bool town = townships[t].code == "140824400" || townships[t].code == "140824401";
            const double ju = town ? rng.range(-100, 100) : rng.range(-900, 900);
            const double jv = town ? rng.range(-100, 100) : rng.range(-900, 900);
            auto& k = tkids[t];
            k.seed =
                nearest_pixels(lat, county_pixels, lay.u_km * 1000 + ju, lay.v_km * 1000 + jv, 1)
                    .front();
            k.parent = 0;
            k.fixed = town;
            // The town stretches along the river; the rest a little, any way.
            k.stretch = townships[t].code == "140824400" ? 1.7 : rng.range(1.0, 1.35);
            k.angle =
                townships[t].code == "140824400" ? rng.range(-0.15, 0.15) : rng.range(0.0, pi);
            for (const auto& p : plans)
                if (p.township == static_cast<int>(t)) k.target += p.km2 * 1e6 / pixel_m2;
        }
        const auto cost = cost_field(lat, substream(seed, 0x22), 2400.0);
        tlab = grow(lat, county.mask, cost, tkids, 6, 2);
        tidy(lat, tlab, county.mask, static_cast<int>(townships.size()));
        open_enclaves(lat, tlab, county.mask, cost, static_cast<int>(townships.size()));
    }

    // ---- villages ----
    Labels vlab;
    std::vector<Child> vkids(villages.size());
    {
        Rng rng(substream(seed, 0x31));
        std::vector<std::vector<int>> pool(townships.size());
        std::vector<double> tpx(townships.size(), 0);
        for (int p = 0; p < lat.size(); ++p)
            if (tlab[uz(p)] >= 0) {
                pool[uz(tlab[uz(p)])].push_back(p);
                tpx[uz(tlab[uz(p)])] += 1;
            }
        const auto border = border_distance(lat, tlab);
        std::vector<std::vector<int>> placed(townships.size());
        std::vector<double> tsum(townships.size(), 0);
        for (const auto& p : plans)
            tsum[uz(p.township)] += p.km2;
        // Villages with a place first: the town centre around Jifeng, township seats at the
        // township's seed.
        std::vector<Sz> order;
        for (Sz v = 0; v < plans.size(); ++v)
            if (plans[v].kind == Kind::centre || plans[v].kind == Kind::seat) order.push_back(v);
        for (Sz v = 0; v < plans.size(); ++v)
            if (plans[v].kind != Kind::centre && plans[v].kind != Kind::seat) order.push_back(v);
        for (Sz v : order) {
            const auto& p = plans[v];
            const Sz t = uz(p.township);
            auto& k = vkids[v];
            k.parent = p.township;
            k.target = p.km2 / tsum[t] * tpx[t];
            k.stretch = rng.range(1.0, 1.35);
            k.angle = rng.range(0.0, pi);
            if (p.kind == Kind::centre || p.kind == Kind::seat) {
                const int s = tkids[t].seed;
                const double au = p.kind == Kind::centre ? 0.0 : lat.u_of(s);
                const double av = p.kind == Kind::centre ? 0.0 : lat.v_of(s);
                const auto near =
                    nearest_pixels(lat, pool[t], au, av, static_cast<Sz>(k.target * 3));
                k.seed = pick_seed(rng, lat, near, placed[t], border);
            } else {
                k.seed = pick_seed(rng, lat, pool[t], placed[t], border);
            }
            placed[t].push_back(k.seed);
        }
        const auto cost = cost_field(lat, substream(seed, 0x32), 1100.0);
        vlab = grow(lat, tlab, cost, vkids, 6, 2);
        tidy(lat, vlab, tlab, static_cast<int>(villages.size()));
        open_enclaves(lat, vlab, tlab, cost, static_cast<int>(villages.size()));
    }

    // ---- cells ----
    Labels clab;
    std::vector<Child> ckids;
    std::vector<int> cell_village;
    {
        Rng rng(substream(seed, 0x41));
        std::vector<std::vector<int>> pool(villages.size());
        for (int p = 0; p < lat.size(); ++p)
            if (vlab[uz(p)] >= 0) pool[uz(vlab[uz(p)])].push_back(p);
        const auto border = border_distance(lat, vlab);
        for (Sz v = 0; v < villages.size(); ++v) {
            std::vector<double> share(uz(plans[v].cells));
            double sum = 0;
            for (auto& s : share)
                sum += (s = rng.range(0.85, 1.15));
            std::vector<int> placed;
            for (int c = 0; c < plans[v].cells; ++c) {
                Child k;
                k.parent = static_cast<int>(v);
                k.target = share[uz(c)] / sum * static_cast<double>(pool[v].size());
                k.seed = pick_seed(rng, lat, pool[v], placed, border);
                k.stretch = rng.range(1.0, 1.3);
                k.angle = rng.range(0.0, pi);
                placed.push_back(k.seed);
                ckids.push_back(k);
                cell_village.push_back(static_cast<int>(v));
            }
        }
        const auto cost = cost_field(lat, substream(seed, 0x42), 450.0);
        clab = grow(lat, vlab, cost, ckids, 5, 2);
        tidy(lat, clab, vlab, static_cast<int>(ckids.size()));
        open_enclaves(lat, clab, vlab, cost, static_cast<int>(ckids.size()));
    }
    const int ncells = static_cast<int>(ckids.size());

    // ---- polygons of every level from the same chains ----
    std::vector<int> cell_of(uz(ncells)), village_of(uz(ncells)), township_of(uz(ncells)),
        county_of(uz(ncells), 0);
    for (int c = 0; c < ncells; ++c) {
        cell_of[uz(c)] = c;
        village_of[uz(c)] = cell_village[uz(c)];
        township_of[uz(c)] = plans[uz(cell_village[uz(c)])].township;
    }
    struct Level {
        const std::vector<int>* unit_of;
        int units;
    };
    const std::array<Level, 4> levels = {
        Level{&cell_of, ncells}, Level{&village_of, static_cast<int>(villages.size())},
        Level{&township_of, static_cast<int>(townships.size())}, Level{&county_of, 1}};
    std::array<LevelPolygons, 4> polys;

    std::vector<Chain> chains = build_chains(lat, clab);
    for (auto& c : chains)
        c.pts = smooth(c.raw, c.level);
    const geo::GeosContext ctx;
    for (int attempt = 0;; ++attempt) {
        for (int round = 0; lower_conflicting(chains) > 0; ++round)
            if (round > 8) throw LibraryError("Jishan sample: boundary smoothing did not settle");
        // Every chain goes to lon/lat once; shared ends are the same input, so the same output.
        std::vector<std::vector<geo::Point>> metric(chains.size()), lonlat(chains.size());
        const double ox = origin.x + lat.u0, oy = origin.y + lat.v0;
        std::vector<geo::Point> all;
        for (Sz c = 0; c < chains.size(); ++c) {
            for (const auto& p : chains[c].pts)
                metric[c].push_back({ox + p.x * lattice_m, oy + p.y * lattice_m});
            all.insert(all.end(), metric[c].begin(), metric[c].end());
        }
        lonlat_metric.inverse(std::span<geo::Point>(all));
        Sz at = 0;
        for (Sz c = 0; c < chains.size(); ++c)
            for (Sz k = 0; k < metric[c].size(); ++k)
                lonlat[c].push_back(all[at++]);
        for (Sz l = 0; l < levels.size(); ++l)
            polys[l] =
                level_polygons(chains, metric, lonlat, *levels[l].unit_of, levels[l].units, lat);
        // The construction should make every polygon valid; GEOS has the last word, and a
        // unit it rejects gets less smoothing on all its chains.
        bool valid = true;
        for (Sz l = 0; l < levels.size(); ++l)
            for (int u = 0; u < levels[l].units; ++u) {
                const auto gg = ctx.from(polys[l].lonlat[uz(u)]);
                if (gg.is_valid()) continue;
                valid = false;
                const auto& unit_of = *levels[l].unit_of;
                for (auto& c : chains) {
                    const bool mine = (c.left >= 0 && unit_of[uz(c.left)] == u) ||
                                      (c.right >= 0 && unit_of[uz(c.right)] == u);
                    if (!mine || c.level == 0) continue;
                    --c.level;
                    c.pts = smooth(c.raw, c.level);
                }
                if (attempt >= 4)
                    throw LibraryError("Jishan sample: invalid polygon: " + gg.invalid_reason());
            }
        if (valid) break;
    }
    const auto& cell_polys = polys[0];
    const auto& village_polys = polys[1];
    const auto& township_polys = polys[2];
    const auto& county_polys = polys[3];

    // ---- the grid ----
    grid::Grid g;
    auto mp = [](const geo::Polygon& p) { return geo::MultiPolygon{{p}}; };
    g.units.push_back({grid::UnitLevel::county, jishan_county_code, jishan_county_name, "",
                       mp(county_polys.lonlat[0])});
    for (Sz t = 0; t < townships.size(); ++t)
        g.units.push_back({grid::UnitLevel::township, townships[t].code, townships[t].name,
                           jishan_county_code, mp(township_polys.lonlat[t])});
    for (Sz v = 0; v < villages.size(); ++v)
        g.units.push_back({grid::UnitLevel::village, villages[v].code, villages[v].name,
                           villages[v].parent_code, mp(village_polys.lonlat[v])});

    // Cell numbering inside a village: rows are bands of northing of the typical cell size
    // (sqrt(village area / cells)) counted down from the northernmost cell centroid; within
    // a row cells go west to east by centroid easting.
    Rng rng(substream(seed, 0x51));
    for (Sz v = 0; v < villages.size(); ++v) {
        std::vector<int> mine;
        for (int c = 0; c < ncells; ++c)
            if (cell_village[uz(c)] == static_cast<int>(v)) mine.push_back(c);
        std::vector<geo::Point> cen;
        double ymax = -inf;
        for (int c : mine) {
            cen.push_back(centroid(cell_polys.metric[uz(c)]));
            ymax = std::max(ymax, cen.back().y);
        }
        const double band =
            std::sqrt(geo::planar_area(village_polys.metric[v]) / static_cast<double>(mine.size()));
        std::vector<Sz> order(mine.size());
        for (Sz k = 0; k < order.size(); ++k)
            order[k] = k;
        auto row = [&](Sz k) { return static_cast<long>(std::floor((ymax - cen[k].y) / band)); };
        std::sort(order.begin(), order.end(), [&](Sz x, Sz y) {
            if (row(x) != row(y)) return row(x) < row(y);
            if (cen[x].x != cen[y].x) return cen[x].x < cen[y].x;
            return cen[x].y > cen[y].y;
        });
        const auto& plan = plans[v];
        const bool town = is_town(plan.kind);
        const double lo = town ? 310 : 255, hi = town ? 490 : 345;
        const double avg = std::clamp(plan.households / plan.cells, lo, hi);
        const std::string base = strip_suffix(villages[v].name);
        for (Sz n = 0; n < order.size(); ++n) {
            grid::Cell cell;
            char seq[8];
            std::snprintf(seq, sizeof seq, "%02d", static_cast<int>(n + 1));
            cell.code = villages[v].code + seq;
            cell.name = base + "第" + std::to_string(n + 1) + "网格";
            cell.village_code = villages[v].code;
            cell.township_code = villages[v].parent_code;
            cell.county_code = jishan_county_code;
            cell.households = std::llround(std::clamp(avg * rng.range(0.92, 1.08), lo, hi));
            cell.population =
                std::llround(static_cast<double>(cell.households) * rng.range(2.6, 3.2));
            cell.geometry = mp(cell_polys.lonlat[uz(mine[order[n]])]);
            g.cells.push_back(std::move(cell));
        }
    }
    std::sort(g.cells.begin(), g.cells.end(),
              [](const grid::Cell& a, const grid::Cell& b) { return a.code < b.code; });

    return g;
}

} // namespace wangge::sample
