#include "wangge/error.hpp"
#include "wangge/loop/incident.hpp"
#include "wangge/loop/state_at.hpp"

#include <gtest/gtest.h>
#include <map>
#include <set>

using namespace wangge;
using namespace wangge::loop;

namespace {

struct Fixture {
    Catalogue catalogue = Catalogue::load(WANGGE_CATALOGUE_DIR);
    Calendar calendar = Calendar::load(std::string(WANGGE_CATALOGUE_DIR) + "/calendar-2026.json");
    Loop loop{catalogue, calendar};
};

const Fixture& fx() {
    static const Fixture f;
    return f;
}

LocalTime t(const char* text) {
    return parse_time(text);
}

// A transition carrying whatever the target state requires.
// An extension moves the running deadline by an hour.
Transition to(State s, LocalTime at, const Incident* incident = nullptr) {
    Transition tr{s, at, "tester", "", "", "", std::nullopt};
    if (s == State::returned || s == State::extended || s == State::rejected ||
        s == State::backlog || s == State::rework)
        tr.note = "reason";
    if (s == State::dispatched) {
        tr.department = "D01";
        tr.person = "张三";
        tr.note = "reason"; // a re-dispatch to the returning department needs one
    }
    if (s == State::extended || s == State::backlog) tr.approver = "副主任";
    if (s == State::extended)
        tr.deadline = incident && incident->due ? LocalTime{incident->due->minutes + 60}
                                                : LocalTime{at.minutes + 6 * 60};
    return tr;
}

// The shortest legal path from reported to each state.
const std::map<State, std::vector<State>>& paths() {
    using S = State;
    static const std::map<S, std::vector<S>> p{
        {S::reported, {}},
        {S::self_handled, {S::self_handled}},
        {S::filed, {S::filed}},
        {S::rejected, {S::rejected}},
        {S::dispatched, {S::filed, S::dispatched}},
        {S::returned, {S::filed, S::dispatched, S::returned}},
        {S::in_progress, {S::filed, S::dispatched, S::in_progress}},
        {S::extended, {S::filed, S::dispatched, S::in_progress, S::extended}},
        {S::backlog, {S::filed, S::dispatched, S::in_progress, S::backlog}},
        {S::feedback, {S::filed, S::dispatched, S::in_progress, S::feedback}},
        {S::rework, {S::filed, S::dispatched, S::in_progress, S::feedback, S::rework}},
        {S::closed, {S::filed, S::dispatched, S::in_progress, S::feedback, S::closed}},
    };
    return p;
}

NewIncident street_report(std::int64_t id = 1, bool urban = true) {
    return {id, "0101", urban, t("2026-03-02T09:00"), "网格员王五"};
}

Incident reach(State s, std::vector<Event>* journal = nullptr) {
    Incident inc = fx().loop.open(street_report());
    LocalTime at = inc.report.reported_at;
    for (const auto step : paths().at(s)) {
        at.minutes += 5;
        auto e = fx().loop.advance(inc, to(step, at, &inc));
        if (journal) journal->push_back(e);
    }
    return inc;
}

} // namespace

TEST(Loop, StatesHaveNames) {
    for (const auto s : all_states)
        EXPECT_EQ(state_from(to_string(s)), s);
    EXPECT_THROW((void)state_from("done"), InputError);
    EXPECT_EQ(paths().size(), all_states.size());
}

// Every (from, to) pair: legal ones succeed, the rest throw DataError naming the allowed
// states and leave the incident untouched.
TEST(Loop, EveryTransitionIsLegalOrRejected) {
    using S = State;
    const std::set<std::pair<S, S>> legal{
        {S::reported, S::filed},         {S::reported, S::rejected},
        {S::reported, S::self_handled},  {S::self_handled, S::closed},
        {S::self_handled, S::filed},     {S::filed, S::dispatched},
        {S::dispatched, S::in_progress}, {S::dispatched, S::returned},
        {S::returned, S::dispatched},    {S::in_progress, S::feedback},
        {S::in_progress, S::extended},   {S::in_progress, S::backlog},
        {S::extended, S::in_progress},   {S::extended, S::feedback},
        {S::backlog, S::in_progress},    {S::feedback, S::closed},
        {S::feedback, S::rework},        {S::rework, S::dispatched}};
    int legal_seen = 0;
    for (const auto from : all_states) {
        for (const auto target : all_states) {
            Incident inc = reach(from);
            ASSERT_EQ(inc.state, from);
            const Incident before = inc;
            const LocalTime at{inc.updated_at.minutes + 5};
            EXPECT_EQ(is_allowed(from, target), legal.count({from, target}) == 1);
            if (legal.count({from, target})) {
                ++legal_seen;
                const Event e = fx().loop.advance(inc, to(target, at, &inc));
                EXPECT_EQ(inc.state, target);
                EXPECT_EQ(e.from, from);
                EXPECT_EQ(e.to, target);
                EXPECT_EQ(inc.updated_at, at);
            } else {
                try {
                    (void)fx().loop.advance(inc, to(target, at, &inc));
                    ADD_FAILURE() << to_string(from) << " -> " << to_string(target);
                } catch (const DataError& e) {
                    const std::string msg = e.what();
                    EXPECT_NE(msg.find("not allowed"), std::string::npos) << msg;
                    for (const auto ok : allowed_next(from))
                        EXPECT_NE(msg.find(std::string(to_string(ok))), std::string::npos) << msg;
                    if (is_final(from)) {
                        EXPECT_NE(msg.find("final"), std::string::npos) << msg;
                    }
                }
                EXPECT_EQ(inc, before) << to_string(from) << " -> " << to_string(target);
            }
        }
    }
    EXPECT_EQ(legal_seen, static_cast<int>(legal.size()));
}

