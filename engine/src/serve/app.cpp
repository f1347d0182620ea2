#include "app.hpp"

#include "tile_service.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/matter_json.hpp"
#include "wangge/loop/state_at.hpp"
#include "wangge/render/renderer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace wangge::serve {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::string etag_of(std::string_view bytes) {
    // FNV-1a 64: stable across runs, so a browser's cached copy stays valid after a restart.
    std::uint64_t h = 1469598103934665603ull;
    for (const unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
    return buf;
}

namespace {

std::string mime_of(const fs::path& p) {
    static const std::map<std::string, std::string> types{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".map", "application/json; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"}};
    const auto it = types.find(p.extension().string());
    return it == types.end() ? "application/octet-stream" : it->second;
}

Response json_response(const json& j, unsigned status = 200) {
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

// A request body that must be a JSON object; nullopt when it is not (answer 400).
std::optional<json> json_object_body(const Request& req) {
    try {
        auto body = json::parse(req.body);
        if (body.is_object()) return body;
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

// A text field of a JSON body: "" when absent or null; InputError (400) when not text.
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

json geometry_json(const geo::MultiPolygon& mp) {
    json coords = json::array();
    for (const auto& p : mp.polygons)
        coords.push_back(rings_json(p));
    return {{"type", "MultiPolygon"}, {"coordinates", std::move(coords)}};
}

// A matter's status at `at`: from its current state when `at` is not before its last event,
// else by replaying its journal up to `at` (the loop's rule).
struct MatterView {
    const loop::IncidentRecord* record;
    loop::State state;
    loop::Status status;
};

std::optional<MatterView> view_at(Live& live, const loop::IncidentRecord& r, loop::LocalTime at) {
    const auto& inc = r.incident;
    if (inc.report.reported_at > at) return std::nullopt;
    // The loop's one rule (loop/state_at.hpp); the journal is read only when the matter
    // changed after `at`, as the rule itself needs it only then.
    std::vector<loop::Event> journal;
    if (inc.updated_at > at)
        journal =
            live.with_session([&](loop::Session& s) { return s.store().journal(inc.report.id); });
    const auto then = loop::incident_at(live.loop(), inc, journal, at);
    return MatterView{&r, then.state, live.loop().status(then, at)};
}

// The loop's one matter encoder (loop/matter_json.hpp), shared with the command line.
json matter_properties(const Live& live, const MatterView& v) {
    return loop::MatterJson(live.catalogue(), &live.grid()).matter(*v.record, v.state, v.status);
}

json matter_feature(const Live& live, const MatterView& v) {
    return {{"type", "Feature"},
            {"id", v.record->incident.report.id},
            {"geometry",
             {{"type", "Point"}, {"coordinates", {v.record->lonlat.x, v.record->lonlat.y}}}},
            {"properties", matter_properties(live, v)}};
}

json journal_json(const std::vector<loop::Event>& journal) {
    json arr = json::array();
    for (const auto& e : journal)
        arr.push_back({{"from", loop::to_string(e.from)},
                       {"to", loop::to_string(e.to)},
                       {"supervision", e.is_supervision()},
                       {"at", loop::format_time(e.at)},
                       {"actor", e.actor},
                       {"note", e.note},
                       {"department", e.department},
                       {"person", e.person},
                       {"deadline", time_or_null(e.deadline)}});
    return arr;
}

// ?at= or the server's now; throws InputError for a bad time.
loop::LocalTime at_of(const Live& live, const Request& req) {
    const auto text = req.param("at");
    if (text.empty()) return live.now();
    try {
        return loop::parse_time(text);
    } catch (const Error& e) {
        throw InputError("at: " + e.message());
    }
}

// Filters of `wangge incidents list` (cell, township, status) plus department.
struct MatterFilter {
    std::string cell, township, department;
    std::optional<loop::State> state;
    std::optional<loop::Status> status;
    bool open_only = false;
};

MatterFilter filter_of(const Request& req) {
    MatterFilter f;
    f.cell = req.param("cell");
    f.township = req.param("township");
    f.department = req.param("department");
    const auto s = req.param("status");
    if (s == "open") {
        f.open_only = true;
    } else if (!s.empty()) {
        for (auto st : loop::all_statuses)
            if (loop::to_string(st) == s) f.status = st;
        if (!f.status) {
            try {
                f.state = loop::state_from(s);
            } catch (const InputError&) {
                throw InputError(
                    "status: '" + s +
                    "' is neither a state (reported, filed, ...), a status "
                    "(on_time, warning, overdue, closed_on_time, closed_late, rejected) "
                    "nor 'open'");
            }
        }
    }
    return f;
}

std::vector<MatterView> matters(Live& live, const Snapshot& snap, const MatterFilter& f,
                                loop::LocalTime at) {
    std::vector<MatterView> out;
    for (const auto& r : snap.records) {
        if (!f.cell.empty() && r.cell != f.cell) continue;
        if (!f.township.empty() && r.township != f.township) continue;
        if (!f.department.empty()) {
            const auto& d =
                r.incident.department.empty() ? r.route_department : r.incident.department;
            if (d != f.department) continue;
        }
        const auto v = view_at(live, r, at);
        if (!v) continue;
        if (f.state && v->state != *f.state) continue;
        if (f.open_only && loop::is_final(v->state)) continue;
        if (f.status && v->status != *f.status) continue;
        out.push_back(*v);
    }
    return out;
}

json cell_properties(const Live& live, const grid::Cell& c, render::CellState st) {
    return {{"code", c.code},
            {"name", c.name},
            {"village", c.village_code},
            {"village_name", unit_name(live.grid(), c.village_code)},
            {"township", c.township_code},
            {"township_name", unit_name(live.grid(), c.township_code)},
            {"households", c.households},
            {"population", c.population},
            {"status", render::to_string(st)}};
}

render::CellState cell_state(const render::RenderStatus& s, const std::string& code) {
    const auto it = s.cells.find(code);
    return it == s.cells.end() ? render::CellState::none : it->second;
}

// Status for ?at=: the snapshot's when `at` is its time (the common case), else computed.
std::shared_ptr<const render::RenderStatus> status_for(Live& live, const Request& req,
                                                       loop::LocalTime at) {
    auto snap = live.snapshot();
    if (req.param("at").empty() || snap->at == at) return snap->status;
    return std::make_shared<const render::RenderStatus>(live.status_at(at));
}

// A cell's details: status, duty holders on the day, open matters with deadlines.
json cell_detail(Live& live, const grid::Cell& c, loop::LocalTime at,
                 const render::RenderStatus& status) {
    json j = cell_properties(live, c, cell_state(status, c.code));
    const auto date = loop::date_of(at);
    json holders = json::array();
    const auto& cat = live.catalogue();
    for (const auto& fn : cat.functions()) {
        const auto* d = live.duties().holder(c, fn.code, date);
        if (!d) continue;
        const auto* dept = cat.department(d->department);
        holders.push_back({{"function", fn.code},
                           {"function_name", fn.name},
                           {"department", d->department},
                           {"department_name", dept ? dept->name : ""},
                           {"person", d->person},
                           {"level", loop::to_string(d->level)},
                           {"territorial", fn.fallback}});
        if (fn.fallback) j["territorial_holder"] = holders.back();
    }
    j["duty_holders"] = std::move(holders);
    json open = json::array();
    MatterFilter f;
    f.cell = c.code;
    f.open_only = true;
    auto list = matters(live, *live.snapshot(), f, at);
    std::sort(list.begin(), list.end(), [](const MatterView& a, const MatterView& b) {
        return a.record->incident.due < b.record->incident.due;
    });
    for (const auto& v : list)
        open.push_back(matter_properties(live, v));
    j["open_matters"] = std::move(open);
    j["at"] = loop::format_time(at);
    return j;
}

Response not_found(const std::string& what) {
    return json_error(404, what);
}

std::string form_value(const std::map<std::string, std::string>& form, const std::string& key) {
    const auto it = form.find(key);
    return it == form.end() ? std::string() : it->second;
}

// Reports a matter: the same library calls and rules as `wangge incidents report`.
struct Reported {
    loop::IncidentRecord record;
};

Reported report_matter(Live& live, std::int64_t id, const std::string& category, double lon,
                       double lat, const std::string& reporter, const std::string& note,
                       loop::LocalTime at) {
    return live.with_session([&](loop::Session& s) {
        (void)s.catalogue().category_at(category); // DataError naming an unknown category
        loop::Report report{.id = id,
                            .category = category,
                            .lonlat = {lon, lat},
                            .at = at,
                            .reporter = reporter,
                            .note = note};
        if (report.id > 0 && s.store().incident(report.id))
            throw StoreError("incident " + std::to_string(report.id) + " exists already");
        // Id 0: insert_report picks the next free id inside its write transaction, so
        // concurrent reports (other processes, the CLI) never collide.
        auto record = loop::make_record(report, s.context());
        if (record.cell.empty()) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "point %.6f, %.6f", lon, lat);
            throw DataError(std::string(buf) + " is outside every cell of grid version " +
                            std::to_string(s.grid_version()) +
                            " (outside the county); nothing was recorded");
        }
        s.store().insert_report(record, s.loop());
        return Reported{std::move(record)};
    });
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

} // namespace

StaticFiles load_static_files(const std::string& root) {
    StaticFiles files;
    if (root.empty()) return files;
    if (!fs::is_directory(root))
        throw InputError("the page folder does not exist (build it: ./dev build)", {.file = root});
    const auto base = fs::canonical(root);
    for (const auto& e : fs::recursive_directory_iterator(base)) {
        if (!e.is_regular_file() || e.is_symlink()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        StaticFile f;
        f.body = ss.str();
        f.content_type = mime_of(e.path());
        f.etag = etag_of(f.body);
        files["/" + fs::relative(e.path(), base).generic_string()] = std::move(f);
    }
    return files;
}

App::App(Live& live, EventHub& hub, StaticFiles files, std::string token, TileService* tiles,
         const std::string& style_dir)
    : m_live(live), m_hub(hub), m_files(std::move(files)), m_token(std::move(token)),
      m_tiles(tiles),
      m_palette(json(render::read_style_params(style_dir.empty() ? render::default_style_dir()
                                                                 : style_dir))
                    .dump()) {}

std::optional<Response> App::static_file(const Request& req) const {
    std::string path = req.path == "/" ? "/index.html" : req.path;
    const auto it = m_files.find(path);
    if (it == m_files.end()) return std::nullopt;
    const auto& f = it->second;
    Response r;
    r.content_type = f.content_type;
    r.headers.emplace_back("ETag", f.etag);
    // index.html names the bundle; everything is revalidated (cheap 304s).
    r.headers.emplace_back("Cache-Control", "no-cache");
    if (req.header("if-none-match") == f.etag) {
        r.status = 304;
        return r;
    }
    r.body = f.body;
    return r;
}

std::optional<Response> App::fast(const Request& req) {
    // No path may climb out of the page or tile roots: refuse any ".." segment outright
    // (the lookups below are in memory anyway).
    if (req.path.find("/..") != std::string::npos || req.path.find('\\') != std::string::npos)
        return json_error(400, "path escapes the served roots");
    if (req.method != "GET" && req.method != "HEAD" && req.method != "POST")
        return json_error(405, "method not allowed");
    if (req.path.starts_with("/tiles/") && m_tiles) return m_tiles->fast(req);
    if (req.method == "GET" || req.method == "HEAD")
        if (!req.path.starts_with("/api/") && !req.path.starts_with("/open311/") &&
            !req.path.starts_with("/tiles/")) {
            if (auto r = static_file(req)) return r;
            return not_found("no such page or file: " + req.path);
        }
    return std::nullopt;
}

Response App::handle(const Request& req) {
    try {
        return route(req);
    } catch (const std::exception& e) {
        return error_response(e);
    }
}

Response App::route(const Request& req) {
    if (req.path.starts_with("/api/")) return api(req);
    if (req.path.starts_with("/open311/")) return open311(req);
    if (req.path.starts_with("/tiles/") && m_tiles) return m_tiles->handle(req, m_live);
    return not_found("no such resource: " + req.path);
}

std::optional<Response> App::check_write(const Request& req, const std::string& form_key) const {
    if (m_token.empty())
        return json_error(403, "this server is read-only (start it with --token-file to allow "
                               "writes)");
    std::string given;
    const auto auth = req.header("authorization");
    if (auth.starts_with("Bearer ")) given = auth.substr(7);
    if (given.empty() && !form_key.empty()) given = form_key;
    if (given != m_token) {
        auto r = json_error(401, "writes need 'Authorization: Bearer <token>'");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"wangge\"");
        return r;
    }
    return std::nullopt;
}

Response App::api(const Request& req) {
    const std::string& p = req.path;
    const bool get = req.method == "GET" || req.method == "HEAD";
    const bool post = req.method == "POST";
    auto& live = m_live;

    if (p == "/api/health" && get) {
        const auto snap = live.snapshot();
        return json_response({{"ok", true},
                              {"workspace", live.path()},
                              {"now", loop::format_time(live.now())},
                              {"snapshot", snap->version},
                              {"snapshot_at", loop::format_time(snap->at)},
                              {"matters", snap->records.size()},
                              {"last_event_id", m_hub.last_id()},
                              {"event_clients", m_hub.subscribers()},
                              {"writable", !m_token.empty()}});
    }
    if (p == "/api/cells" && get) {
        const auto at = at_of(live, req);
        const auto status = status_for(live, req, at);
        const bool geometry = req.param("geometry") != "0";
        json features = json::array();
        // At a past time, the cells of the version in force then (before a publish: the old
        // cells, which the matters of that time are counted in).
        const auto& cells =
            req.param("at").empty() ? live.grid() : live.grid_of(live.version_at(at));
        for (const auto& c : cells.cells) {
            json f{{"type", "Feature"},
                   {"id", c.code},
                   {"geometry", geometry ? geometry_json(c.geometry) : json()},
                   {"properties", cell_properties(live, c, cell_state(*status, c.code))}};
            features.push_back(std::move(f));
        }
        return json_response({{"type", "FeatureCollection"},
                              {"at", loop::format_time(at)},
                              {"features", std::move(features)}});
    }
    if (p.starts_with("/api/cells/") && get) {
        const auto code = p.substr(11);
        const auto at = at_of(live, req);
        const auto& cells =
            req.param("at").empty() ? live.grid() : live.grid_of(live.version_at(at));
        const auto* c = cells.find_cell(code);
        if (!c)
            return not_found("no cell " + code + " in the grid version " +
                             (req.param("at").empty() ? std::string("served")
                                                      : "in force at " + loop::format_time(at)));
        return json_response(cell_detail(live, *c, at, *status_for(live, req, at)));
    }
    if (p == "/api/units" && get) {
        json features = json::array();
        for (const auto& u : live.grid().units) {
            if (u.level == grid::UnitLevel::county && req.param("county") == "0") continue;
            features.push_back(
                {{"type", "Feature"},
                 {"id", u.code},
                 {"geometry", u.geometry.empty() ? json() : geometry_json(u.geometry)},
                 {"properties",
                  {{"code", u.code},
                   {"name", u.name},
                   {"level", grid::to_string(u.level)},
                   {"parent", u.parent_code}}}});
        }
        return json_response({{"type", "FeatureCollection"}, {"features", std::move(features)}});
    }
    if (p == "/api/locate" && get) {
        const auto lon = number(req.param("lon"));
        const auto lat = number(req.param("lat"));
        if (!lon || !lat) return json_error(400, "locate needs numeric lon and lat");
        const auto loc = live.with_session([&](loop::Session& s) {
            return s.locator().locate_with_distance({*lon, *lat});
        });
        if (loc.cell < 0) return not_found("the point is outside every cell");
        const auto& c = live.grid().cells.at(static_cast<std::size_t>(loc.cell));
        const auto at = at_of(live, req);
        auto j = cell_detail(live, c, at, *status_for(live, req, at));
        j["boundary_distance_m"] = std::round(loc.boundary_distance_m * 10) / 10;
        return json_response(j);
    }
    if (p == "/api/matters" && get) {
        const auto at = at_of(live, req);
        const auto snap = live.snapshot();
        auto list = matters(live, *snap, filter_of(req), at);
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
        const auto done = report_matter(live, id, category, num("lon"), num("lat"), str("reporter"),
                                        str("note"), at);
        live.poke();
        const MatterView v{&done.record, done.record.incident.state,
                           live.loop().status(done.record.incident, at)};
        auto r = json_response(matter_feature(live, v), 201);
        r.headers.emplace_back("Location",
                               "/api/matters/" + std::to_string(done.record.incident.report.id));
        return r;
    }
    if (p.starts_with("/api/matters/")) {
        auto rest = std::string_view(p).substr(13);
        const bool advance = rest.ends_with("/advance");
        if (advance) rest.remove_suffix(8);
        const auto id = integer(rest);
        if (!id) return not_found("no such matter: " + std::string(rest));
        if (!advance && get) {
            const auto at = at_of(live, req);
            const auto [record, journal] = live.with_session([&](loop::Session& s) {
                return std::pair{s.store().incident(*id), s.store().journal(*id)};
            });
            if (!record) return not_found("no incident " + std::to_string(*id));
            const auto v = view_at(live, *record, at);
            if (!v)
                return not_found("incident " + std::to_string(*id) + " was reported after " +
                                 loop::format_time(at));
            auto j = matter_feature(live, *v);
            j["properties"]["journal"] = journal_json(journal);
            j["properties"]["allowed_next"] = json::array();
            for (const auto s : loop::allowed_next(record->incident.state))
                j["properties"]["allowed_next"].push_back(loop::to_string(s));
            return json_response(j);
        }
        if (advance && post) {
            if (auto denied = check_write(req)) return *denied;
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
            // The same calls as `wangge incidents advance`; an illegal move is refused with
            // the allowed ones and nothing is written.
            std::optional<Response> refused;
            const auto after = live.with_session([&](loop::Session& s) {
                const auto record = s.store().incident(*id);
                if (!record) throw InputError("no incident " + std::to_string(*id));
                if (t.to == loop::State::dispatched) {
                    t.department = department.empty() ? record->route_department : department;
                    t.person = department.empty() && person.empty() ? record->route_person : person;
                }
                try {
                    s.store().apply(std::vector<loop::LoopStore::Change>{{*id, t}}, s.loop());
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
                return s.store().incident(*id);
            });
            if (refused) return *refused;
            live.poke();
            const MatterView v{&*after, after->incident.state,
                               live.loop().status(after->incident, t.at)};
            return json_response(matter_feature(live, v));
        }
        return json_error(405, "method not allowed");
    }
    if (p == "/api/stats" && get) {
        const auto at = at_of(live, req);
        const auto by = loop::stats_by_from(req.param("by").empty() ? "township" : req.param("by"));
        const auto rows =
            live.with_session([&](loop::Session& s) { return s.store().stats(by, at, s.loop()); });
        json arr = json::array();
        for (const auto& r : rows)
            arr.push_back({{"key", r.key},
                           {"total", r.total},
                           {"closed", r.closed},
                           {"closed_on_time", r.closed_on_time},
                           {"open_overdue", r.open_overdue},
                           {"returns", r.returns},
                           {"reworks", r.reworks},
                           {"close_rate", std::round(r.close_rate * 1e4) / 1e4},
                           {"on_time_rate", std::round(r.on_time_rate * 1e4) / 1e4},
                           {"median_close_working_minutes",
                            std::round(r.median_close_working_minutes * 2) / 2}});
        return json_response(
            {{"at", loop::format_time(at)}, {"by", loop::to_string(by)}, {"rows", std::move(arr)}});
    }
    if (p == "/api/summary" && get) {
        // The side panel: open, warning and overdue matters by township and department.
        const auto at = at_of(live, req);
        MatterFilter f;
        f.open_only = true;
        const auto list = matters(live, *live.snapshot(), f, at);
        struct Counts {
            std::size_t open = 0, warning = 0, overdue = 0;
        };
        std::map<std::string, Counts> by_township, by_department;
        Counts total;
        for (const auto& v : list) {
            const auto& r = *v.record;
            const auto& dept =
                r.incident.department.empty() ? r.route_department : r.incident.department;
            for (auto* c : {&by_township[r.township], &by_department[dept], &total}) {
                ++c->open;
                c->warning += v.status == loop::Status::warning;
                c->overdue += v.status == loop::Status::overdue;
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
        return json_response(
            {{"at", loop::format_time(at)},
             {"open", total.open},
             {"warning", total.warning},
             {"overdue", total.overdue},
             {"by_township",
              rows(by_township, [&](const std::string& k) { return unit_name(live.grid(), k); })},
             {"by_department", rows(by_department, [&](const std::string& k) {
                  const auto* d = live.catalogue().department(k);
                  return d ? d->name : std::string();
              })}});
    }
    if (p == "/api/reminders" && get) {
        // The one list of reminders: open matters overdue or nearing their deadline.
        const auto at = at_of(live, req);
        MatterFilter f = filter_of(req);
        f.open_only = true;
        auto list = matters(live, *live.snapshot(), f, at);
        std::erase_if(list, [](const MatterView& v) {
            return v.status != loop::Status::warning && v.status != loop::Status::overdue;
        });
        std::sort(list.begin(), list.end(), [](const MatterView& a, const MatterView& b) {
            return std::pair(a.record->incident.due, a.record->incident.report.id) <
                   std::pair(b.record->incident.due, b.record->incident.report.id);
        });
        json arr = json::array();
        for (const auto& v : list)
            arr.push_back(matter_properties(live, v));
        return json_response({{"at", loop::format_time(at)}, {"reminders", std::move(arr)}});
    }
    if (p == "/api/palette" && get) {
        Response r;
        r.body = m_palette;
        return r;
    }
    if (p == "/api/categories" && get) {
        json arr = json::array();
        for (const auto& c : live.catalogue().categories())
            arr.push_back({{"code", c.code}, {"name", c.name}, {"function", c.function}});
        return json_response(arr);
    }
    if (get || post) return not_found("no such API resource: " + p);
    return json_error(405, "method not allowed");
}

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
        return encoder.open311(*v.record, v.state, v.status);
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
        std::vector<MatterView> list;
        for (const auto& r : snap->records) {
            const auto& inc = r.incident;
            if (!ids.empty() && !ids.contains(inc.report.id)) continue;
            if (!code.empty() && inc.report.category != code) continue;
            if (inc.report.reported_at < start || inc.report.reported_at > end) continue;
            const auto v = view_at(live, r, at);
            if (!v) continue;
            if (status == "open" && loop::is_final(v->state)) continue;
            if (status == "closed" && !loop::is_final(v->state)) continue;
            list.push_back(*v);
        }
        // Newest first, at most 1000 (the spec's default window is 90 days / 1000 requests).
        std::sort(list.begin(), list.end(), [](const MatterView& a, const MatterView& b) {
            return a.record->incident.report.reported_at > b.record->incident.report.reported_at;
        });
        if (ids.empty() && list.size() > 1000) list.resize(1000);
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
        const auto done = report_matter(live, 0, code, *lon, *lat, reporter,
                                        form_value(form, "description"), live.now());
        live.poke();
        return json_response(
            json::array({{{"service_request_id", std::to_string(done.record.incident.report.id)},
                          {"service_notice", ""},
                          {"account_id", nullptr}}}),
            201);
    }
    if (rest.starts_with("requests/") && req.method == "GET") {
        const auto id = integer(std::string_view(rest).substr(9));
        if (!id) return not_found("Open311: no such request");
        const auto record =
            live.with_session([&](loop::Session& s) { return s.store().incident(*id); });
        if (!record) return not_found("Open311: no request " + std::to_string(*id));
        const auto v = view_at(live, *record, std::max(live.now(), record->incident.updated_at));
        return json_response(json::array({request_json(*v)}));
    }
    if (req.method != "GET" && req.method != "POST") return json_error(405, "method not allowed");
    return not_found("Open311: no such resource: " + req.path);
}

bool App::draws(const Request& req) const {
    return m_tiles && req.path.starts_with("/tiles/");
}

void App::warm() {
    if (m_tiles) m_tiles->warm(m_live);
}

void App::publish(const Change& change) {
    const auto& after = *change.after;
    json cells = json::array();
    for (const auto& code : change.cells)
        cells.push_back(
            {{"code", code}, {"status", render::to_string(cell_state(*after.status, code))}});
    json matters_json = json::array();
    for (const auto id : change.matters) {
        const auto it = after.by_id.find(id);
        if (it == after.by_id.end()) {
            matters_json.push_back({{"id", id}, {"removed", true}});
            continue;
        }
        const auto& r = after.records[it->second];
        const auto st = m_live.loop().status(r.incident, std::max(after.at, r.incident.updated_at));
        matters_json.push_back({{"id", id},
                                {"lon", r.lonlat.x},
                                {"lat", r.lonlat.y},
                                {"cell", r.cell},
                                {"state", loop::to_string(r.incident.state)},
                                {"status", loop::to_string(st)},
                                {"open", !loop::is_final(r.incident.state)}});
    }
    json tiles = json::array();
    if (m_tiles)
        for (const auto& t : m_tiles->expire(change))
            tiles.push_back(t);
    m_hub.publish("change", json{{"version", after.version},
                                 {"build_ms", std::round(change.build_ms * 10) / 10},
                                 {"at", loop::format_time(after.at)},
                                 {"cells", std::move(cells)},
                                 {"matters", std::move(matters_json)},
                                 {"tiles", std::move(tiles)}}
                                .dump());
}

} // namespace wangge::serve
