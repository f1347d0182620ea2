// Open311 GeoReport v2 (JSON) over the same catalogue and matters, for city-service apps.
#include "api_support.hpp"
#include "app.hpp"
#include "matter_views.hpp"
#include "wangge/loop/matter_json.hpp"

#include <algorithm>
#include <limits>
#include <set>
#include <sstream>

namespace wangge::serve {

// Open311 GeoReport v2 over the same catalogue and matters: services are the categories,
// requests are the matters (open until closed or rejected).
Response App::open311(const Request& req) {
    const std::string prefix = "/open311/v2/";
    if (!req.path.starts_with(prefix)) return not_found("Open311: only v2 is served");
    std::string rest = req.path.substr(prefix.size());
    if (rest.ends_with(".xml")) return json_error(400, "Open311: only the JSON format is served");
    if (!rest.ends_with(".json")) return not_found("Open311: no such resource: " + req.path);
    rest.resize(rest.size() - 5);
    auto& live = m_live;
    const auto& cat = live.catalogue();
    const loop::MatterJson encoder(cat, &live.grid()); // the loop's one matter encoder
    const auto request_json = [&](const MatterView& v) {
        return encoder.open311(v.record(), v.state(), v.status());
    };
    if (rest == "services" && req.method == "GET") {
        json arr = json::array();
        for (const auto& c : cat.categories()) {
            const auto* major = cat.major(c.code.substr(0, 2));
            arr.push_back({{"service_code", c.code},
                           {"service_name", c.name},
                           {"description", c.filing_condition},
                           {"metadata", false},
                           {"type", "realtime"},
                           {"keywords", ""},
                           {"group", major ? major->name : ""}});
        }
        return json_response(arr);
    }
    if (rest == "requests" && req.method == "GET") {
        const auto at = live.now();
        const auto snap = live.snapshot();
        std::set<std::int64_t> ids;
        if (const auto t = req.param("service_request_id"); !t.empty()) {
            std::stringstream ss(t);
            std::string part;
            while (std::getline(ss, part, ','))
                if (const auto v = integer(part)) ids.insert(*v);
        }
        const auto code = req.param("service_code");
        const auto status = req.param("status");
        if (!status.empty() && status != "open" && status != "closed")
            return json_error(400, "Open311: status is open or closed");
        // Unbounded ends as the earliest and latest times there are.
        loop::LocalTime start{std::numeric_limits<std::int64_t>::min()};
        loop::LocalTime end{std::numeric_limits<std::int64_t>::max()};
        if (!req.param("start_date").empty()) start = loop::parse_time(req.param("start_date"));
        if (!req.param("end_date").empty()) end = loop::parse_time(req.param("end_date"));
        // The matters now (Open311 has no past times), filtered by its parameters.
        auto list = matters(live, *snap, {}, at);
        std::erase_if(list, [&](const MatterView& v) {
            const auto& inc = v.incident();
            return (!ids.empty() && !ids.contains(inc.report.id)) ||
                   (!code.empty() && inc.report.category != code) ||
                   inc.report.reported_at < start || inc.report.reported_at > end ||
                   (status == "open" && loop::is_final(v.state())) ||
                   (status == "closed" && !loop::is_final(v.state()));
        });
        // Newest first, at most 1000 (the spec's default window is 90 days / 1000 requests).
        std::sort(list.begin(), list.end(), [](const MatterView& a, const MatterView& b) {
            return a.incident().report.reported_at > b.incident().report.reported_at;
        });
        if (ids.empty() && list.size() > 1000) list.erase(list.begin() + 1000, list.end());
        json arr = json::array();
        for (const auto& v : list)
            arr.push_back(request_json(v));
        return json_response(arr);
    }
    if (rest == "requests" && req.method == "POST") {
        // Form-encoded as the spec says (JSON accepted too).
        std::map<std::string, std::string> form;
        if (req.header("content-type").starts_with("application/json")) {
            const auto body = json_object_body(req);
            if (!body) return json_error(400, "Open311: malformed JSON body");
            for (const auto& [k, v] : body->items())
                form[k] = v.is_string() ? v.get<std::string>() : v.dump();
        } else {
            form = parse_form(req.body);
        }
        if (auto denied = check_write(req, form_value(form, "api_key"))) return *denied;
        const auto code = form_value(form, "service_code");
        if (code.empty()) return json_error(400, "Open311: service_code is required");
        const auto lat = number(form_value(form, "lat"));
        const auto lon = number(form_value(form, "long"));
        if (!lat || !lon)
            return json_error(400, "Open311: lat and long are required (address_string alone is "
                                   "not located)");
        std::string reporter = form_value(form, "first_name") + form_value(form, "last_name");
        if (reporter.empty()) reporter = form_value(form, "email");
        if (reporter.empty()) reporter = "open311";
        const auto record = report_matter(live, 0, code, {*lon, *lat}, reporter,
                                          form_value(form, "description"), live.now());
        live.poke();
        return json_response(
            json::array({{{"service_request_id", std::to_string(record.incident.report.id)},
                          {"service_notice", ""},
                          {"account_id", nullptr}}}),
            201);
    }
    if (rest.starts_with("requests/") && req.method == "GET") {
        const auto id = integer(std::string_view(rest).substr(9));
        if (!id) return not_found("Open311: no such request");
        auto record = live.with_session([&](loop::Session& s) { return s.store().incident(*id); });
        if (!record) return not_found("Open311: no request " + std::to_string(*id));
        // As stored: its latest state, even one dated after the server's clock.
        const auto status =
            live.loop().status(record->incident, std::max(live.now(), record->incident.updated_at));
        return json_response(
            json::array({request_json(MatterView::owned(std::move(*record), status))}));
    }
    if (req.method != "GET" && req.method != "POST") return json_error(405, "method not allowed");
    return not_found("Open311: no such resource: " + req.path);
}

} // namespace wangge::serve
