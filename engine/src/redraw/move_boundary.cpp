// move_boundary: a new line for the boundary two neighbours share (redraw/edit.hpp).
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

// Where a ring of cell A and a ring of cell B share one run of edges: the ring indices and
// the run in A (vertices from..to, forward, cyclic on the open ring).
struct SharedRun {
    std::size_t part_a = 0, ring_a = 0, part_b = 0, ring_b = 0;
    std::size_t from = 0, to = 0; // in A's open ring
};

SharedRun shared_run(const grid::Cell& a, const grid::Cell& b) {
    const auto eb = edges_of(b.geometry);
    std::vector<SharedRun> runs;
    bool closed = false;
    for (std::size_t pi = 0; pi < a.geometry.polygons.size(); ++pi)
        for (std::size_t ri = 0; ri < a.geometry.polygons[pi].rings.size(); ++ri) {
            const Ring& r = a.geometry.polygons[pi].rings[ri];
            const std::size_t n = r.size() - 1;
            std::vector<bool> shared(n);
            for (std::size_t k = 0; k < n; ++k) {
                std::pair<double, double> p{r[k].x, r[k].y}, q{r[k + 1].x, r[k + 1].y};
                if (q < p) std::swap(p, q);
                shared[k] = eb.count({p, q}) > 0;
            }
            if (std::all_of(shared.begin(), shared.end(), [](bool x) { return x; })) {
                closed = true;
                continue;
            }
            for (std::size_t k = 0; k < n; ++k) // a run starts after an unshared edge
                if (shared[k] && !shared[(k + n - 1) % n]) {
                    std::size_t e = k;
                    while (shared[(e + 1) % n])
                        e = (e + 1) % n;
                    runs.push_back({pi, ri, 0, 0, k, (e + 1) % n});
                }
        }
    if (runs.empty())
        throw DataError(closed ? "cell " + b.code + " lies wholly inside cell " + a.code +
                                     ": their shared boundary has no end points (use 'wangge "
                                     "grid transfer' or 'merge')"
                               : "cells " + a.code + " and " + b.code + " are not neighbours",
                        {.cell = b.code});
    if (runs.size() > 1)
        throw DataError("cells " + a.code + " and " + b.code + " share " +
                            std::to_string(runs.size()) +
                            " separate stretches of boundary; move-boundary needs one",
                        {.cell = b.code});
    SharedRun run = runs[0];
    // The ring of B that holds the run's first edge.
    const Ring& ra = a.geometry.polygons[run.part_a].rings[run.ring_a];
    const Point p0 = ra[run.from], p1 = ra[run.from + 1];
    bool found = false;
    for (std::size_t pi = 0; pi < b.geometry.polygons.size() && !found; ++pi)
        for (std::size_t ri = 0; ri < b.geometry.polygons[pi].rings.size() && !found; ++ri) {
            const Ring& r = b.geometry.polygons[pi].rings[ri];
            for (std::size_t k = 0; k + 1 < r.size(); ++k)
                if ((r[k] == p0 && r[k + 1] == p1) || (r[k] == p1 && r[k + 1] == p0)) {
                    run.part_b = pi;
                    run.ring_b = ri;
                    found = true;
                    break;
                }
        }
    return run;
}

// The open ring `r` (closed on input) with its run of vertices from `from` to `to` (cyclic)
// replaced by `line`, which runs from r[from] to r[to]. Returns a closed ring.
Ring replace_run(const Ring& r, std::size_t from, std::size_t to, const Line& line) {
    const std::size_t n = r.size() - 1;
    Ring out(line.begin(), line.end());
    for (std::size_t k = (to + 1) % n; k != from; k = (k + 1) % n)
        out.push_back(r[k]);
    out.push_back(out.front());
    return out;
}

} // namespace

