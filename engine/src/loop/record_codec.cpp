#include "loop/store_impl.hpp"
#include "wangge/base/text.hpp"

#include <chrono>
#include <cstring>

namespace wangge::loop::detail {

const char* const incident_columns =
    "fid, geom, category, reporter, urban, reported_at, state, supervised, updated_at, "
    "step_started, due, due_unit, late, closed_at, department, person, returns, reworks, "
    "extensions, cell, village, township, grid_version, boundary_distance_m, near_boundary, "
    "route_department, route_person, route_fallback, note";

std::optional<std::string> time_text(const std::optional<LocalTime>& t) {
    if (!t) return std::nullopt;
    return format_time(*t);
}

// Reading the stored shape by hand is several times cheaper than parse_time(), which accepts
// every ISO 8601 variant; statistics over a million matters parse three times a row.
LocalTime stored_time(std::string_view s) {
    const auto digit = [&s](std::size_t i) { return static_cast<unsigned>(s[i] - '0') <= 9; };
    if (s.size() != 16 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        !(digit(0) && digit(1) && digit(2) && digit(3) && digit(5) && digit(6) && digit(8) &&
          digit(9) && digit(11) && digit(12) && digit(14) && digit(15)))
        return parse_time(s);
    const auto num = [&s](std::size_t i, std::size_t n) {
        int v = 0;
        for (std::size_t k = i; k < i + n; ++k)
            v = v * 10 + (s[k] - '0');
        return v;
    };
    const int y = num(0, 4), m = num(5, 2), d = num(8, 2), hh = num(11, 2), mm = num(14, 2);
    if (m < 1 || m > 12 || d < 1 || d > 31 || hh > 23 || mm > 59) return parse_time(s);
    const std::chrono::year_month_day date{std::chrono::year(y),
                                           std::chrono::month(static_cast<unsigned>(m)),
                                           std::chrono::day(static_cast<unsigned>(d))};
    if (!date.ok()) return parse_time(s);
    const std::int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
    return LocalTime{days * 24 * 60 + hh * 60 + mm};
}

std::optional<LocalTime> time_from(const Statement& st, int col) {
    if (st.is_null(col)) return std::nullopt;
    return stored_time(st.view(col));
}

void bind_text(Statement& st, int i, const std::optional<std::string>& v) {
    if (v)
        st.bind(i, std::string_view(*v));
    else
        st.bind_null(i);
}

namespace {
// Text that is not UTF-8 never reaches the file: stored, it would break every JSON listing
// of the workspace. The edges (CSV readers, commands) say which line or option; this is the
// last guard for every path.
void require_utf8(std::int64_t incident, const char* what, std::string_view text) {
    if (const auto bad = base::first_invalid_utf8(text))
        throw InputError("incident " + std::to_string(incident) + ": the " + what +
                         " is not valid UTF-8 at " + base::describe_invalid_utf8(text, *bad));
}
} // namespace

void require_incident_id(std::int64_t id) {
    if (id < 1 || id > max_incident_id)
        throw InputError("incident id " + std::to_string(id) +
                         " is out of range: ids are whole numbers from 1 to " +
                         std::to_string(max_incident_id) +
                         " (2^53 - 1, exact in JSON); nothing was written");
}

void bind_record(Statement& st, const IncidentRecord& r) {
    const auto& inc = r.incident;
    require_incident_id(inc.report.id);
    require_utf8(inc.report.id, "category", inc.report.category);
    require_utf8(inc.report.id, "reporter", inc.report.reporter);
    require_utf8(inc.report.id, "note", inc.report.note);
    const auto blob = point_blob(r.lonlat);
    st.bind(1, inc.report.id);
    st.bind_blob(2, blob.data(), static_cast<int>(blob.size()));
    st.bind_static(3, inc.report.category);
    st.bind_static(4, inc.report.reporter);
    st.bind(5, inc.report.urban ? 1 : 0);
    st.bind(6, std::string_view(format_time(inc.report.reported_at)));
    st.bind_static(7, to_string(inc.state));
    st.bind(8, inc.supervised ? 1 : 0);
    st.bind(9, std::string_view(format_time(inc.updated_at)));
    bind_text(st, 10, time_text(inc.step_started));
    bind_text(st, 11, time_text(inc.due));
    st.bind_static(12, to_string(inc.due_unit));
    st.bind(13, inc.late ? 1 : 0);
    bind_text(st, 14, time_text(inc.closed_at));
    st.bind_static(15, inc.department);
    st.bind_static(16, inc.person);
    st.bind(17, inc.returns);
    st.bind(18, inc.reworks);
    st.bind(19, inc.extensions);
    st.bind_static(20, r.cell);
    st.bind_static(21, r.village);
    st.bind_static(22, r.township);
    st.bind(23, r.grid_version);
    st.bind(24, r.boundary_distance_m);
    st.bind(25, r.near_boundary ? 1 : 0);
    st.bind_static(26, r.route_department);
    st.bind_static(27, r.route_person);
    st.bind(28, r.route_fallback ? 1 : 0);
    st.bind_static(29, inc.report.note);
}

IncidentRecord read_record(const Statement& st) {
    IncidentRecord r;
    auto& inc = r.incident;
    inc.report.id = st.integer(0);
    if (!st.is_null(1)) r.lonlat = point_from_blob(st.blob(1), st.bytes(1));
    inc.report.category = st.text(2);
    inc.report.reporter = st.text(3);
    inc.report.urban = st.integer(4) != 0;
    inc.report.reported_at = stored_time(st.view(5));
    inc.state = state_from(st.view(6));
    inc.supervised = st.integer(7) != 0;
    inc.updated_at = stored_time(st.view(8));
    inc.step_started = time_from(st, 9);
    inc.due = time_from(st, 10);
    inc.due_unit = time_unit_from(st.view(11));
    inc.late = st.integer(12) != 0;
    inc.closed_at = time_from(st, 13);
    inc.department = st.text(14);
    inc.person = st.text(15);
    inc.returns = static_cast<int>(st.integer(16));
    inc.reworks = static_cast<int>(st.integer(17));
    inc.extensions = static_cast<int>(st.integer(18));
    r.cell = st.text(19);
    r.village = st.text(20);
    r.township = st.text(21);
    r.grid_version = static_cast<int>(st.integer(22));
    r.boundary_distance_m = st.real(23);
    r.near_boundary = st.integer(24) != 0;
    r.route_department = st.text(25);
    r.route_person = st.text(26);
    r.route_fallback = st.integer(27) != 0;
    inc.report.note = st.text(28);
    return r;
}

std::string insert_incident_sql() {
    return std::string("INSERT INTO loop_incidents (") + incident_columns +
           ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
}

const char* const event_columns = "incident, from_state, to_state, actor, at, note, department, "
                                  "person, deadline, approver, action";

Event read_event(const Statement& st) {
    Event e;
    e.incident = st.integer(0);
    e.from = state_from(st.view(1));
    e.to = state_from(st.view(2));
    e.actor = st.text(3);
    e.at = stored_time(st.view(4));
    e.note = st.text(5);
    e.department = st.text(6);
    e.person = st.text(7);
    e.deadline = time_from(st, 8);
    e.approver = st.text(9);
    e.lifts_supervision = st.view(10) == "lift_supervision";
    return e;
}

void append_event(Statement& st, const Event& e) {
    require_utf8(e.incident, "actor", e.actor);
    require_utf8(e.incident, "note", e.note);
    require_utf8(e.incident, "department", e.department);
    require_utf8(e.incident, "person", e.person);
    require_utf8(e.incident, "approver", e.approver);
    st.bind(1, e.incident)
        .bind(2, to_string(e.from))
        .bind(3, to_string(e.to))
        .bind(4, std::string_view(e.actor))
        .bind(5, std::string_view(format_time(e.at)))
        .bind(6, std::string_view(e.note))
        .bind(7, std::string_view(e.department))
        .bind(8, std::string_view(e.person));
    bind_text(st, 9, time_text(e.deadline));
    st.bind(10, std::string_view(e.approver));
    if (e.is_supervision())
        st.bind(11, std::string_view(e.lifts_supervision ? "lift_supervision" : "supervise"));
    else
        st.bind_null(11);
    st.run();
}

const char* const insert_event_sql =
    "INSERT INTO loop_journal (incident, from_state, to_state, actor, at, note, department, "
    "person, deadline, approver, action) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

const char* const insert_step_sql =
    "INSERT INTO loop_steps (incident, seq, clock, department, person, started_at, due, "
    "ended_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

void append_step(Statement& st, const Step& s) {
    st.bind(1, s.incident)
        .bind(2, s.seq)
        .bind(3, to_string(s.clock))
        .bind(4, std::string_view(s.department))
        .bind(5, std::string_view(s.person))
        .bind(6, std::string_view(format_time(s.started)));
    bind_text(st, 7, time_text(s.due));
    bind_text(st, 8, time_text(s.ended));
    bind_text(st, 9,
              s.outcome ? std::optional<std::string>(std::string(to_string(*s.outcome)))
                        : std::nullopt);
    st.run();
}

void update_incident(Statement& st, const Incident& inc) {
    st.bind(1, to_string(inc.state))
        .bind(2, inc.supervised ? 1 : 0)
        .bind(3, std::string_view(format_time(inc.updated_at)));
    bind_text(st, 4, time_text(inc.step_started));
    bind_text(st, 5, time_text(inc.due));
    st.bind(6, to_string(inc.due_unit)).bind(7, inc.late ? 1 : 0);
    bind_text(st, 8, time_text(inc.closed_at));
    st.bind(9, std::string_view(inc.department))
        .bind(10, std::string_view(inc.person))
        .bind(11, inc.returns)
        .bind(12, inc.reworks)
        .bind(13, inc.extensions)
        .bind(14, inc.report.id);
    st.run();
}

const char* const update_incident_sql =
    "UPDATE loop_incidents SET state = ?, supervised = ?, updated_at = ?, step_started = ?, "
    "due = ?, due_unit = ?, late = ?, closed_at = ?, department = ?, person = ?, returns = ?, "
    "reworks = ?, extensions = ? WHERE fid = ?";

} // namespace wangge::loop::detail
