// wangge grid validate: coverage validation of a source file or a workspace's grid version.
// Exit 0 when valid, 1 when defects were found, 2 when the input could not be read.
#include "commands.hpp"
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

void run_validate(const ValidateArgs& a) {
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
    if (!report.valid()) g_exit_code = defects_found;
}

} // namespace

void register_validate(CLI::App& grid_command) {
    auto a = std::make_shared<ValidateArgs>();
    auto* v = grid_command.add_subcommand(
        "validate", "Check that the cells tile the county: no gaps, overlaps, slivers, bad "
                    "geometry or codes (exit 1 when defects are found)");
    v->add_option("SOURCE", a->source, "Grid to check (any OGR vector source)");
    v->add_option("--workspace,-w", a->workspace, "Check a grid version of this workspace");
    v->add_option("--version", a->version, "Grid version (default: current)");
    v->add_option("--county", a->county,
                  "County boundary (any OGR polygon source, the union of its features)");
    v->add_option("--code-scheme", a->code_scheme,
                  "Check cell codes as 14, 15 or 20 digits (default: when codes look national)");
    v->add_option("--county-code", a->county_code,
                  "The county code cell codes must start with (default: the --county "
                  "boundary's code field, else the prefix most cells share)");
    v->add_option("--metric-crs", a->metric_crs,
                  "CRS to measure areas in (default: the workspace's, or chosen from the grid)");
    v->add_flag("--json", a->json, "Print the report as JSON");
    v->add_option("--geojson", a->geojson, "Write the defects as GeoJSON (overwritten)");
    v->add_option("--layer", a->options.layer, "Layer of SOURCE (default: the polygon layer)");
    v->add_option("--code-field", a->options.code_field, "Field holding the cell code")
        ->capture_default_str();
    v->add_option("--name-field", a->options.name_field, "Field holding the cell name");
    v->add_option("--parent-field", a->options.parent_field,
                  "Field holding the village code (default: from the cell code)");
    v->add_option("--src-crs", a->options.src_crs, "CRS of SOURCE when it has none or a wrong one");
    v->add_option("--where", a->options.where, "OGR attribute filter on SOURCE");
    v->add_option("--sliver-area-m2", a->defaults.sliver_area_m2,
                  "Cells smaller than this are slivers")
        ->capture_default_str();
    v->add_option("--sliver-thinness", a->defaults.sliver_thinness,
                  "Cells with 4*pi*A/P^2 below this are slivers")
        ->capture_default_str();
    v->callback([a] { run_validate(*a); });
}

} // namespace wangge::app
