// Time travel on the Jishan sample: stats, list and show as of past times agree with an
// independent replay of the journal (loop_replay.hpp), including a time before any matter.
#include "loop_replay.hpp"
#include "test_support.hpp"
#include "wangge/loop/state_at.hpp"
#include "wangge/sample/jishan.hpp"
#include "wangge/sample/jishan_loop.hpp"
#include "wangge/store/sqlite.hpp"
#include "wangge/store/workspace.hpp"

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>

namespace {

using namespace wangge;
using loop::parse_time;

// The 90-day sample (about 19,400 matters), created once per test (CTest runs the tests of
// this file as parallel processes, each in its own folder).
const std::string& sample_workspace() {
    static const std::string path = [] {
        const auto p = (test::temp_dir() / "jishan.gpkg").string();
        {
            auto ws = store::Workspace::create(p);
            ws.add_version({.grid = sample::generate_jishan_grid({}), .note = "sample"});
        }
        (void)sample::write_jishan_loop(p, {});
        return p;
    }();
    return path;
}

const std::vector<const char*> times{"2025-12-01T00:00", "2026-01-05T10:00", "2026-02-17T15:00",
                                     "2026-03-01T09:30", "2026-03-15T11:20", "2026-04-01T09:30"};

TEST(LoopTimeTravel, StatsAtPastTimesMatchAReplayOfTheJournal) {
    const auto s = loop::Session::open(sample_workspace());
    const test::Replay replay(s->store());
    ASSERT_GT(replay.stored.size(), 19000u);
    for (const char* text : times) {
        const auto t = parse_time(text);
        const auto records = test::Replay::records(replay.at(s->loop(), t));
        for (auto by : {loop::StatsBy::township, loop::StatsBy::cell, loop::StatsBy::department,
                        loop::StatsBy::person}) {
            const auto expected = loop::compute_stats(records, by, t, s->loop());
            EXPECT_EQ(s->store().stats(by, t, s->loop()), expected)
                << text << " by " << loop::to_string(by);
        }
    }
    // Before any matter existed nothing is counted (not township 140824100 with 5,277).
    EXPECT_TRUE(s->store()
                    .stats(loop::StatsBy::township, parse_time("2025-12-01T00:00"), s->loop())
                    .empty());
}

// A store whose ids span more than 100,000 is read in two halves on two connections
// (LoopStore::stats); the halves must add up to the replay exactly. The sample's matters,
// journal and steps are copied at ids + 1,000,000 to get such a store.
TEST(LoopTimeTravel, StatsReadInTwoHalvesMatchAReplay) {
    const auto path = (test::temp_dir() / "jishan-twice.gpkg").string();
    std::filesystem::copy_file(sample_workspace(), path,
                               std::filesystem::copy_options::overwrite_existing);
    {
        store::sqlite::Connection db(path, false);
        db.exec("BEGIN");
        std::string cols;
        auto info = db.prepare("SELECT name FROM pragma_table_info('loop_incidents')");
        while (info.step())
            if (info.view(0) != "fid") cols += ", " + info.text(0);
        db.exec("INSERT INTO loop_incidents (fid" + cols + ") SELECT fid + 1000000" + cols +
                " FROM loop_incidents");
        db.exec("INSERT INTO loop_journal (incident, from_state, to_state, actor, at, note, "
                "department, person, deadline, approver, action) SELECT incident + 1000000, "
                "from_state, to_state, actor, at, note, department, person, deadline, approver, "
                "action FROM loop_journal ORDER BY fid");
        db.exec("INSERT INTO loop_steps (incident, seq, clock, department, person, started_at, "
                "due, ended_at, outcome) SELECT incident + 1000000, seq, clock, department, "
                "person, started_at, due, ended_at, outcome FROM loop_steps ORDER BY fid");
        db.exec("COMMIT");
    }
    const auto s = loop::Session::open(path);
    const test::Replay replay(s->store());
    ASSERT_GT(replay.stored.size(), 38000u);
    for (const char* text : {"2026-02-17T15:00", "2026-03-01T09:30", "2026-04-01T09:30"}) {
        const auto t = parse_time(text);
        const auto records = test::Replay::records(replay.at(s->loop(), t));
        for (auto by : {loop::StatsBy::township, loop::StatsBy::cell}) {
            const auto expected = loop::compute_stats(records, by, t, s->loop());
            EXPECT_EQ(s->store().stats(by, t, s->loop()), expected)
                << text << " by " << loop::to_string(by);
        }
    }
}

TEST(LoopTimeTravel, ListAndShowAtPastTimesMatchAReplay) {
    const auto s = loop::Session::open(sample_workspace());
    const test::Replay replay(s->store());
    for (const char* text : times) {
        const auto t = parse_time(text);
        const auto expected = replay.at(s->loop(), t);
        // Every matter, with its state and status at t.
        const auto all = loop::matters_at(s->store(), s->loop(), t);
        ASSERT_EQ(all.size(), expected.size()) << text;
        std::size_t replayed = 0;
        for (std::size_t i = 0; i < all.size(); ++i) {
            ASSERT_EQ(all[i].record, expected[i].record) << text << " #" << i;
            ASSERT_EQ(all[i].status, expected[i].status) << text << " #" << i;
            replayed += all[i].replayed ? 1 : 0;
        }
        if (std::string(text) == "2026-03-01T09:30") {
            EXPECT_GT(replayed, 100u);
        }
        // Each filter the list offers, against the replay filtered by hand.
        for (auto status : loop::all_statuses) {
            std::set<std::int64_t> want, got;
            for (const auto& m : expected)
                if (m.status == status) want.insert(m.record.incident.report.id);
            for (const auto& m : loop::matters_at(s->store(), s->loop(), t, {.status = status}))
                got.insert(m.record.incident.report.id);
            EXPECT_EQ(got, want) << text << " status " << loop::to_string(status);
        }
        for (auto state : {loop::State::in_progress, loop::State::closed, loop::State::feedback,
                           loop::State::backlog}) {
            std::size_t want = 0;
            for (const auto& m : expected)
                want += m.record.incident.state == state ? 1 : 0;
            EXPECT_EQ(loop::matters_at(s->store(), s->loop(), t, {.state = state}).size(), want)
                << text << " state " << loop::to_string(state);
        }
        std::size_t open = 0;
        for (const auto& m : expected)
            open += loop::is_final(m.record.incident.state) ? 0 : 1;
        EXPECT_EQ(loop::matters_at(s->store(), s->loop(), t, {.open_only = true}).size(), open);
        // show: a few matters one by one.
        for (std::size_t i = 0; i < expected.size(); i += 997) {
            const auto& e = expected[i];
            const auto m = loop::matter_at(s->store(), s->loop(), e.record.incident.report.id, t);
            ASSERT_TRUE(m);
            EXPECT_EQ(m->record, e.record);
            EXPECT_EQ(m->status, e.status);
        }
    }
    // None at all before any report.
    EXPECT_TRUE(loop::matters_at(s->store(), s->loop(), parse_time("2025-12-01T00:00")).empty());
}

TEST(LoopTimeTravel, AMatterReportedAfterTDoesNotExistAtT) {
    const auto s = loop::Session::open(sample_workspace());
    // The newest matter: it exists from its report on, not a minute before.
    const auto last = s->store().incident(s->store().incident_ids().back());
    ASSERT_TRUE(last);
    const auto reported = last->incident.report.reported_at;
    EXPECT_FALSE(
        loop::matter_at(s->store(), s->loop(), last->incident.report.id, {reported.minutes - 1}));
    const auto m = loop::matter_at(s->store(), s->loop(), last->incident.report.id, reported);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->record.incident.state, loop::State::reported);

