// The map's places: /api/cells (with ?at=), /api/cells/CODE, /api/units, /api/locate.
#include "api_support.hpp"
#include "app.hpp"
#include "matter_views.hpp"

#include <algorithm>
#include <cmath>

namespace wangge::serve {

namespace {

// A cell's attributes; unit names from the grid version it belongs to.
json cell_properties(const grid::Grid& grid, const grid::Cell& c, render::CellState st) {
    return {{"code", c.code},
            {"name", c.name},
            {"village", c.village_code},
            {"village_name", unit_name(grid, c.village_code)},
            {"township", c.township_code},
            {"township_name", unit_name(grid, c.township_code)},
            {"households", c.households},
            {"population", c.population},
            {"status", render::to_string(st)}};
}

// A cell's details at `at`: status, duty holders on the day, open matters by deadline.
json cell_detail(Live& live, const grid::Grid& grid, const grid::Cell& c, loop::LocalTime at,
                 const render::RenderStatus& status) {
    json j = cell_properties(grid, c, cell_state(status, c.code));
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
    MatterFilter f;
    f.loop.cell = c.code; // its matters at T: before a redraw, those it held then
    f.loop.open_only = true;
    const auto snap = live.snapshot(); // the views below may point into it
    auto list = matters(live, *snap, f, at);
    std::sort(list.begin(), list.end(), [](const MatterView& a, const MatterView& b) {
        return a.incident().due < b.incident().due;
    });
    json open = json::array();
    for (const auto& v : list)
        open.push_back(matter_properties(live, v));
    j["open_matters"] = std::move(open);
    j["at"] = loop::format_time(at);
    return j;
}

} // namespace

std::optional<Response> App::places_api(const Request& req) {
    const std::string& p = req.path;
    if (req.method != "GET" && req.method != "HEAD") return std::nullopt;
    auto& live = m_live;
    if (p == "/api/cells") {
        const auto at = at_of(live, req);
        const auto status = status_for(live, req, at);
        const bool geometry = req.param("geometry") != "0";
        const auto& grid = grid_at(live, at);
        json features = json::array();
        for (const auto& c : grid.cells)
            features.push_back(
                {{"type", "Feature"},
                 {"id", c.code},
                 {"geometry", geometry ? geometry_json(c.geometry) : json()},
                 {"properties", cell_properties(grid, c, cell_state(*status, c.code))}});
        return json_response({{"type", "FeatureCollection"},
                              {"at", loop::format_time(at)},
                              {"features", std::move(features)}});
    }
    if (p.starts_with("/api/cells/")) {
        const auto code = p.substr(11);
        const auto at = at_of(live, req);
        const auto& grid = grid_at(live, at);
        const auto* c = grid.find_cell(code);
        if (!c)
            return not_found("no cell " + code + " in the grid version in force at " +
                             loop::format_time(at));
        return json_response(cell_detail(live, grid, *c, at, *status_for(live, req, at)));
    }
    if (p == "/api/units") {
        const auto& grid = grid_at(live, at_of(live, req));
        json features = json::array();
        for (const auto& u : grid.units) {
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
    if (p == "/api/locate") {
        const auto lon = number(req.param("lon"));
        const auto lat = number(req.param("lat"));
        if (!lon || !lat) return json_error(400, "locate needs numeric lon and lat");
        const auto at = at_of(live, req);
        // A click on the map at a past time finds the cell of the version in force then.
        const int version = live.version_at(at);
        const auto loc = live.locate({*lon, *lat}, version);
        if (loc.cell < 0) return not_found("the point is outside every cell");
        const auto& grid = live.grid_of(version);
        const auto& c = grid.cells.at(static_cast<std::size_t>(loc.cell));
        auto j = cell_detail(live, grid, c, at, *status_for(live, req, at));
        j["boundary_distance_m"] = std::round(loc.boundary_distance_m * 10) / 10;
        return json_response(j);
    }
    return std::nullopt;
}

} // namespace wangge::serve
