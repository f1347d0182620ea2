// wangge grid import|info|export|versions
#include "command.hpp"
#include "output.hpp"
#include "wangge/base/output_file.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/grid/validate.hpp"
#include "wangge/store/workspace.hpp"

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <unistd.h>

namespace wangge::app {

namespace {

struct ImportArgs {
    std::string source;
    std::string workspace;
    std::string note;
    std::string county;
    bool allow_defects = false;
    double snap_m = 0;                   // 0: no snapping
    std::vector<std::string> unit_names; // CSVs of official unit names (code,name)
    grid::ImportOptions options;
};

// Validates the grid about to be imported; refuses it (DataError, before anything is
// written) when it has defects, unless they are allowed. Returns the report to store.
grid::ValidationReport validate_for_import(const grid::Grid& g, const ImportArgs& a,
                                           const store::Workspace& ws) {
    grid::ValidateOptions vo;
    if (ws.current_version()) vo.metric_crs = ws.metric_crs(); // else chosen as add_version does
    if (!a.county.empty()) vo.county_boundary = grid::read_boundary(a.county);
    const auto report = grid::validate(g, vo);
    if (!report.valid() && !a.allow_defects) {
        std::string list;
        for (std::size_t i = 0; i < report.issues.size() && i < 5; ++i)
            list += "\n  " + report.issues[i].describe();
        if (report.issues.size() > 5) list += "\n  ...";
        throw DataError("the grid has " + report.summary() +
                            "; nothing was imported (fix them, or import anyway with "
                            "--allow-defects; wangge grid validate lists them all):" +
                            list,
                        {.file = a.source});
    }
    return report;
}

// Unit names: those already known to the workspace (from earlier versions), so a re-imported
// grid keeps its villages' and townships' names, then the official lists given with
// --unit-names (they win: the user asked for them). Units named nowhere stay unnamed.
std::function<std::string(const std::string&)> known_names(const store::Workspace* ws,
                                                           const std::vector<std::string>& files) {
    auto names = std::make_shared<std::map<std::string, std::string>>();
    if (ws)
        for (auto& [code, name] : ws->unit_names())
            (*names)[code] = std::move(name);
    std::map<std::string, std::string> official;
    for (const auto& f : files)
        grid::read_unit_names(f, official);
    for (auto& [code, name] : official)
        (*names)[code] = std::move(name);
    return [names](const std::string& code) {
        auto it = names->find(code);
        return it == names->end() ? std::string() : it->second;
    };
}

// Removes "<workspace>.partial-<pid>.gpkg" (and -journal, -wal, -shm) left by imports whose
// process no longer runs.
void remove_stale_partials(const std::string& workspace) {
    namespace fs = std::filesystem;
    const fs::path ws(workspace);
    const fs::path dir = ws.has_parent_path() ? ws.parent_path() : fs::path(".");
    const std::string prefix = ws.filename().string() + ".partial-";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        if (!name.starts_with(prefix)) continue;
        const std::string rest = name.substr(prefix.size());
        const auto dot = rest.find('.');
        if (dot == std::string::npos || dot == 0) continue;
        const std::string pid = rest.substr(0, dot);
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        if (::kill(static_cast<pid_t>(std::stol(pid)), 0) == 0 || errno == EPERM) continue;
        fs::remove(e.path(), ec);
    }
}

void run_import(const ImportArgs& a) {
    namespace fs = std::filesystem;
    grid::Grid g = grid::read_grid(a.source, a.options);
    std::size_t snapped = 0;
    if (a.snap_m > 0) snapped = grid::snap_grid(g, a.snap_m);
    const bool existed = fs::exists(a.workspace);
    // A new workspace is built under a temporary name and moved into place only when the
    // import succeeded, so a failed import never leaves a half-made file.
    // The temporary name carries the process id: files left by a killed import (the
    // database and its journal) are removed here once their process is gone.
    if (!existed) remove_stale_partials(a.workspace);
    std::optional<base::OutputFile> created;
    if (!existed)
        created.emplace(base::OutputFile::file(a.workspace,
                                               ".partial-" + std::to_string(::getpid()) + ".gpkg"));
    const std::string target = existed ? a.workspace : created->path().string();
    nlohmann::ordered_json summary;
    int id = 0;
    grid::ValidationReport report;
    try {
        auto ws = existed ? store::Workspace::open(target, true) : store::Workspace::create(target);
        grid::derive_units(g, known_names(existed ? &ws : nullptr, a.unit_names));
        report = validate_for_import(g, a, ws);
        store::NewVersion nv{.grid = std::move(g),
                             .note = a.note,
                             .source = a.source,
                             .validation_report = report.to_json()};
        id = ws.add_version(nv);
        summary = grid_summary(ws, id);
    } catch (...) {
        // OutputFile removes the database itself; SQLite may leave its journal files.
        if (created)
            for (const char* suffix : {"-journal", "-wal", "-shm"})
                fs::remove(target + suffix);
        throw;
    }
    if (created) created->commit();
    summary["workspace"] = a.workspace;
    std::cout << "imported " << summary["cells"].get<std::size_t>() << " cells from " << a.source
              << " as grid version " << id << "\n";
    print_grid_summary(std::cout, summary);
    if (a.snap_m > 0)
        std::cout << "snapped       " << snapped << " cells to their neighbours within " << a.snap_m
                  << " m\n";
    if (!report.valid())
        std::cout << "defects       " << report.summary()
                  << ", allowed (the report is stored with the version)\n";
}

// ---- import
class GridImport final : public Command {
  public:
    GridImport()
        : Command("import", "Import cells from any OGR vector source as a new grid version") {}
    void declare(CLI::App& cmd) override {
        cmd.add_option("SOURCE", m_a.source, "GeoJSON, Shapefile, GeoPackage, OSM .pbf, PG:...")
            ->required();
        m_workspace.declare(cmd, "Workspace GeoPackage (created if missing)",
                            WorkspaceOption::Positional::no);
        cmd.add_option("--layer", m_a.options.layer, "Layer to read (default: the polygon layer)");
        cmd.add_option("--code-field", m_a.options.code_field, "Field holding the cell code")
            ->capture_default_str();
        cmd.add_option("--name-field", m_a.options.name_field, "Field holding the cell name");
        cmd.add_option("--parent-field", m_a.options.parent_field,
                       "Field holding the village code (default: from the cell code)");
        cmd.add_option("--households-field", m_a.options.households_field, "Households field");
        cmd.add_option("--population-field", m_a.options.population_field, "Population field");
        cmd.add_option("--src-crs", m_a.options.src_crs,
                       "CRS of the source when it has none or a wrong one (e.g. EPSG:4546)");
        cmd.add_option("--where", m_a.options.where,
                       "OGR attribute filter, e.g. \"admin_level='8'\"");
        cmd.add_option("--note", m_a.note, "Why this version exists");
        cmd.add_option("--unit-names", m_a.unit_names,
                       "CSV with code and name columns naming the county, townships and villages "
                       "(repeatable; e.g. data/admin/*_140824_jishan.csv)")
            ->check(CLI::ExistingFile);
        cmd.add_option("--county", m_a.county, "County boundary to validate the cells against");
        cmd.add_option("--snap", m_a.snap_m,
                       "Node the cells' edges together first: move vertices within this many "
                       "metres onto a neighbour's vertex or edge (T-junctions, micro-overlaps)");
        cmd.add_flag("--allow-defects", m_a.allow_defects,
                     "Import even if validation finds defects (the report is stored)");
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

std::optional<int> version_or_current(int version) {
    return version > 0 ? std::optional<int>(version) : std::nullopt;
}

// ---- info
class GridInfo final : public Command {
  public:
    GridInfo() : Command("info", "Counts, area and extent of a grid version") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--version", m_version, "Grid version (default: current)");
        m_json.declare(cmd);
    }
    int run() override {
        const auto ws = store::Workspace::open(m_workspace.path());
        const auto s = grid_summary(ws, version_or_current(m_version));
        if (m_json.on)
            std::cout << s.dump(2) << "\n";
        else
            print_grid_summary(std::cout, s);
        return ok;
    }

  private:
    WorkspaceOption m_workspace;
    JsonOption m_json;
    int m_version = 0;
};

// ---- export
class GridExport final : public Command {
  public:
    GridExport() : Command("export", "Write a grid version's cells to any OGR format") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--out,-o", m_out, "Output file; the format follows the extension")
            ->required();
        cmd.add_option("--version", m_version, "Grid version (default: current)");
    }
    int run() override {
        const auto ws = store::Workspace::open(m_workspace.path());
        const int v = ws.resolve_version(version_or_current(m_version));
        const auto g = ws.grid(v);
        store::export_grid(g, m_out, v);
        std::cout << "wrote " << g.cells.size() << " cells of grid version " << v << " to " << m_out
                  << "\n";
        return ok;
    }

