// Publishing a draft and migrating the loop's matters and duties (redraw/publish.hpp). The
// grid tables and the loop tables are written through one SQLite connection so the whole
// publish is one transaction.
#include "wangge/base/clock.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/validate.hpp"
#include "wangge/loop/store.hpp"
#include "wangge/redraw/draft.hpp"
#include "wangge/redraw/publish.hpp"
#include "wangge/store/gpkg.hpp"
#include "wangge/store/sqlite.hpp"
#include "wangge/store/workspace.hpp"

#include <chrono>
#include <ctime>
#include <gdal.h>
#include <set>

namespace wangge::redraw {

using store::sqlite::Connection;
using store::sqlite::Statement;
using store::sqlite::Transaction;

namespace {

const char* const relocation_schema = R"(
CREATE TABLE IF NOT EXISTS redraw_relocations (
  fid INTEGER PRIMARY KEY, incident INTEGER NOT NULL, from_version MEDIUMINT,
  to_version MEDIUMINT NOT NULL, from_cell TEXT, to_cell TEXT NOT NULL,
  effective_from TEXT NOT NULL, published_at TEXT NOT NULL, actor TEXT,
  from_village TEXT, from_township TEXT);
CREATE INDEX IF NOT EXISTS redraw_relocations_incident ON redraw_relocations (incident, fid);
)";

std::string duty_key(const loop::Duty& d) {
    return d.function + " " + std::string(loop::to_string(d.level)) + " " + d.unit + " (" +
           d.department + (d.person.empty() ? "" : " " + d.person) + ")";
}

// What the duty check finds, as comparable lines.
std::set<std::string> check_lines(const loop::DutyTable& table, const grid::Grid& g,
                                  const loop::Catalogue& catalogue,
                                  std::chrono::year_month_day date) {
    const auto check = table.check(g, catalogue, date);
    std::set<std::string> out;
    for (const auto& gap : check.gaps)
        out.insert("no holder of " + gap.function + " in cell " + gap.cell);
    for (const auto* d : check.orphaned)
        out.insert("duty for a unit the grid does not have: " + duty_key(*d));
    for (const auto& c : check.conflicting)
        out.insert("conflicting duty: " + duty_key(*c.first) + " and " + duty_key(*c.second));
    for (const auto* d : check.expired)
        out.insert("expired duty: " + duty_key(*d));
    return out;
}

// What the duty check needs of `g` to compare before and after a publish: the cells the
// diff changes, without geometry, and every unit's code. An unchanged cell keeps its holders
// (the publish moves only the duties of changed cells, and an unchanged cell inherits none),
// so its gaps are the same on both sides; a cell duty for it reads as orphaned on both sides
// alike. Checking 100,000 cells x every function twice is what made publishing slow.
grid::Grid check_scope(const grid::Grid& g, const std::set<std::string>& unchanged) {
    grid::Grid out;
    for (const auto& c : g.cells)
        if (!unchanged.count(c.code))
            out.cells.push_back({.code = c.code,
                                 .name = {},
                                 .village_code = c.village_code,
                                 .township_code = c.township_code,
                                 .county_code = c.county_code});
    for (const auto& u : g.units)
        out.units.push_back({.level = u.level, .code = u.code});
    return out;
}

} // namespace

