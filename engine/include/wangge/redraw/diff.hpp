// Review of a redraw: what happens to every cell between two grid versions, and what that
// does to the households, the open matters and the duties.
//
// Cells are compared by code and by area overlap (GEOS intersections of the cells whose
// boxes meet; shared edges give no area, so only real overlaps count):
//   unchanged  same code, same geometry
//   reshaped   same code, other geometry: area in and out, from and to which cells
//   split      one old cell wholly divided among new cells
//   merged     new cell made wholly of several old cells
//   recoded    same geometry under another code (or village)
//   new / removed  anything else, with where its area came from or went
// Households and population moved are apportioned by area (the grid holds one figure per
// cell; the text output says so).
#pragma once

#include "wangge/grid/grid.hpp"
#include "wangge/loop/duties.hpp"
#include "wangge/store/sqlite.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace wangge::redraw {

struct CellChange {
    std::string kind;
    std::vector<std::string> old_cells;
    std::vector<std::string> new_cells;
    double old_area_m2 = 0;
    double new_area_m2 = 0;
    double area_in_m2 = 0;              // reshaped: area gained from other cells
    double area_out_m2 = 0;             // reshaped: area given to other cells
    std::map<std::string, double> from; // area (m2) by the cell it came from
    std::map<std::string, double> to;   // area (m2) by the cell it went to
    double households_in = 0;           // apportioned by area
    double households_out = 0;
    double population_in = 0;
    double population_out = 0;
};

// An open matter whose cell, village or township changes ("" to_cell: it falls outside the
// new grid).
struct MatterMove {
    std::int64_t id = 0;
    std::string from_cell;
    std::string from_village;
    std::string from_township;
    std::string to_cell;
    std::string to_village;
    std::string to_township;
    geo::Point lonlat;
};

// A duty whose unit disappears: the cells that inherit it (none: it is dropped).
struct DutyChange {
    loop::Duty duty;
    std::string kind; // "split" (to every part), "merged", "recoded", "removed"
    std::vector<std::string> successors;
};

struct Diff {
    int from_version = 0;
    int to_version = 0;
    std::size_t old_cells = 0;
    std::size_t new_cells = 0;
    std::vector<CellChange> changes;           // every changed cell, in code order
    std::map<std::string, std::size_t> counts; // by kind, "unchanged" included
    // Old cell -> new cells and the area (m2) of each overlap, for the old cells that
    // changed (an unchanged cell is its own successor).
    std::map<std::string, std::map<std::string, double>> lineage;
    std::vector<MatterMove> matters; // filled by add_loop_effects
    std::vector<DutyChange> duties;
    bool loop = false; // the workspace has loop tables
};

// Compares two grids (lon/lat), measuring in `metric_crs`.
[[nodiscard]] Diff diff_grids(const grid::Grid& from, const grid::Grid& to,
                              const std::string& metric_crs);

// The open matters whose cell changes and the duties whose unit disappears, from the loop
// tables of the workspace (nothing when it has none). `to` is the new grid.
void add_loop_effects(Diff& diff, const std::string& workspace, const grid::Grid& to);

// The codes of the cells of `to` that `diff` leaves as they were (same code, geometry and
// village).
[[nodiscard]] std::set<std::string> unchanged_cells(const Diff& diff, const grid::Grid& to);

struct OpenMatters {
    std::size_t open = 0;          // open matters (not closed or rejected)
    std::vector<MatterMove> moves; // those whose cell, village or township changes
};

// Every open matter's cell in `to` (an open matter outside it gets to_cell ""), read through
// `db` (inside the caller's transaction when it publishes). `diff` is from the matters'
// current grid to `to`: a matter in a cell it leaves unchanged stays there, only the others
// are located (one query, the locator over the new cells near them).
[[nodiscard]] OpenMatters relocate_open_matters(const store::sqlite::Connection& db,
                                                const grid::Grid& to, const Diff& diff);

// Duties whose cell, village or township is not in `to`, with their successors.
[[nodiscard]] std::vector<DutyChange>
duty_changes(const Diff& diff, const std::vector<loop::Duty>& duties, const grid::Grid& to);

[[nodiscard]] std::string to_json(const Diff& diff, int indent = 2);
// A GeoJSON FeatureCollection: old boundaries (layer "old", kind per cell) and new ones.
[[nodiscard]] std::string to_geojson(const Diff& diff, const grid::Grid& from,
                                     const grid::Grid& to);
// The planner's text summary.
[[nodiscard]] std::string to_text(const Diff& diff);

} // namespace wangge::redraw
