// The matters: /api/matters (list, report), /api/matters/ID (at T, with its journal),
// /api/matters/ID/advance, and the command centre's counts: /api/stats, /api/summary,
// /api/reminders. Every answer at T goes through the loop's rule (matter_views.hpp).
#include "api_support.hpp"
#include "app.hpp"
#include "matter_views.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/matter_json.hpp"

#include <algorithm>
#include <cmath>

namespace wangge::serve {

namespace {

// GET /api/matters/ID[?at=T]: the matter as it was at T (the server's now without ?at=),
// its journal up to T and the moves allowed from its state now.
Response matter_detail(Live& live, const Request& req, std::int64_t id) {
    const auto at = at_of(live, req);
    struct Found {
        std::optional<loop::IncidentRecord> now;
        std::optional<loop::MatterAt> then;
        std::vector<loop::Event> journal;
    };
    auto found = live.with_session([&](loop::Session& s) {
        Found f;
        f.now = s.store().incident(id);
        if (!f.now) return f;
        f.then = loop::matter_at(s.store(), s.loop(), id, at);
        f.journal = s.store().journal(id);
        return f;
    });
    if (!found.now) return not_found("no incident " + std::to_string(id));
    if (!found.then)
        return not_found("incident " + std::to_string(id) + " was reported after " +
                         loop::format_time(at));
    // At a past time the journal ends at T, as the state does.
    if (!req.param("at").empty())
        std::erase_if(found.journal, [at](const loop::Event& e) { return e.at > at; });
    auto j =
        matter_feature(live, MatterView::owned(std::move(found.then->record), found.then->status));
    j["properties"]["journal"] = journal_json(found.journal);
    j["properties"]["allowed_next"] = json::array();
    for (const auto s : loop::allowed_next(found.now->incident.state))
        j["properties"]["allowed_next"].push_back(loop::to_string(s));
    return json_response(j);
}

// POST /api/matters: a report, with the same rules as `wangge incidents report`.
Response report(Live& live, const Request& req) {
    const auto parsed = json_object_body(req);
    if (!parsed) return json_error(400, "the body must be a JSON object");
    const json& body = *parsed;
    const auto str = [&](const char* k) { return body_text(body, k); };
    const auto num = [&](const char* k) {
        const auto it = body.find(k);
        if (it == body.end() || !it->is_number())
            throw InputError(std::string(k) + " must be a number");
        return it->get<double>();
    };
    const auto category = str("category");
    if (category.empty()) return json_error(400, "category is required");
    std::int64_t id = 0;
    if (const auto it = body.find("id"); it != body.end() && !it->is_null()) {
        if (!it->is_number_integer()) return json_error(400, "id must be an integer");
        id = it->get<std::int64_t>();
        if (id < 1 || id > loop::max_incident_id)
            return json_error(400, "id must be a whole number from 1 to " +
                                       std::to_string(loop::max_incident_id) + " (2^53 - 1)");
    }
    const auto at_text = str("at");
    const loop::LocalTime at = at_text.empty() ? live.now() : loop::parse_time(at_text);
    auto record = report_matter(live, id, category, {num("lon"), num("lat")}, str("reporter"),
                                str("note"), at);
    live.poke();
    const auto status = live.loop().status(record.incident, at);
    const auto location = "/api/matters/" + std::to_string(record.incident.report.id);
    auto r = json_response(matter_feature(live, MatterView::owned(std::move(record), status)), 201);
    r.headers.emplace_back("Location", location);
    return r;
}

// POST /api/matters/ID/advance: the same calls as `wangge incidents advance`; an illegal move
// is refused (409) with the allowed ones and nothing is written.
Response advance(Live& live, const Request& req, std::int64_t id) {
    const auto parsed = json_object_body(req);
    if (!parsed) return json_error(400, "the body must be a JSON object");
    const json& body = *parsed;
    const auto str = [&](const char* k) { return body_text(body, k); };
    const auto to_text = str("to");
    if (to_text.empty()) return json_error(400, "to (the next state) is required");
    loop::Transition t;
    t.to = loop::state_from(to_text);
    const auto at_text = str("at");
    t.at = at_text.empty() ? live.now() : loop::parse_time(at_text);
    t.actor = str("actor");
    const auto note = str("note");
    const auto reason = str("reason");
    t.note = reason.empty() ? note : note.empty() ? reason : reason + "; " + note;
    if (const auto d = str("deadline"); !d.empty()) t.deadline = loop::parse_time(d);
    const auto department = str("department");
    const auto person = str("person");
    std::optional<Response> refused;
    auto after = live.with_session([&](loop::Session& s) {
        const auto record = s.store().incident(id);
        if (!record) throw InputError("no incident " + std::to_string(id));
        if (t.to == loop::State::dispatched) {
            t.department = department.empty() ? record->route_department : department;
            t.person = department.empty() && person.empty() ? record->route_person : person;
        }
        try {
            s.store().apply(std::vector<loop::LoopStore::Change>{{id, t}}, s.loop());
        } catch (const Error& e) {
            const auto from = record->incident.state;
            if (!loop::is_allowed(from, t.to)) {
                json allowed = json::array();
                for (const auto st : loop::allowed_next(from))
                    allowed.push_back(loop::to_string(st));
                refused = json_response({{"error", e.message() + "; nothing was written"},
                                         {"status", 409},
                                         {"state", loop::to_string(from)},
                                         {"allowed", allowed}},
                                        409);
                return std::optional<loop::IncidentRecord>();
            }
            throw DataError(e.message() + "; nothing was written");
        }
        return s.store().incident(id);
    });
    if (refused) return *refused;
    live.poke();
    const auto status = live.loop().status(after->incident, t.at);
    return json_response(matter_feature(live, MatterView::owned(std::move(*after), status)));
}

json stats_json(Live& live, const Request& req) {
    const auto at = at_of(live, req);
    const auto by = loop::stats_by_from(req.param("by").empty() ? "township" : req.param("by"));
    return live.with_session(
        [&](loop::Session& s) { return loop::stats_json(s.store(), s.loop(), by, at); });
}

// The side panel: open, warning and overdue matters by township and department at T.
json summary_json(Live& live, const Request& req) {
    const auto at = at_of(live, req);
    MatterFilter f;
    f.loop.open_only = true;
    const auto snap = live.snapshot(); // the views point into it
    const auto list = matters(live, *snap, f, at);
    struct Counts {
        std::size_t open = 0, warning = 0, overdue = 0;
    };
    std::map<std::string, Counts> by_township, by_department;
    Counts total;
    for (const auto& v : list) {
        const auto& r = v.record();
        const auto& dept =
            r.incident.department.empty() ? r.route_department : r.incident.department;
        for (auto* c : {&by_township[r.township], &by_department[dept], &total}) {
            ++c->open;
            c->warning += v.status() == loop::Status::warning;
            c->overdue += v.status() == loop::Status::overdue;
        }
    }
    const auto rows = [](const std::map<std::string, Counts>& m, auto name_of) {
        json arr = json::array();
        for (const auto& [k, c] : m)
            arr.push_back({{"code", k},
                           {"name", name_of(k)},
                           {"open", c.open},
                           {"warning", c.warning},
                           {"overdue", c.overdue}});
        return arr;
    };
    const auto& grid = grid_at(live, at);
    return {{"at", loop::format_time(at)},
            {"open", total.open},
            {"warning", total.warning},
            {"overdue", total.overdue},
            {"by_township",
             rows(by_township, [&](const std::string& k) { return unit_name(grid, k); })},
            {"by_department", rows(by_department, [&](const std::string& k) {
                 const auto* d = live.catalogue().department(k);
                 return d ? d->name : std::string();
             })}};
}

// The one list of reminders: open matters overdue or nearing their deadline at T, the most
// pressing first.
json reminders_json(Live& live, const Request& req) {
    const auto at = at_of(live, req);
    MatterFilter f = filter_of(req);
    f.loop.open_only = true;
    const auto snap = live.snapshot(); // the views point into it
    auto list = matters(live, *snap, f, at);
    std::erase_if(list, [](const MatterView& v) {
        return v.status() != loop::Status::warning && v.status() != loop::Status::overdue;
    });
    std::sort(list.begin(), list.end(), [](const MatterView& a, const MatterView& b) {
        return std::pair(a.incident().due, a.incident().report.id) <
               std::pair(b.incident().due, b.incident().report.id);
    });
    json arr = json::array();
    for (const auto& v : list)
        arr.push_back(matter_properties(live, v));
    return {{"at", loop::format_time(at)}, {"reminders", std::move(arr)}};
}

} // namespace

std::optional<Response> App::matters_api(const Request& req) {
    const std::string& p = req.path;
    const bool get = req.method == "GET" || req.method == "HEAD";
    const bool post = req.method == "POST";
    auto& live = m_live;
    if (p == "/api/matters" && get) {
        const auto at = at_of(live, req);
        const auto snap = live.snapshot(); // the views point into it
        const auto list = matters(live, *snap, filter_of(req), at);
        std::size_t limit = list.size();
        if (const auto l = req.param("limit"); !l.empty()) {
            const auto n = integer(l);
            if (!n || *n < 0) return json_error(400, "limit must be a non-negative integer");
            limit = std::min<std::size_t>(limit, static_cast<std::size_t>(*n));
        }
        json features = json::array();
        for (std::size_t i = 0; i < limit; ++i)
            features.push_back(matter_feature(live, list[i]));
        return json_response({{"type", "FeatureCollection"},
                              {"at", loop::format_time(at)},
                              {"total", list.size()},
                              {"features", std::move(features)}});
    }
    if (p == "/api/matters" && post) {
        if (auto denied = check_write(req)) return *denied;
        return report(live, req);
    }
    if (p.starts_with("/api/matters/")) {
        auto rest = std::string_view(p).substr(13);
        const bool advancing = rest.ends_with("/advance");
        if (advancing) rest.remove_suffix(8);
        const auto id = integer(rest);
        if (!id) return not_found("no such matter: " + std::string(rest));
        if (!advancing && get) return matter_detail(live, req, *id);
        if (advancing && post) {
            if (auto denied = check_write(req)) return *denied;
            return advance(live, req, *id);
        }
        return json_error(405, "method not allowed");
    }
    if (!get) return std::nullopt;
    if (p == "/api/stats") return json_response(stats_json(live, req));
    if (p == "/api/summary") return json_response(summary_json(live, req));
    if (p == "/api/reminders") return json_response(reminders_json(live, req));
    return std::nullopt;
}

} // namespace wangge::serve
