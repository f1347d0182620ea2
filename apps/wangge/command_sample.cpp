// wangge sample jishan: the generated Jishan County sample workspace.
#include "command.hpp"
#include "output.hpp"
#include "wangge/base/output_file.hpp"
#include "wangge/error.hpp"
#include "wangge/sample/catalogue.hpp"
#include "wangge/sample/jishan.hpp"
#include "wangge/sample/jishan_loop.hpp"
#include "wangge/store/workspace.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

namespace wangge::app {

namespace {

struct SampleArgs {
    std::string workspace;
    sample::JishanOptions options;
    bool imagery = true;
    bool loop = true;
    bool force = false;
};

void run_jishan(const SampleArgs& a) {
    namespace fs = std::filesystem;
    const fs::path ws_path = a.workspace;
    if (fs::exists(ws_path) && !a.force)
        throw InputError("workspace exists; use --force to replace it", {.file = a.workspace});
    if (ws_path.has_parent_path()) fs::create_directories(ws_path.parent_path());
    auto output = base::OutputFile::file(ws_path, ".partial.gpkg");
    const fs::path tmp = output.path();
    const fs::path tif = ws_path.parent_path() / (ws_path.stem().string() + "-imagery.tif");

    std::cout << "generating the Jishan sample (seed " << a.options.seed << ") ...\n";
    store::NewVersion nv;
    nv.grid = sample::generate_jishan_grid(a.options);
    nv.note = "Jishan sample grid (generated)";
    nv.source = "wangge sample jishan --seed " + std::to_string(a.options.seed);
    sample::JishanLoopSummary loop_summary;
    {
        auto ws = store::Workspace::create(tmp.string());
        ws.set_meta("metric_crs", "EPSG:4546");
        ws.set_meta("generated", sample::jishan_generated_notice);
        ws.set_meta("seed", std::to_string(a.options.seed));
        ws.set_meta("county_code", sample::jishan_county_code);
        ws.add_version(nv);
        if (a.imagery) {
            auto image = base::OutputFile::file(tif, ".partial.tif");
            sample::write_jishan_imagery(nv.grid, image.path().string(), a.options);
            image.commit();
            ws.register_imagery({.name = "satellite",
                                 .path = tif.filename().string(),
                                 .attribution = "Generated sample imagery (synthetic, seeded)",
                                 .generated = true});
        }
    } // GDAL's connection closes before the loop tables are written with SQLite.
    if (a.loop)
        loop_summary = sample::write_jishan_loop(
            tmp.string(), {.seed = a.options.seed, .days = 90, .reports_per_day = 225});
    output.commit();
    const auto ws = store::Workspace::open(ws_path.string());
    print_grid_summary(std::cout, grid_summary(ws, std::nullopt));
    if (a.imagery) std::cout << "imagery       " << tif.string() << " (EPSG:3857, generated)\n";
    if (a.loop)
        std::cout << "loop          " << loop_summary.incidents << " generated matters ("
                  << loop_summary.open << " open, " << loop_summary.overdue << " overdue at "
                  << sample::jishan_reference_time << "), " << loop_summary.events
                  << " journal events, " << loop_summary.duties << " duties\n";
}

class SampleJishan final : public Command {
  public:
    SampleJishan()
        : Command("jishan", "The Jishan County sample: 398 generated cells, real names and codes") {
    }
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd, "Workspace GeoPackage to create");
        cmd.add_option("--seed", m_a.options.seed, "Random seed")->capture_default_str();
        cmd.add_option("--imagery-resolution", m_a.options.imagery_resolution_m,
                       "Ground metres per pixel of the generated image")
            ->capture_default_str()
            ->check(CLI::Range(1.0, 500.0));
        cmd.add_flag("!--no-imagery", m_a.imagery, "Do not generate the image");
        cmd.add_flag("!--no-loop", m_a.loop,
                     "Do not write the catalogue, duties and the generated matters");
        cmd.add_flag("--force", m_a.force, "Replace an existing workspace");
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        run_jishan(m_a);
        return ok;
    }

  private:
    SampleArgs m_a;
    WorkspaceOption m_workspace;
};

} // namespace

void add_sample_commands(CommandSet& set) {
    set.add<SampleJishan>(set.group("sample", "Create sample workspaces"));
}

} // namespace wangge::app
