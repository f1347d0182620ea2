// wangge imagery import: warp a georeferenced raster to EPSG:3857 beside the workspace.
#include "command.hpp"
#include "wangge/render/imagery.hpp"
#include "wangge/store/workspace.hpp"

#include <iostream>

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

class ImageryImport final : public Command {
  public:
    ImageryImport()
        : Command("import",
                  "Reproject a georeferenced raster (any CRS) to EPSG:3857 and register it") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("RASTER", m_a.source, "GeoTIFF or any raster GDAL reads")->required();
        cmd.add_option("--name", m_a.options.name, "Name of the imagery in the workspace")
            ->capture_default_str();
        cmd.add_option("--attribution", m_a.options.attribution,
                       "Source and licence printed on maps (default: the file name)");
        cmd.add_flag("--generated", m_a.options.generated, "The imagery is synthetic");
        cmd.add_option("--quality", m_a.options.jpeg_quality, "JPEG quality for RGB imagery")
            ->capture_default_str()
            ->check(CLI::Range(10, 100));
        cmd.add_option("--max-megapixels", m_a.options.max_megapixels,
                       "Refuse rasters larger than this, source or reprojected (0: no limit)")
            ->capture_default_str();
        cmd.add_flag("--allow-outside", m_a.options.allow_outside,
                     "Import imagery that does not overlap the workspace's grid");
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        run_import(m_a);
        return ok;
    }

  private:
    ImportArgs m_a;
    WorkspaceOption m_workspace;
};

} // namespace

void add_imagery_commands(CommandSet& set) {
    set.add<ImageryImport>(set.group("imagery", "Satellite imagery for the maps"));
}

} // namespace wangge::app
