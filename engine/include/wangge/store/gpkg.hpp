// The GeoPackage side of the tables that later stages write through SQLite (the loop's tables,
// redraw's journal). The workspace file has one owner of its schema: store creates the file,
// states its format (wangge_meta) and is the only code that writes GeoPackage metadata
// (gpkg_contents, gpkg_geometry_columns) or geometry blobs; a stage creates its own tables
// and registers them through these calls, so GDAL and GIS tools list them.
#pragma once

#include "wangge/geo/geometry.hpp"
#include "wangge/store/sqlite.hpp"

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace wangge::store::gpkg {

// Registers attribute (non-spatial) tables in gpkg_contents; registering twice is harmless.
void register_attributes(const sqlite::Connection& db,
                         std::initializer_list<std::string_view> tables);

// Registers a table of points in gpkg_contents and gpkg_geometry_columns (2D, the given
// SRS, which the file's gpkg_spatial_ref_sys must hold; EPSG:4326 always is).
void register_points(const sqlite::Connection& db, std::string_view table, std::string_view column,
                     int srs_id);

// The GeoPackage geometry blob of a point: "GP", version 0, flags (little endian, no
// envelope), the SRS id, then the WKB point.
[[nodiscard]] std::array<unsigned char, 29> point_blob(geo::Point p, std::int32_t srs_id = 4326);
// The point of a GeoPackage point blob (any envelope); (0, 0) when it is not one.
[[nodiscard]] geo::Point point_from_blob(const void* data, int size);

} // namespace wangge::store::gpkg
