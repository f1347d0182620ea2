// wangge grid draft|split|merge|move-boundary|transfer|recode|diff|publish|propose: planners redraw
// the grid (redraw/), as Command objects (command.hpp).
#include "command.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/redraw/diff.hpp"
#include "wangge/redraw/draft.hpp"
#include "wangge/redraw/propose.hpp"
#include "wangge/redraw/publish.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/store/workspace.hpp"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <pwd.h>
#include <unistd.h>

namespace wangge::app {

namespace {

std::optional<int> opt_version(int v) {
    return v > 0 ? std::optional<int>(v) : std::nullopt;
}

// Who drafts and publishes ("who, when, why" in grid versions): the login name, also where
// USER is not set (services, cron, containers).
std::string current_user() {
    for (const char* var : {"USER", "LOGNAME"})
        if (const char* u = std::getenv(var); u && *u) return u;
    if (const passwd* pw = ::getpwuid(::geteuid())) return pw->pw_name;
    return "";
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : text) {
        if (c == ',') {
            out.push_back(cur);
            cur.clear();
        } else if (c != ' ') {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

void print_outcome(const redraw::EditOutcome& o) {
    std::cout << o.change.summary << " in draft " << o.draft << "\n";
    std::cout << "validated the touched cells and their neighbours (" << o.touched.cells
              << " cells): " << o.touched.summary() << "; the draft has " << o.draft_summary
              << "\n";
    for (const auto& issue : o.touched.issues)
        std::cout << "  " << issue.describe() << "\n";
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    if (!out) throw InputError("cannot write", {.file = path});
    out << text;
    if (!out) throw InputError("cannot write", {.file = path});
}

// The diff map through the redraw-diff style: new cells solid (changed ones highlighted) over
// the imagery, old cell boundaries dashed. The old cells travel as the grid's village units,
// which the style draws as the dashed layer.
void render_diff(const std::string& workspace, const redraw::Diff& d, const grid::Grid& old_grid,
                 const grid::Grid& new_grid, const std::string& out) {
    const auto ws = store::Workspace::open(workspace);
    const auto base = render::MapData::load(ws, d.to_version);
    grid::Grid g;
    g.cells = new_grid.cells;
    for (const auto& c : old_grid.cells)
        g.units.push_back({grid::UnitLevel::village, c.code, c.name, "", c.geometry});
    render::RenderStatus status;
    geo::Box box; // lon/lat of everything that changed
    for (const auto& c : d.changes) {
        for (const auto& code : c.new_cells)
            if (const auto* cell = new_grid.find_cell(code)) {
                status.cells[code] = render::CellState::warning;
                box.expand(geo::bounds(cell->geometry));
            }
        for (const auto& code : c.old_cells)
            if (const auto* cell = old_grid.find_cell(code))
                box.expand(geo::bounds(cell->geometry));
    }
    if (!box.valid()) box = new_grid.bounds();
    // Some context around the change: three times its size.
    const double w = box.maxx - box.minx, h = box.maxy - box.miny;
    const geo::Box lonlat{box.minx - w, box.miny - h, box.maxx + w, box.maxy + h};
    auto data = render::MapData::from_grid(std::move(g), base->imagery(), base->generated_notice());
    render::Renderer renderer(data, {.dir = "", .name = "redraw-diff"});
    const auto area = render::area_of_lonlat(lonlat);
    const std::string ext = std::filesystem::path(out).extension().string();
    if (ext == ".pdf" || ext == ".svg")
        renderer.render_print({area.box_3857, "grid redraw: version " +
                                                  std::to_string(d.from_version) + " -> " +
                                                  std::to_string(d.to_version)},
                              {}, status, out);
    else
        renderer.render_to_file(area.box_3857, 1600, 1200, status, out);
}

// An edit of a draft: `WORKSPACE [--draft N]` and the edit's own options; run() applies
// edit() to the draft in one transaction and prints what it did.
class EditCommand : public Command {
  public:
    using Command::Command;
    void declare(CLI::App& cmd) final {
        m_workspace.declare(cmd);
        cmd.add_option("--draft", m_draft, "Draft version to edit (default: the newest draft)");
        declare_edit(cmd);
    }
    int run() final {
        prepare();
        print_outcome(redraw::edit_draft(m_workspace.path(), opt_version(m_draft),
                                         [this](grid::Grid& g) { return edit(g); }));
        return ok;
    }

  protected:
    virtual void declare_edit(CLI::App& cmd) = 0;
    // Parses the edit's input before the workspace is opened (bad input changes nothing).
    virtual void prepare() {}
    virtual redraw::Change edit(grid::Grid& g) = 0;

  private:
    WorkspaceOption m_workspace;
    int m_draft = 0;
};

class GridDraft final : public Command {
  public:
    GridDraft() : Command("draft", "Start a draft: a copy of a grid version to edit") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--from", m_from, "Version to start from (default: current)");
        cmd.add_option("--note", m_note, "Why the grid is redrawn");
    }
    int run() override {
        const std::string& path = m_workspace.path();
        const int id = redraw::start_draft(
            path, {.from = opt_version(m_from), .note = m_note, .author = current_user()});
        const auto ws = store::Workspace::open(path);
        std::cout << "draft " << id << " started from grid version " << *ws.version(id).parent
                  << " (" << ws.grid(id).cells.size() << " cells)\n";
        return ok;
    }

  private:
    WorkspaceOption m_workspace;
    int m_from = 0;
    std::string m_note;
};

class GridSplit final : public EditCommand {
  public:
    GridSplit() : EditCommand("split", "Cut a cell in two along a line") {}

  private:
    void declare_edit(CLI::App& cmd) override {
        cmd.add_option("CELL", m_cell, "Cell code")->required();
        cmd.add_option("--line", m_line_text,
                       "LineString crossing the cell (WKT, GeoJSON, or a file holding one)")
            ->required();
        cmd.add_option("--codes", m_codes, "Codes of the two parts, A,B (left of the line first)");
    }
    void prepare() override { m_line = redraw::parse_line(m_line_text); }
    redraw::Change edit(grid::Grid& g) override {
        return redraw::split_cell(g, m_cell, m_line, split_list(m_codes));
    }
    std::string m_cell, m_line_text, m_codes;
    redraw::Line m_line;
};

class GridMerge final : public EditCommand {
  public:
    GridMerge() : EditCommand("merge", "Merge neighbouring cells into one") {}

  private:
    void declare_edit(CLI::App& cmd) override {
        cmd.add_option("CELLS", m_cells, "Two or more cell codes")->required()->expected(2, -1);
        cmd.add_option("--code", m_code, "Code of the merged cell (default: the first)");
        cmd.add_flag("--allow-multipart", m_multipart, "Allow cells that share no boundary");
    }
    redraw::Change edit(grid::Grid& g) override {
        return redraw::merge_cells(g, m_cells, m_code, m_multipart);
    }
    std::vector<std::string> m_cells;
    std::string m_code;
    bool m_multipart = false;
};

class GridMoveBoundary final : public EditCommand {
  public:
    GridMoveBoundary()
        : EditCommand("move-boundary",
                      "Replace the boundary two neighbours share with a new line") {}

  private:
    void declare_edit(CLI::App& cmd) override {
        cmd.add_option("CELL_A", m_a, "Cell code")->required();
        cmd.add_option("CELL_B", m_b, "Neighbouring cell code")->required();
        cmd.add_option("--line", m_line_text,
                       "LineString between the end points of the shared boundary (WKT, GeoJSON, "
                       "or a file holding one)")
            ->required();
    }
    void prepare() override { m_line = redraw::parse_line(m_line_text); }
    redraw::Change edit(grid::Grid& g) override {
        return redraw::move_boundary(g, m_a, m_b, m_line);
    }
    std::string m_a, m_b, m_line_text;
    redraw::Line m_line;
};

class GridTransfer final : public EditCommand {
  public:
    GridTransfer()
        : EditCommand("transfer", "Give a polygon's part of some cells to a neighbour") {}

  private:
    void declare_edit(CLI::App& cmd) override {
        cmd.add_option("AREA", m_area_text,
                       "Polygon (WKT, GeoJSON, or a file holding one), lon/lat")
            ->required();
        cmd.add_option("--to", m_to, "The cell that receives the area")->required();
    }
    void prepare() override { m_area = redraw::parse_area(m_area_text); }
    redraw::Change edit(grid::Grid& g) override { return redraw::transfer_area(g, m_area, m_to); }
    std::string m_area_text, m_to;
    geo::Ring m_area;
};

class GridReplace final : public EditCommand {
  public:
    GridReplace()
        : EditCommand("replace", "Replace all cells of a township (or the county) with cells "
                                 "redrawn elsewhere; the new outline must fit exactly") {}

  private:
    void declare_edit(CLI::App& cmd) override {
        cmd.add_option("SOURCE", m_source, "The new cells (any OGR vector source)")->required();
        cmd.add_option("--township", m_township,
                       "Township whose cells are replaced "
                       "(default: every cell of the county)");
        cmd.add_option("--defects", m_defects,
                       "When the new cells do not fit, write the gaps and overlaps here "
                       "(GeoJSON)");
        cmd.add_option("--layer", m_options.layer, "Layer of SOURCE");
        cmd.add_option("--code-field", m_options.code_field, "Field holding the cell code")
            ->capture_default_str();
        cmd.add_option("--parent-field", m_options.parent_field,
                       "Field holding the village code (default: from the cell code)");
    }
    void prepare() override { m_cells = grid::read_grid(m_source, m_options).cells; }
    redraw::Change edit(grid::Grid& g) override {
        grid::ValidationReport defects;
        try {
            return redraw::replace_cells(g, m_cells, m_township, {}, &defects);
        } catch (const DataError&) {
            if (!m_defects.empty() && !defects.issues.empty())
                write_text(m_defects, defects.to_geojson());
            throw;
        }
    }
    std::string m_source, m_township, m_defects;
    grid::ImportOptions m_options;
    std::vector<grid::Cell> m_cells;
};

class GridRecode final : public EditCommand {
  public:
    GridRecode() : EditCommand("recode", "Give a cell a new code or move it to another village") {}

  private:
    void declare_edit(CLI::App& cmd) override {
        cmd.add_option("CELL", m_cell, "Cell code")->required();
        cmd.add_option("NEWCODE", m_code, "New code (default with --village: the next free one)");
        cmd.add_option("--village", m_village, "Move the cell to this neighbouring village");
    }
    redraw::Change edit(grid::Grid& g) override {
        return redraw::recode_cell(g, m_cell, m_code, m_village);
    }
    std::string m_cell, m_code, m_village;
};

class GridDiff final : public Command {
  public:
    GridDiff() : Command("diff", "What a redraw changes: cells, households, matters, duties") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--from", m_from, "Old version (default: the draft's parent)");
        cmd.add_option("--to", m_to, "New version or 'draft' (default: the newest draft)");
        m_json.declare(cmd);
        cmd.add_option("--geojson", m_geojson, "Write old and new cells with their change kind");
        cmd.add_option("--render", m_render,
                       "Draw the diff map (PNG, or PDF/SVG print map): old boundaries dashed, new "
                       "solid, changed cells highlighted");
    }
    int run() override {
        const std::string& path = m_workspace.path();
        const auto ws = store::Workspace::open(path);
        int to = 0;
        if (m_to.empty() || m_to == "draft")
            to = redraw::resolve_draft(path, std::nullopt);
        else
            try {
                to = ws.resolve_version(std::stoi(m_to));
            } catch (const std::invalid_argument&) {
                throw InputError("--to takes a version number or 'draft', not '" + m_to + "'");
            }
        const auto info = ws.version(to);
        const int from = m_from > 0
                             ? ws.resolve_version(m_from)
                             : (info.parent ? *info.parent : ws.resolve_version(std::nullopt));
        const auto old_grid = ws.grid(from);
        const auto new_grid = ws.grid(to);
        auto d = redraw::diff_grids(old_grid, new_grid, ws.metric_crs());
        d.from_version = from;
        d.to_version = to;
        redraw::add_loop_effects(d, path, new_grid);
        if (!m_geojson.empty()) write_text(m_geojson, redraw::to_geojson(d, old_grid, new_grid));
        if (!m_render.empty()) render_diff(path, d, old_grid, new_grid, m_render);
        if (m_json.on)
            std::cout << redraw::to_json(d) << "\n";
        else
            std::cout << redraw::to_text(d);
        return ok;
    }

  private:
    WorkspaceOption m_workspace;
    JsonOption m_json;
    std::string m_to, m_geojson, m_render;
    int m_from = 0;
};

class GridPublish final : public Command {
  public:
    GridPublish()
        : Command("publish", "Make a draft current from a time; move open matters and duties "
                             "(one transaction)") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--draft", m_draft, "Draft to publish (default: the newest)");
        cmd.add_option("--effective", m_effective, "Local time it holds from (default: now)");
        cmd.add_flag("--force", m_force, "Accept the listed duty problems");
    }
    int run() override {
        const auto effective = time_or_now(m_effective);
        const auto r = redraw::publish(m_workspace.path(), {.draft = opt_version(m_draft),
                                                            .effective = effective,
                                                            .force = m_force,
                                                            .actor = current_user()});
        std::cout << "published draft " << r.version << " as the current grid (was version "
                  << r.previous << "), effective " << loop::format_time(effective) << "\n";
        for (const auto& [kind, n] : r.diff.counts)
            std::cout << "  " << kind << " " << n << "\n";
        std::cout << r.moved.size() << " of " << r.open_matters
                  << " open matters moved to a new cell (journal: redraw_relocations)\n";
        for (const auto& m : r.moved)
            std::cout << "  matter " << m.id << ": " << m.from_cell << " -> " << m.to_cell << "\n";
        std::cout << r.duties.size() << " dut" << (r.duties.size() == 1 ? "y" : "ies")
                  << " followed their cells\n";
        for (const auto& dc : r.duties) {
            std::cout << "  " << dc.duty.function << " " << dc.duty.unit << " ("
                      << dc.duty.department << "): " << dc.kind << " ->";
            for (const auto& s : dc.successors)
                std::cout << " " << s;
            std::cout << "\n";
        }
        if (!r.decisions.empty()) {
            std::cout << r.decisions.size() << " duty problem(s) accepted with --force:\n";
            for (const auto& l : r.decisions)
                std::cout << "  " << l << "\n";
        }
        return ok;
    }

  private:
    WorkspaceOption m_workspace;
    int m_draft = 0;
    std::string m_effective;
    bool m_force = false;
};

class GridPropose final : public Command {
  public:
    GridPropose()
        : Command("propose", "Propose cells of about a target number of households for a "
                             "village or township, written as a new draft") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--village", m_options.village, "Village or community code (12 digits)");
        cmd.add_option("--township", m_options.township, "Township code (9 digits)");
        cmd.add_option("--households", m_options.households, "Target households per cell")
            ->capture_default_str();
        cmd.add_option("--tolerance", m_options.tolerance,
                       "Allowed deviation from the target, as a share")
            ->capture_default_str();
        cmd.add_option("--seed", m_options.seed, "Seed of the generated household points")
            ->capture_default_str();
        cmd.add_option("--from", m_from, "Version to start from (default: current)");
        m_json.declare(cmd);
    }
    int run() override {
        redraw::check_options(m_options);
        const std::string& path = m_workspace.path();
        grid::Grid proposed;
        int from = 0;
        {
            const auto ws = store::Workspace::open(path);
            from = ws.resolve_version(opt_version(m_from));
            proposed = ws.grid(from);
        }
        // Computed before anything is written: bad input or a failed proposal leaves the
        // workspace as it was.
        const auto p = redraw::propose_cells(proposed, m_options);
        const int draft = redraw::start_draft(
            path, {.from = from, .note = p.change.summary, .author = current_user()});
        const auto o = redraw::edit_draft(path, draft, [&](grid::Grid& g) {
            g = std::move(proposed);
            return p.change;
        });
        if (m_json.on) {
            auto cells = nlohmann::ordered_json::array();
            for (const auto& c : p.cells)
                cells.push_back({{"code", c.code},
                                 {"name", c.name},
                                 {"village", c.village},
                                 {"households", c.households},
                                 {"population", c.population},
                                 {"deviation", std::round(c.deviation * 1000) / 1000},
                                 {"within_tolerance", c.within}});
            nlohmann::ordered_json j{{"draft", draft},
                                     {"from_version", from},
                                     {"target_households", m_options.households},
                                     {"tolerance", m_options.tolerance},
                                     {"old_cells", p.old_cells},
                                     {"blocks", p.blocks},
                                     {"household_points", p.household_points},
                                     {"households_note",
                                      "households are GENERATED points (from each former "
                                      "cell's households), not surveyed data"},
                                     {"validation", o.draft_summary},
                                     {"cells", cells},
                                     {"notes", p.notes}};
            std::cout << j.dump(2) << "\n";
            return ok;
        }
        std::cout << p.change.summary << " in draft " << draft << " (from version " << from
                  << ")\n";
        std::cout << p.old_cells << (p.old_cells == 1 ? " cell -> " : " cells -> ")
                  << p.cells.size() << (p.cells.size() == 1 ? " cell, from " : " cells, from ")
                  << p.blocks << " blocks; households are GENERATED points, not surveyed data\n";
        for (const auto& c : p.cells)
            std::cout << "  " << c.code << " " << c.name << "  households " << c.households << "  "
                      << (c.deviation >= 0 ? "+" : "") << fixed(c.deviation * 100, 1) << "%"
                      << (c.within ? "" : "  (outside the tolerance)") << "\n";
        for (const auto& n : p.notes)
            std::cout << "note: " << n << "\n";
        std::cout << "validated the touched cells and their neighbours (" << o.touched.cells
                  << " cells): " << o.touched.summary() << "; the draft has " << o.draft_summary
                  << "\n";
        return ok;
    }

  private:
    WorkspaceOption m_workspace;
    JsonOption m_json;
    redraw::ProposeOptions m_options;
    int m_from = 0;
};

} // namespace

void add_redraw_commands(CommandSet& set, CLI::App& grid) {
    set.add<GridDraft>(grid);
    set.add<GridSplit>(grid);
    set.add<GridMerge>(grid);
    set.add<GridMoveBoundary>(grid);
    set.add<GridTransfer>(grid);
    set.add<GridReplace>(grid);
    set.add<GridRecode>(grid);
    set.add<GridDiff>(grid);
    set.add<GridPublish>(grid);
    set.add<GridPropose>(grid);
}

} // namespace wangge::app
