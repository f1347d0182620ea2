// Redrawing the grid: edits keep the tiling exact, drafts, diff, publish with migration.
#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/geometry.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/grid/locator.hpp"
#include "wangge/grid/validate.hpp"
#include "wangge/loop/session.hpp"
#include "wangge/loop/state_at.hpp"
#include "wangge/loop/store.hpp"
#include "wangge/redraw/diff.hpp"
#include "wangge/redraw/draft.hpp"
#include "wangge/redraw/edit.hpp"
#include "wangge/redraw/publish.hpp"
#include "wangge/sample/jishan.hpp"
#include "wangge/store/sqlite.hpp"
#include "wangge/store/workspace.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <geos_c.h>
#include <gtest/gtest.h>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

using namespace wangge;

namespace {

const grid::Grid& jishan() {
    static const grid::Grid g = sample::generate_jishan_grid({});
    return g;
}

const grid::Grid& liechtenstein() {
    static const grid::Grid g = grid::read_grid(test::data("liechtenstein-2013-08-03.osm.pbf"),
                                                test::liechtenstein_options());
    return g;
}

double total_area(const grid::Grid& g) {
    double a = 0;
    for (const auto& c : g.cells)
        a += std::abs(geo::planar_area(c.geometry));
    return a;
}

// Cells by code with their geometry in canonical form.
std::map<std::string, geo::MultiPolygon> shapes(const grid::Grid& g) {
    std::map<std::string, geo::MultiPolygon> out;
    for (const auto& c : g.cells)
        out[c.code] = redraw::canonical(c.geometry);
    return out;
}

// A vertical line through the middle of a cell, reaching past it on both sides.
redraw::Line vertical_through(const grid::Cell& c) {
    const auto b = geo::bounds(c.geometry);
    const double x = (b.minx + b.maxx) / 2;
    return {{x, b.miny - 0.001}, {x, b.maxy + 0.001}};
}

grid::ValidateOptions options() {
    grid::ValidateOptions o;
    o.metric_crs = "EPSG:4546";
    return o;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

int run(const std::string& args) {
    const std::string cmd = std::string(WANGGE_BINARY) + " " + args + " >/dev/null 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

const std::string jishan_cell = "14082410020001";

// The command's standard output.
std::string output(const std::string& args) {
    const std::string cmd = std::string(WANGGE_BINARY) + " " + args + " 2>/dev/null";
    std::string out;
    if (FILE* p = popen(cmd.c_str(), "r")) {
        char buf[4096];
        for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;)
            out.append(buf, n);
        pclose(p);
    }
    return out;
}

} // namespace

TEST(Redraw, SplitKeepsTheTilingExactAndConservesArea) {
    grid::Grid g = jishan();
    const double before = total_area(g);
    const auto* cell = g.find_cell(jishan_cell);
    ASSERT_NE(cell, nullptr);
    const double cell_area = std::abs(geo::planar_area(cell->geometry));
    const auto hh = cell->households;
    const auto ch = redraw::split_cell(g, jishan_cell, vertical_through(*cell));
    ASSERT_EQ(ch.removed, std::vector<std::string>{jishan_cell});
    ASSERT_GE(ch.changed.size(), 2u);
    EXPECT_EQ(g.cells.size(), jishan().cells.size() + 1);
    const auto* a = g.find_cell(ch.changed[0]);
    const auto* b = g.find_cell(ch.changed[1]);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->village_code, "140824100200");
    EXPECT_EQ(a->households + b->households, hh);
    EXPECT_NEAR(std::abs(geo::planar_area(a->geometry)) + std::abs(geo::planar_area(b->geometry)),
                cell_area, 1e-9 * cell_area);
    EXPECT_NEAR(total_area(g), before, 1e-9 * before);
    // The part left of the upward line is the western one.
    EXPECT_LT(geo::bounds(a->geometry).minx, geo::bounds(b->geometry).minx);
    const auto touched = redraw::validate_touched(g, ch, options());
    EXPECT_TRUE(touched.valid()) << touched.to_json(2);
    const auto full = grid::validate(g, options());
    EXPECT_TRUE(full.valid()) << full.to_json(2);
}

TEST(Redraw, SplitThenMergeGivesBackTheOriginalGeometry) {
    grid::Grid g = jishan();
    const auto ch = redraw::split_cell(g, jishan_cell, vertical_through(*g.find_cell(jishan_cell)));
    ASSERT_NE(shapes(g), shapes(jishan()));
    const auto m = redraw::merge_cells(g, {ch.changed[0], ch.changed[1]}, jishan_cell);
    EXPECT_EQ(m.changed.front(), jishan_cell);
    EXPECT_EQ(shapes(g), shapes(jishan())); // every cell, the neighbours included
    EXPECT_EQ(g.find_cell(jishan_cell)->households, jishan().find_cell(jishan_cell)->households);
    EXPECT_TRUE(redraw::validate_touched(g, m, options()).valid());
}

