// The core exact edits: split, merge, recode (redraw/edit.hpp).
#include "wangge/redraw/edit.hpp"

#include "redraw/edit_shared.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"

#include <algorithm>
#include <cmath>
#include <geos_c.h>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace wangge::redraw {

using namespace detail;

namespace detail {

// The cut of split_cell once the line's two boundary points on the shell of part `part` of
// cell `ci` are known (hits[0] and hits[1], along `line`).
Change split_at(grid::Grid& g, std::size_t ci, std::size_t part, const std::vector<Hit>& hits,
                const Line& line, const std::vector<std::string>& codes_in) {
    const grid::Cell& cell = g.cells[ci];
    const std::string code = cell.code;
    const geo::Polygon& poly = cell.geometry.polygons[part];
    // The cut: from the first hit along the line to the second.
    Line cut{hits[0].p};
    for (std::size_t j = hits[0].seg + 1; j <= hits[1].seg; ++j)
        if (!(line[j] == cut.back())) cut.push_back(line[j]);
    if (!(hits[1].p == cut.back())) cut.push_back(hits[1].p);
    if (cut.size() < 2 || cut.front() == cut.back())
        throw InputError("the line touches cell " + code + " without cutting it", {.cell = code});
    const Point mid{(cut[0].x + cut[1].x) / 2, (cut[0].y + cut[1].y) / 2};
    if (!inside_polygon(poly, mid))
        throw InputError("the line runs outside cell " + code +
                             " between the points where it meets its boundary",
                         {.cell = code});

    // Insert the two boundary points into the shell and into the neighbours.
    Ring open(poly.rings[0].begin(), poly.rings[0].end() - 1);
    std::set<std::string> touched;
    std::vector<Hit> inserts;
    for (const auto& h : hits)
        if (find_vertex(open, h.p) == std::string::npos) inserts.push_back(h);
    std::sort(inserts.begin(), inserts.end(), [](const Hit& a, const Hit& b) {
        return a.edge != b.edge ? a.edge > b.edge : a.u > b.u;
    });
    std::vector<std::pair<std::pair<Point, Point>, Point>> neighbour_inserts;
    for (const auto& h : inserts) {
        const Point a = poly.rings[0][h.edge], b = poly.rings[0][h.edge + 1];
        open.insert(open.begin() + static_cast<std::ptrdiff_t>(h.edge) + 1, h.p);
        neighbour_inserts.push_back({{a, b}, h.p});
    }
    const std::size_t ia = find_vertex(open, cut.front()), ib = find_vertex(open, cut.back());
    Ring ra = walk(open, ia, ib), rb = walk(open, ib, ia);
    for (std::size_t k = cut.size() - 2; k >= 1; --k)
        ra.push_back(cut[k]);
    ra.push_back(ra.front());
    for (std::size_t k = 1; k + 1 < cut.size(); ++k)
        rb.push_back(cut[k]);
    rb.push_back(rb.front());
    geo::Polygon pa{{ra}}, pb{{rb}};
    for (std::size_t h = 1; h < poly.rings.size(); ++h)
        (inside_ring(ra, poly.rings[h][0]) ? pa : pb).rings.push_back(poly.rings[h]);

    // The part left of the line's direction first: ra runs along the shell from the entry to
    // the exit point and back along the cut, so on a counter-clockwise shell (inside on the
    // left) it is the part right of the line.
    if (geo::signed_area(poly.rings[0]) > 0) std::swap(pa, pb);

    std::vector<std::string> codes = codes_in;
    if (codes.empty())
        codes = next_codes(g, cell, 2);
    else if (codes.size() != 2)
        throw InputError("--codes needs two codes, one for each part", {.cell = code});
    if (codes[0] == codes[1]) throw DataError("the two parts need different codes", {.cell = code});
    for (const auto& c : codes)
        check_code(g, c, cell.code, cell.village_code, {code});

    grid::Cell a = cell, b = cell;
    a.code = codes[0];
    b.code = codes[1];
    a.name = cell.name.empty() ? "" : cell.name + "-1";
    b.name = cell.name.empty() ? "" : cell.name + "-2";
    a.geometry.polygons = {pa};
    b.geometry.polygons = {pb};
    for (std::size_t pi = 0; pi < cell.geometry.polygons.size(); ++pi)
        if (pi != part) a.geometry.polygons.push_back(cell.geometry.polygons[pi]);
    const double total = polygon_area(cell.geometry);
    const double fa = total > 0 ? polygon_area(a.geometry) / total : 0.5;
    a.households = std::llround(static_cast<double>(cell.households) * fa);
    b.households = cell.households - a.households;
    a.population = std::llround(static_cast<double>(cell.population) * fa);
    b.population = cell.population - a.population;

    // Nothing has changed yet; from here on the edit cannot fail.
    const CellBoxes boxes(g);
    for (const auto& [edge, p] : neighbour_inserts)
        insert_into_neighbours(g, boxes, edge.first, edge.second, p, ci, touched);
    g.cells[ci] = std::move(a);
    g.cells.insert(g.cells.begin() + static_cast<std::ptrdiff_t>(ci) + 1, std::move(b));

    Change ch;
    if (code != codes[0] && code != codes[1]) ch.removed.push_back(code);
    ch.changed = codes;
    for (const auto& t : touched)
        ch.changed.push_back(t);
    ch.summary = "split " + code + " into " + codes[0] + " and " + codes[1] +
                 " (households and population apportioned by area)";
    return ch;
}

} // namespace detail

