#include "wangge/loop/matter_json.hpp"

#include <cmath>

namespace wangge::loop {

namespace {
using json = nlohmann::ordered_json;

json time_or_null(const std::optional<LocalTime>& t) {
    return t ? json(format_time(*t)) : json();
}
} // namespace

std::string open311_time(LocalTime t) {
    return format_time(t) + ":00+08:00";
}

MatterJson::MatterJson(const Catalogue& catalogue, const grid::Grid* grid)
    : m_catalogue(&catalogue), m_grid(grid) {}

std::string MatterJson::unit_name(const std::string& code) const {
    if (!m_grid || code.empty()) return {};
    const auto* u = m_grid->find_unit(code);
    return u ? u->name : std::string();
}

json MatterJson::open311(const IncidentRecord& r, State state, Status status) const {
    const auto& inc = r.incident;
    const auto* c = m_catalogue->category(inc.report.category);
    const auto dept = inc.department.empty() ? r.route_department : inc.department;
    const auto* d = m_catalogue->department(dept);
    const bool closed = is_final(state);
    const std::string address = unit_name(r.township) + " " + unit_name(r.village) + " " + r.cell;
    return json{
        {"service_request_id", std::to_string(inc.report.id)},
        {"status", closed ? "closed" : "open"},
        {"status_notes", std::string(to_string(state)) + ", " + std::string(to_string(status))},
        {"service_name", c ? c->name : ""},
        {"service_code", inc.report.category},
        {"description", inc.report.note},
        {"agency_responsible", d ? d->name : dept},
        {"service_notice", ""},
        {"requested_datetime", open311_time(inc.report.reported_at)},
        {"updated_datetime", open311_time(inc.updated_at)},
        {"expected_datetime", inc.due ? json(open311_time(*inc.due)) : json()},
        {"address", address},
        {"address_id", r.cell},
        {"zipcode", ""},
        {"lat", r.lonlat.y},
        {"long", r.lonlat.x},
        {"media_url", ""}};
}

json MatterJson::matter(const IncidentRecord& r, State state, Status status) const {
    const auto& inc = r.incident;
    const auto* category = m_catalogue->category(inc.report.category);
    const auto dept = inc.department.empty() ? r.route_department : inc.department;
    const auto* d = m_catalogue->department(dept);
    json j;
    j["id"] = inc.report.id;
    j["category"] = inc.report.category;
    j["category_name"] = category ? category->name : "";
    j["state"] = to_string(state);
    j["status"] = to_string(status);
    j["open"] = !is_final(state);
    j["reported_at"] = format_time(inc.report.reported_at);
    j["reporter"] = inc.report.reporter;
    j["note"] = inc.report.note;
    j["lon"] = r.lonlat.x;
    j["lat"] = r.lonlat.y;
    j["cell"] = r.cell;
    j["village"] = r.village;
    j["village_name"] = unit_name(r.village);
    j["township"] = r.township;
    j["township_name"] = unit_name(r.township);
    j["grid_version"] = r.grid_version;
    j["near_boundary"] = r.near_boundary;
    j["boundary_distance_m"] = std::round(r.boundary_distance_m * 10) / 10;
    j["route_department"] = r.route_department;
    j["route_person"] = r.route_person;
    j["route_fallback"] = r.route_fallback;
    j["department"] = dept;
    j["department_name"] = d ? d->name : "";
    j["person"] = inc.department.empty() ? r.route_person : inc.person;
    j["due"] = time_or_null(inc.due);
    j["late"] = inc.late;
    j["supervised"] = inc.supervised;
    j["closed_at"] = time_or_null(inc.closed_at);
    j["returns"] = inc.returns;
    j["reworks"] = inc.reworks;
    j["extensions"] = inc.extensions;
    j["open311"] = open311(r, state, status);
    return j;
}

json MatterJson::journal(std::span<const Event> journal) {
    json arr = json::array();
    for (const auto& e : journal)
        arr.push_back({{"from", to_string(e.from)},
                       {"to", to_string(e.to)},
                       {"at", format_time(e.at)},
                       {"actor", e.actor},
                       {"note", e.note},
                       {"department", e.department},
                       {"person", e.person},
                       {"approver", e.approver},
                       {"supervision",
                        e.is_supervision() ? json(e.lifts_supervision ? "lifted" : "put") : json()},
                       {"deadline", time_or_null(e.deadline)}});
    return arr;
}

namespace {

double round_to(double v, double unit) {
    return std::round(v / unit) * unit;
}

} // namespace

nlohmann::ordered_json stats_json(const LoopStore& store, const Loop& loop, StatsBy by,
                                  LocalTime at) {
    nlohmann::ordered_json j;
    j["at"] = format_time(at);
    j["by"] = to_string(by);
    auto rows = nlohmann::ordered_json::array();
    if (by == StatsBy::department || by == StatsBy::person) {
        j["measure"] = "handle steps owned (step_on_time_rate: 按时办理率)";
        for (const auto& r : store.step_stats(by, at))
            rows.push_back({{"key", r.key},
                            {"steps", r.steps},
                            {"finished", r.finished},
                            {"finished_on_time", r.finished_on_time},
                            {"finished_late", r.finished_late},
                            {"returned", r.returned},
                            {"running", r.running},
                            {"running_overdue", r.running_overdue},
                            {"step_on_time_rate", round_to(r.step_on_time_rate, 1e-4)}});
    } else {
        j["measure"] = "whole matters (close_on_time_rate: 按期结案率)";
        for (const auto& r : store.stats(by, at, loop))
            rows.push_back(
                {{"key", r.key},
                 {"total", r.total},
                 {"closed", r.closed},
                 {"closed_on_time", r.closed_on_time},
                 {"open_overdue", r.open_overdue},
                 {"open_late", r.open_late},
                 {"backlog", r.backlog},
                 {"supervised", r.supervised},
                 {"returns", r.returns},
                 {"reworks", r.reworks},
                 {"close_rate", round_to(r.close_rate, 1e-4)},
                 {"close_on_time_rate", round_to(r.on_time_rate, 1e-4)},
                 {"median_close_working_minutes", round_to(r.median_close_working_minutes, 0.5)}});
    }
    j["rows"] = std::move(rows);
    return j;
}

} // namespace wangge::loop