TEST(Redraw, MergeOfNeighboursIsExact) {
    grid::Grid g = jishan();
    const double before = total_area(g);
    const auto ch = redraw::merge_cells(g, {"14082410020002", "14082410020003"});
    EXPECT_EQ(ch.removed, std::vector<std::string>{"14082410020003"});
    EXPECT_EQ(g.cells.size(), jishan().cells.size() - 1);
    EXPECT_EQ(g.find_cell("14082410020002")->households,
              jishan().find_cell("14082410020002")->households +
                  jishan().find_cell("14082410020003")->households);
    EXPECT_NEAR(total_area(g), before, 1e-9 * before);
    EXPECT_TRUE(redraw::validate_touched(g, ch, options()).valid());
    EXPECT_TRUE(grid::validate(g, options()).valid());
}

TEST(Redraw, BadEditsAreRefusedAndChangeNothing) {
    grid::Grid g = jishan();
    const auto* cell = g.find_cell(jishan_cell);
    const auto b = geo::bounds(cell->geometry);
    const double cx = (b.minx + b.maxx) / 2, cy = (b.miny + b.maxy) / 2;
    // Wholly inside: meets the boundary nowhere.
    EXPECT_THROW(redraw::split_cell(g, jishan_cell, {{cx, cy}, {cx + 1e-5, cy + 1e-5}}),
                 InputError);
    // Far away.
    EXPECT_THROW(redraw::split_cell(g, jishan_cell, {{0, 0}, {1, 1}}), InputError);
    // Unknown cell, codes of another village, colliding codes.
    EXPECT_THROW(redraw::split_cell(g, "14082499999999", vertical_through(*cell)), InputError);
    EXPECT_THROW(redraw::split_cell(g, jishan_cell, vertical_through(*cell),
                                    {"14082410020197", "14082410030198"}),
                 DataError);
    EXPECT_THROW(redraw::split_cell(g, jishan_cell, vertical_through(*cell),
                                    {"14082410020002", "14082410020098"}),
                 DataError);
    EXPECT_THROW(
        redraw::split_cell(g, jishan_cell, vertical_through(*cell), {"1408241002009", "x"}),
        DataError);
    // Cells that are not neighbours.
    EXPECT_THROW(redraw::merge_cells(g, {jishan_cell, g.cells.back().code}), DataError);
    EXPECT_EQ(g, jishan());
    // A self-intersecting line and nonsense.
    EXPECT_THROW(redraw::parse_line("LINESTRING(0 0, 1 1, 1 0, 0 1)"), InputError);
    EXPECT_THROW(redraw::parse_line("POINT(0 0)"), InputError);
    EXPECT_THROW(redraw::parse_line("not a line"), InputError);
    EXPECT_EQ(redraw::parse_line(R"({"type":"LineString","coordinates":[[1,2],[3,4]]})").size(),
              2u);
}

TEST(Redraw, LiechtensteinMunicipalitiesMergeAndSplitExactly) {
    grid::Grid g = liechtenstein();
    ASSERT_TRUE(grid::validate(g).valid());
    const double before = total_area(g);
    // Find two municipalities sharing a boundary and merge them.
    std::vector<std::string> pair;
    for (std::size_t i = 0; i < g.cells.size() && pair.empty(); ++i)
        for (std::size_t j = i + 1; j < g.cells.size() && pair.empty(); ++j) {
            grid::Grid probe = g;
            try {
                (void)redraw::merge_cells(probe, {g.cells[i].code, g.cells[j].code});
                pair = {g.cells[i].code, g.cells[j].code};
            } catch (const DataError&) {
            }
        }
    ASSERT_EQ(pair.size(), 2u);
    grid::Grid merged = g;
    const auto ch = redraw::merge_cells(merged, pair);
    EXPECT_NEAR(total_area(merged), before, 1e-9 * before);
    EXPECT_TRUE(redraw::validate_touched(merged, ch, {}).valid());
    EXPECT_TRUE(grid::validate(merged).valid());
    // Municipalities with exclaves are multipart: merging two that share no boundary needs
    // --allow-multipart.
    std::size_t multipart = 0;
    for (const auto& c : g.cells)
        if (c.geometry.polygons.size() > 1) ++multipart;
    EXPECT_GT(multipart, 0u);
    // Split each municipality along its vertical middle where that crosses it cleanly.
    std::size_t splits = 0;
    for (const auto& c : g.cells) {
        grid::Grid s = g;
        try {
            const auto sc = redraw::split_cell(s, c.code, vertical_through(c));
            ++splits;
            EXPECT_NEAR(total_area(s), before, 1e-9 * before) << c.code;
            EXPECT_TRUE(redraw::validate_touched(s, sc, {}).valid()) << c.code;
            const auto back = redraw::merge_cells(s, {sc.changed[0], sc.changed[1]}, c.code);
            EXPECT_EQ(shapes(s), shapes(g)) << c.code;
        } catch (const Error&) {
            // the middle line crosses this one more than twice or meets an exclave
        }
    }
    EXPECT_GT(splits, 0u);
}