Change split_cell(grid::Grid& g, const std::string& code, const Line& line,
                  const std::vector<std::string>& codes_in) {
    const std::size_t ci = index_of(g, code);
    const grid::Cell& cell = g.cells[ci];
    // Find the part the line cuts; a hole it touches is refused.
    std::size_t part = std::string::npos;
    std::vector<Hit> hits;
    for (std::size_t pi = 0; pi < cell.geometry.polygons.size(); ++pi) {
        const auto& poly = cell.geometry.polygons[pi];
        for (std::size_t r = 0; r < poly.rings.size(); ++r) {
            std::vector<Hit> h;
            ring_hits(poly.rings[r], line, code, h);
            if (h.empty()) continue;
            if (r > 0)
                throw InputError("the line meets a hole of cell " + code + "; cut around it",
                                 {.cell = code});
            if (part != std::string::npos)
                throw InputError("the line crosses more than one part of cell " + code,
                                 {.cell = code});
            part = pi;
            hits = std::move(h);
        }
    }
    if (hits.size() < 2)
        throw InputError("the line does not cross cell " + code +
                             " from boundary to boundary (it meets the boundary " +
                             std::to_string(hits.size()) +
                             " times; start and end it outside the cell)",
                         {.cell = code});
    if (hits.size() > 2)
        throw InputError("the line crosses the boundary of cell " + code + " " +
                             std::to_string(hits.size()) +
                             " times; draw one that enters and leaves it once",
                         {.cell = code});
    return split_at(g, ci, part, hits, line, codes_in);
}