TEST(Loop, RequiredDetailsAreChecked) {
    Incident inc = reach(State::dispatched);
    const Incident before = inc;
    auto returned = to(State::returned, t("2026-03-02T10:00"));
    returned.note.clear();
    EXPECT_THROW((void)fx().loop.advance(inc, returned), DataError);
    EXPECT_THROW((void)fx().loop.advance(inc, to(State::in_progress, t("2026-03-02T08:00"))),
                 DataError); // before the last event
    EXPECT_EQ(inc, before);

    Incident filed = reach(State::filed);
    auto dispatch = to(State::dispatched, t("2026-03-02T10:00"));
    dispatch.department.clear();
    EXPECT_THROW((void)fx().loop.advance(filed, dispatch), DataError);

    Incident working = reach(State::in_progress);
    auto extend = to(State::extended, t("2026-03-02T10:00"));
    extend.deadline.reset();
    EXPECT_THROW((void)fx().loop.advance(working, extend), DataError);
    extend.deadline = t("2026-03-02T09:59");
    EXPECT_THROW((void)fx().loop.advance(working, extend), DataError);

    Incident closed = reach(State::closed);
    EXPECT_THROW((void)fx().loop.supervise(closed, t("2026-03-03T10:00"), "县委", "督办"),
                 DataError);
    EXPECT_THROW((void)fx().loop.open({9, "9999", true, t("2026-03-02T09:00"), ""}), DataError);
}

TEST(Loop, JournalRebuildsTheCurrentState) {
    const auto report = street_report(42, false);
    Incident inc = fx().loop.open(report);
    std::vector<Event> journal;
    auto go = [&](State s, const char* at) {
        journal.push_back(fx().loop.advance(inc, to(s, t(at), &inc)));
    };
    go(State::filed, "2026-03-02T09:05");
    go(State::dispatched, "2026-03-02T09:10");
    go(State::returned, "2026-03-02T09:40");
    journal.push_back(fx().loop.supervise(inc, t("2026-03-02T09:50"), "县指挥中心", "督办"));
    go(State::dispatched, "2026-03-02T10:00");
    go(State::in_progress, "2026-03-02T10:30");
    go(State::extended, "2026-03-02T11:00");
    go(State::in_progress, "2026-03-03T09:00");
    go(State::backlog, "2026-03-03T10:00");
    go(State::in_progress, "2026-03-05T10:00");
    go(State::feedback, "2026-03-05T11:00");
    go(State::rework, "2026-03-05T12:00");
    go(State::dispatched, "2026-03-05T12:10");
    go(State::in_progress, "2026-03-05T14:40");
    go(State::feedback, "2026-03-05T15:00");
    const Incident open_state = inc;
    EXPECT_EQ(fx().loop.rebuild(report, journal), open_state);
    go(State::closed, "2026-03-05T16:00");
    EXPECT_EQ(fx().loop.rebuild(report, journal), inc);

    EXPECT_EQ(inc.returns, 1);
    EXPECT_EQ(inc.reworks, 1);
    EXPECT_EQ(inc.extensions, 1);
    EXPECT_TRUE(inc.supervised);
    EXPECT_EQ(inc.closed_at, t("2026-03-05T16:00"));
    EXPECT_EQ(inc.department, "D01");
    ASSERT_EQ(journal.size(), 16u);
    EXPECT_TRUE(journal[3].is_supervision());
    EXPECT_EQ(journal[6].deadline, t("2026-03-02T18:30")); // due 17:30 plus an hour
    // Prefixes rebuild the states along the way.
    EXPECT_EQ(fx().loop.rebuild(report, std::span(journal).first(3)).state, State::returned);
    EXPECT_EQ(fx().loop.rebuild(report, {}), fx().loop.open(report));

    // A journal that skips a step or belongs to another incident is refused.
    auto broken = journal;
    broken.erase(broken.begin() + 1);
    EXPECT_THROW((void)fx().loop.rebuild(report, broken), DataError);
    auto other = journal;
    other[0].incident = 7;
    EXPECT_THROW((void)fx().loop.rebuild(report, other), DataError);
}