TEST(Redraw, DiffClassifiesSplitMergeAndRecode) {
    grid::Grid g = jishan();
    const auto s = redraw::split_cell(g, jishan_cell, vertical_through(*g.find_cell(jishan_cell)));
    (void)redraw::merge_cells(g, {"14082410020002", "14082410020003"});
    const auto d = redraw::diff_grids(jishan(), g, "EPSG:4546");
    ASSERT_TRUE(d.counts.count("split") && d.counts.count("merged")) << redraw::to_text(d);
    EXPECT_EQ(d.counts.at("split"), 1u);
    EXPECT_EQ(d.counts.at("merged"), 1u);
    EXPECT_EQ(d.counts.at("unchanged"), jishan().cells.size() - 3);
    for (const auto& c : d.changes) {
        if (c.kind == "split") {
            EXPECT_EQ(c.old_cells, std::vector<std::string>{jishan_cell});
            EXPECT_EQ(c.new_cells, (std::vector<std::string>{s.changed[0], s.changed[1]}));
        }
        if (c.kind == "merged") {
            EXPECT_EQ(c.old_cells, (std::vector<std::string>{"14082410020002", "14082410020003"}));
        }
    }
}

TEST(Redraw, PublishMigratesOpenMattersAndTimeTravels) {
    const auto dir = test::temp_dir();
    const std::string ws = (dir / "j.gpkg").string();
    ASSERT_EQ(run("sample jishan --workspace " + ws + " --no-imagery"), 0);
    const int draft = redraw::start_draft(ws, {.note = "split a cell"});
    EXPECT_EQ(draft, 2);
    const auto out = redraw::edit_draft(ws, std::nullopt, [](grid::Grid& g) {
        return redraw::split_cell(g, jishan_cell, vertical_through(*g.find_cell(jishan_cell)));
    });
    EXPECT_EQ(out.draft_issues, 0u);
    {
        const auto w = store::Workspace::open(ws);
        EXPECT_EQ(*w.current_version(), 1); // a draft is not current
        EXPECT_TRUE(w.version(2).draft());
    }
    // Bad input on the command line leaves the file as it was, byte for byte.
    const std::string bytes = file_bytes(ws);
    EXPECT_EQ(run("grid split " + ws + " 14082410020002 --line 'LINESTRING(0 0, 1 1)'"), 2);
    EXPECT_EQ(run("grid merge " + ws + " 14082410020002 " + jishan().cells.back().code), 2);
    EXPECT_EQ(run("grid recode " + ws + " 14082410020002 14082410030002"), 2);
    EXPECT_EQ(run("grid split " + ws + " 14082410020002 --draft 1 --line 'LINESTRING(0 0, 1 1)'"),
              2);
    EXPECT_EQ(file_bytes(ws), bytes);

    // Publishing locates only the open matters of cells the draft changes; that must give
    // what locating every open matter in the whole new grid gives.
    {
        const auto w = store::Workspace::open(ws);
        const auto old_grid = w.grid(1), new_grid = w.grid(2);
        const auto d = redraw::diff_grids(old_grid, new_grid, w.metric_crs());
        const store::sqlite::Connection db(ws, true);
        const auto fast = redraw::relocate_open_matters(db, new_grid, d);
        const grid::Locator locator(new_grid);
        std::size_t open = 0;
        std::map<std::int64_t, std::string> everywhere, located;
        for (const auto& rec : loop::LoopStore::open(ws).incidents()) {
            if (loop::is_final(rec.incident.state)) continue;
            ++open;
            const auto k = locator.locate(rec.lonlat);
            ASSERT_GE(k, 0);
            const auto& c = new_grid.cells[static_cast<std::size_t>(k)];
            if (c.code != rec.cell) everywhere[rec.incident.report.id] = c.code;
        }
        for (const auto& m : fast.moves)
            located[m.id] = m.to_cell;
        EXPECT_GT(open, 500u); // the sample has 595
        EXPECT_EQ(fast.open, open);
        EXPECT_EQ(located, everywhere);
    }

    const auto at = loop::parse_time("2026-04-01T12:00");
    const auto r = redraw::publish(ws, {.effective = at, .actor = "test"});
    EXPECT_EQ(r.version, 2);
    // The sample's open matters in the split cell, and where they go (seed 140824).
    std::map<std::int64_t, std::string> moved;
    for (const auto& m : r.moved) {
        EXPECT_EQ(m.from_cell, jishan_cell);
        moved[m.id] = m.to_cell;
    }
    const std::map<std::int64_t, std::string> expected{{15180, "14082410020006"}};
    EXPECT_EQ(moved, expected);
    // Duties of the split cell went to both parts; the check is clean afterwards.
    EXPECT_EQ(r.duties.size(), 2u);
    for (const auto& dc : r.duties)
        EXPECT_EQ(dc.successors, (std::vector<std::string>{"14082410020005", "14082410020006"}));
    EXPECT_TRUE(r.decisions.empty());
    EXPECT_EQ(run("duties check " + ws + " --at 2026-04-01T13:00"), 0);

    // Time travel: before the effective time the old version and the old cell.
    const auto w = store::Workspace::open(ws);
    EXPECT_EQ(*w.current_version(), 2);
    EXPECT_EQ(w.version_at("2026-04-01T11:59"), 1);
    EXPECT_EQ(w.version_at("2026-04-01T12:00"), 2);

    // Before the effective time a matter is shown in its old cell, named from the version in
    // force then (the current grid has no cell 14082410020001 any more).
    const std::string old_name = jishan().find_cell(jishan_cell)->name;
    ASSERT_FALSE(old_name.empty());
    EXPECT_NE(output("incidents show " + ws + " 15180 --at 2026-04-01T11:00")
                  .find("cell          " + jishan_cell + " " + old_name + " (grid version 1,"),
              std::string::npos);
    EXPECT_NE(output("incidents show " + ws + " 15180 --at 2026-04-01T13:00")
                  .find("cell          14082410020006 "),
              std::string::npos);

    // Publishing twice is refused and changes nothing.
    const std::string published = file_bytes(ws);
    EXPECT_EQ(run("grid publish " + ws + " --draft 2"), 2);
    EXPECT_EQ(run("grid publish " + ws), 2);
    EXPECT_EQ(file_bytes(ws), published);
}

