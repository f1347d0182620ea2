#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/loop/reports.hpp"
#include "wangge/loop/store.hpp"
#include "wangge/sample/jishan_history.hpp"
#include "wangge/store/workspace.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <gdal.h>
#include <gtest/gtest.h>
#include <map>
#include <ogr_api.h>
#include <random>
#include <set>

using namespace wangge;
using namespace wangge::loop;

namespace {

const std::string catalogue_dir = WANGGE_CATALOGUE_DIR;

struct Setup {
    Catalogue catalogue = Catalogue::load(catalogue_dir);
    Calendar calendar = Calendar::load(catalogue_dir + "/calendar-2026.json");
    Loop loop{catalogue, calendar};
    DutyTable duties = DutyTable::load(catalogue_dir + "/duties-jishan-sample.csv", catalogue);
};

const Setup& setup() {
    static const Setup s;
    return s;
}

constexpr double west = 110.90;
constexpr double north = 35.65;
constexpr double side = 0.005;

// A 20 x 20 grid of square cells in four townships (140824100-103) of 25 villages each,
// every side densified to 50 vertices so the locator works as on real boundaries.
grid::Grid square_grid() {
    grid::Grid g;
    for (int i = 0; i < 20; ++i) {
        for (int j = 0; j < 20; ++j) {
            const int township = 100 + (i / 10) * 2 + (j / 10);
            const int village = 200 + ((i % 10) / 2) * 5 + (j % 10) / 2;
            const int seq = (i % 2) * 2 + (j % 2) + 1;
            char code[32];
            std::snprintf(code, sizeof code, "140824%03d%03d%02d", township, village, seq);
            grid::Cell c;
            c.code = code;
            c.village_code = c.code.substr(0, 12);
            c.township_code = c.code.substr(0, 9);
            c.county_code = "140824";
            const double x0 = west + j * side, y1 = north - i * side;
            const double x1 = x0 + side, y0 = y1 - side;
            geo::Ring ring;
            const int n = 50;
            for (int k = 0; k < n; ++k)
                ring.push_back({x0 + (x1 - x0) * k / n, y0});
            for (int k = 0; k < n; ++k)
                ring.push_back({x1, y0 + (y1 - y0) * k / n});
            for (int k = 0; k < n; ++k)
                ring.push_back({x1 - (x1 - x0) * k / n, y1});
            for (int k = 0; k < n; ++k)
                ring.push_back({x0, y1 - (y1 - y0) * k / n});
            ring.push_back(ring.front());
            c.geometry.polygons.push_back({{ring}});
            g.cells.push_back(std::move(c));
        }
    }
    return g;
}

const grid::Grid& the_grid() {
    static const grid::Grid g = square_grid();
    return g;
}

const grid::Locator& the_locator() {
    static const grid::Locator l(the_grid());
    return l;
}

std::string new_workspace() {
    const auto path = (test::temp_dir() / "ws.gpkg").string();
    auto ws = store::Workspace::create(path);
    ws.add_version({.grid = the_grid(), .note = "squares"});
    return path;
}

ImportContext context() {
    return {the_grid(), 1, the_locator(), setup().loop, setup().duties, {}};
}

LocalTime t(const char* text) {
    return parse_time(text);
}

} // namespace

TEST(LoopStore, TablesAreCreatedOnceAndSeenByGdal) {
    const auto path = new_workspace();
    { auto s = LoopStore::open(path); }
    {
        auto s = LoopStore::open(path); // a second open finds the tables
        EXPECT_EQ(s.incident_count(), 0u);
    }
    const auto ds = geo::Dataset::open_vector(path);
    OGRLayerH layer = GDALDatasetGetLayerByName(ds.get(), "loop_incidents");
    ASSERT_NE(layer, nullptr);
    EXPECT_EQ(wkbFlatten(OGR_L_GetGeomType(layer)), wkbPoint);
    EXPECT_NE(GDALDatasetGetLayerByName(ds.get(), "loop_journal"), nullptr);
    // The grid is untouched.
    EXPECT_EQ(store::Workspace::open(path).grid().cells.size(), 400u);
    EXPECT_THROW((void)LoopStore::open(path + ".missing"), StoreError);
    EXPECT_THROW((void)LoopStore::open(test::data("tiny_grid.geojson")), StoreError);
}

