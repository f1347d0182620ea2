// Coverage validation: do the cells of a grid tile their county exactly (no gaps, no
// overlaps), is each cell a sound polygon with a sound code, does it sit inside its village
// and township? GEOS 3.11 has no coverage validator; this one scales to 100,000 cells by
// hashing every edge (in a clean coverage each inner edge occurs twice, in opposite
// directions) and asking GEOS only about the few places where that fails.
//
// Geometry is lon/lat (EPSG:4326); areas and widths are measured in a metric CRS.
#pragma once

#include "wangge/geo/geometry.hpp"
#include "wangge/grid/grid.hpp"
#include "wangge/grid/import.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wangge::grid {

enum class IssueType {
    invalid_geometry, // GEOS says the polygon is invalid, or cannot even build it
    empty_geometry,
    duplicate_code,
    bad_code,         // not a code of the scheme, or not prefixed by its county/township/village
    overlap,          // two cells share area
    gap,              // inside the county (or a hole in the union of cells) but in no cell
    sliver,           // a tiny or extremely thin cell
    outside_boundary, // a cell's part outside the county boundary
    crs_mismatch,     // coordinates impossible for lon/lat: a projected layer labelled 4326
    not_nested,       // a cell's part outside its village's or township's geometry
    unmatched_vertex, // a vertex of one cell on another's edge, which has none there
};

[[nodiscard]] std::string_view to_string(IssueType type);

struct Issue {
    IssueType type = IssueType::invalid_geometry;
    std::vector<std::string> cells;     // codes, sorted
    std::optional<geo::Point> location; // lon/lat of a point on the defect
    std::optional<double> area_m2;
    std::optional<double> width_m; // gaps, overlaps and other areal defects
    std::string message;
    geo::MultiPolygon geometry; // lon/lat; empty when the defect has no area

    // One line: type, cells, location, area, width, message.
    [[nodiscard]] std::string describe() const;
};

struct ValidateOptions {
    // The county's outline (lon/lat); without it gaps are the holes in the union of cells.
    std::optional<geo::MultiPolygon> county_boundary;
    // Where areas and lengths are measured; "" = geo::suggest_metric_crs at the grid's centre.
    std::string metric_crs;
    // Cell codes are checked against this scheme; without one they are checked only when
    // most of them look like national codes (14, 15 or 20 digits), so grids coded otherwise
    // (e.g. OSM ids) are not flagged wholesale.
    std::optional<CodeScheme> code_scheme;
    // The 6-digit county code every cell code must start with; "" = the prefix more than
    // half of the well-formed codes share (none: not checked).
    std::string county_code;
    double sliver_area_m2 = 100.0;
    double sliver_thinness = 0.02; // 4 pi A / P^2: 1 for a circle, 0.785 for a square
    // Overlaps, gaps and parts outside smaller than this are rounding noise, not defects.
    double min_defect_area_m2 = 0.01;
    // A vertex of one cell closer than this to the inside of a neighbour's edge that has no
    // vertex there is an unmatched vertex (T-junction); 0 turns the check off.
    double vertex_tolerance_m = 0.01;
    // Without a county boundary, inlets of the grid's outline narrower than this are
    // reported as gaps (gores); 0 turns the check off.
    double gore_width_m = 1.0;
    // Features the reader kept although their code or geometry was unusable
    // (ImportOptions::keep_unusable_features): reported with the reader's reason.
    std::vector<FeatureProblem> unusable;
};

struct ValidationReport {
    std::size_t cells = 0;
    std::string metric_crs;
    std::vector<Issue> issues;      // ordered by type, then cells
    std::vector<std::string> notes; // checks skipped and why

    [[nodiscard]] bool valid() const noexcept { return issues.empty(); }
    [[nodiscard]] std::map<IssueType, std::size_t> counts() const;
    // "2 defects: 1 gap, 1 overlap" or "no defects".
    [[nodiscard]] std::string summary() const;
    // {"valid": bool, "cells": n, "metric_crs": "...", "counts": {...}, "notes": [...],
    //  "issues": [{"type", "cells", "location", "area_m2", "width_m", "message"}]}; indent < 0
    // gives one line.
    [[nodiscard]] std::string to_json(int indent = -1) const;
    // A GeoJSON FeatureCollection (EPSG:4326) of the defects with the same properties
    // ("cells" joined by commas); a defect without area is its location point.
    [[nodiscard]] std::string to_geojson() const;
};

// Runs every check. Throws InputError for an unknown metric CRS; defects never throw.
[[nodiscard]] ValidationReport validate(const Grid& grid, const ValidateOptions& options = {});

// The union of all polygons in an OGR vector source (a county outline), in lon/lat. Throws
// InputError when it cannot be read, has no CRS, or holds no polygon.
[[nodiscard]] geo::MultiPolygon read_boundary(const std::string& source,
                                              const std::string& layer = "");

struct CountyBoundary {
    geo::MultiPolygon geometry; // lon/lat
    std::string code;           // from code_field; "" when absent or the features disagree
};
// read_boundary, with the county's code from its `code_field` (a 6-digit code, or a longer
// administrative code whose first 6 digits are the county's, e.g. 140824000000).
[[nodiscard]] CountyBoundary read_county(const std::string& source, const std::string& layer = "",
                                         const std::string& code_field = "code");

} // namespace wangge::grid