// Merged cells' duties are merged; two holders of one function in the merged cell are a
// conflict the planner must decide: the publish lists it and writes nothing, unless forced.
// The sample gives every cell its own grid worker (F31 and F34, 网格员NNNN).
TEST(Redraw, PublishListsTheDutyConflictsOfMergedCells) {
    const auto dir = test::temp_dir();
    const std::string ws = (dir / "j.gpkg").string();
    ASSERT_EQ(run("sample jishan --workspace " + ws + " --no-imagery"), 0);
    redraw::start_draft(ws, {.note = "merge two cells with their own workers"});
    redraw::edit_draft(ws, std::nullopt, [](grid::Grid& g) {
        return redraw::merge_cells(g, {"14082410020002", "14082410020003"});
    });
    const auto at = loop::parse_time("2026-04-01T12:00");
    const std::string bytes = file_bytes(ws);
    const std::vector<std::string> conflicts{
        "conflicting duty: F31 cell 14082410020002 (D18 网格员0002) and F31 cell 14082410020002 "
        "(D18 网格员0003)",
        "conflicting duty: F34 cell 14082410020002 (D18 网格员0002) and F34 cell 14082410020002 "
        "(D18 网格员0003)"};
    try {
        (void)redraw::publish(ws, {.effective = at});
        ADD_FAILURE() << "the conflicts were not reported";
    } catch (const DataError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("2 new problem"), std::string::npos) << what;
        for (const auto& c : conflicts)
            EXPECT_NE(what.find(c), std::string::npos) << what;
    }
    EXPECT_EQ(file_bytes(ws), bytes);
    const auto r = redraw::publish(ws, {.effective = at, .force = true});
    EXPECT_EQ(r.decisions, conflicts);
    ASSERT_EQ(r.duties.size(), 2u);
    for (const auto& dc : r.duties) {
        EXPECT_EQ(dc.duty.unit, "14082410020003");
        EXPECT_EQ(dc.successors, std::vector<std::string>{"14082410020002"});
    }
}

