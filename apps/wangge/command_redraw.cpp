// wangge grid draft|split|merge|recode|diff|publish: planners redraw the grid (redraw/).
#include "commands.hpp"
#include "wangge/error.hpp"
#include "wangge/redraw/diff.hpp"
#include "wangge/redraw/draft.hpp"
#include "wangge/redraw/publish.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/store/workspace.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

namespace wangge::app {

namespace {

std::optional<int> opt_version(int v) {
    return v > 0 ? std::optional<int>(v) : std::nullopt;
}

std::string current_user() {
    if (const char* u = std::getenv("USER"); u && *u) return u;
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

struct EditArgs {
    std::string workspace;
    int draft = 0;
};

void add_common(CLI::App* cmd, EditArgs& a) {
    cmd->add_option("WORKSPACE", a.workspace, "Workspace GeoPackage")->required();
    cmd->add_option("--draft", a.draft, "Draft version to edit (default: the newest draft)");
}

} // namespace

void register_redraw(CLI::App& grid) {
    // ---- draft
    struct DraftArgs {
        std::string workspace;
        int from = 0;
        std::string note;
    };
    auto da = std::make_shared<DraftArgs>();
    auto* draft = grid.add_subcommand("draft", "Start a draft: a copy of a grid version to edit");
    draft->add_option("WORKSPACE", da->workspace, "Workspace GeoPackage")->required();
    draft->add_option("--from", da->from, "Version to start from (default: current)");
    draft->add_option("--note", da->note, "Why the grid is redrawn");
    draft->callback([da] {
        const int id = redraw::start_draft(
            da->workspace,
            {.from = opt_version(da->from), .note = da->note, .author = current_user()});
        const auto ws = store::Workspace::open(da->workspace);
        std::cout << "draft " << id << " started from grid version " << *ws.version(id).parent
                  << " (" << ws.grid(id).cells.size() << " cells)\n";
    });

    // ---- split
    struct SplitArgs : EditArgs {
        std::string cell, line, codes;
    };
    auto sa = std::make_shared<SplitArgs>();
    auto* split = grid.add_subcommand("split", "Cut a cell in two along a line");
    add_common(split, *sa);
    split->add_option("CELL", sa->cell, "Cell code")->required();
    split
        ->add_option("--line", sa->line,
                     "LineString crossing the cell (WKT, GeoJSON, or a file holding one)")
        ->required();
    split->add_option("--codes", sa->codes, "Codes of the two parts, A,B (left of the line first)");
    split->callback([sa] {
        const auto line = redraw::parse_line(sa->line);
        const auto codes = split_list(sa->codes);
        print_outcome(redraw::edit_draft(sa->workspace, opt_version(sa->draft), [&](grid::Grid& g) {
            return redraw::split_cell(g, sa->cell, line, codes);
        }));
    });

    // ---- merge
    struct MergeArgs : EditArgs {
        std::vector<std::string> cells;
        std::string code;
        bool multipart = false;
    };
    auto ma = std::make_shared<MergeArgs>();
    auto* merge = grid.add_subcommand("merge", "Merge neighbouring cells into one");
    add_common(merge, *ma);
    merge->add_option("CELLS", ma->cells, "Two or more cell codes")->required()->expected(2, -1);
    merge->add_option("--code", ma->code, "Code of the merged cell (default: the first)");
    merge->add_flag("--allow-multipart", ma->multipart, "Allow cells that share no boundary");
    merge->callback([ma] {
        print_outcome(redraw::edit_draft(ma->workspace, opt_version(ma->draft), [&](grid::Grid& g) {
            return redraw::merge_cells(g, ma->cells, ma->code, ma->multipart);
        }));
    });

    // ---- move-boundary
    struct MoveArgs : EditArgs {
        std::string a, b, line;
    };
    auto mv = std::make_shared<MoveArgs>();
    auto* move = grid.add_subcommand("move-boundary",
                                     "Replace the boundary two neighbours share with a new line");
    add_common(move, *mv);
    move->add_option("CELL_A", mv->a, "Cell code")->required();
    move->add_option("CELL_B", mv->b, "Neighbouring cell code")->required();
    move->add_option("--line", mv->line,
                     "LineString between the end points of the shared boundary (WKT, GeoJSON, or "
                     "a file holding one)")
        ->required();
    move->callback([mv] {
        const auto line = redraw::parse_line(mv->line);
        print_outcome(redraw::edit_draft(mv->workspace, opt_version(mv->draft), [&](grid::Grid& g) {
            return redraw::move_boundary(g, mv->a, mv->b, line);
        }));
    });

    // ---- transfer
    struct TransferArgs : EditArgs {
        std::string area, to;
    };
    auto ta = std::make_shared<TransferArgs>();
    auto* transfer =
        grid.add_subcommand("transfer", "Give a polygon's part of some cells to a neighbour");
    add_common(transfer, *ta);
    transfer->add_option("AREA", ta->area, "Polygon (WKT, GeoJSON, or a file holding one), lon/lat")
        ->required();
    transfer->add_option("--to", ta->to, "The cell that receives the area")->required();
    transfer->callback([ta] {
        const auto area = redraw::parse_area(ta->area);
        print_outcome(redraw::edit_draft(ta->workspace, opt_version(ta->draft), [&](grid::Grid& g) {
            return redraw::transfer_area(g, area, ta->to);
        }));
    });

    // ---- recode
    struct RecodeArgs : EditArgs {
        std::string cell, code, village;
    };
    auto ra = std::make_shared<RecodeArgs>();
    auto* recode =
        grid.add_subcommand("recode", "Give a cell a new code or move it to another village");
    add_common(recode, *ra);
    recode->add_option("CELL", ra->cell, "Cell code")->required();
    recode->add_option("NEWCODE", ra->code, "New code (default with --village: the next free one)");
    recode->add_option("--village", ra->village, "Move the cell to this neighbouring village");
    recode->callback([ra] {
        print_outcome(redraw::edit_draft(ra->workspace, opt_version(ra->draft), [&](grid::Grid& g) {
            return redraw::recode_cell(g, ra->cell, ra->code, ra->village);
        }));
    });

    // ---- diff
    struct DiffArgs {
        std::string workspace, to, geojson, render;
        int from = 0;
        bool json = false;
    };
    auto fa = std::make_shared<DiffArgs>();
    auto* diff =
        grid.add_subcommand("diff", "What a redraw changes: cells, households, matters, duties");
    diff->add_option("WORKSPACE", fa->workspace, "Workspace GeoPackage")->required();
    diff->add_option("--from", fa->from, "Old version (default: the draft's parent)");
    diff->add_option("--to", fa->to, "New version or 'draft' (default: the newest draft)");
    diff->add_flag("--json", fa->json, "Print JSON");
    diff->add_option("--geojson", fa->geojson, "Write old and new cells with their change kind");
    diff->add_option("--render", fa->render,
                     "Draw the diff map (PNG, or PDF/SVG print map): old boundaries dashed, new "
                     "solid, changed cells highlighted");
    diff->callback([fa] {
        const auto ws = store::Workspace::open(fa->workspace);
        int to = 0;
        if (fa->to.empty() || fa->to == "draft")
            to = redraw::resolve_draft(fa->workspace, std::nullopt);
        else
            try {
                to = ws.resolve_version(std::stoi(fa->to));
            } catch (const std::invalid_argument&) {
                throw InputError("--to takes a version number or 'draft', not '" + fa->to + "'");
            }
        const auto info = ws.version(to);
        const int from = fa->from > 0
                             ? ws.resolve_version(fa->from)
                             : (info.parent ? *info.parent : ws.resolve_version(std::nullopt));
        const auto old_grid = ws.grid(from);
        const auto new_grid = ws.grid(to);
        auto d = redraw::diff_grids(old_grid, new_grid, ws.metric_crs());
        d.from_version = from;
        d.to_version = to;
        redraw::add_loop_effects(d, fa->workspace, new_grid);
        if (!fa->geojson.empty())
            write_text(fa->geojson, redraw::to_geojson(d, old_grid, new_grid));
        if (!fa->render.empty()) render_diff(fa->workspace, d, old_grid, new_grid, fa->render);
        if (fa->json)
            std::cout << redraw::to_json(d) << "\n";
        else
            std::cout << redraw::to_text(d);
    });

    // ---- publish
    struct PublishArgs {
        std::string workspace, effective;
        int draft = 0;
        bool force = false;
    };
    auto pa = std::make_shared<PublishArgs>();
    auto* pub = grid.add_subcommand(
        "publish",
        "Make a draft current from a time; move open matters and duties (one transaction)");
    pub->add_option("WORKSPACE", pa->workspace, "Workspace GeoPackage")->required();
    pub->add_option("--draft", pa->draft, "Draft to publish (default: the newest)");
    pub->add_option("--effective", pa->effective, "Local time it holds from (default: now)");
    pub->add_flag("--force", pa->force, "Accept the listed duty problems");
    pub->callback([pa] {
        const auto r = redraw::publish(pa->workspace, {.draft = opt_version(pa->draft),
                                                       .effective = time_or_now(pa->effective),
                                                       .force = pa->force,
                                                       .actor = current_user()});
        std::cout << "published draft " << r.version << " as the current grid (was version "
                  << r.previous << "), effective " << loop::format_time(time_or_now(pa->effective))
                  << "\n";
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
    });
}

} // namespace wangge::app
