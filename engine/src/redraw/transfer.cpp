// transfer_area: a polygon's part of some cells goes to a neighbour (redraw/edit.hpp).
#include "redraw/edit_shared.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/redraw/edit.hpp"

#include <algorithm>
#include <cmath>
#include <geos_c.h>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace wangge::redraw {

using namespace detail;

namespace {

// A point inside a cell (not on its boundary).
Point interior_point(const geo::GeosContext& ctx, const geo::MultiPolygon& mp) {
    const auto g = ctx.from(mp);
    const auto p = ctx.check(GEOSPointOnSurface_r(ctx.get(), g.get()), "point on surface");
    double x = 0, y = 0;
    GEOSGeomGetX_r(ctx.get(), p.get(), &x);
    GEOSGeomGetY_r(ctx.get(), p.get(), &y);
    return {x, y};
}

bool on_ring(const Ring& r, Point p) {
    for (std::size_t e = 0; e + 1 < r.size(); ++e)
        if (segments_meet(p, p, r[e], r[e + 1])) return true;
    return false;
}

// Whether p lies inside cell c and not on its boundary.
bool strictly_inside(const grid::Cell& c, Point p) {
    for (const auto& poly : c.geometry.polygons)
        for (const auto& r : poly.rings)
            for (std::size_t e = 0; e + 1 < r.size(); ++e)
                if (segments_meet(p, p, r[e], r[e + 1])) return false;
    return inside(c.geometry, p);
}

// A stretch of the closed ring `area` that runs through the inside of cell `c` from one
// boundary point to another (stretches along the boundary, e.g. where an earlier cut runs,
// do not count): the walk along the ring and the two hits on the shell of one part.
struct Crossing {
    Line walk;
    std::size_t part = 0;
    std::vector<Hit> hits;
};

std::optional<Crossing> first_crossing(const grid::Cell& c, const Ring& area) {
    // Walk from a vertex outside the cell, so no stretch inside wraps around the start.
    std::size_t start = 0;
    for (std::size_t k = 0; k + 1 < area.size(); ++k) {
        if (inside(c.geometry, area[k])) continue;
        bool on = false;
        for (const auto& poly : c.geometry.polygons)
            for (const auto& r : poly.rings)
                for (std::size_t e = 0; e + 1 < r.size() && !on; ++e)
                    on = segments_meet(area[k], area[k], r[e], r[e + 1]);
        if (!on) {
            start = k;
            break;
        }
    }
    Crossing out;
    out.walk.assign(area.begin() + static_cast<std::ptrdiff_t>(start), area.end() - 1);
    out.walk.insert(out.walk.end(), area.begin(),
                    area.begin() + static_cast<std::ptrdiff_t>(start) + 1);
    struct Found {
        Hit hit;
        std::size_t part, ring;
    };
    std::vector<Found> hits;
    for (std::size_t pi = 0; pi < c.geometry.polygons.size(); ++pi)
        for (std::size_t ri = 0; ri < c.geometry.polygons[pi].rings.size(); ++ri) {
            std::vector<Hit> h;
            ring_hits(c.geometry.polygons[pi].rings[ri], out.walk, c.code, h, true);
            for (const auto& x : h)
                if (std::none_of(hits.begin(), hits.end(),
                                 [&](const Found& y) { return y.hit.p == x.p; }))
                    hits.push_back({x, pi, ri});
        }
    std::sort(hits.begin(), hits.end(), [](const Found& x, const Found& y) {
        return x.hit.seg != y.hit.seg ? x.hit.seg < y.hit.seg : x.hit.t < y.hit.t;
    });
    for (std::size_t i = 0; i + 1 < hits.size(); ++i) {
        const Hit& a = hits[i].hit;
        const Hit& b = hits[i + 1].hit;
        const Point next = a.seg == b.seg ? b.p : out.walk[a.seg + 1];
        if (!strictly_inside(c, {(a.p.x + next.x) / 2, (a.p.y + next.y) / 2})) continue;
        if (hits[i].ring != 0 || hits[i + 1].ring != 0 || hits[i].part != hits[i + 1].part)
            throw InputError("the area's outline runs from a hole or another part of cell " +
                                 c.code + "; transfer around the hole in pieces",
                             {.cell = c.code});
        out.part = hits[i].part;
        out.hits = {a, b};
        return out;
    }
    return std::nullopt;
}

} // namespace