// A journal written under earlier, looser rules (no reason on a re-dispatch to the returning
// department, no approver on a backlog) still replays: the rules check new moves, not history.
// A new move of the same kind is refused.
TEST(Loop, AJournalFromLooserRulesStillReplays) {
    const auto report = street_report(43);
    Incident inc = fx().loop.open(report);
    std::vector<Event> journal;
    auto go = [&](State s, const char* at) {
        journal.push_back(fx().loop.advance(inc, to(s, t(at), &inc)));
    };
    go(State::filed, "2026-03-02T09:05");
    go(State::dispatched, "2026-03-02T09:10");
    go(State::returned, "2026-03-02T09:40");
    go(State::dispatched, "2026-03-02T10:00");
    go(State::in_progress, "2026-03-02T10:30");
    go(State::backlog, "2026-03-02T11:00");
    journal[3].note.clear();     // re-dispatch to D01, which returned it, with no reason
    journal[5].approver.clear(); // backlog with no approver
    const Incident replayed = fx().loop.rebuild(report, journal);
    EXPECT_EQ(replayed.state, State::backlog);
    EXPECT_EQ(replayed.department, "D01");
    EXPECT_EQ(replayed.returns, 1);

    Incident again = fx().loop.rebuild(report, std::span(journal).first(3));
    auto redispatch = to(State::dispatched, t("2026-03-02T10:00"), &again);
    redispatch.note.clear();
    EXPECT_THROW((void)fx().loop.advance(again, redispatch), DataError);
    // A journal that breaks the state machine is still refused.
    auto broken = journal;
    broken[4].from = State::reported;
    EXPECT_THROW((void)fx().loop.rebuild(report, broken), DataError);
}

// Street cleaning (0101): dispatch 30 min, handle 5 working hours, verify 1 h in town.
// Reported Monday 2 March 2026 09:00.
TEST(Loop, StatusFollowsTheClocks) {
    const auto& loop = fx().loop;
    const auto report = street_report();
    std::vector<Event> j;
    Incident inc = loop.open(report);
    EXPECT_EQ(inc.due, t("2026-03-02T09:30"));
    // The time-travel rule (state_at.hpp) over the incident as it is now and its journal.
    auto status = [&](const char* at) {
        return loop.status(incident_at(loop, inc, j, t(at)), t(at));
    };
    EXPECT_EQ(status("2026-03-02T09:20"), Status::on_time); // 20 of 30 min
    EXPECT_EQ(status("2026-03-02T09:24"), Status::warning); // 24 of 30 = 80 %
    EXPECT_EQ(status("2026-03-02T09:30"), Status::warning); // at the deadline
    EXPECT_EQ(status("2026-03-02T09:31"), Status::overdue);

    j.push_back(loop.advance(inc, to(State::filed, t("2026-03-02T09:10"))));
    j.push_back(loop.advance(inc, to(State::dispatched, t("2026-03-02T09:20"))));
    // 5 working hours from 09:20: 160 min before lunch, 140 after: 16:50.
    EXPECT_EQ(inc.due, t("2026-03-02T16:50"));
    EXPECT_EQ(status("2026-03-02T13:00"), Status::on_time); // lunch: 160 of 300
    EXPECT_EQ(status("2026-03-02T15:00"), Status::on_time); // 190 of 300
    EXPECT_EQ(status("2026-03-02T16:00"), Status::warning); // 250 of 300
    EXPECT_EQ(status("2026-03-02T16:51"), Status::overdue);
    // Earlier times replay only the events up to them.
    EXPECT_EQ(status("2026-03-02T09:15"), Status::on_time);

    j.push_back(loop.advance(inc, to(State::in_progress, t("2026-03-02T10:00"))));
    j.push_back(loop.advance(inc, to(State::feedback, t("2026-03-02T16:00"))));
    EXPECT_EQ(inc.due, t("2026-03-02T17:00"));
    EXPECT_FALSE(inc.late);
    EXPECT_EQ(status("2026-03-02T16:30"), Status::on_time);
    EXPECT_EQ(status("2026-03-02T16:50"), Status::warning);
    EXPECT_EQ(status("2026-03-02T17:01"), Status::overdue);

    Incident on_time = inc;
    (void)loop.advance(on_time, to(State::closed, t("2026-03-02T16:40")));
    EXPECT_EQ(loop.status(on_time, t("2026-03-09T00:00")), Status::closed_on_time);
    Incident late = inc;
    (void)loop.advance(late, to(State::closed, t("2026-03-02T17:30")));
    EXPECT_EQ(loop.status(late, t("2026-03-09T00:00")), Status::closed_late);
}