TEST(Redraw, PublishRefusesADraftWithDefects) {
    const auto dir = test::temp_dir();
    const std::string ws = (dir / "j.gpkg").string();
    ASSERT_EQ(run("sample jishan --workspace " + ws + " --no-imagery --no-loop"), 0);
    const int draft = redraw::start_draft(ws, {});
    // Push one vertex of a cell into its neighbour: an overlap.
    {
        auto w = store::Workspace::open(ws, true);
        auto cell = *w.grid(draft).find_cell(jishan_cell);
        auto& ring = cell.geometry.polygons[0].rings[0];
        const auto b = geo::bounds(cell.geometry);
        ring[1].x += (b.maxx - b.minx) * 0.2;
        ring[1].y += (b.maxy - b.miny) * 0.2;
        w.update_draft(draft, {.cells = {cell}});
    }
    const std::string bytes = file_bytes(ws);
    EXPECT_THROW(redraw::publish(ws, {.effective = loop::parse_time("2026-04-01T12:00")}),
                 DataError);
    EXPECT_EQ(file_bytes(ws), bytes);
    EXPECT_EQ(*store::Workspace::open(ws).current_version(), 1);
}

// Time travel across a publish: before the effective time every query groups by the old
// cells, exactly as it did before the publish; from it on the moved matters are in the new
// cells.
TEST(Redraw, StatsAtBeforeAPublishGroupByTheOldCells) {
    const auto dir = test::temp_dir();
    const std::string ws = (dir / "j.gpkg").string();
    ASSERT_EQ(run("sample jishan --workspace " + ws + " --no-imagery"), 0);
    const auto before_e = loop::parse_time("2026-04-01T11:00");
    const auto after_e = loop::parse_time("2026-04-01T13:00");
    const auto stats = [&](loop::LocalTime at, loop::StatsBy by) {
        const auto s = loop::Session::open(ws);
        std::map<std::string, loop::StatsRow> out;
        for (auto& r : s->store().stats(by, at, s->loop()))
            out[r.key] = r;
        return out;
    };
    const auto cells_before = stats(before_e, loop::StatsBy::cell);
    const auto cells_after = stats(after_e, loop::StatsBy::cell);
    const auto villages_before = stats(before_e, loop::StatsBy::village);
    const auto villages_after = stats(after_e, loop::StatsBy::village);

    (void)redraw::start_draft(ws, {.note = "split"});
    (void)redraw::edit_draft(ws, std::nullopt, [](grid::Grid& g) {
        return redraw::split_cell(g, jishan_cell, vertical_through(*g.find_cell(jishan_cell)));
    });
    const auto r = redraw::publish(ws, {.effective = loop::parse_time("2026-04-01T12:00")});
    ASSERT_EQ(r.moved.size(), 1u); // 15180, open and in the old cell at both times

    // Before E: the old cells, every row as before the publish.
    EXPECT_EQ(stats(before_e, loop::StatsBy::cell), cells_before);
    // After E: the one moved to 14082410020006, the closed ones stay in the old cell.
    const auto after = stats(after_e, loop::StatsBy::cell);
    ASSERT_TRUE(cells_after.count(jishan_cell));
    EXPECT_EQ(after.at(jishan_cell).total, cells_after.at(jishan_cell).total - 1);
    EXPECT_EQ(after.at(jishan_cell).closed, cells_after.at(jishan_cell).closed);
    EXPECT_EQ(after.at("14082410020006").total, 1u);
    EXPECT_EQ(after.at("14082410020006").closed, 0u);
    EXPECT_FALSE(after.count("14082410020005"));
    EXPECT_EQ(after.size(), cells_after.size() + 1);
    for (const auto& [key, row] : cells_after) {
        if (key == jishan_cell) continue;
        EXPECT_EQ(after.at(key), row) << key;
    }

    // One matter and a cell filter at both times (incidents show/list --at).
    const auto s = loop::Session::open(ws);
    const auto m_before = loop::matter_at(s->store(), s->loop(), 15180, before_e);
    const auto m_after = loop::matter_at(s->store(), s->loop(), 15180, after_e);
    ASSERT_TRUE(m_before && m_after);
    EXPECT_EQ(m_before->record.cell, jishan_cell);
    EXPECT_EQ(m_before->record.grid_version, 1);
    EXPECT_EQ(m_after->record.cell, "14082410020006");
    EXPECT_EQ(m_after->record.grid_version, 2);
    const auto ids = [&](loop::LocalTime at, const std::string& cell) {
        std::vector<std::int64_t> out;
        for (const auto& m :
             loop::matters_at(s->store(), s->loop(), at, {.cell = cell, .open_only = true}))
            out.push_back(m.record.incident.report.id);
        return out;
    };
    EXPECT_EQ(ids(before_e, jishan_cell), (std::vector<std::int64_t>{15180}));
    EXPECT_TRUE(ids(before_e, "14082410020006").empty());
    EXPECT_TRUE(ids(after_e, jishan_cell).empty());
    EXPECT_EQ(ids(after_e, "14082410020006"), (std::vector<std::int64_t>{15180}));
    // By village nothing moved at either time (both parts stay in the village).
    EXPECT_EQ(stats(before_e, loop::StatsBy::village), villages_before);
    EXPECT_EQ(stats(after_e, loop::StatsBy::village), villages_after);
}

