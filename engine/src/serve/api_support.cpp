#include "api_support.hpp"

#include "wangge/error.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace wangge::serve {

Response json_response(const json& j, unsigned status) {
    Response r;
    r.status = status;
    r.body = j.dump();
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

std::optional<double> number(const std::string& text) {
    double v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() ||
        !std::isfinite(v))
        return std::nullopt;
    return v;
}

std::optional<std::int64_t> integer(std::string_view text) {
    std::int64_t v = 0;
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
        return std::nullopt;
    return v;
}

std::optional<json> json_object_body(const Request& req) {
    try {
        auto body = json::parse(req.body);
        if (body.is_object()) return body;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

std::string body_text(const json& body, const char* key) {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) return {};
    if (!it->is_string()) throw InputError(std::string(key) + " must be a string");
    return it->get<std::string>();
}

json time_or_null(const std::optional<loop::LocalTime>& t) {
    return t ? json(loop::format_time(*t)) : json();
}

std::string unit_name(const grid::Grid& g, const std::string& code) {
    const auto* u = g.find_unit(code);
    return u ? u->name : std::string();
}

namespace {

json rings_json(const geo::Polygon& p) {
    json rings = json::array();
    for (const auto& ring : p.rings) {
        json r = json::array();
        for (const auto& pt : ring)
            r.push_back({std::round(pt.x * 1e7) / 1e7, std::round(pt.y * 1e7) / 1e7});
        rings.push_back(std::move(r));
    }
    return rings;
}

} // namespace

json geometry_json(const geo::MultiPolygon& mp) {
    json coords = json::array();
    for (const auto& p : mp.polygons)
        coords.push_back(rings_json(p));
    return {{"type", "MultiPolygon"}, {"coordinates", std::move(coords)}};
}

Response not_found(const std::string& what) {
    return json_error(404, what);
}

std::string form_value(const std::map<std::string, std::string>& form, const std::string& key) {
    const auto it = form.find(key);
    return it == form.end() ? std::string() : it->second;
}

Response error_response(const std::exception& e) {
    if (dynamic_cast<const InputError*>(&e)) return json_error(400, e.what());
    if (dynamic_cast<const DataError*>(&e)) return json_error(422, e.what());
    if (const auto* se = dynamic_cast<const StoreError*>(&e)) {
        if (se->message().find("exists already") != std::string::npos ||
            se->message().find("UNIQUE") != std::string::npos ||
            se->message().find("repeated") != std::string::npos)
            return json_error(409, e.what());
        return json_error(503, e.what());
    }
    return json_error(500, e.what());
}

std::map<std::string, std::string> parse_form(const std::string& body) {
    const auto parsed = parse_target("/?" + body);
    if (!parsed) throw InputError("malformed form body");
    return parsed->second;
}

loop::LocalTime at_of(const Live& live, const Request& req) {
    const auto text = req.param("at");
    if (text.empty()) return live.now();
    try {
        return loop::parse_time(text);
    } catch (const Error& e) {
        throw InputError("at: " + e.message());
    }
}

const grid::Grid& grid_at(const Live& live, loop::LocalTime at) {
    return live.grid_of(live.version_at(at));
}

render::CellState cell_state(const render::RenderStatus& s, const std::string& code) {
    const auto it = s.cells.find(code);
    return it == s.cells.end() ? render::CellState::none : it->second;
}

std::shared_ptr<const render::RenderStatus> status_for(const Live& live, const Request& req,
                                                       loop::LocalTime at) {
    auto snap = live.snapshot();
    if (req.param("at").empty() || snap->at == at) return snap->status;
    return std::make_shared<const render::RenderStatus>(live.status_at(at));
}

} // namespace wangge::serve
