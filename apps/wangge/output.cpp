#include "output.hpp"

#include "wangge/geo/proj.hpp"
#include "wangge/grid/grid.hpp"

#include <cstdio>
#include <string>

namespace wangge::app {

nlohmann::ordered_json grid_summary(const store::Workspace& ws, std::optional<int> version) {
    const int v = ws.resolve_version(version);
    const auto info = ws.version(v);
    const auto g = ws.grid(v);
    const std::string crs = ws.metric_crs();
    const geo::Transformer to_metric("EPSG:4326", crs);
    double area = 0;
    std::int64_t households = 0, population = 0;
    for (const auto& c : g.cells) {
        area += geo::area_m2(c.geometry, to_metric);
        households += c.households;
        population += c.population;
    }
    const auto b = g.bounds();
    nlohmann::ordered_json j;
    j["workspace"] = ws.path();
    j["grid_version"] = v;
    j["current"] = info.current;
    j["created_at"] = info.created_at;
    j["note"] = info.note;
    j["cells"] = g.cells.size();
    j["townships"] = g.count(grid::UnitLevel::township);
    j["villages"] = g.count(grid::UnitLevel::village);
    for (const auto& u : g.units)
        if (u.level == grid::UnitLevel::county) j["county"] = {{"code", u.code}, {"name", u.name}};
    j["area_km2"] = std::round(area / 1e4) / 100.0;
    j["metric_crs"] = crs;
    j["bbox"] = {b.minx, b.miny, b.maxx, b.maxy};
    j["households"] = households;
    j["population"] = population;
    const auto generated = ws.meta("generated");
    j["generated"] = generated.has_value();
    if (generated) j["notice"] = *generated;
    return j;
}

void print_grid_summary(std::ostream& out, const nlohmann::ordered_json& s) {
    char line[256];
    out << "workspace     " << s["workspace"].get<std::string>() << "\n";
    out << "grid version  " << s["grid_version"].get<int>()
        << (s["current"].get<bool>() ? " (current)" : "") << ", created "
        << s["created_at"].get<std::string>();
    if (!s["note"].get<std::string>().empty()) out << ": " << s["note"].get<std::string>();
    out << "\n";
    if (s.contains("county"))
        out << "county        " << s["county"]["name"].get<std::string>() << " ("
            << s["county"]["code"].get<std::string>() << ")\n";
    out << "units         " << s["townships"].get<std::size_t>() << " township-level units, "
        << s["villages"].get<std::size_t>() << " villages and communities\n";
    out << "cells         " << s["cells"].get<std::size_t>() << "\n";
    std::snprintf(line, sizeof line, "area          %.2f km2 (measured in %s)\n",
                  s["area_km2"].get<double>(), s["metric_crs"].get<std::string>().c_str());
    out << line;
    const auto& b = s["bbox"];
    std::snprintf(line, sizeof line, "extent        %.6f, %.6f .. %.6f, %.6f (lon/lat)\n",
                  b[0].get<double>(), b[1].get<double>(), b[2].get<double>(), b[3].get<double>());
    out << line;
    out << "households    " << s["households"].get<std::int64_t>() << ", population "
        << s["population"].get<std::int64_t>() << "\n";
    if (s["generated"].get<bool>())
        out << "NOTE          " << s["notice"].get<std::string>() << "\n";
}

} // namespace wangge::app