TEST(LoopStore, CatalogueAndDutiesRoundTrip) {
    auto s = LoopStore::open(new_workspace());
    const auto& cat = setup().catalogue;
    s.save_catalogue(cat);
    s.save_catalogue(cat); // replacing, not appending
    const auto back = s.load_catalogue();
    EXPECT_EQ(back.departments(), cat.departments());
    EXPECT_EQ(back.functions(), cat.functions());
    EXPECT_EQ(back.majors(), cat.majors());
    EXPECT_EQ(back.categories(), cat.categories());
    // The town units come from the folder's urban_townships.csv and are stored with it.
    EXPECT_EQ(back.urban_townships(),
              (std::set<std::string>{"140824100", "140824400", "140824401"}));
    EXPECT_EQ(back.urban_townships(), cat.urban_townships());

    s.save_duties(setup().duties);
    auto expected = setup().duties.duties();
    for (auto& d : expected)
        d.line = 0;
    EXPECT_EQ(s.load_duties(back).duties(), expected);
}

TEST(LoopStore, ImportLocatesRoutesAndFlags) {
    auto s = LoopStore::open(new_workspace());
    const std::vector<Report> reports{
        // Inside the first cell of 稷峰镇, well away from edges: street cleaning.
        {1, "0101", {west + 0.0025, north - 0.0025}, t("2026-03-02T09:00"), "王五"},
        // 10 m (about 0.00011 deg) from the edge between two cells of 西社镇: a fire.
        {2,
         "0501",
         {west + 10 * side + 0.0025, north - side + 0.0001},
         t("2026-03-02T10:00"),
         "赵六"},
        // Outside the county.
        {3, "0101", {west - 0.01, north + 0.01}, t("2026-03-02T11:00"), "李四"}};
    const auto summary = s.import_reports(reports, context());
    EXPECT_EQ(summary.imported, 3u);
    EXPECT_EQ(summary.outside_grid, 1u);
    EXPECT_EQ(summary.near_boundary, 1u);
    EXPECT_EQ(summary.unrouted, 0u);

    const auto one = s.incident(1);
    ASSERT_TRUE(one);
    EXPECT_EQ(one->cell, "14082410020001");
    EXPECT_EQ(one->village, "140824100200");
    EXPECT_EQ(one->township, "140824100");
    EXPECT_TRUE(one->incident.report.urban);
    EXPECT_FALSE(one->near_boundary);
    EXPECT_EQ(one->route_department, "D01");
    EXPECT_FALSE(one->route_fallback);
    EXPECT_EQ(one->incident.due, t("2026-03-02T09:30"));
    EXPECT_EQ(one->incident, setup().loop.open({1, "0101", true, t("2026-03-02T09:00"), "王五"}));
    EXPECT_NEAR(one->lonlat.x, west + 0.0025, 1e-12);

    const auto two = s.incident(2);
    ASSERT_TRUE(two);
    EXPECT_EQ(two->township, "140824101");
    EXPECT_FALSE(two->incident.report.urban);
    EXPECT_TRUE(two->near_boundary);
    EXPECT_LT(two->boundary_distance_m, 30);
    EXPECT_EQ(two->route_department, "D13");
    EXPECT_EQ(two->incident.due, t("2026-03-02T10:10"));

    const auto three = s.incident(3);
    ASSERT_TRUE(three);
    EXPECT_EQ(three->cell, "");
    EXPECT_EQ(three->route_department, "");
    EXPECT_FALSE(s.incident(4));
    EXPECT_EQ(s.incidents().size(), 3u);
    EXPECT_EQ(s.incidents()[1], *two);

    // A repeated id fails the whole import.
    const std::vector<Report> again{
        {4, "0101", {west + 0.001, north - 0.001}, t("2026-03-02T12:00"), ""},
        {1, "0101", {west + 0.001, north - 0.001}, t("2026-03-02T12:00"), ""}};
    EXPECT_THROW((void)s.import_reports(again, context()), StoreError);
    EXPECT_EQ(s.incident_count(), 3u);
    const std::vector<Report> unknown{
        {5, "9999", {west + 0.001, north - 0.001}, t("2026-03-02T12:00"), ""}};
    EXPECT_THROW((void)s.import_reports(unknown, context()), DataError);
    EXPECT_EQ(s.incident_count(), 3u);
}