    // Through the command: show refuses with exit 2, list at that time does not list it.
    const std::string w = std::string(WANGGE_BINARY) + " ";
    const auto id = std::to_string(last->incident.report.id);
    const auto before = loop::format_time({reported.minutes - 1});
    const auto out = [](const std::string& cmd, int* rc) {
        std::string text;
        FILE* p = popen((cmd + " 2>&1").c_str(), "r");
        char buf[4096];
        while (std::fgets(buf, sizeof buf, p))
            text += buf;
        const int status = pclose(p);
        *rc = WEXITSTATUS(status);
        return text;
    };
    int rc = 0;
    auto text = out(w + "incidents show " + sample_workspace() + " " + id + " --at " + before, &rc);
    EXPECT_EQ(rc, 2) << text;
    EXPECT_NE(text.find("did not exist at " + before), std::string::npos) << text;
    text =
        out(w + "incidents list " + sample_workspace() + " --status reported --at " + before, &rc);
    EXPECT_EQ(rc, 0) << text;
    EXPECT_EQ(text.find(" " + id + "  "), std::string::npos) << text;
}

} // namespace

namespace {

// Who was late: departments and persons are judged only on the handle steps they owned, at
// every time, and the stored steps are those the journal gives.
TEST(LoopTimeTravel, DepartmentsAreJudgedOnlyOnTheirOwnSteps) {
    const auto s = loop::Session::open(sample_workspace());
    const test::Replay replay(s->store());
    std::vector<loop::Step> steps;
    std::size_t late_dispatch_only = 0;
    for (const auto& r : replay.stored) {
        const auto& journal = replay.journal.at(r.incident.report.id);
        const auto mine = loop::steps_of(s->loop(), r.incident.report, journal);
        ASSERT_EQ(s->store().steps(r.incident.report.id), mine) << r.incident.report.id;
        bool dispatch_late = false, handle_late = false, handled = false;
        for (const auto& st : mine) {
            if (st.clock == loop::Clock::dispatch && st.ended_late()) dispatch_late = true;
            if (st.clock == loop::Clock::handle) {
                handled = true;
                handle_late = handle_late || st.ended_late();
            }
        }
        if (handled && dispatch_late && !handle_late && loop::is_final(r.incident.state))
            ++late_dispatch_only;
        steps.insert(steps.end(), mine.begin(), mine.end());
    }
    // Matters late only in the centre's dispatch exist in the sample, and none of them
    // makes a department late.
    EXPECT_GT(late_dispatch_only, 100u);
    for (const char* text : times) {
        const auto t = parse_time(text);
        for (auto by : {loop::StatsBy::department, loop::StatsBy::person})
            EXPECT_EQ(s->store().step_stats(by, t), loop::compute_step_stats(steps, by, t)) << text;
    }
    // Self-handled matters have no handle step: no department is credited with them.
    for (const auto& st : steps)
        if (st.clock == loop::Clock::handle) {
            EXPECT_FALSE(st.department.empty());
        }
}

} // namespace
