#include "wangge/loop/incident.hpp"

#include "wangge/error.hpp"

#include <algorithm>

namespace wangge::loop {

namespace {

using S = State;

// The transition table, one row per state (see the header).
constexpr std::array<S, 3> from_reported{S::filed, S::rejected, S::self_handled};
constexpr std::array<S, 2> from_self_handled{S::closed, S::filed};
constexpr std::array<S, 1> from_filed{S::dispatched};
constexpr std::array<S, 2> from_dispatched{S::in_progress, S::returned};
constexpr std::array<S, 1> from_returned{S::dispatched};
constexpr std::array<S, 3> from_in_progress{S::feedback, S::extended, S::backlog};
constexpr std::array<S, 2> from_extended{S::in_progress, S::feedback};
constexpr std::array<S, 1> from_backlog{S::in_progress};
constexpr std::array<S, 2> from_feedback{S::closed, S::rework};
constexpr std::array<S, 1> from_rework{S::dispatched};

std::string list(std::span<const State> states) {
    std::string out;
    for (const auto s : states) {
        if (!out.empty()) out += ", ";
        out += to_string(s);
    }
    return out.empty() ? "none (final state)" : out;
}

std::string incident_label(const Incident& incident) {
    return "incident " + std::to_string(incident.report.id);
}

} // namespace

std::string_view to_string(State state) {
    switch (state) {
    case S::reported:
        return "reported";
    case S::self_handled:
        return "self_handled";
    case S::filed:
        return "filed";
    case S::rejected:
        return "rejected";
    case S::dispatched:
        return "dispatched";
    case S::returned:
        return "returned";
    case S::in_progress:
        return "in_progress";
    case S::extended:
        return "extended";
    case S::backlog:
        return "backlog";
    case S::feedback:
        return "feedback";
    case S::rework:
        return "rework";
    case S::closed:
        return "closed";
    }
    return "?";
}

State state_from(std::string_view text) {
    for (const auto s : all_states)
        if (to_string(s) == text) return s;
    throw InputError("unknown incident state '" + std::string(text) + "' (expected one of " +
                     list(all_states) + ")");
}

bool is_final(State state) {
    return state == S::rejected || state == S::closed;
}

std::span<const State> allowed_next(State from) {
    switch (from) {
    case S::reported:
        return from_reported;
    case S::self_handled:
        return from_self_handled;
    case S::filed:
        return from_filed;
    case S::dispatched:
        return from_dispatched;
    case S::returned:
        return from_returned;
    case S::in_progress:
        return from_in_progress;
    case S::extended:
        return from_extended;
    case S::backlog:
        return from_backlog;
    case S::feedback:
        return from_feedback;
    case S::rework:
        return from_rework;
    case S::rejected:
    case S::closed:
        return {};
    }
    return {};
}

bool is_allowed(State from, State to) {
    const auto next = allowed_next(from);
    return std::find(next.begin(), next.end(), to) != next.end();
}

std::string_view to_string(Status status) {
    switch (status) {
    case Status::on_time:
        return "on_time";
    case Status::warning:
        return "warning";
    case Status::overdue:
        return "overdue";
    case Status::closed_on_time:
        return "closed_on_time";
    case Status::closed_late:
        return "closed_late";
    case Status::rejected:
        return "rejected";
    }
    return "?";
}

Clock clock_of(State state) {
    switch (state) {
    case S::reported:
    case S::filed:
    case S::returned:
    case S::rework:
        return Clock::dispatch;
    case S::dispatched:
    case S::in_progress:
    case S::extended:
    case S::backlog:
        return Clock::handle;
    case S::feedback:
    case S::self_handled:
        return Clock::verify;
    case S::rejected:
    case S::closed:
        return Clock::none;
    }
    return Clock::none;
}

std::string_view to_string(Clock clock) {
    switch (clock) {
    case Clock::none:
        return "none";
    case Clock::dispatch:
        return "dispatch";
    case Clock::handle:
        return "handle";
    case Clock::verify:
        return "verify";
    }
    return "?";
}

Clock clock_from(std::string_view text) {
    for (auto c : {Clock::none, Clock::dispatch, Clock::handle, Clock::verify})
        if (to_string(c) == text) return c;
    throw InputError("unknown clock '" + std::string(text) + "'");
}

Transition transition_of(const Event& e) {
    Transition t{e.to, e.at, e.actor, e.note, e.department, e.person, e.deadline, e.approver};
    if (e.to != State::dispatched) {
        t.department.clear();
        t.person.clear();
    }
    return t;
}

Loop::Loop(const Catalogue& catalogue, const Calendar& calendar, LoopOptions options)
    : m_catalogue(&catalogue), m_calendar(&calendar), m_options(options) {}

TimeLimit Loop::limit(const StepLimits& limits, bool urban, Clock clock) const {
    switch (clock) {
    case Clock::dispatch:
        return limits.dispatch;
    case Clock::handle:
        return limits.handle;
    case Clock::verify:
        return urban ? limits.verify_urban : limits.verify_rural;
    case Clock::none:
        break;
    }
    return {};
}

TimeLimit Loop::limit(const Incident& incident, Clock clock) const {
    return limit(m_catalogue->category_at(incident.report.category).limits, incident.report.urban,
                 clock);
}

Incident Loop::open(const NewIncident& report) const {
    return open(report, m_options.uncovered);
}

Incident Loop::open(const NewIncident& report, Calendar::Uncovered uncovered) const {
    const auto& category = m_catalogue->category_at(report.category);
    Incident incident;
    incident.report = report;
    incident.updated_at = report.reported_at;
    const TimeLimit l = category.limits.dispatch;
    incident.step_started = report.reported_at;
    incident.due = m_calendar->add(report.reported_at, l, uncovered);
    incident.due_unit = l.unit;
    return incident;
}

// The rules a new move must follow (reasons, approvers, who may get it, how far a deadline
// may move); throws through `fail`.
namespace {
template <class Fail>
void check_policy(const Incident& incident, const Transition& t, const StepLimits& limits,
                  const Calendar& calendar, Calendar::Uncovered uncovered,
                  const Catalogue& catalogue, Fail&& fail) {
    const State from = incident.state;
    const bool needs_reason = t.to == S::returned || t.to == S::extended || t.to == S::rejected ||
                              t.to == S::backlog || t.to == S::rework;
    if (needs_reason && t.note.empty()) throw fail("a reason (note) is required");
    const bool approved = t.to == S::extended || t.to == S::backlog;
    if (approved && t.approver.empty()) throw fail("an approver is required");
    if (!approved && !t.approver.empty()) throw fail("an approver does not apply to this move");
    if (t.to != S::dispatched && (!t.department.empty() || !t.person.empty()))
        throw fail("a department or person applies only to a dispatch");
    if (t.deadline && !approved)
        throw fail("a deadline applies only to an extension or a backlog review date");
    if (t.to == S::dispatched) {
        if (!catalogue.department(t.department))
            throw fail("unknown department '" + t.department + "' (not in the catalogue)");
        if (from == S::returned && t.department == incident.department && t.note.empty())
            throw fail("re-dispatch to " + t.department +
                       ", the department that returned it, needs a reason (note)");
    }
    if (t.to == S::extended) {
        if (!incident.due || *t.deadline <= *incident.due)
            throw fail("an extension must lengthen the deadline (now " +
                       (incident.due ? format_time(*incident.due) : std::string("none")) + ")");
        if (uncovered == Calendar::Uncovered::refuse && !calendar.covers(*t.deadline))
            calendar.require_covered(*t.deadline, "the new deadline");
        const LocalTime most = calendar.add(*incident.due, limits.handle, uncovered);
        if (*t.deadline > most)
            throw fail("the new deadline " + format_time(*t.deadline) +
                       " is beyond what the category allows (at most " +
                       format_limit(limits.handle) + " more: " + format_time(most) + ")");
    }
    if (t.to == S::backlog && t.deadline && *t.deadline <= t.at)
        throw fail("the review date is not after the move");
    if (t.to == S::backlog && t.deadline && uncovered == Calendar::Uncovered::refuse)
        calendar.require_covered(*t.deadline, "the review date");
}
} // namespace

Event Loop::advance(Incident& incident, const Transition& t) const {
    return advance(incident, t, m_catalogue->category_at(incident.report.category).limits);
}

Event Loop::advance(Incident& incident, const Transition& t, const StepLimits& limits,
                    Checks checks) const {
    const State from = incident.state;
    auto fail = [&](const std::string& why) -> DataError {
        return DataError(incident_label(incident) + ": " + std::string(to_string(from)) + " -> " +
                         std::string(to_string(t.to)) + ": " + why);
    };
    if (!is_allowed(from, t.to))
        throw fail("not allowed; allowed from " + std::string(to_string(from)) + ": " +
                   list(allowed_next(from)));
    if (t.at < incident.updated_at)
        throw fail("time " + format_time(t.at) + " is before the last event (" +
                   format_time(incident.updated_at) + ")");
    if (t.to == S::dispatched && t.department.empty()) throw fail("a department is required");
    if (t.to == S::extended && !t.deadline) throw fail("a new deadline is required");
    // The rules below are for new moves. A journal being replayed holds moves accepted under
    // the rules of their day, and must stay readable when the rules tighten.
    const auto uncovered =
        checks == Checks::recorded ? Calendar::Uncovered::weekdays : m_options.uncovered;
    if (checks == Checks::all) {
        try {
            check_policy(incident, t, limits, *m_calendar, uncovered, *m_catalogue, fail);
        } catch (const InputError& e) {
            throw fail(e.message()); // a calendar refusal, named with the matter and the move
        }
    }

    // Work on a copy so that a failure below leaves the incident as it was.
    Incident next = incident;
    const Clock clock_from = clock_of(from);
    const Clock clock_to = clock_of(t.to);
    const bool new_deadline = t.to == S::extended || (t.to == S::backlog && t.deadline);
    const bool clock_ends = clock_from != clock_to || new_deadline;
    if (clock_ends && next.due && t.at > *next.due) next.late = true;
    if (new_deadline) {
        next.due = t.deadline;
        if (t.to == S::extended) ++next.extensions;
    } else if (clock_from != clock_to) {
        if (clock_to == Clock::none) {
            next.step_started.reset();
            next.due.reset();
        } else {
            const TimeLimit l = limit(limits, next.report.urban, clock_to);
            next.step_started = t.at;
            try {
                next.due = m_calendar->add(t.at, l, uncovered);
            } catch (const InputError& e) {
                throw fail(e.message());
            }
            next.due_unit = l.unit;
        }
    }
    switch (t.to) {
    case S::dispatched:
        next.department = t.department;
        next.person = t.person;
        break;
    case S::returned:
        ++next.returns;
        break;
    case S::rework:
        ++next.reworks;
        break;
    case S::closed:
    case S::rejected:
        next.closed_at = t.at;
        break;
    default:
        break;
    }
    next.state = t.to;
    next.updated_at = t.at;
    Event event{next.report.id, from, t.to, t.actor, t.at, t.note, {}, {}, {}, t.approver};
    if (t.to == S::dispatched) {
        event.department = t.department;
        event.person = t.person;
    }
    // A return records the department that returned it.
    if (t.to == S::returned) event.department = incident.department;
    event.deadline = t.deadline;
    incident = std::move(next);
    return event;
}

Event Loop::supervise(Incident& incident, LocalTime at, const std::string& actor,
                      const std::string& note) const {
    if (is_final(incident.state))
        throw DataError(incident_label(incident) + ": cannot supervise a " +
                        std::string(to_string(incident.state)) + " matter");
    if (at < incident.updated_at)
        throw DataError(incident_label(incident) + ": supervision at " + format_time(at) +
                        " is before the last event (" + format_time(incident.updated_at) + ")");
    if (actor.empty() || note.empty())
        throw DataError(incident_label(incident) +
                        ": supervision needs who (actor) and why (note)");
    incident.supervised = true;
    incident.updated_at = at;
    return Event{incident.report.id, incident.state, incident.state, actor, at, note, {}, {}, {}};
}

Event Loop::lift_supervision(Incident& incident, LocalTime at, const std::string& actor,
                             const std::string& note) const {
    if (!incident.supervised)
        throw DataError(incident_label(incident) + ": is not under supervision");
    if (at < incident.updated_at)
        throw DataError(incident_label(incident) + ": lifting supervision at " + format_time(at) +
                        " is before the last event (" + format_time(incident.updated_at) + ")");
    if (actor.empty() || note.empty())
        throw DataError(incident_label(incident) +
                        ": lifting supervision needs who (actor) and why (note)");
    incident.supervised = false;
    incident.updated_at = at;
    Event e{incident.report.id, incident.state, incident.state, actor, at, note, {}, {}, {}};
    e.lifts_supervision = true;
    return e;
}

Incident Loop::rebuild(const NewIncident& report, std::span<const Event> journal) const {
    Incident incident = open(report, Calendar::Uncovered::weekdays);
    const auto& limits = m_catalogue->category_at(report.category).limits;
    std::size_t line = 0;
    for (const auto& e : journal) {
        ++line;
        if (e.incident != report.id || e.from != incident.state)
            throw DataError("journal of incident " + std::to_string(report.id) + ": event " +
                            std::to_string(line) + " (incident " + std::to_string(e.incident) +
                            ", " + std::string(to_string(e.from)) + " -> " +
                            std::string(to_string(e.to)) + ") does not follow state " +
                            std::string(to_string(incident.state)));
        if (e.is_supervision() && e.lifts_supervision)
            (void)lift_supervision(incident, e.at, e.actor, e.note);
        else if (e.is_supervision())
            (void)supervise(incident, e.at, e.actor, e.note);
        else
            (void)advance(incident, transition_of(e), limits, Checks::recorded);
    }
    return incident;
}

Status Loop::status(const Incident& incident, LocalTime at) const {
    if (incident.state == S::rejected) return Status::rejected;
    if (is_final(incident.state))
        return incident.late ? Status::closed_late : Status::closed_on_time;
    if (!incident.due || !incident.step_started) return Status::on_time;
    if (at > *incident.due) return Status::overdue;
    const auto allowed =
        m_calendar->elapsed(*incident.step_started, *incident.due, incident.due_unit);
    const auto used = m_calendar->elapsed(*incident.step_started, at, incident.due_unit);
    if (allowed > 0 &&
        static_cast<double>(used) >= m_options.warning_fraction * static_cast<double>(allowed))
        return Status::warning;
    return Status::on_time;
}

} // namespace wangge::loop
