// Edits of a grid that keep it an exact tiling by construction: they work on the shared
// boundaries of the cells, never by overlaying polygons (which leaves slivers).
//  - split: a line that enters a cell once and leaves it once cuts it in two; the two points
//    where it meets the boundary are inserted, bit for bit the same, into the neighbours
//    that share those edges, so no T-junction is left;
//  - merge: neighbours become one cell (their shared edges cancel); vertices that only the
//    dissolved boundary needed and that lie on a straight edge are removed again from the
//    merged cell and its neighbour, so a split followed by a merge gives back the original;
//  - move-boundary: the run of edges two neighbours share is replaced by a new line between
//    the same end points;
//  - transfer: a polygon's part of some cells goes to a neighbour (splits, then a merge);
//  - replace: a township's cells give way to cells redrawn elsewhere, which must fit exactly;
//  - recode: a new code (national rule: the village prefix of the cell's village), and
//    optionally another village, whose and whose township's outlines follow.
// An edit that cannot keep the tiling exact, or gets bad input, throws (InputError or
// DataError naming the cell) and leaves the grid as it was.
//
// Geometry is lon/lat (EPSG:4326); households and population of a split cell are
// apportioned by area (the grid has no finer data), those of merged cells summed.
#pragma once

#include "wangge/geo/geometry.hpp"
#include "wangge/grid/grid.hpp"
#include "wangge/grid/validate.hpp"

#include <string>
#include <vector>

namespace wangge::redraw {

using Line = std::vector<geo::Point>;

// What one edit did, by cell code.
struct Change {
    std::vector<std::string> removed; // codes no longer in the grid
    std::vector<std::string> changed; // new or reshaped cells (codes in the grid after it),
                                      // neighbours that got a vertex included
    std::vector<std::string> units;   // village/township codes whose outline was recomputed
    std::string summary;              // one line for the planner
};

// A line from WKT, a GeoJSON geometry or Feature, or a file holding one of them (lon/lat).
// Throws InputError when it is none of these, is not a LineString, or intersects itself.
[[nodiscard]] Line parse_line(const std::string& text);

// Cuts cell `code` along `line` (which must cross it from boundary to boundary exactly once).
// `codes` names the two parts (default: the next free codes of the cell's village); the
// part on the left of the line's direction is the first. A multipart cell keeps its other
// parts with the first new cell.
Change split_cell(grid::Grid& grid, const std::string& code, const Line& line,
                  const std::vector<std::string>& codes = {});

// Merges neighbouring cells of one village into one cell coded `code` (default: the first
// of `codes`). Cells that share no edge are refused unless allow_multipart.
Change merge_cells(grid::Grid& grid, const std::vector<std::string>& codes,
                   const std::string& code = "", bool allow_multipart = false);

// Gives cell `code` the code `new_code` (may equal `code` when only the village changes) and,
// when `village` is not empty, moves it to that village (which must exist in the grid).
Change recode_cell(grid::Grid& grid, const std::string& code, const std::string& new_code,
                   const std::string& village = "");

// Replaces the boundary cells `a` and `b` share (one run of common edges) with `line`, which
// joins the same two end points (ends within 1e-7 degrees are snapped onto them) and stays
// inside the two cells. Nothing else changes: the end points are vertices already, so no
// neighbour needs one. Households and population follow the area that changes hands
// (apportioned by area). When the cells lie in different villages, the villages' outlines
// follow.
Change move_boundary(grid::Grid& grid, const std::string& a, const std::string& b,
                     const Line& line);

// A polygon from WKT, GeoJSON or a file holding one (lon/lat): the outer ring, closed.
// Throws InputError for anything but one valid polygon without holes.
[[nodiscard]] geo::Ring parse_area(const std::string& text);

// Gives the part of `area` that lies in other cells to cell `to`: each cell the area's
// outline crosses is split along it (split_cell: the cut points go into the neighbours bit
// for bit; the part outside keeps the cell's code), then the parts inside the area, and the
// cells wholly inside it, are merged into `to` (merge_cells; they join its village). The
// parts must reach `to` through shared edges. A cell emptied wholly disappears. Where the
// area covers `to` itself or lies outside the grid nothing happens.
Change transfer_area(grid::Grid& grid, const geo::Ring& area, const std::string& to);

// Replaces every cell of township `township` (of the county when empty) with `cells`
// (lon/lat, e.g. redrawn in a desktop GIS from `wangge grid export` and read with
// grid::read_grid). Their vertices within 1e-9 degrees of a neighbour's are snapped onto it
// (a file written and read again may round the last digit). Refused (DataError, the grid
// unchanged) when a cell's code repeats or is used outside, its village is not in the grid
// or not in the township, or the new outline does not meet the neighbours exactly: the
// validator over the new cells and their neighbours finds defects (given in `defects`, the
// map of gaps and overlaps) or the area differs by more than 1e-9.
Change replace_cells(grid::Grid& grid, std::vector<grid::Cell> cells, const std::string& township,
                     const grid::ValidateOptions& options,
                     grid::ValidationReport* defects = nullptr);

// Validates only what `change` touched: its cells and the cells around them (the ones whose
// boxes meet theirs), with the same checks as grid::validate. Gaps found there that are in
// fact covered by cells outside the neighbourhood are dropped.
[[nodiscard]] grid::ValidationReport validate_touched(const grid::Grid& grid, const Change& change,
                                                      const grid::ValidateOptions& options);

// A ring with the same vertices, counter-clockwise and starting at its smallest vertex
// (by x, then y): two rings describe the same outline exactly when their canonical forms
// are equal. For comparing geometry in tests and diffs.
[[nodiscard]] geo::MultiPolygon canonical(geo::MultiPolygon mp);

} // namespace wangge::redraw