TEST(LoopStore, TransitionsAreJournalledAndAtomic) {
    auto s = LoopStore::open(new_workspace());
    const std::vector<Report> reports{
        {1, "0101", {west + 0.0025, north - 0.0025}, t("2026-03-02T09:00"), "王五"},
        {2, "0102", {west + 0.0075, north - 0.0025}, t("2026-03-02T09:00"), "王五"}};
    s.import_reports(reports, context());
    const auto& loop = setup().loop;
    using C = LoopStore::Change;
    const std::vector<C> changes{
        C{1, {State::filed, t("2026-03-02T09:05"), "坐席", "", "", "", std::nullopt}},
        C{2, {State::filed, t("2026-03-02T09:05"), "坐席", "", "", "", std::nullopt}},
        C{1, {State::dispatched, t("2026-03-02T09:10"), "坐席", "", "D01", "张三", std::nullopt}},
        C{1, {State::in_progress, t("2026-03-02T09:30"), "张三", "", "", "", std::nullopt}}};
    s.apply(changes, loop);
    s.apply(std::vector<C>{C{1,
                             {State::in_progress, t("2026-03-02T10:00"), "县指挥中心", "督办"},
                             C::Supervision::put}},
            loop);
    const auto journal = s.journal(1);
    ASSERT_EQ(journal.size(), 4u);
    EXPECT_EQ(journal[1].department, "D01");
    EXPECT_TRUE(journal[3].is_supervision());
    const auto stored = s.incident(1)->incident;
    EXPECT_EQ(stored.state, State::in_progress);
    EXPECT_TRUE(stored.supervised);
    EXPECT_EQ(loop.rebuild(stored.report, journal), stored);
    EXPECT_EQ(s.incident(2)->incident.state, State::filed);

    // A batch with one illegal step writes nothing.
    const std::vector<C> bad{
        C{2, {State::dispatched, t("2026-03-02T09:20"), "坐席", "", "D01", "", std::nullopt}},
        C{1, {State::closed, t("2026-03-02T11:00"), "核查员", "", "", "", std::nullopt}}};
    EXPECT_THROW(s.apply(bad, loop), DataError);
    EXPECT_EQ(s.incident(2)->incident.state, State::filed);
    EXPECT_EQ(s.journal(2).size(), 1u);
    EXPECT_EQ(s.journal(1).size(), 4u);
    EXPECT_THROW(s.apply(std::vector<C>{C{99, {}}}, loop), DataError);
}

