// replace_cells: a township's cells give way to cells redrawn elsewhere (redraw/edit.hpp).
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

Change replace_cells(grid::Grid& g, std::vector<grid::Cell> cells, const std::string& township,
                     const grid::ValidateOptions& options, grid::ValidationReport* defects) {
    if (cells.empty()) throw InputError("the replacement has no cells");
    if (!township.empty()) {
        const auto* t = g.find_unit(township);
        if (!t || t->level != grid::UnitLevel::township)
            throw InputError("no township " + township + " in the draft");
    }
    const auto replaced = [&](const grid::Cell& c) {
        return township.empty() || c.township_code == township;
    };
    std::set<std::string> old_codes, units;
    double old_area = 0;
    geo::Box box;
    for (const auto& c : g.cells)
        if (replaced(c)) {
            old_codes.insert(c.code);
            old_area += polygon_area(c.geometry);
            box.expand(geo::bounds(c.geometry));
            units.insert(c.village_code);
            units.insert(c.township_code);
        }
    if (old_codes.empty()) throw InputError("township " + township + " has no cells to replace");
    // The outline vertices the neighbours have, to snap the new cells onto bit for bit (a
    // file written and read again may round the last digit).
    std::map<std::pair<long long, long long>, std::vector<Point>> keep;
    const double cellsize = 1e-9;
    const auto bucket = [&](Point p) {
        return std::pair<long long, long long>{std::llround(p.x / cellsize),
                                               std::llround(p.y / cellsize)};
    };
    for (const auto& c : g.cells)
        if (!replaced(c) && geo::bounds(c.geometry).intersects(box))
            for (const auto& poly : c.geometry.polygons)
                for (const auto& ring : poly.rings)
                    for (const auto& p : ring)
                        keep[bucket(p)].push_back(p);
    std::set<std::string> new_codes;
    double new_area = 0;
    for (auto& c : cells) {
        if (!new_codes.insert(c.code).second)
            throw DataError("cell code " + c.code + " appears twice in the replacement",
                            {.cell = c.code});
        if (!old_codes.count(c.code) && g.find_cell(c.code))
            throw DataError("cell code " + c.code + " is already used by a cell outside " +
                                (township.empty() ? "the county" : "township " + township),
                            {.cell = c.code});
        if (!township.empty() && c.township_code != township)
            throw DataError("cell " + c.code + " belongs to township " + c.township_code +
                                ", not " + township,
                            {.cell = c.code});
        const auto* v = g.find_unit(c.village_code);
        if (!v || v->level != grid::UnitLevel::village)
            throw DataError("cell " + c.code + " names village " + c.village_code +
                                ", which the grid does not have",
                            {.cell = c.code});
        c.township_code = v->parent_code;
        c.county_code = g.cells.front().county_code;
        units.insert(c.village_code);
        units.insert(c.township_code);
        for (auto& poly : c.geometry.polygons)
            for (auto& ring : poly.rings)
                for (auto& p : ring) {
                    const auto b = bucket(p);
                    for (long long dx = -1; dx <= 1; ++dx)
                        for (long long dy = -1; dy <= 1; ++dy)
                            if (const auto it = keep.find({b.first + dx, b.second + dy});
                                it != keep.end())
                                for (const auto& q : it->second)
                                    if (std::abs(q.x - p.x) <= cellsize &&
                                        std::abs(q.y - p.y) <= cellsize)
                                        p = q;
                }
        geo::normalise_orientation(c.geometry);
        new_area += polygon_area(c.geometry);
    }

    grid::Grid out = g;
    std::vector<grid::Cell> kept;
    for (auto& c : out.cells)
        if (!replaced(c)) kept.push_back(std::move(c));
    Change ch;
    for (const auto& code : old_codes)
        if (!new_codes.count(code)) ch.removed.push_back(code);
    for (auto& c : cells) {
        ch.changed.push_back(c.code);
        kept.push_back(std::move(c));
    }
    out.cells = std::move(kept);
    refresh_units(out, units);
    ch.units.assign(units.begin(), units.end());
    // The new outline must meet the neighbours exactly: the validator over the new cells and
    // their neighbours is the judge, and its defects are the map of gaps and overlaps.
    auto report = validate_touched(out, ch, options);
    const double rel = old_area > 0 ? std::abs(new_area - old_area) / old_area : 0;
    if (!report.valid() || rel > 1e-9) {
        if (defects) *defects = report;
        std::string list;
        for (std::size_t i = 0; i < report.issues.size() && i < 5; ++i)
            list += "\n  " + report.issues[i].describe();
        std::ostringstream area;
        area.precision(3);
        area << rel * 100;
        throw DataError("the replacement does not fit its place exactly (" +
                            (report.valid() ? std::string("no defect found") : report.summary()) +
                            "; its area differs by " + area.str() +
                            "% from the cells it replaces); nothing was changed" + list,
                        {});
    }
    g = std::move(out);
    ch.summary = "replaced the " + std::to_string(old_codes.size()) + " cells of " +
                 (township.empty() ? std::string("the county") : "township " + township) +
                 " with " + std::to_string(new_codes.size()) + " cells";
    return ch;
}

} // namespace wangge::redraw
