// Every refusal of the loop's commands exits 2, names the matter (or report) and the move,
// and leaves the workspace file byte for byte as it was (issue 9 "Bad input", issue 10
// items 1-2: times outside the calendar, far-future and pre-calendar reports).
#include "test_process.hpp"
#include "test_support.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using wangge::test::data;
using wangge::test::slurp;

struct Workspace {
    fs::path dir = wangge::test::temp_dir();
    std::string ws = (dir / "ws.gpkg").string();
    fs::path log = dir / "log.txt";

    int run(std::vector<std::string> args) { return wangge::test::run_wangge(args, log); }
    void ok(std::vector<std::string> args) { ASSERT_EQ(run(args), 0) << slurp(log); }

    // Runs a command that must be refused: exit 2, the message contains every `expect`, and
    // the workspace file is byte-identical afterwards.
    void refused(const std::vector<std::string>& args, const std::vector<std::string>& expect) {
        const std::string before = slurp(ws);
        ASSERT_FALSE(before.empty());
        EXPECT_EQ(run(args), 2) << slurp(log);
        const std::string message = slurp(log);
        for (const auto& e : expect)
            EXPECT_NE(message.find(e), std::string::npos) << "'" << e << "' not in: " << message;
        EXPECT_TRUE(slurp(ws) == before) << "workspace changed by a refused command: " << message;
        EXPECT_FALSE(fs::exists(ws + "-journal"));
    }
};

// The tiny grid with the sample catalogue (2026 calendar) and duties; matter 1 in progress
// (0101, 5 working hours), matter 2 (0304, 15 working days) in progress near the year's end.
Workspace tiny_with_matters() {
    Workspace w;
    const std::string catalogue = WANGGE_CATALOGUE_DIR;
    w.ok({"grid", "import", data("tiny_grid.geojson"), "--workspace", w.ws});
    w.ok({"catalogue", "import", w.ws, catalogue});
    w.ok({"duties", "import", w.ws, data("loop_duties_tiny.csv")});
    const std::vector<std::string> at_point{"--lon", "110.957", "--lat", "35.625"};
    auto report = [&](const char* category, const char* at) {
        std::vector<std::string> a{"incidents", "report", w.ws, "--category", category, "--at", at};
        a.insert(a.end(), at_point.begin(), at_point.end());
        w.ok(a);
    };
    auto advance = [&](const char* id, const char* to, const char* at) {
        w.ok({"incidents", "advance", w.ws, id, "--to", to, "--at", at});
    };
    report("0101", "2026-03-02T09:15");
    advance("1", "filed", "2026-03-02T09:20");
    advance("1", "dispatched", "2026-03-02T09:25");
    advance("1", "in_progress", "2026-03-02T09:30");
    report("0304", "2026-11-30T09:00");
    advance("2", "filed", "2026-11-30T09:10");
    advance("2", "dispatched", "2026-11-30T09:20");
    advance("2", "in_progress", "2026-11-30T10:00");
    return w;
}

TEST(LoopRefusals, ReportTimesOutsideTheCalendarOrInTheFutureWriteNothing) {
    auto w = tiny_with_matters();
    auto report = [&](const char* at) {
        return std::vector<std::string>{"incidents", "report", w.ws,      "--category",
                                        "0101",      "--lon",  "110.957", "--lat",
                                        "35.625",    "--at",   at};
    };
    // Without --id the refusal names the id the report would most likely have had.
    w.refused(report("1900-01-01T10:00"),
              {"report 3 dated 1900-01-01T10:00 is before the calendar starts", "cover 2026",
               "nothing was recorded"});
    w.refused(report("1999-12-31T23:00"), {"1999-12-31T23:00 is before the calendar starts"});
    w.refused(report("2025-12-31T23:00"), {"--allow-backdated"});
    w.refused(report("2099-06-01T10:00"), {"2099-06-01T10:00 is in the future"});

    // The same rows in a CSV import: refused naming the report, nothing imported.
    const auto csv = w.dir / "reports.csv";
    std::ofstream(csv) << "id,category,lon,lat,reported_at,reporter\n"
                          "10,0101,110.957,35.625,2026-03-03T10:00,a\n"
                          "11,0101,110.957,35.625,1900-01-01T10:00,b\n";
    w.refused(
        {"incidents", "import", w.ws, csv.string(), "--at", "2026-03-04T00:00"},
        {"report 11 dated 1900-01-01T10:00 is before the calendar starts", "nothing was imported"});
    std::ofstream(csv) << "id,category,lon,lat,reported_at,reporter\n"
                          "12,0101,110.957,35.625,2098-03-03T10:00,a\n";
    w.refused({"incidents", "import", w.ws, csv.string(), "--at", "2099-01-01T00:00"},
              {"report 12 dated 2098-03-03T10:00 is in the future"});

    // --allow-backdated accepts a report from before the calendar (deadlines Mon-Fri).
    auto backdated = report("2025-12-31T23:00");
    backdated.push_back("--allow-backdated");
    w.ok(backdated);
    EXPECT_NE(slurp(w.log).find("deadlines counted Mon-Fri"), std::string::npos) << slurp(w.log);
    // And stats or lists at any time still answer.
    w.ok({"stats", w.ws, "--at", "2025-12-31T23:30"});
    w.ok({"incidents", "list", w.ws, "--at", "1990-01-01T00:00"});
}