PublishResult publish(const std::string& path, const PublishOptions& opt) {
    const int draft = resolve_draft(path, opt.draft);
    PublishResult res;
    res.version = draft;
    grid::Grid old_grid, new_grid;
    std::string metric;
    bool has_loop = false;
    {
        const auto ws = store::Workspace::open(path);
        const auto info = ws.version(draft);
        res.previous = ws.resolve_version(std::nullopt);
        old_grid = ws.grid(res.previous);
        new_grid = ws.grid(draft);
        metric = ws.metric_crs();
        has_loop = GDALDatasetGetLayerByName(ws.dataset().get(), "loop_incidents") != nullptr;
    }
    grid::ValidateOptions vo;
    vo.metric_crs = metric;
    const auto report = grid::validate(new_grid, vo);
    if (!report.valid()) {
        std::string list;
        for (std::size_t i = 0; i < report.issues.size() && i < 5; ++i)
            list += "\n  " + report.issues[i].describe();
        throw DataError("draft " + std::to_string(draft) + " has " + report.summary() +
                            "; nothing was published (wangge grid validate --workspace W "
                            "lists them):" +
                            list,
                        {.file = path});
    }
    res.diff = diff_grids(old_grid, new_grid, metric);
    res.diff.from_version = res.previous;
    res.diff.to_version = draft;

    std::vector<loop::Duty> new_duties;
    std::vector<loop::Duty> removed_duties;
    if (has_loop) {
        auto store = loop::LoopStore::open(path);
        const auto catalogue = store.load_catalogue();
        const auto old_table = store.load_duties(catalogue);
        res.duties = duty_changes(res.diff, old_table.duties(), new_grid);
        std::set<std::string> gone;
        for (const auto& dc : res.duties)
            gone.insert(duty_key(dc.duty));
        std::vector<loop::Duty> all;
        std::set<std::string> held; // duty keys in `all`
        for (const auto& d : old_table.duties())
            if (!gone.count(duty_key(d))) {
                all.push_back(d);
                held.insert(duty_key(d));
            }
        for (const auto& dc : res.duties) {
            removed_duties.push_back(dc.duty);
            for (const auto& s : dc.successors) {
                loop::Duty d = dc.duty;
                d.unit = s;
                d.line = 0;
                // The same holder twice, or the successor (a reshaped cell) holds it already.
                if (!held.insert(duty_key(d)).second) continue;
                new_duties.push_back(d);
                all.push_back(d);
            }
        }
        const loop::DutyTable new_table(all, catalogue);
        const auto date = loop::date_of(opt.effective);
        const auto unchanged = unchanged_cells(res.diff, new_grid);
        const auto before =
            check_lines(old_table, check_scope(old_grid, unchanged), catalogue, date);
        for (const auto& line :
             check_lines(new_table, check_scope(new_grid, unchanged), catalogue, date))
            if (!before.count(line)) res.decisions.push_back(line);
        if (!res.decisions.empty() && !opt.force) {
            std::string list;
            for (const auto& l : res.decisions)
                list += "\n  " + l;
            throw DataError("after publishing, the duty check would find " +
                                std::to_string(res.decisions.size()) +
                                " new problem(s) the planner must decide (fix the duties, or "
                                "publish with --force to accept them); nothing was published:" +
                                list,
                            {.file = path});
        }
    }

    // One transaction for the grid switch, the matters and the duties.
    Connection db(path, false);
    Transaction tx(db);
    {
        auto st = db.prepare("SELECT state FROM grid_versions WHERE version = ?");
        st.bind(1, draft);
        if (!st.step() || st.text(0) != "draft")
            throw InputError("grid version " + std::to_string(draft) + " is not a draft any more",
                             {.file = path});
    }
    const std::string published_at = base::utc_now_text();
    const std::string effective = loop::format_time(opt.effective);
    {
        auto st = db.prepare("UPDATE grid_versions SET state = 'published', effective_from = ?, "
                             "published_at = ? WHERE version = ?");
        st.bind(1, std::string_view(effective))
            .bind(2, std::string_view(published_at))
            .bind(3, draft);
        st.run();
        auto cur = db.prepare("UPDATE wangge_meta SET value = ? WHERE key = 'current_version'");
        cur.bind(1, std::string_view(std::to_string(draft)));
        cur.run();
    }
    if (has_loop) {
        // Read inside the transaction, so a matter reported meanwhile is not missed.
        auto open = relocate_open_matters(db, new_grid, res.diff);
        res.open_matters = open.open;
        res.moved = std::move(open.moves);
        for (const auto& m : res.moved)
            if (m.to_cell.empty())
                throw DataError("open matter " + std::to_string(m.id) + " in cell " + m.from_cell +
                                    " falls outside the new grid; nothing was published (no "
                                    "matter may be lost: cover its place)",
                                {.file = path, .cell = m.from_cell});
        db.exec(relocation_schema);
        store::gpkg::register_attributes(db, {"redraw_relocations"});
        // A journal from before the old village and township were recorded (time travel
        // reads them: loop/state_at.hpp).
        for (const char* column : {"from_village", "from_township"})
            if (!db.has_column("redraw_relocations", column))
                db.exec(std::string("ALTER TABLE redraw_relocations ADD COLUMN ") + column +
                        " TEXT");
        auto from = db.prepare("SELECT grid_version FROM loop_incidents WHERE fid = ?");
        auto upd = db.prepare("UPDATE loop_incidents SET cell = ?, village = ?, township = ?, "
                              "grid_version = ? WHERE fid = ?");
        auto ins = db.prepare("INSERT INTO redraw_relocations (incident, from_version, to_version, "
                              "from_cell, to_cell, effective_from, published_at, actor, "
                              "from_village, from_township) VALUES "
                              "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        for (const auto& m : res.moved) {
            from.bind(1, m.id);
            std::optional<std::int64_t> from_version;
            if (from.step() && !from.is_null(0)) from_version = from.integer(0);
            from.reset();
            upd.bind(1, std::string_view(m.to_cell))
                .bind(2, std::string_view(m.to_village))
                .bind(3, std::string_view(m.to_township))
                .bind(4, draft)
                .bind(5, m.id);
            upd.run();
            ins.bind(1, m.id)
                .bind(2, from_version)
                .bind(3, draft)
                .bind(4, std::string_view(m.from_cell))
                .bind(5, std::string_view(m.to_cell))
                .bind(6, std::string_view(effective))
                .bind(7, std::string_view(published_at))
                .bind(8, std::string_view(opt.actor))
                .bind(9, std::string_view(m.from_village))
                .bind(10, std::string_view(m.from_township));
            ins.run();
        }
        auto del = db.prepare("DELETE FROM loop_duties WHERE function = ? AND level = ? AND "
                              "unit = ? AND department = ? AND IFNULL(person, '') = ?");
        for (const auto& d : removed_duties) {
            del.bind(1, std::string_view(d.function))
                .bind(2, loop::to_string(d.level))
                .bind(3, std::string_view(d.unit))
                .bind(4, std::string_view(d.department))
                .bind(5, std::string_view(d.person));
            del.run();
        }
        auto add = db.prepare("INSERT INTO loop_duties (function, level, unit, department, "
                              "person, valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?)");
        for (const auto& d : new_duties) {
            add.bind(1, std::string_view(d.function))
                .bind(2, loop::to_string(d.level))
                .bind(3, std::string_view(d.unit))
                .bind(4, std::string_view(d.department))
                .bind(5, std::string_view(d.person));
            if (d.valid_from)
                add.bind(6, std::string_view(loop::format_date(*d.valid_from)));
            else
                add.bind_null(6);
            if (d.valid_to)
                add.bind(7, std::string_view(loop::format_date(*d.valid_to)));
            else
                add.bind_null(7);
            add.run();
        }
    }
    tx.commit();
    return res;
}

} // namespace wangge::redraw
