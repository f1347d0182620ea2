// Imagery import: any georeferenced raster, in any CRS, is warped once to EPSG:3857 and
// written as a Cloud Optimized GeoTIFF (tiled, compressed, with overviews) next to the
// workspace, so renders never reproject imagery (warping in every render is slow; a raster
// already in the map's CRS lets Mapnik's gdal plugin read its overviews directly).
#pragma once

#include "wangge/geo/geometry.hpp"

#include <functional>
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
    // Rasters larger than this (source or reprojected, in millions of pixels) are refused:
    // a 400-byte VRT can declare 160,000 megapixels. 0 = no limit.
    double max_megapixels = 1000;
    // Imagery that does not overlap the workspace's current grid is refused unless this is set.
    bool allow_outside = false;
};

struct ImportedImagery {
    std::string path;        // the written GeoTIFF
    std::string compression; // "JPEG" or "DEFLATE"
    int width = 0;
    int height = 0;
    geo::Box box_3857;
};

// Warps `source` to EPSG:3857 into `target` (a COG: JPEG in YCbCr for 3-band byte RGB, DEFLATE
// otherwise; overviews), staged in "<target>.partial.tif" and renamed into place (removed on
// failure). Throws InputError naming the file for a missing or unreadable raster, one without
// georeference, one above max_megapixels (0 = no limit), or a VRT that references a file
// outside its own folder or one that is not a raster. `accept` (optional) sees the
// reprojected extent before anything is written and may throw to refuse it.
ImportedImagery
warp_to_web_mercator(const std::string& source, const std::string& target, int jpeg_quality = 85,
                     double max_megapixels = 1000,
                     const std::function<void(const geo::Box& box_3857)>& accept = nullptr);

// Warps `source` to "<workspace stem>-<name>.tif" beside the workspace and registers it
// (path relative to the workspace's folder). Replaces an earlier import of the same name.
// Refuses imagery that does not overlap the current grid unless options.allow_outside.
ImportedImagery import_imagery(store::Workspace& ws, const std::string& source,
                               const ImageryImportOptions& options);

} // namespace wangge::render
