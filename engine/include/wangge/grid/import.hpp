// Reading a grid from any OGR vector source (GeoJSON, Shapefile, GeoPackage, OSM .pbf,
// PostGIS, ...) in any CRS, into lon/lat (EPSG:4326) cells.
#pragma once

#include "wangge/grid/grid.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace wangge::grid {

struct ImportOptions {
    std::string layer; // "" = the only (or first polygon) layer
    std::string code_field = "code";
    std::string name_field;       // "" = "name" when the source has it
    std::string parent_field;     // the village code; "" = derived from 14/15/20-digit cell codes
    std::string households_field; // "" = "households" when present
    std::string population_field; // "" = "population" when present
    std::string src_crs;          // overrides (or supplies) the layer's CRS
    std::string where;            // OGR attribute filter, e.g. "admin_level='8'"
    // For validation (grid validate), which must report defects rather than stop at the
    // first: keep cells whose code repeats another's, and keep features whose code or
    // geometry cannot be used (with an empty code or geometry), saying why in `problems`.
    bool allow_duplicate_codes = false;
    bool keep_unusable_features = false;
};

// A feature kept by read_grid under ImportOptions::keep_unusable_features although its code or
// geometry could not be used.
struct FeatureProblem {
    std::size_t cell = 0;     // index into Grid::cells
    std::int64_t feature = 0; // OGR feature id
    bool geometry = true;     // the geometry (true) or the code (false) is unusable
    std::string message;
};

// Reads the cells. Throws InputError naming the file, layer, feature and field for an
// unreadable source, unknown layer or field, non-polygon geometry, missing or unknown CRS,
// a missing code; DataError for duplicate codes. Multipart cells are kept as they are.
[[nodiscard]] Grid read_grid(const std::string& source, const ImportOptions& options);
// The same, collecting the features kept under ImportOptions::keep_unusable_features.
[[nodiscard]] Grid read_grid(const std::string& source, const ImportOptions& options,
                             std::vector<FeatureProblem>& problems);

// Nodes the cells' outlines together (grid import --snap): every vertex of a cell within
// `tolerance_m` metres of a neighbour's vertex moves onto it, and one within that distance of
// a neighbour's edge is inserted into the edge, so edges that met without common vertices
// (T-junctions, micro-overlaps) become shared. GEOS snapping, in lon/lat with the tolerance
// converted at the grid's latitude. Returns how many cells changed. Throws InputError for a
// tolerance that is not positive or above 10 m (snapping is for noise, not for redrawing).
std::size_t snap_grid(Grid& grid, double tolerance_m);

// Fills grid.units with the villages, townships and county that the cells' codes name, each
// the union of its cells. name_of gives a unit's name from its code ("" if unknown).
void derive_units(Grid& grid, const std::function<std::string(const std::string&)>& name_of);

// Official names of administrative units from a CSV with a header holding `code` and `name`
// columns (others are ignored, so the division lists in data/admin/ read as they are). Codes
// are 6 to 12 digits. Adds to `names`; throws InputError naming file and line for a bad code,
// an empty name, or a code named differently twice.
void read_unit_names(const std::string& csv_path, std::map<std::string, std::string>& names);

} // namespace wangge::grid