Change transfer_area(grid::Grid& g, const Ring& area_in, const std::string& to) {
    const grid::Grid original = g;
    Ring area = area_in;
    const geo::Box area_box = geo::bounds(area);
    (void)index_of(g, to); // throws for an unknown cell
    geo::MultiPolygon area_mp;
    area_mp.polygons.push_back({{area}});
    std::set<std::string> changed, units;
    std::map<std::string, std::string> origin; // a cut piece's code -> the cell it came from
    try {
        // 1. Cut every other cell the area's outline crosses along it, one stretch at a time,
        // the part outside the area keeping the cell's code.
        for (std::size_t guard = 0;; ++guard) {
            if (guard > 4 * area.size() + 64)
                throw InputError("the area's outline crosses the cells too often to transfer");
            bool cut = false;
            for (std::size_t i = 0; i < g.cells.size() && !cut; ++i) {
                const grid::Cell& c = g.cells[i];
                if (c.code == to || !geo::bounds(c.geometry).intersects(area_box)) continue;
                const auto crossing = first_crossing(c, area);
                if (!crossing) continue;
                const std::string code = c.code;
                const std::string tmp = next_codes(g, c, 1)[0];
                origin[tmp] = origin.count(code) ? origin[code] : code;
                const auto ch =
                    split_at(g, i, crossing->part, crossing->hits, crossing->walk, {code, tmp});
                changed.insert(ch.changed.begin(), ch.changed.end());
                cut = true;
            }
            if (!cut) break;
        }
        // 2. The cells now wholly inside the area join the target.
        geo::GeosContext ctx;
        const grid::Cell target = *g.find_cell(to);
        std::vector<std::string> give{to};
        // A part of a cell is inside the area when a point inside it is: the outline no
        // longer crosses it (checked: an area inside a part without reaching its boundary
        // would leave a hole). A cell with parts on both sides gives its inside parts as a
        // cell of their own.
        const auto inside_area = [&](const geo::Polygon& poly, const std::string& code) {
            if (!inside(area_mp, interior_point(ctx, geo::MultiPolygon{{poly}}))) return false;
            for (const auto& v : poly.rings[0])
                if (!inside(area_mp, v) && !on_ring(area, v))
                    throw InputError("the area lies inside cell " + code +
                                         " without reaching its boundary; it would leave a "
                                         "hole (draw it across the boundary with " +
                                         to + ")",
                                     {.cell = code});
            return true;
        };
        const std::size_t before_split = g.cells.size();
        for (std::size_t i = 0; i < before_split; ++i) {
            grid::Cell& c = g.cells[i];
            if (c.code == to || !geo::bounds(c.geometry).intersects(area_box)) continue;
            if (c.geometry.polygons.size() < 2) continue;
            grid::Cell in = c;
            in.geometry.polygons.clear();
            std::vector<geo::Polygon> out;
            for (auto& poly : c.geometry.polygons)
                (inside_area(poly, c.code) ? in.geometry.polygons : out).push_back(poly);
            if (in.geometry.polygons.empty() || out.empty()) continue;
            in.code = next_codes(g, c, 1)[0];
            origin[in.code] = origin.count(c.code) ? origin[c.code] : c.code;
            c.geometry.polygons = out;
            const double total = polygon_area(in.geometry) + polygon_area(c.geometry);
            const double f = total > 0 ? polygon_area(in.geometry) / total : 0;
            in.households = std::llround(static_cast<double>(c.households) * f);
            c.households -= in.households;
            in.population = std::llround(static_cast<double>(c.population) * f);
            c.population -= in.population;
            g.cells.push_back(std::move(in));
        }
        for (auto& c : g.cells) {
            if (c.code == to || !geo::bounds(c.geometry).intersects(area_box)) continue;
            if (!inside_area(c.geometry.polygons[0], c.code)) continue;
            give.push_back(c.code);
            if (c.village_code != target.village_code) {
                units.insert(c.village_code);
                units.insert(target.village_code);
                if (c.township_code != target.township_code) {
                    units.insert(c.township_code);
                    units.insert(target.township_code);
                }
                c.village_code = target.village_code;
                c.township_code = target.township_code;
            }
        }
        if (give.size() == 1)
            throw InputError("the area covers no part of any cell but " + to +
                                 " (draw it over the part to give, overlapping " + to + ")",
                             {.cell = to});
        const auto m = merge_cells(g, give, to);
        changed.insert(m.changed.begin(), m.changed.end());
        // 3. What is left of a cut cell outside the area is that cell again, under its code
        // (in several parts when the area cut it through).
        std::map<std::string, std::vector<std::string>> left;
        for (const auto& c : g.cells)
            if (const auto it = origin.find(c.code); it != origin.end())
                left[it->second].push_back(c.code);
        for (auto& [code, pieces] : left) {
            if (g.find_cell(code)) pieces.insert(pieces.begin(), code);
            if (pieces.size() > 1) {
                const auto back = merge_cells(g, pieces, code, true);
                changed.insert(back.changed.begin(), back.changed.end());
            } else {
                g.cells[index_of(g, pieces[0])].code = code;
            }
            changed.insert(code);
        }
        refresh_units(g, units);
    } catch (...) {
        g = original; // an edit changes nothing unless it succeeds
        throw;
    }

    Change ch;
    std::set<std::string> now;
    for (const auto& c : g.cells)
        now.insert(c.code);
    for (const auto& c : original.cells)
        if (!now.count(c.code)) ch.removed.push_back(c.code);
    for (const auto& c : changed)
        if (now.count(c)) ch.changed.push_back(c);
    if (std::find(ch.changed.begin(), ch.changed.end(), to) == ch.changed.end())
        ch.changed.push_back(to);
    ch.units.assign(units.begin(), units.end());
    std::string from;
    for (const auto& c : original.cells) {
        if (c.code == to) continue;
        const auto* n = g.find_cell(c.code);
        if (!n || !(n->geometry == c.geometry)) from += (from.empty() ? "" : ", ") + c.code;
    }
    ch.summary = "transferred the area's part of " + from + " to " + to +
                 " (households and population apportioned by area)";
    return ch;
}

} // namespace wangge::redraw
