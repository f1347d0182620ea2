// wangge grid validate: coverage validation of a source file or a workspace's grid version.
// Exit 0 when valid, 1 when defects were found, 2 when the input could not be read.
#include "command.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/grid/validate.hpp"
#include "wangge/store/workspace.hpp"

#include <fstream>
#include <iostream>
#include <memory>

namespace wangge::app {

namespace {

struct ValidateArgs {
    std::string source;
    std::string workspace;
    int version = 0;
    std::string county;
    std::string code_scheme;
    std::string county_code;
    std::string metric_crs;
    bool json = false;
    std::string geojson;
    grid::ImportOptions options;
    grid::ValidateOptions defaults;
};

int run_validate(const ValidateArgs& a) {
    if (a.source.empty() == a.workspace.empty())
        throw InputError("give either a SOURCE or --workspace to validate");
    grid::ValidateOptions vo = a.defaults;
    grid::Grid g;
    if (!a.workspace.empty()) {
        const auto ws = store::Workspace::open(a.workspace);
        g = ws.grid(
            ws.resolve_version(a.version > 0 ? std::optional<int>(a.version) : std::nullopt));
        vo.metric_crs = ws.metric_crs();
    } else {
        // Defects are to be reported, not to stop the reading.
        grid::ImportOptions o = a.options;
        o.allow_duplicate_codes = true;
        o.keep_unusable_features = true;
        g = grid::read_grid(a.source, o, vo.unusable);
    }
    if (!a.metric_crs.empty()) vo.metric_crs = a.metric_crs;
    vo.county_code = a.county_code;
    if (!a.county.empty()) {
        auto county = grid::read_county(a.county);
        vo.county_boundary = std::move(county.geometry);
        if (vo.county_code.empty()) vo.county_code = county.code; // its "code" field
    }
    if (!a.code_scheme.empty()) vo.code_scheme = grid::code_scheme_from(a.code_scheme);

    const auto report = grid::validate(g, vo);
    if (!a.geojson.empty()) {
        std::ofstream out(a.geojson, std::ios::binary | std::ios::trunc);
        out << report.to_geojson() << "\n";
        out.close();
        if (!out) throw InputError("cannot write the defects", {.file = a.geojson});
    }
    if (a.json) {
        std::cout << report.to_json(2) << "\n";
    } else {
        for (const auto& issue : report.issues)
            std::cout << issue.describe() << "\n";
        for (const auto& note : report.notes)
            std::cout << "note: " << note << "\n";
        std::cout << report.cells << " cells, " << report.summary();
        if (!report.metric_crs.empty()) std::cout << " (areas in " << report.metric_crs << ")";
        std::cout << "\n";
        if (!a.geojson.empty())
            std::cout << "wrote " << report.issues.size() << " defects to " << a.geojson << "\n";
    }
    return report.valid() ? ok : defects_found;
}

class GridValidate final : public Command {
  public:
    GridValidate()
        : Command("validate", "Check that the cells tile the county: no gaps, overlaps, slivers, "
                              "bad geometry or codes (exit 1 when defects are found)") {}
    void declare(CLI::App& cmd) override {
        cmd.add_option("SOURCE", m_a.source, "Grid to check (any OGR vector source)");
        m_workspace.declare(cmd, "Check a grid version of this workspace",
                            WorkspaceOption::Positional::no, false);
        cmd.add_option("--version", m_a.version, "Grid version (default: current)");
        cmd.add_option("--county", m_a.county,
                       "County boundary (any OGR polygon source, the union of its features)");
        cmd.add_option(
            "--code-scheme", m_a.code_scheme,
            "Check cell codes as 14, 15 or 20 digits (default: when codes look national)");
        cmd.add_option("--county-code", m_a.county_code,
                       "The county code cell codes must start with");
        cmd.add_option(
            "--metric-crs", m_a.metric_crs,
            "CRS to measure areas in (default: the workspace's, or chosen from the grid)");
        m_json.declare(cmd, "Print the report as JSON");
        cmd.add_option("--geojson", m_a.geojson, "Write the defects as GeoJSON (overwritten)");
        cmd.add_option("--layer", m_a.options.layer,
                       "Layer of SOURCE (default: the polygon layer)");
        cmd.add_option("--code-field", m_a.options.code_field, "Field holding the cell code")
            ->capture_default_str();
        cmd.add_option("--name-field", m_a.options.name_field, "Field holding the cell name");
        cmd.add_option("--parent-field", m_a.options.parent_field,
                       "Field holding the village code (default: from the cell code)");
        cmd.add_option("--src-crs", m_a.options.src_crs,
                       "CRS of SOURCE when it has none or a wrong one");
        cmd.add_option("--where", m_a.options.where, "OGR attribute filter on SOURCE");
        cmd.add_option("--sliver-area-m2", m_a.defaults.sliver_area_m2,
                       "Cells smaller than this are slivers")
            ->capture_default_str();
        cmd.add_option("--sliver-thinness", m_a.defaults.sliver_thinness,
                       "Cells with 4*pi*A/P^2 below this are slivers")
            ->capture_default_str();
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.json = m_json.on;
        return run_validate(m_a);
    }

  private:
    ValidateArgs m_a;
    WorkspaceOption m_workspace;
    JsonOption m_json;
};

} // namespace

void add_validate_command(CommandSet& set, CLI::App& grid) {
    set.add<GridValidate>(grid);
}

} // namespace wangge::app