TEST(LoopRefusals, MovesThatBreakTheRulesWriteNothing) {
    auto w = tiny_with_matters();
    auto advance = [&](const char* id, std::vector<std::string> more) {
        std::vector<std::string> a{"incidents", "advance", w.ws, id};
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    // Issue 10, item 1: an extension far outside the calendar.
    w.refused(advance("1", {"--to", "extended", "--reason", "r", "--approver", "boss", "--deadline",
                            "2150-01-01T00:00", "--at", "2026-03-02T10:00"}),
              {"incident 1: in_progress -> extended", "nothing was written"});
    // An extension into a year no calendar covers (within the category's limit).
    w.refused(advance("2", {"--to", "extended", "--reason", "r", "--approver", "boss", "--deadline",
                            "2027-01-05T10:00", "--at", "2026-12-01T10:00"}),
              {"incident 2: in_progress -> extended",
               "2027-01-05T10:00 falls in 2027, which no calendar covers"});
    // Illegal move: names the allowed ones.
    w.refused(advance("1", {"--to", "closed", "--at", "2026-03-02T10:00"}),
              {"incident 1: in_progress -> closed: not allowed", "feedback, extended, backlog"});
    // Options that do not apply to the move.
    w.refused(advance("1", {"--to", "feedback", "--department", "D02", "--at", "2026-03-02T10:00"}),
              {"incident 1: in_progress -> feedback", "applies only to a dispatch"});
    w.refused(advance("1", {"--to", "feedback", "--deadline", "2026-03-09T10:00", "--at",
                            "2026-03-02T10:00"}),
              {"incident 1: in_progress -> feedback", "deadline applies only"});
    // Extension and backlog need a reason and an approver; an extension only lengthens.
    w.refused(advance("1", {"--to", "extended", "--reason", "r", "--deadline", "2026-03-03T10:00",
                            "--at", "2026-03-02T10:00"}),
              {"an approver is required"});
    w.refused(advance("1", {"--to", "extended", "--reason", "r", "--approver", "boss", "--deadline",
                            "2026-03-02T09:00", "--at", "2026-03-02T10:00"}),
              {"must lengthen the deadline"});
    w.refused(advance("1", {"--to", "backlog", "--approver", "boss", "--at", "2026-03-02T10:00"}),
              {"a reason (note) is required"});
    // A move in the future, a supervision lifted that was never put.
    w.refused(advance("1", {"--to", "feedback", "--at", "2099-03-02T10:00"}),
              {"incident 1", "in the future"});
    w.refused({"incidents", "supervise", w.ws, "1", "--lift", "--actor", "a", "--reason", "r",
               "--at", "2026-03-02T10:00"},
              {"incident 1: is not under supervision"});
}

TEST(LoopRefusals, ACalendarYearImportedTwiceIsRefused) {
    auto w = tiny_with_matters();
    const std::string calendar = std::string(WANGGE_CATALOGUE_DIR) + "/calendar-2026.json";
    w.refused({"catalogue", "import", w.ws, WANGGE_CATALOGUE_DIR, "--calendar", calendar,
               "--calendar", calendar},
              {"a year is listed twice"});
    // Two years are combined: with a (generated, not official) 2027 calendar, the extension
    // into 2027 that was refused above is accepted.
    const auto y2027 = w.dir / "calendar-2027-test.json";
    std::ofstream(y2027) << R"j({"name": "test 2027 (generated, not official)", "years": [2027],
        "holidays": [{"from": "2027-01-01", "to": "2027-01-03"}]})j";
    w.ok({"catalogue", "import", w.ws, WANGGE_CATALOGUE_DIR, "--calendar", calendar, "--calendar",
          y2027.string()});
    EXPECT_NE(slurp(w.log).find("covers 2026-2027"), std::string::npos) << slurp(w.log);
    w.ok({"incidents", "advance", w.ws, "2", "--to", "extended", "--reason", "r", "--approver",
          "boss", "--deadline", "2027-01-05T10:00", "--at", "2026-12-01T10:00"});
}

} // namespace