Change merge_cells(grid::Grid& g, const std::vector<std::string>& codes_in,
                   const std::string& code_in, bool allow_multipart) {
    std::vector<std::string> codes;
    for (const auto& c : codes_in)
        if (std::find(codes.begin(), codes.end(), c) == codes.end()) codes.push_back(c);
    if (codes.size() < 2) throw InputError("merge needs at least two different cells");
    std::vector<std::size_t> idx;
    for (const auto& c : codes)
        idx.push_back(index_of(g, c));
    const grid::Cell& first = g.cells[idx[0]];
    for (auto i : idx)
        if (g.cells[i].village_code != first.village_code)
            throw DataError("cells " + first.code + " and " + g.cells[i].code +
                                " lie in different villages (" + first.village_code + ", " +
                                g.cells[i].village_code +
                                "); move one with 'wangge grid recode --village' first",
                            {.cell = g.cells[i].code});
    // Connected through shared edges?
    std::vector<bool> reached(idx.size(), false);
    reached[0] = true;
    for (bool grew = true; grew;) {
        grew = false;
        for (std::size_t a = 0; a < idx.size(); ++a)
            for (std::size_t b = 0; b < idx.size(); ++b)
                if (reached[a] && !reached[b] &&
                    share_edge(g.cells[idx[a]].geometry, g.cells[idx[b]].geometry)) {
                    reached[b] = true;
                    grew = true;
                }
    }
    for (std::size_t k = 0; k < idx.size(); ++k)
        if (!reached[k] && !allow_multipart)
            throw DataError("cell " + codes[k] + " shares no boundary with " + codes[0] +
                                (idx.size() > 2 ? " or the other cells" : "") +
                                "; they are not neighbours (use --allow-multipart to merge "
                                "them into one cell of several parts)",
                            {.cell = codes[k]});

    const std::string code = code_in.empty() ? codes[0] : code_in;
    check_code(g, code, first.code, first.village_code,
               std::set<std::string>(codes.begin(), codes.end()));

    geo::GeosContext ctx;
    std::vector<const geo::MultiPolygon*> parts;
    for (auto i : idx)
        parts.push_back(&g.cells[i].geometry);
    geo::MultiPolygon merged = geo::coverage_union(ctx, parts);
    geo::normalise_orientation(merged);
    // Edge-connected cells fuse; parts left are exclaves the cells had already.

    // Vertices of the dissolved boundary: in two or more of the merged cells.
    std::map<std::pair<double, double>, int> seen;
    for (auto i : idx) {
        std::set<std::pair<double, double>> own;
        for (const auto& poly : g.cells[i].geometry.polygons)
            for (const auto& ring : poly.rings)
                for (const auto& p : ring)
                    own.insert({p.x, p.y});
        for (const auto& p : own)
            ++seen[p];
    }
    std::set<std::size_t> merging(idx.begin(), idx.end());
    std::set<std::string> touched;
    const CellBoxes boxes(g);
    for (auto& poly : merged.polygons)
        for (auto& ring : poly.rings) {
            // Start the ring at a vertex that stays, so every candidate has two neighbours.
            ring.pop_back();
            const auto keep = std::find_if(ring.begin(), ring.end(), [&](Point p) {
                const auto it = seen.find({p.x, p.y});
                return it == seen.end() || it->second < 2;
            });
            if (keep != ring.end()) std::rotate(ring.begin(), keep, ring.end());
            ring.push_back(ring.front());
            for (std::size_t k = 1; k + 1 < ring.size() && ring.size() > 4;) {
                const Point v = ring[k];
                const auto it = seen.find({v.x, v.y});
                if (it == seen.end() || it->second < 2 || !collinear(ring[k - 1], v, ring[k + 1])) {
                    ++k;
                    continue;
                }
                // Used by at most one other cell, where it sits on the same straight edge?
                struct Use {
                    std::size_t cell, part, ring, at;
                };
                std::vector<Use> users;
                bool removable = true;
                for (auto i : boxes.near(box_of(v))) {
                    if (merging.count(i)) continue;
                    auto& mp = g.cells[i].geometry;
                    for (std::size_t pi = 0; pi < mp.polygons.size(); ++pi)
                        for (std::size_t ri = 0; ri < mp.polygons[pi].rings.size(); ++ri) {
                            const auto& r = mp.polygons[pi].rings[ri];
                            for (std::size_t q = 0; q + 1 < r.size(); ++q)
                                if (r[q] == v) {
                                    const Point prev = r[q == 0 ? r.size() - 2 : q - 1];
                                    const Point next = r[q + 1];
                                    const bool same =
                                        (prev == ring[k + 1] && next == ring[k - 1]) ||
                                        (prev == ring[k - 1] && next == ring[k + 1]);
                                    if (!same || r.size() <= 4) removable = false;
                                    users.push_back({i, pi, ri, q});
                                }
                        }
                }
                if (!removable || users.size() > 1) {
                    ++k;
                    continue;
                }
                for (const auto& use : users) {
                    auto& r = g.cells[use.cell].geometry.polygons[use.part].rings[use.ring];
                    r.erase(r.begin() + static_cast<std::ptrdiff_t>(use.at));
                    if (use.at == 0) r.back() = r.front();
                    touched.insert(g.cells[use.cell].code);
                }
                ring.erase(ring.begin() + static_cast<std::ptrdiff_t>(k));
            }
        }

    grid::Cell out = first;
    out.code = code;
    out.geometry = std::move(merged);
    out.households = 0;
    out.population = 0;
    for (auto i : idx) {
        out.households += g.cells[i].households;
        out.population += g.cells[i].population;
    }
    const std::size_t at = *std::min_element(idx.begin(), idx.end());
    std::vector<grid::Cell> cells;
    cells.reserve(g.cells.size() - idx.size() + 1);
    for (std::size_t i = 0; i < g.cells.size(); ++i) {
        if (i == at) cells.push_back(out);
        if (!merging.count(i)) cells.push_back(std::move(g.cells[i]));
    }
    g.cells = std::move(cells);

    Change ch;
    std::string list;
    for (const auto& c : codes) {
        if (c != code) ch.removed.push_back(c);
        if (!list.empty()) list += ", ";
        list += c;
    }
    ch.changed.push_back(code);
    for (const auto& t : touched)
        ch.changed.push_back(t);
    ch.summary = "merged " + list + " into " + code;
    return ch;
}