namespace {

// The boundary cells a and b share, as a line from one end point to the other (their one run
// of common edges, in a's ring order); empty when they share none or several.
redraw::Line shared_line(const grid::Cell& a, const grid::Cell& b) {
    std::set<std::pair<double, double>> vb;
    for (const auto& poly : b.geometry.polygons)
        for (const auto& ring : poly.rings)
            for (const auto& p : ring)
                vb.insert({p.x, p.y});
    for (const auto& poly : a.geometry.polygons)
        for (const auto& ring : poly.rings) {
            const std::size_t n = ring.size() - 1;
            const auto in = [&](std::size_t k) {
                return vb.count({ring[k % n].x, ring[k % n].y}) > 0;
            };
            for (std::size_t k = 0; k < n; ++k)
                if (in(k) && in(k + 1) && !in(k + n - 1)) {
                    redraw::Line out{ring[k]};
                    for (std::size_t m = k + 1; in(m) && out.size() <= n; ++m)
                        out.push_back(ring[m % n]);
                    return out;
                }
        }
    return {};
}

} // namespace

TEST(Redraw, MoveBoundaryIsExactAndGoesBack) {
    for (const auto* source : {&jishan(), &liechtenstein()}) {
        const grid::Grid& g0 = *source;
        const double before = total_area(g0);
        // The first pair of neighbours with one shared stretch of at least three vertices.
        std::string a, b;
        redraw::Line old;
        for (std::size_t i = 0; i < g0.cells.size() && a.empty(); ++i)
            for (std::size_t j = 0; j < g0.cells.size() && a.empty(); ++j) {
                if (i == j) continue;
                auto line = shared_line(g0.cells[i], g0.cells[j]);
                if (line.size() < 3) continue;
                grid::Grid probe = g0;
                try {
                    (void)redraw::move_boundary(probe, g0.cells[i].code, g0.cells[j].code, line);
                } catch (const InputError& e) {
                    // "the line is the boundary they share already" when it is the one run
                    if (std::string(e.what()).find("share already") == std::string::npos &&
                        std::string(e.what()).find("crosses") == std::string::npos)
                        continue;
                } catch (const DataError&) {
                    continue; // several stretches
                }
                a = g0.cells[i].code;
                b = g0.cells[j].code;
                old = line;
            }
        ASSERT_FALSE(a.empty());
        // The new boundary: the straight line between the end points, or, when that leaves
        // the cells, the old one with its middle vertex pushed a little aside.
        grid::Grid g = g0;
        redraw::Line bent = old;
        auto& mid = bent[bent.size() / 2];
        const auto prev = bent[bent.size() / 2 - 1];
        const auto next = bent[bent.size() / 2 + 1];
        mid.x += (next.y - prev.y) * 0.1;
        mid.y -= (next.x - prev.x) * 0.1;
        const double pair_area = std::abs(geo::planar_area(g.find_cell(a)->geometry)) +
                                 std::abs(geo::planar_area(g.find_cell(b)->geometry));
        const auto hh = g.find_cell(a)->households + g.find_cell(b)->households;
        redraw::Change ch;
        try {
            ch = redraw::move_boundary(g, a, b, bent);
        } catch (const InputError&) {
            bent = old;
            mid = bent[bent.size() / 2];
            mid.x -= (next.y - prev.y) * 0.1;
            mid.y += (next.x - prev.x) * 0.1;
            ch = redraw::move_boundary(g, a, b, bent);
        }
        EXPECT_NE(shapes(g), shapes(g0));
        EXPECT_NEAR(total_area(g), before, 1e-9 * before);
        EXPECT_NEAR(std::abs(geo::planar_area(g.find_cell(a)->geometry)) +
                        std::abs(geo::planar_area(g.find_cell(b)->geometry)),
                    pair_area, 1e-9 * pair_area);
        EXPECT_EQ(g.find_cell(a)->households + g.find_cell(b)->households, hh);
        EXPECT_TRUE(redraw::validate_touched(g, ch, {}).valid());
        EXPECT_TRUE(grid::validate(g).valid());
        // Moving it back (the line given from the other end) gives back every cell exactly.
        const redraw::Line back(old.rbegin(), old.rend());
        (void)redraw::move_boundary(g, b, a, back);
        EXPECT_EQ(shapes(g), shapes(g0));

        // Refused, the grid unchanged: ends elsewhere, a line leaving the two cells, cells
        // that are not neighbours, the same cell twice.
        g = g0;
        redraw::Line off = old;
        off.front().x += 1e-4;
        EXPECT_THROW(redraw::move_boundary(g, a, b, off), InputError);
        const auto box = geo::bounds(g.find_cell(a)->geometry);
        redraw::Line wild{old.front(), {box.minx - 0.1, box.miny - 0.1}, old.back()};
        EXPECT_THROW(redraw::move_boundary(g, a, b, wild), InputError);
        std::string far;
        for (const auto& c : g.cells)
            if (!geo::bounds(c.geometry).intersects(box)) far = c.code;
        ASSERT_FALSE(far.empty());
        EXPECT_THROW(redraw::move_boundary(g, a, far, old), DataError);
        EXPECT_THROW(redraw::move_boundary(g, a, a, old), InputError);
        EXPECT_EQ(g, g0);
    }
}