TEST(Loop, ALateStepMakesTheCloseLate) {
    const auto& loop = fx().loop;
    Incident inc = loop.open(street_report());
    (void)loop.advance(inc, to(State::filed, t("2026-03-02T09:10")));
    (void)loop.advance(inc, to(State::dispatched, t("2026-03-02T09:20")));
    (void)loop.advance(inc, to(State::in_progress, t("2026-03-02T10:00")));
    (void)loop.advance(inc, to(State::feedback, t("2026-03-02T17:00"))); // due 16:50
    EXPECT_TRUE(inc.late);
    EXPECT_EQ(loop.status(inc, t("2026-03-02T17:10")), Status::on_time); // verify step
    (void)loop.advance(inc, to(State::closed, t("2026-03-02T17:30")));
    EXPECT_EQ(loop.status(inc, t("2026-03-02T17:30")), Status::closed_late);

    // Dispatching late is late too.
    Incident slow = loop.open(street_report());
    (void)loop.advance(slow, to(State::filed, t("2026-03-02T09:25")));
    EXPECT_FALSE(slow.late); // filing is inside the dispatch step
    (void)loop.advance(slow, to(State::dispatched, t("2026-03-02T09:45")));
    EXPECT_TRUE(slow.late);
}

TEST(Loop, ExtensionBacklogAndCountryside) {
    const auto& loop = fx().loop;
    Incident inc = loop.open(street_report(1, false));
    (void)loop.advance(inc, to(State::filed, t("2026-03-02T09:10")));
    (void)loop.advance(inc, to(State::dispatched, t("2026-03-02T09:20")));
    (void)loop.advance(inc, to(State::in_progress, t("2026-03-02T10:00")));
    auto extend = to(State::extended, t("2026-03-02T16:00"));
    extend.deadline = t("2026-03-03T12:00");
    (void)loop.advance(inc, extend);
    EXPECT_FALSE(inc.late);
    EXPECT_EQ(inc.due, t("2026-03-03T12:00"));
    // Allowed 580 working minutes from 09:20; at 17:00 310 are used.
    EXPECT_EQ(loop.status(inc, t("2026-03-02T17:00")), Status::on_time);
    EXPECT_EQ(loop.status(inc, t("2026-03-03T11:00")), Status::warning);
    EXPECT_EQ(loop.status(inc, t("2026-03-03T12:01")), Status::overdue);
    (void)loop.advance(inc, to(State::feedback, t("2026-03-03T11:00")));
    EXPECT_EQ(inc.due, t("2026-03-03T13:00")); // 2 h in the countryside
    EXPECT_EQ(loop.status(inc, t("2026-03-03T12:30")), Status::on_time);
    EXPECT_EQ(loop.status(inc, t("2026-03-03T12:36")), Status::warning);

    // The backlog keeps the handle clock: parking and resuming never gives a fresh deadline.
    Incident parked = reach(State::backlog);
    const auto due = parked.due;
    ASSERT_TRUE(due);
    EXPECT_EQ(loop.status(parked, t("2026-12-31T00:00")), Status::overdue);
    (void)loop.advance(parked, to(State::in_progress, t("2026-03-04T09:00")));
    EXPECT_EQ(parked.due, due);
}

TEST(Loop, IllegalBuildingAndSelfHandling) {
    const auto& loop = fx().loop;
    Incident inc = loop.open({5, "0304", true, t("2026-09-29T10:00"), ""});
    (void)loop.advance(inc, to(State::filed, t("2026-09-29T10:10")));
    (void)loop.advance(inc, to(State::dispatched, t("2026-09-30T10:00")));
    EXPECT_TRUE(inc.late);                     // dispatched a day after a 30 min limit
    EXPECT_EQ(inc.due, t("2026-10-27T10:00")); // 15 working days over National Day
    EXPECT_EQ(loop.status(inc, t("2026-10-20T10:00")), Status::on_time);
    EXPECT_EQ(loop.status(inc, t("2026-10-26T10:00")), Status::warning);

    Incident self = loop.open({6, "0101", true, t("2026-03-02T09:00"), "网格员"});
    (void)loop.advance(self, to(State::self_handled, t("2026-03-02T09:05")));
    EXPECT_EQ(self.due, t("2026-03-02T10:05")); // still verified within 1 h
    (void)loop.advance(self, to(State::closed, t("2026-03-02T09:30")));
    EXPECT_EQ(loop.status(self, t("2026-03-02T09:30")), Status::closed_on_time);

    Incident rejected = loop.open({7, "0101", true, t("2026-03-02T09:00"), ""});
    (void)loop.advance(rejected, to(State::rejected, t("2026-03-02T09:10")));
    EXPECT_EQ(loop.status(rejected, t("2026-03-02T09:10")), Status::rejected);
}