  private:
    WorkspaceOption m_workspace;
    std::string m_out;
    int m_version = 0;
};

// ---- versions
class GridVersions final : public Command {
  public:
    GridVersions() : Command("versions", "List the grid versions of a workspace") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        m_json.declare(cmd);
    }
    int run() override {
        const auto ws = store::Workspace::open(m_workspace.path());
        nlohmann::ordered_json arr = nlohmann::ordered_json::array();
        for (const auto& v : ws.versions()) {
            nlohmann::ordered_json j{{"version", v.id},
                                     {"current", v.current},
                                     {"created_at", v.created_at},
                                     {"note", v.note},
                                     {"source", v.source}};
            j["parent"] = v.parent ? nlohmann::ordered_json(*v.parent) : nlohmann::ordered_json();
            j["state"] = v.state.empty() ? "published" : v.state;
            j["effective_from"] = v.effective_from;
            j["published_at"] = v.published_at;
            j["author"] = v.author;
            arr.push_back(j);
            if (!m_json.on)
                std::cout << (v.current ? "* " : "  ") << v.id << "  " << v.created_at << "  "
                          << v.source << (v.note.empty() ? "" : "  (" + v.note + ")")
                          << (v.draft() ? "  [draft]" : "")
                          << (v.effective_from.empty() ? "" : "  effective " + v.effective_from)
                          << (v.author.empty() ? "" : "  by " + v.author) << "\n";
        }
        if (m_json.on) std::cout << arr.dump(2) << "\n";
        return ok;
    }

  private:
    WorkspaceOption m_workspace;
    JsonOption m_json;
};

} // namespace

void add_grid_commands(CommandSet& set) {
    auto& grid = set.group("grid", "Import, inspect and export grid versions");
    set.add<GridImport>(grid);
    set.add<GridInfo>(grid);
    set.add<GridExport>(grid);
    add_validate_command(set, grid);
    set.add<GridVersions>(grid);
    add_redraw_commands(set, grid);
}

} // namespace wangge::app
