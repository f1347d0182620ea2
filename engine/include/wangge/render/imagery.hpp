// Imagery import: any georeferenced raster, in any CRS, is warped once to EPSG:3857 and
// written as a Cloud Optimized GeoTIFF (tiled, compressed, with overviews) next to the
// workspace, so renders never reproject imagery (warping in every render is slow; a raster
// already in the map's CRS lets Mapnik's gdal plugin read its overviews directly).
#pragma once

#include "wangge/geo/geometry.hpp"

#include <string>

namespace wangge::store {
class Workspace;
}

namespace wangge::render {

struct ImageryImportOptions {
    std::string name = "satellite";
    std::string attribution;
    bool generated = false;
    int jpeg_quality = 85;
};

struct ImportedImagery {
    std::string path;        // the written GeoTIFF
    std::string compression; // "JPEG" or "DEFLATE"
    int width = 0;
    int height = 0;
    geo::Box box_3857;
};

// Warps `source` to EPSG:3857 into `target` (a COG: JPEG in YCbCr for 3-band byte RGB, DEFLATE
// otherwise; overviews). Throws InputError naming the file for a missing or unreadable raster
// or one without georeference.
ImportedImagery warp_to_web_mercator(const std::string& source, const std::string& target,
                                     int jpeg_quality = 85);

// Warps `source` to "<workspace stem>-<name>.tif" beside the workspace and registers it
// (path relative to the workspace's folder). Replaces an earlier import of the same name.
ImportedImagery import_imagery(store::Workspace& ws, const std::string& source,
                               const ImageryImportOptions& options);

} // namespace wangge::render