TEST(LoopStore, StatisticsCountOpenOverdueAgainstOnTime) {
    const auto& loop = setup().loop;
    auto record = [&](std::int64_t id, const char* cell, std::vector<Transition> steps) {
        IncidentRecord r;
        r.incident = loop.open({id, "0101", true, t("2026-03-02T09:00"), ""});
        for (const auto& s : steps)
            (void)loop.advance(r.incident, s);
        r.cell = cell;
        r.village = r.cell.substr(0, 12);
        r.township = r.cell.substr(0, 9);
        r.route_department = "D01";
        r.route_person = "routed";
        return r;
    };
    auto step = [](State to, const char* at, const char* department = "") {
        return Transition{to,          t(at), "", "reason", department, *department ? "p" : "",
                          std::nullopt};
    };
    const char* a = "14082410020001";
    const char* b = "14082410020102";
    auto closed = [&](std::int64_t id, const char* cell, const char* feedback, const char* close) {
        return record(id, cell,
                      {step(State::filed, "2026-03-02T09:05"),
                       step(State::dispatched, "2026-03-02T09:10", "D01"),
                       step(State::in_progress, "2026-03-02T09:20"),
                       step(State::feedback, feedback), step(State::closed, close)});
    };
    std::vector<IncidentRecord> rs;
    rs.push_back(closed(1, a, "2026-03-02T10:30", "2026-03-02T11:00"));      // 120 wm, on time
    rs.push_back(closed(2, a, "2026-03-02T16:00", "2026-03-02T16:30"));      // 300 wm, on time
    rs.push_back(closed(3, a, "2026-03-03T09:00", "2026-03-03T09:30"));      // 480 wm, late
    rs.push_back(record(4, a, {step(State::filed, "2026-03-02T09:05")}));    // open, overdue
    rs.push_back(record(5, b, {step(State::rejected, "2026-03-02T09:05")})); // not counted
    rs.push_back(record(6, b,
                        {step(State::filed, "2026-03-02T09:05"),
                         step(State::dispatched, "2026-03-02T09:10", "D02"),
                         step(State::returned, "2026-03-02T09:20")})); // open, overdue
    const auto at = t("2026-03-04T12:00");
    const auto by_cell = compute_stats(rs, StatsBy::cell, at, loop);
    ASSERT_EQ(by_cell.size(), 2u);
    EXPECT_EQ(by_cell[0].key, a);
    EXPECT_EQ(by_cell[0].total, 4u);
    EXPECT_EQ(by_cell[0].closed, 3u);
    EXPECT_EQ(by_cell[0].closed_on_time, 2u);
    EXPECT_EQ(by_cell[0].open_overdue, 1u);
    EXPECT_DOUBLE_EQ(by_cell[0].close_rate, 0.75);
    EXPECT_DOUBLE_EQ(by_cell[0].on_time_rate, 0.5);
    EXPECT_DOUBLE_EQ(by_cell[0].median_close_working_minutes, 300);
    EXPECT_EQ(by_cell[1].key, b);
    EXPECT_EQ(by_cell[1].total, 1u);
    EXPECT_EQ(by_cell[1].returns, 1u);
    EXPECT_DOUBLE_EQ(by_cell[1].on_time_rate, 0);

    const auto by_department = compute_stats(rs, StatsBy::department, at, loop);
    ASSERT_EQ(by_department.size(), 2u);
    EXPECT_EQ(by_department[0].key, "D01"); // four dispatched or routed to D01
    EXPECT_EQ(by_department[0].total, 4u);
    EXPECT_EQ(by_department[1].key, "D02");
    const auto by_person = compute_stats(rs, StatsBy::person, at, loop);
    EXPECT_EQ(by_person.size(), 2u); // "p" (dispatched) and "routed" (never dispatched)
    const auto by_township = compute_stats(rs, StatsBy::township, at, loop);
    ASSERT_EQ(by_township.size(), 1u);
    EXPECT_EQ(by_township[0].total, 5u);
    EXPECT_DOUBLE_EQ(by_township[0].median_close_working_minutes, 300);
    EXPECT_EQ(stats_by_from("village"), StatsBy::village);
    EXPECT_THROW((void)stats_by_from("county"), InputError);
}

