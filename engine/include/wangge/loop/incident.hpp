// The six-step closed loop (六步闭环) as a state machine with an append-only journal.
//
// States and the only legal transitions:
//   reported     -> filed | rejected | self_handled
//   self_handled -> closed (verified on site) | filed (verification failed: a normal case)
//   filed        -> dispatched
//   dispatched   -> in_progress | returned (mis-dispatch, reason required)
//   returned     -> dispatched (re-dispatch)
//   in_progress  -> feedback | extended (new deadline, reason and approver required)
//                   | backlog (reason and approver required; optional review date)
//   extended     -> in_progress | feedback
//   backlog      -> in_progress (resumed)
//   feedback     -> closed (verified) | rework (reason required)
//   rework       -> dispatched
//   rejected, closed: final.
// A self-handled minor matter (自行处置) is fixed by the worker on the spot, yet still
// verified: reported -> self_handled -> closed, with the verification clock running.
// Supervision (督办) is a flag any open matter may get and lose (who and why required); it is
// journalled as an event whose from and to are the same state.
// Options apply only to the moves they belong to, and are refused elsewhere: department and
// person to dispatched (the department must be in the catalogue); deadline to extended (it
// may only lengthen the running deadline, by at most the category's handle limit counted
// from it) and to backlog (a review date); approver to extended and backlog. A re-dispatch
// after a return to the department that returned it needs a reason.
//
// Clocks: every step has a deadline from the category's limits and the calendar.
//   dispatch clock: reported, filed, returned, rework (start: entering the step)
//   handle clock:   dispatched, in_progress, extended, backlog (start: dispatch; backlog
//                   keeps the running deadline or sets its approved review date, so parking
//                   a matter never gives it a fresh clock)
//   verify clock:   feedback, self_handled (start: feedback or self-handling; town or
//                   countryside limit)
//   no clock:       rejected, closed
// Leaving a clock (or extending it) after its deadline marks the matter late; a matter
// closed late or with any late step counts as closed_late.
//
// Status at a time T (T not before the last event): rejected for a rejected matter,
// closed_on_time / closed_late for a closed one; otherwise overdue when T is after the step's
// deadline, warning when at least `warning_fraction` of the step's allowed time (working or
// natural, as its limit) is used, else on_time. A backlog matter has no clock and is on_time.
//
// Ownership and threading: Loop keeps references to a Catalogue and a Calendar that must
// outlive it; all its members are const and safe to call from many threads at once on
// different incidents.
#pragma once

#include "wangge/loop/calendar.hpp"
#include "wangge/loop/catalogue.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wangge::loop {

enum class State {
    reported,
    self_handled,
    filed,
    rejected,
    dispatched,
    returned,
    in_progress,
    extended,
    backlog,
    feedback,
    rework,
    closed
};

inline constexpr std::array<State, 12> all_states{
    State::reported,   State::self_handled, State::filed,       State::rejected,
    State::dispatched, State::returned,     State::in_progress, State::extended,
    State::backlog,    State::feedback,     State::rework,      State::closed};

[[nodiscard]] std::string_view to_string(State state);
[[nodiscard]] State state_from(std::string_view text); // throws InputError
[[nodiscard]] bool is_final(State state);
[[nodiscard]] std::span<const State> allowed_next(State from);
[[nodiscard]] bool is_allowed(State from, State to);

enum class Status { on_time, warning, overdue, closed_on_time, closed_late, rejected };
inline constexpr std::array<Status, 6> all_statuses{Status::on_time,     Status::warning,
                                                    Status::overdue,     Status::closed_on_time,
                                                    Status::closed_late, Status::rejected};
[[nodiscard]] std::string_view to_string(Status status);

// The facts of a report, fixed when it is made.
struct NewIncident {
    std::int64_t id = 0;
    std::string category;
    bool urban = true; // chooses the town or countryside verification limit
    LocalTime reported_at;
    std::string reporter;
    std::string note; // the reporter's description
    friend bool operator==(const NewIncident&, const NewIncident&) = default;
};

// A requested move to another state.
struct Transition {
    State to = State::filed;
    LocalTime at;
    std::string actor;
    std::string note;                  // the reason where one is required
    std::string department;            // dispatched: the department it goes to (required)
    std::string person;                // dispatched: the person, may be empty
    std::optional<LocalTime> deadline; // extended: the new deadline (required); backlog: review
    std::string approver;              // extended, backlog: who approved it (required)
};