TEST(Redraw, TransferGivesAnAreaToANeighbourExactly) {
    for (const auto* source : {&jishan(), &liechtenstein()}) {
        const grid::Grid& g0 = *source;
        const double before = total_area(g0);
        std::int64_t households = 0;
        for (const auto& c : g0.cells)
            households += c.households;
        // A square around the middle of a boundary two cells share, a fifth of the first
        // cell's size, given to the second.
        std::string from, to;
        redraw::Line shared;
        for (std::size_t i = 0; i < g0.cells.size() && from.empty(); ++i)
            for (std::size_t j = 0; j < g0.cells.size() && from.empty(); ++j)
                if (i != j) {
                    shared = shared_line(g0.cells[i], g0.cells[j]);
                    if (shared.size() >= 2) {
                        from = g0.cells[i].code;
                        to = g0.cells[j].code;
                    }
                }
        ASSERT_FALSE(from.empty());
        const auto k = shared.size() / 2 - (shared.size() > 2 ? 0 : 1);
        const geo::Point m{(shared[k].x + shared[k + 1].x) / 2 + 1.234e-6,
                           (shared[k].y + shared[k + 1].y) / 2 - 2.345e-6};
        const auto box = geo::bounds(g0.find_cell(from)->geometry);
        const double h = std::min(box.maxx - box.minx, box.maxy - box.miny) / 10;
        const geo::Ring square{{m.x - h, m.y - h},
                               {m.x + h, m.y - h},
                               {m.x + h, m.y + h},
                               {m.x - h, m.y + h},
                               {m.x - h, m.y - h}};
        grid::Grid g = g0;
        const double to_area = std::abs(geo::planar_area(g.find_cell(to)->geometry));
        const auto ch = redraw::transfer_area(g, square, to);
        EXPECT_NEAR(total_area(g), before, 1e-9 * before);
        std::int64_t after_households = 0;
        for (const auto& c : g.cells)
            after_households += c.households;
        EXPECT_EQ(after_households, households);
        EXPECT_GT(std::abs(geo::planar_area(g.find_cell(to)->geometry)), to_area);
        EXPECT_LT(std::abs(geo::planar_area(g.find_cell(from)->geometry)),
                  std::abs(geo::planar_area(g0.find_cell(from)->geometry)));
        // Cells away from the square are untouched; the target grew by what the others lost.
        const auto s0 = shapes(g0);
        const auto s1 = shapes(g);
        double lost = 0;
        for (const auto& c : g0.cells) {
            if (c.code == to) continue;
            const auto* n = g.find_cell(c.code);
            const double was = std::abs(geo::planar_area(c.geometry));
            lost += was - (n ? std::abs(geo::planar_area(n->geometry)) : 0);
            if (geo::bounds(c.geometry).intersects(geo::bounds(square))) continue;
            EXPECT_EQ(s1.at(c.code), s0.at(c.code)) << c.code;
        }
        for (const auto& c : g.cells)
            EXPECT_TRUE(g0.find_cell(c.code)) << "a cut piece " << c.code << " was left";
        const double gained = std::abs(geo::planar_area(g.find_cell(to)->geometry)) - to_area;
        EXPECT_NEAR(gained, lost, 1e-9 * before);
        EXPECT_TRUE(redraw::validate_touched(g, ch, {}).valid())
            << redraw::validate_touched(g, ch, {}).to_json(2);
        EXPECT_TRUE(grid::validate(g).valid()) << grid::validate(g).to_json(2);

        // Refused, the grid unchanged: an area inside one cell (it would leave a hole), an
        // area far from the target, an unknown target.
        g = g0;
        const auto* c = g.find_cell(from);
        const auto cb = geo::bounds(c->geometry);
        geo::Point in;
        {
            geo::GeosContext ctx;
            const auto gg = ctx.from(c->geometry);
            const auto pt = ctx.check(GEOSPointOnSurface_r(ctx.get(), gg.get()), "point");
            GEOSGeomGetX_r(ctx.get(), pt.get(), &in.x);
            GEOSGeomGetY_r(ctx.get(), pt.get(), &in.y);
        }
        const double t = std::min(cb.maxx - cb.minx, cb.maxy - cb.miny) / 1e4;
        const geo::Ring hole{{in.x - t, in.y - t},
                             {in.x + t, in.y - t},
                             {in.x + t, in.y + t},
                             {in.x - t, in.y + t},
                             {in.x - t, in.y - t}};
        EXPECT_THROW(redraw::transfer_area(g, hole, to), InputError);
        const geo::Ring far{{cb.minx - 10, cb.miny - 10},
                            {cb.minx - 9, cb.miny - 10},
                            {cb.minx - 9, cb.miny - 9},
                            {cb.minx - 10, cb.miny - 10}};
        EXPECT_THROW(redraw::transfer_area(g, far, to), InputError);
        EXPECT_THROW(redraw::transfer_area(g, square, "no such cell"), InputError);
        EXPECT_EQ(g, g0);
    }
    EXPECT_THROW(redraw::parse_area("POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"), InputError);
    EXPECT_THROW(redraw::parse_area("LINESTRING(0 0, 1 1)"), InputError);
    EXPECT_EQ(redraw::parse_area("POLYGON((0 0, 1 0, 1 1, 0 0))").size(), 4u);
}