Change recode_cell(grid::Grid& g, const std::string& code, const std::string& new_code_in,
                   const std::string& village) {
    const std::size_t ci = index_of(g, code);
    grid::Cell cell = g.cells[ci];
    std::string new_village = cell.village_code, new_township = cell.township_code;
    if (!village.empty() && village != cell.village_code) {
        const auto* v = g.find_unit(village);
        if (!v || v->level != grid::UnitLevel::village)
            throw InputError("no village " + village + " in the draft", {.cell = code});
        bool neighbour = false;
        for (const auto& c : g.cells)
            if (c.village_code == village && share_edge(c.geometry, cell.geometry)) {
                neighbour = true;
                break;
            }
        if (!neighbour)
            throw DataError("cell " + code + " shares no boundary with village " + village +
                                "; the village would fall apart in pieces",
                            {.cell = code});
        new_village = village;
        new_township = v->parent_code;
    }
    std::string new_code = new_code_in;
    if (new_code.empty()) {
        if (new_village == cell.village_code)
            throw InputError("recode needs a new code or --village");
        grid::Cell probe = cell;
        probe.code =
            grid::split_cell_code(cell.code) ? new_village + cell.code.substr(12) : cell.code;
        new_code = grid::split_cell_code(cell.code) ? next_codes(g, probe, 1)[0] : cell.code;
    }
    check_code(g, new_code, cell.code, grid::split_cell_code(cell.code) ? new_village : "", {code});
    if (new_code == code && new_village == cell.village_code)
        throw InputError("cell " + code + " already has that code and village", {.cell = code});
    std::set<std::string> units;
    if (new_village != cell.village_code) units = {cell.village_code, new_village};
    if (new_township != cell.township_code) {
        units.insert(cell.township_code);
        units.insert(new_township);
    }
    cell.code = new_code;
    cell.village_code = new_village;
    cell.township_code = new_township;
    g.cells[ci] = std::move(cell);
    refresh_units(g, units);

    Change ch;
    if (new_code != code) ch.removed.push_back(code);
    ch.changed.push_back(new_code);
    ch.units.assign(units.begin(), units.end());
    ch.summary = "recoded " + code + " as " + new_code +
                 (village.empty() ? "" : " in village " + new_village);
    return ch;
}

} // namespace wangge::redraw