Change move_boundary(grid::Grid& g, const std::string& code_a, const std::string& code_b,
                     const Line& line_in) {
    if (code_a == code_b) throw InputError("move-boundary needs two different cells");
    const std::size_t ia = index_of(g, code_a), ib = index_of(g, code_b);
    const grid::Cell& a = g.cells[ia];
    const grid::Cell& b = g.cells[ib];
    const SharedRun run = shared_run(a, b);
    const Ring& ra = a.geometry.polygons[run.part_a].rings[run.ring_a];
    const Ring& rb = b.geometry.polygons[run.part_b].rings[run.ring_b];
    const Point p = ra[run.from], q = ra[run.to];
    if (p == q)
        throw DataError("the shared boundary of " + code_a + " and " + code_b +
                            " is closed; it has no end points",
                        {.cell = code_b});

    // The line must join the same end points; ends within 1e-7 degrees (about a centimetre)
    // are snapped onto them, so a line drawn in a desktop GIS with snapping fits.
    Line line = line_in;
    const auto near = [](Point x, Point y) {
        return std::abs(x.x - y.x) <= 1e-7 && std::abs(x.y - y.y) <= 1e-7;
    };
    if (near(line.front(), q) && near(line.back(), p)) std::reverse(line.begin(), line.end());
    if (!near(line.front(), p) || !near(line.back(), q)) {
        std::ostringstream where;
        where.precision(10);
        where << "(" << p.x << " " << p.y << ") and (" << q.x << " " << q.y << ")";
        throw InputError("the line must run between the end points of the shared boundary of " +
                             code_a + " and " + code_b + ": " + where.str(),
                         {.cell = code_b});
    }
    line.front() = p;
    line.back() = q;

    // The line may meet the rest of the two cells' boundaries only at its end points.
    using Key = std::pair<std::pair<double, double>, std::pair<double, double>>;
    const auto key = [](Point x, Point y) {
        std::pair<double, double> u{x.x, x.y}, v{y.x, y.y};
        if (v < u) std::swap(u, v);
        return Key{u, v};
    };
    std::set<Key> run_edges;
    for (std::size_t k = run.from; k != run.to; k = (k + 1) % (ra.size() - 1))
        run_edges.insert(key(ra[k], ra[k + 1]));
    if (line.size() == 2 && run_edges.count(key(p, q)))
        throw InputError("the line is the boundary " + code_a + " and " + code_b + " share already",
                         {.cell = code_b});
    const auto on_segment = [](Point x, Point s0, Point s1) {
        return cross(s0, s1, x) == 0 && std::min(s0.x, s1.x) <= x.x &&
               x.x <= std::max(s0.x, s1.x) && std::min(s0.y, s1.y) <= x.y &&
               x.y <= std::max(s0.y, s1.y);
    };
    // Segment s0-s1 and edge e0-e1 share the end point `end` and nothing more.
    const auto only_at = [&](Point end, Point s0, Point s1, Point e0, Point e1) {
        if (!(s0 == end) || !(e0 == end || e1 == end)) return false;
        const Point e_other = e0 == end ? e1 : e0;
        return !on_segment(s1, e0, e1) && !on_segment(e_other, s0, s1);
    };
    for (const auto* cell : {&a, &b})
        for (const auto& poly : cell->geometry.polygons)
            for (const auto& r : poly.rings)
                for (std::size_t k = 0; k + 1 < r.size(); ++k) {
                    if (run_edges.count(key(r[k], r[k + 1]))) continue; // goes away
                    for (std::size_t j = 0; j + 1 < line.size(); ++j) {
                        const Point s0 = line[j], s1 = line[j + 1];
                        if (!segments_meet(s0, s1, r[k], r[k + 1])) continue;
                        if (j == 0 && only_at(p, s0, s1, r[k], r[k + 1])) continue;
                        if (j + 2 == line.size() && only_at(q, s1, s0, r[k], r[k + 1])) continue;
                        throw InputError("the new boundary crosses or touches the boundary of " +
                                             cell->code +
                                             " away from the shared one; it must stay inside "
                                             "the two cells",
                                         {.cell = cell->code});
                    }
                }

    Line back(line.rbegin(), line.rend());
    // B's ring holds the run from q to p.
    const std::size_t bq = find_vertex(Ring(rb.begin(), rb.end() - 1), q);
    const std::size_t bp = find_vertex(Ring(rb.begin(), rb.end() - 1), p);
    if (bq == std::string::npos || bp == std::string::npos)
        throw DataError("cells " + code_a + " and " + code_b +
                            " do not share the end points of their boundary bit for bit",
                        {.cell = code_b});
    Ring new_a = replace_run(ra, run.from, run.to, line);
    // Two shells (or two holes) run the shared edges in opposite directions, a shell and a
    // hole in the same one.
    const std::size_t nb = rb.size() - 1;
    Ring new_b = run_edges.count(key(rb[bq], rb[(bq + 1) % nb])) ? replace_run(rb, bq, bp, back)
                                                                 : replace_run(rb, bp, bq, line);

    grid::Cell na = a, nb_cell = b;
    geo::Polygon& pa = na.geometry.polygons[run.part_a];
    geo::Polygon& pb = nb_cell.geometry.polygons[run.part_b];
    // Holes go with the shell that holds them now.
    std::vector<Ring> holes;
    if (run.ring_a == 0 && run.ring_b == 0) {
        for (std::size_t h = 1; h < pa.rings.size(); ++h)
            holes.push_back(pa.rings[h]);
        for (std::size_t h = 1; h < pb.rings.size(); ++h)
            holes.push_back(pb.rings[h]);
        pa.rings = {new_a};
        pb.rings = {new_b};
        for (auto& h : holes) {
            const Point probe = h[0];
            if (inside_ring(new_a, probe))
                pa.rings.push_back(std::move(h));
            else
                pb.rings.push_back(std::move(h));
        }
    } else {
        pa.rings[run.ring_a] = new_a;
        pb.rings[run.ring_b] = new_b;
    }
    geo::normalise_orientation(na.geometry);
    geo::normalise_orientation(nb_cell.geometry);

    geo::GeosContext ctx;
    for (const auto* c : {&na, &nb_cell}) {
        const auto gg = ctx.from(c->geometry);
        if (!gg.is_valid())
            throw InputError("the new boundary would make cell " + c->code +
                                 " invalid: " + gg.invalid_reason(),
                             {.cell = c->code});
    }
    const double before = polygon_area(a.geometry) + polygon_area(b.geometry);
    const double after = polygon_area(na.geometry) + polygon_area(nb_cell.geometry);
    if (std::abs(after - before) > 1e-9 * before)
        throw InputError("the new boundary leaves the two cells (their area would change from " +
                             std::to_string(before) + " to " + std::to_string(after) +
                             " square degrees)",
                         {.cell = code_b});

    // Households and population follow the area that changes hands.
    const auto ga = ctx.from(a.geometry), gb = ctx.from(b.geometry);
    const auto gna = ctx.from(na.geometry), gnb = ctx.from(nb_cell.geometry);
    const auto a_to_b =
        ctx.check(GEOSIntersection_r(ctx.get(), ga.get(), gnb.get()), "intersection");
    const auto b_to_a =
        ctx.check(GEOSIntersection_r(ctx.get(), gb.get(), gna.get()), "intersection");
    const double area_a = polygon_area(a.geometry), area_b = polygon_area(b.geometry);
    const double fa = area_a > 0 ? a_to_b.area() / area_a : 0,
                 fb = area_b > 0 ? b_to_a.area() / area_b : 0;
    const auto moved_hh_a = std::llround(static_cast<double>(a.households) * fa);
    const auto moved_hh_b = std::llround(static_cast<double>(b.households) * fb);
    const auto moved_pop_a = std::llround(static_cast<double>(a.population) * fa);
    const auto moved_pop_b = std::llround(static_cast<double>(b.population) * fb);
    na.households = a.households - moved_hh_a + moved_hh_b;
    nb_cell.households = b.households - moved_hh_b + moved_hh_a;
    na.population = a.population - moved_pop_a + moved_pop_b;
    nb_cell.population = b.population - moved_pop_b + moved_pop_a;

    std::set<std::string> units;
    if (a.village_code != b.village_code) units = {a.village_code, b.village_code};
    if (a.township_code != b.township_code) {
        units.insert(a.township_code);
        units.insert(b.township_code);
    }
    g.cells[ia] = std::move(na);
    g.cells[ib] = std::move(nb_cell);
    refresh_units(g, units);

    Change ch;
    ch.changed = {code_a, code_b};
    ch.units.assign(units.begin(), units.end());
    std::ostringstream sum;
    sum.precision(0);
    sum << std::fixed << "moved the boundary of " << code_a << " and " << code_b << " ("
        << (a_to_b.area() > 0 ? "from " + code_a + " to " + code_b : std::string()) << ""
        << (a_to_b.area() > 0 && b_to_a.area() > 0 ? ", " : "")
        << (b_to_a.area() > 0 ? "from " + code_b + " to " + code_a : std::string())
        << "; households and population apportioned by area)";
    ch.summary = sum.str();
    return ch;
}

} // namespace wangge::redraw
