// Assigning points (incidents, addresses, readings) to cells: reads a CSV file or any OGR
// point source, locates every point, and writes the input again with five columns added:
// cell_code, village_code, township_code (empty outside every cell), boundary_distance_m
// (metres to the nearest cell boundary, the county outline included) and near_boundary
// (true when that distance is at most AssignOptions::near_boundary_m).
//
// CSV in, CSV out: the file is streamed in blocks (never held whole), rows are copied byte
// for byte with the new fields appended, and the work is spread over threads. Any other
// source is read through OGR and written in the format of the output's extension.
//
// The output appears only when everything succeeded: it is written under a temporary name
// (OUT.partial for CSV, a folder OUT.partial.d for OGR formats) and renamed at the end;
// after a failure nothing is left behind.
#pragma once

#include "wangge/error.hpp"
#include "wangge/grid/grid.hpp"
#include "wangge/grid/locator.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace wangge::grid {

enum class OnBadRow { fail, skip };

struct AssignOptions {
    std::string source; // *.csv: our CSV reader; anything else: OGR
    std::string out;    // must not exist
    // CRS of the source's coordinates; "" = lon/lat (CSV) or the layer's CRS (OGR). With
    // a CRS, CSV columns x,y are preferred.
    std::string src_crs;
    // CSV coordinate columns; "" = found by name: lon/lng/longitude and lat/latitude, or
    // x and y (any case).
    std::string lon_field;
    std::string lat_field;
    double near_boundary_m = 20;
    int threads = 0; // 0 = all cores
    OnBadRow on_bad_row = OnBadRow::fail;
    // Told about every bad row that is skipped (unparsable or missing coordinates, a
    // feature without a point). Under OnBadRow::fail the first bad row is thrown instead.
    std::function<void(const InputError&)> report_bad_row;
};

struct AssignSummary {
    std::int64_t read = 0;          // data rows or features read, bad ones included
    std::int64_t assigned = 0;      // in a cell
    std::int64_t near_boundary = 0; // within near_boundary_m of a boundary
    std::int64_t outside = 0;       // in no cell
    std::int64_t skipped = 0;       // bad rows skipped
    double seconds = 0;             // wall time of the whole run
};

// Runs the assignment. `locator` must have been built from `grid`. Throws InputError with
// the file and line (CSV) or feature (OGR) for a bad row under OnBadRow::fail, for a
// missing coordinate column (listing the columns there are), an unreadable source or an
// existing output.
[[nodiscard]] AssignSummary assign_points(const Grid& grid, const Locator& locator,
                                          const AssignOptions& options);

} // namespace wangge::grid