TEST(LoopHistory, ReportsAreReadFromCsv) {
    const auto dir = test::temp_dir();
    auto write = [&](const std::string& text) {
        const auto path = (dir / "reports.csv").string();
        std::ofstream(path) << text;
        return path;
    };
    const std::string header = "id,category,lon,lat,reported_at,reporter\n";
    const auto good = read_reports_csv(write(header + "1,0101,110.91,35.64,2026-03-02T09:00,王五\n"
                                                      "2,0501,110.92,35.63,2026-03-02T01:00Z,\n"),
                                       &setup().catalogue);
    ASSERT_EQ(good.size(), 2u);
    EXPECT_EQ(good[0].reporter, "王五");
    EXPECT_DOUBLE_EQ(good[0].lonlat.x, 110.91);
    EXPECT_EQ(good[1].at, t("2026-03-02T09:00"));
    auto expect_error = [&](const std::string& row, const std::string& what) {
        const auto path = write(header + "1,0101,110.91,35.64,2026-03-02T09:00,a\n" + row);
        try {
            (void)read_reports_csv(path, &setup().catalogue);
            ADD_FAILURE() << "no error for " << row;
        } catch (const InputError& e) {
            EXPECT_EQ(e.context().line, 3) << e.what();
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    expect_error("1,0101,110.91,35.64,2026-03-02T09:00,b\n", "duplicate id 1");
    expect_error("2,0101,east,35.64,2026-03-02T09:00,b\n", "bad number 'east'");
    expect_error("2,0101,110.91,35.64,yesterday,b\n", "bad time 'yesterday'");
    expect_error("2,9999,110.91,35.64,2026-03-02T09:00,b\n", "unknown category '9999'");
    expect_error("x,0101,110.91,35.64,2026-03-02T09:00,b\n", "bad id 'x'");
    expect_error("2,0101,190,35.64,2026-03-02T09:00,b\n", "out of range");
}

TEST(LoopHistory, NinetyDaysAreReproducibleAndRebuildFromTheJournal) {
    sample::HistoryOptions options;
    options.end = t("2026-04-01T10:00");
    options.seed = 11;
    const auto history = sample::generate_history(context(), options);
    const auto again = sample::generate_history(context(), options);
    EXPECT_EQ(history.records, again.records);
    EXPECT_EQ(history.journal, again.journal);
    // About 60 a day on working days, fewer at weekends.
    EXPECT_GT(history.records.size(), 90u * 40u);
    EXPECT_LT(history.records.size(), 90u * 80u);

    std::map<std::int64_t, std::vector<Event>> journals;
    for (const auto& e : history.journal)
        journals[e.incident].push_back(e);
    std::map<State, std::size_t> states;
    std::size_t overdue = 0, late = 0, supervised = 0, returned = 0, outside = 0;
    for (const auto& r : history.records) {
        const auto& inc = r.incident;
        ASSERT_EQ(setup().loop.rebuild(inc.report, journals[inc.report.id]), inc) << inc.report.id;
        EXPECT_LE(inc.updated_at, options.end);
        EXPECT_GE(inc.report.reported_at, LocalTime{options.end.minutes - 91 * 24 * 60});
        ++states[inc.state];
        if (setup().loop.status(inc, options.end) == Status::overdue) ++overdue;
        late += inc.late;
        supervised += inc.supervised;
        returned += inc.returns > 0;
        outside += r.cell.empty();
    }
    EXPECT_GT(states[State::closed], history.records.size() / 2);
    EXPECT_GT(states[State::rejected], 0u);
    EXPECT_GT(states[State::backlog], 0u);
    EXPECT_GT(states[State::in_progress] + states[State::dispatched] + states[State::feedback], 0u);
    EXPECT_GT(overdue, 0u);
    EXPECT_GT(late, 0u);
    EXPECT_GT(supervised, 0u);
    EXPECT_GT(returned, 0u);
    EXPECT_LT(outside, history.records.size() / 100);
    options.seed = 12;
    EXPECT_NE(sample::generate_history(context(), options).records, history.records);

    // Stored and read back whole.
    auto s = LoopStore::open(new_workspace());
    s.insert(history.records, history.journal, setup().loop);
    EXPECT_EQ(s.incidents(), history.records);
    const auto id = history.records.back().incident.report.id;
    EXPECT_EQ(s.journal(id), journals[id]);
    EXPECT_THROW(s.insert(std::span(history.records).first(1), {}, setup().loop), StoreError);

    // Statistics straight from the store agree with those over the records.
    for (auto by : {StatsBy::cell, StatsBy::village, StatsBy::township, StatsBy::department,
                    StatsBy::person}) {
        const auto rows = compute_stats(history.records, by, options.end, setup().loop);
        EXPECT_EQ(s.stats(by, options.end, setup().loop), rows) << to_string(by);
        EXPECT_GT(rows.size(), 1u);
    }
}