// One line of the append-only journal.
struct Event {
    std::int64_t incident = 0;
    State from = State::reported;
    State to = State::reported; // == from for a supervision order
    std::string actor;
    LocalTime at;
    std::string note;
    std::string department;
    std::string person;
    std::optional<LocalTime> deadline;
    std::string approver;
    bool lifts_supervision = false; // a supervision event that lifts it
    [[nodiscard]] bool is_supervision() const noexcept { return from == to; }
    friend bool operator==(const Event&, const Event&) = default;
};

// The move a journal line records (a return's department is the returning one, not an option).
[[nodiscard]] Transition transition_of(const Event& event);

enum class Clock { none, dispatch, handle, verify };
[[nodiscard]] Clock clock_of(State state);
[[nodiscard]] std::string_view to_string(Clock clock); // none, dispatch, handle, verify
[[nodiscard]] Clock clock_from(std::string_view text); // throws InputError

struct Incident {
    NewIncident report;
    State state = State::reported;
    bool supervised = false;
    LocalTime updated_at;
    // The running clock of the current step; unset when the state has none.
    std::optional<LocalTime> step_started;
    std::optional<LocalTime> due;
    TimeUnit due_unit = TimeUnit::natural_minutes;
    bool late = false;                  // some step ended (or was extended) after its deadline
    std::optional<LocalTime> closed_at; // closed or rejected
    std::string department;
    std::string person;
    int returns = 0;
    int reworks = 0;
    int extensions = 0;
    friend bool operator==(const Incident&, const Incident&) = default;
};

struct LoopOptions {
    double warning_fraction = 0.8;
    // New deadlines outside the calendar's covered years: refused (the default), or counted
    // Mon-Fri when a command is told so (--allow-backdated). Replayed journals always count.
    Calendar::Uncovered uncovered = Calendar::Uncovered::refuse;
};

class Loop {
  public:
    Loop(const Catalogue& catalogue, const Calendar& calendar, LoopOptions options = {});

    // A new incident in state `reported` with its dispatch clock running. Throws DataError
    // for an unknown category.
    [[nodiscard]] Incident open(const NewIncident& report) const;
    // The same with the calendar rule for a deadline outside its years given (weekdays to
    // replay a recorded matter).
    [[nodiscard]] Incident open(const NewIncident& report, Calendar::Uncovered uncovered) const;
    // Moves the incident and returns the journal line. On any error (illegal transition,
    // missing reason, time before the last event) throws DataError and changes nothing;
    // the message of an illegal transition lists the allowed ones.
    Event advance(Incident& incident, const Transition& transition) const;
    // Puts an open matter under supervision (督办).
    Event supervise(Incident& incident, LocalTime at, const std::string& actor,
                    const std::string& note) const;
    // Lifts it (the matter must be under supervision). A closed matter keeps its flag: it
    // was a supervised matter.
    Event lift_supervision(Incident& incident, LocalTime at, const std::string& actor,
                           const std::string& note) const;
    // Replays a journal (in order); throws DataError when it does not fit the report.
    [[nodiscard]] Incident rebuild(const NewIncident& report, std::span<const Event> journal) const;
    // The status of the incident as it is, at a time not before its last event.
    [[nodiscard]] Status status(const Incident& incident, LocalTime at) const;

    [[nodiscard]] const Catalogue& catalogue() const noexcept { return *m_catalogue; }
    [[nodiscard]] const Calendar& calendar() const noexcept { return *m_calendar; }
    [[nodiscard]] const LoopOptions& options() const noexcept { return m_options; }
    // The limit of a clock for an incident (verify: town or countryside).
    [[nodiscard]] TimeLimit limit(const Incident& incident, Clock clock) const;
    [[nodiscard]] TimeLimit limit(const StepLimits& limits, bool urban, Clock clock) const;

    // Which rules a move is checked against: all of them for a new move; for a recorded one
    // (a journal replayed) only the state machine and the order of time, so a journal written
    // under earlier, looser rules stays readable.
    enum class Checks { all, recorded };
    // The same as advance() with the category's limits already looked up: for bulk work.
    Event advance(Incident& incident, const Transition& transition, const StepLimits& limits,
                  Checks checks = Checks::all) const;

  private:
    const Catalogue* m_catalogue;
    const Calendar* m_calendar;
    LoopOptions m_options;
};

} // namespace wangge::loop
