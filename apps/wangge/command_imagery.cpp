// wangge imagery import: warp a georeferenced raster to EPSG:3857 beside the workspace.
#include "commands.hpp"
#include "wangge/render/imagery.hpp"
#include "wangge/store/workspace.hpp"

#include <iostream>
#include <memory>

namespace wangge::app {

namespace {

struct ImportArgs {
    std::string workspace;
    std::string source;
    render::ImageryImportOptions options;
};

void run_import(const ImportArgs& a) {
    auto ws = store::Workspace::open(a.workspace, true);
    const auto info = render::import_imagery(ws, a.source, a.options);
    std::cout << "imagery '" << a.options.name << "' -> " << info.path << " (EPSG:3857, "
              << info.width << " x " << info.height << " px, " << info.compression
              << ", tiled, overviews)\n";
}

} // namespace

void register_imagery(CLI::App& app) {
    auto* imagery = app.add_subcommand("imagery", "Satellite imagery for the maps");
    imagery->require_subcommand(1);
    auto a = std::make_shared<ImportArgs>();
    auto* imp = imagery->add_subcommand(
        "import", "Reproject a georeferenced raster (any CRS) to EPSG:3857 and register it");
    imp->add_option("WORKSPACE", a->workspace, "Workspace GeoPackage")->required();
    imp->add_option("RASTER", a->source, "GeoTIFF or any raster GDAL reads")->required();
    imp->add_option("--name", a->options.name, "Name of the imagery in the workspace")
        ->capture_default_str();
    imp->add_option("--attribution", a->options.attribution,
                    "Source and licence printed on maps (default: the file name)");
    imp->add_flag("--generated", a->options.generated, "The imagery is synthetic");
    imp->add_option("--quality", a->options.jpeg_quality, "JPEG quality for RGB imagery")
        ->capture_default_str()
        ->check(CLI::Range(10, 100));
    imp->add_option("--max-megapixels", a->options.max_megapixels,
                    "Refuse rasters larger than this, source or reprojected (0: no limit)")
        ->capture_default_str();
    imp->add_flag("--allow-outside", a->options.allow_outside,
                  "Import imagery that does not overlap the workspace's grid");
    imp->callback([a] { run_import(*a); });
}

} // namespace wangge::app
