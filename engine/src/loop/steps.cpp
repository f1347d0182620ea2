#include "wangge/loop/steps.hpp"

namespace wangge::loop {

std::vector<Step> steps_of(const Loop& loop, const NewIncident& report,
                           std::span<const Event> journal) {
    // A recorded journal: replayed under the state machine and time order only (incident.hpp).
    Incident inc = loop.open(report, Calendar::Uncovered::weekdays);
    const auto& limits = loop.catalogue().category_at(report.category).limits;
    std::vector<Step> steps;
    const auto begin = [&](LocalTime at) {
        Step s;
        s.incident = report.id;
        s.seq = static_cast<int>(steps.size());
        s.clock = clock_of(inc.state);
        if (s.clock == Clock::handle) {
            s.department = inc.department;
            s.person = inc.person;
        }
        s.started = at;
        s.due = inc.due;
        steps.push_back(std::move(s));
    };
    begin(report.reported_at);
    for (const auto& e : journal) {
        if (e.is_supervision()) {
            if (e.lifts_supervision)
                (void)loop.lift_supervision(inc, e.at, e.actor, e.note);
            else
                (void)loop.supervise(inc, e.at, e.actor, e.note);
            continue;
        }
        const Clock before = clock_of(inc.state);
        const auto due_before = inc.due;
        (void)loop.advance(inc, transition_of(e), limits, Loop::Checks::recorded);
        const Clock after = clock_of(inc.state);
        // A new deadline on the same clock (extension, backlog review date) starts a new step.
        if (before == after && inc.due == due_before) continue;
        Step& running = steps.back();
        running.ended = e.at;
        running.outcome = e.to;
        if (after != Clock::none) begin(e.at);
    }
    return steps;
}

} // namespace wangge::loop
