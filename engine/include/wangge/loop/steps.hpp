// Who was late: the steps of a matter, each with its owner and its own deadline.
//
// A step is one run of a clock (incident.hpp) and belongs to whoever must act in it:
//   dispatch  the command centre files and dispatches (reported, filed, returned, rework)
//   handle    the department (and person) the matter was dispatched to, from dispatch to
//             feedback or return (dispatched, in_progress, extended, backlog)
//   verify    the command centre verifies on site and closes (feedback, self_handled)
// A step ends when its clock ends; it is late when it ends after its deadline, or, while
// it runs, once the time is past its deadline. An extension ends the running handle step
// (late when granted after its deadline) and opens a new handle step with the new
// deadline. A return ends the department's handle step (late only if the department
// returned it after its own deadline); the re-dispatch that follows is a centre dispatch
// step, so the time lost to a mis-dispatch counts against the centre's dispatching.
// Backlog keeps the handle clock (or a stated review date), so parking a matter never
// gives it a fresh deadline.
//
// Steps are derived from the journal (steps_of) and stored beside it (loop_steps) so that
// statistics per department or person read them in SQL; the journal stays the truth.
#pragma once

#include "wangge/loop/incident.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wangge::loop {

struct Step {
    std::int64_t incident = 0;
    int seq = 0; // 0, 1, ... in the matter's order
    Clock clock = Clock::dispatch;
    std::string department; // handle steps: the department dispatched to; else ""
    std::string person;     // handle steps: the person dispatched to, may be ""
    LocalTime started;
    std::optional<LocalTime> due;
    std::optional<LocalTime> ended; // unset while the step runs
    std::optional<State> outcome;   // the state that ended it
    [[nodiscard]] bool ended_late() const { return ended && due && *ended > *due; }
    friend bool operator==(const Step&, const Step&) = default;
};

// The steps of a matter from its report and journal (the same replay as Loop::rebuild).
[[nodiscard]] std::vector<Step> steps_of(const Loop& loop, const NewIncident& report,
                                         std::span<const Event> journal);

} // namespace wangge::loop