TEST(Redraw, ReplaceATownshipWithCellsRedrawnElsewhere) {
    const auto dir = test::temp_dir();
    const std::string township = "140824100";
    grid::Grid g0 = jishan();
    // The township's cells written out and read back (as from `grid export` and a desktop
    // GIS), with two of them merged there.
    grid::Grid part;
    for (const auto& c : g0.cells)
        if (c.township_code == township) part.cells.push_back(c);
    ASSERT_GT(part.cells.size(), 10u);
    const std::string file = (dir / "town.geojson").string();
    store::export_grid(part, file, 1);
    grid::Grid redrawn;
    redrawn.cells = grid::read_grid(file, {}).cells;
    ASSERT_EQ(redrawn.cells.size(), part.cells.size());
    (void)redraw::merge_cells(redrawn, {"14082410020002", "14082410020003"});

    grid::Grid g = g0;
    const double before = total_area(g);
    const auto ch = redraw::replace_cells(g, redrawn.cells, township, options());
    EXPECT_EQ(g.cells.size(), g0.cells.size() - 1);
    EXPECT_EQ(ch.removed, std::vector<std::string>{"14082410020003"});
    EXPECT_NEAR(total_area(g), before, 1e-9 * before);
    EXPECT_TRUE(grid::validate(g, options()).valid());
    // Cells outside the township are untouched; the township's outline is the same.
    for (const auto& c : g0.cells) {
        if (c.township_code == township) continue;
        EXPECT_EQ(*g.find_cell(c.code), c);
    }
    EXPECT_EQ(redraw::canonical(g.find_unit(township)->geometry),
              redraw::canonical(g0.find_unit(township)->geometry));

    // A vertex on the township's outline moved: refused with the gap or overlap mapped, the
    // grid unchanged.
    grid::Grid bad = redrawn;
    const auto outline = g0.find_unit(township)->geometry;
    std::set<std::pair<double, double>> on_outline;
    for (const auto& p : outline.polygons[0].rings[0])
        on_outline.insert({p.x, p.y});
    bool moved = false;
    for (auto& c : bad.cells)
        for (auto& p : c.geometry.polygons[0].rings[0])
            if (!moved && on_outline.count({p.x, p.y}) &&
                !(p == c.geometry.polygons[0].rings[0][0])) {
                p.x += 2e-4;
                p.y += 1e-4;
                moved = true;
            }
    ASSERT_TRUE(moved);
    g = g0;
    grid::ValidationReport defects;
    EXPECT_THROW(redraw::replace_cells(g, bad.cells, township, options(), &defects), DataError);
    EXPECT_FALSE(defects.issues.empty());
    EXPECT_EQ(g, g0);
    // Cells of another township, or a code used outside.
    grid::Grid other = redrawn;
    other.cells[0].code = "14082420010001";
    EXPECT_THROW(redraw::replace_cells(g, other.cells, township, options()), DataError);
    EXPECT_THROW(redraw::replace_cells(g, redrawn.cells, "140824999", options()), InputError);
    EXPECT_EQ(g, g0);
}
