// MapData (the grid in EPSG:3857, the imagery), areas and the style parameters. No Mapnik here.
#include "wangge/base/paths.hpp"
#include "wangge/error.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/store/workspace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <regex>
#include <sstream>

#ifndef WANGGE_STYLE_DIR
#define WANGGE_STYLE_DIR "styles"
#endif

namespace wangge::render {

namespace fs = std::filesystem;

namespace {

constexpr double earth_radius = 6378137.0;
// Web Mercator stops short of the poles.
constexpr double max_lat = 85.0511287798066;

geo::Box padded(geo::Box b, double pad) {
    const double dx = (b.maxx - b.minx) * pad;
    const double dy = (b.maxy - b.miny) * pad;
    // A degenerate box (a point) still gets some room.
    const double m = std::max({dx, dy, 50.0});
    return {b.minx - m, b.miny - m, b.maxx + m, b.maxy + m};
}

void project(geo::MultiPolygon& mp) {
    geo::for_each_point(mp, [](geo::Point& p) { p = lonlat_to_3857(p); });
}

// "稷山县 翟店镇 翟东村委会": the names of a unit and the units above it, county first.
std::string unit_chain(const grid::Grid& g, const std::string& code) {
    std::vector<std::string> names;
    for (const auto* u = g.find_unit(code); u;
         u = u->parent_code.empty() ? nullptr : g.find_unit(u->parent_code)) {
        names.push_back(u->name.empty() ? u->code : u->name);
        if (names.size() > 4) break; // a parent cycle in bad data
    }
    std::string out;
    for (auto it = names.rbegin(); it != names.rend(); ++it)
        out += (out.empty() ? "" : " ") + *it;
    return out;
}

// Even-odd point in polygon over every ring: enough to name what a box is centred on.
bool inside(const geo::MultiPolygon& mp, geo::Point p) {
    bool in = false;
    for (const auto& poly : mp.polygons)
        for (const auto& ring : poly.rings)
            for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++)
                if ((ring[i].y > p.y) != (ring[j].y > p.y) &&
                    p.x < (ring[j].x - ring[i].x) * (p.y - ring[i].y) / (ring[j].y - ring[i].y) +
                              ring[i].x)
                    in = !in;
    return in;
}

} // namespace

geo::Point lonlat_to_3857(geo::Point p) {
    const double lat = std::clamp(p.y, -max_lat, max_lat);
    constexpr double d2r = std::numbers::pi / 180.0;
    return {earth_radius * p.x * d2r,
            earth_radius * std::log(std::tan(std::numbers::pi / 4 + lat * d2r / 2))};
}

geo::Point mercator_to_lonlat(geo::Point p) {
    constexpr double r2d = 180.0 / std::numbers::pi;
    return {p.x / earth_radius * r2d,
            (2 * std::atan(std::exp(p.y / earth_radius)) - std::numbers::pi / 2) * r2d};
}

std::shared_ptr<const MapData> MapData::from_grid(grid::Grid g, std::optional<ImageryLayer> imagery,
                                                  std::string generated_notice) {
    for (auto& c : g.cells)
        project(c.geometry);
    for (auto& u : g.units)
        project(u.geometry);
    std::shared_ptr<MapData> d(new MapData());
    d->m_grid = std::move(g);
    d->m_imagery = std::move(imagery);
    d->m_generated = std::move(generated_notice);
    return d;
}

std::shared_ptr<const MapData> MapData::load(const store::Workspace& ws, std::optional<int> version,
                                             const std::string& imagery_name) {
    std::optional<ImageryLayer> imagery;
    const fs::path folder = fs::absolute(ws.path()).parent_path();
    for (const auto& im : ws.imagery()) {
        if (!imagery_name.empty() && im.name != imagery_name) continue;
        fs::path p = im.path;
        if (p.is_relative()) p = folder / p;
        if (!fs::exists(p))
            throw InputError("registered imagery '" + im.name + "' is missing: " + p.string(),
                             {.file = ws.path()});
        imagery = ImageryLayer{p.string(), im.attribution, im.generated};
        break;
    }
    if (!imagery_name.empty() && !imagery)
        throw InputError("no imagery named '" + imagery_name + "' in the workspace",
                         {.file = ws.path()});
    return from_grid(ws.grid(version), std::move(imagery), ws.meta("generated").value_or(""));
}

std::string MapData::area_name() const {
    for (const auto& u : m_grid.units)
        if (u.level == grid::UnitLevel::county) return u.name.empty() ? u.code : u.name;
    for (const auto& u : m_grid.units)
        if (u.level == grid::UnitLevel::township) return u.name.empty() ? u.code : u.name;
    return "";
}

Area area_of_all(const MapData& data, double pad) {
    geo::Box b;
    for (const auto& c : data.grid_3857().cells)
        b.expand(geo::bounds(c.geometry));
    if (!b.valid()) throw InputError("the grid has no cells to draw");
    return {padded(b, pad), data.area_name()};
}

Area area_of_unit(const MapData& data, const std::string& code, double pad) {
    const auto* u = data.grid_3857().find_unit(code);
    if (!u) throw InputError("unknown township or village code '" + code + "'");
    geo::Box b = geo::bounds(u->geometry);
    if (!b.valid()) {
        // A unit without geometry: the cells under it.
        for (const auto& c : data.grid_3857().cells)
            if (c.township_code == code || c.village_code == code)
                b.expand(geo::bounds(c.geometry));
    }
    if (!b.valid()) throw InputError("township or village '" + code + "' has no geometry");
    return {padded(b, pad), unit_chain(data.grid_3857(), code), code};
}

Area area_of_cell(const MapData& data, const std::string& code, double pad) {
    const auto* c = data.grid_3857().find_cell(code);
    if (!c) throw InputError("unknown cell code '" + code + "'", {.cell = code});
    std::string name = unit_chain(data.grid_3857(), c->village_code);
    if (name.empty()) name = unit_chain(data.grid_3857(), c->township_code);
    name += (name.empty() ? "" : " ") + (c->name.empty() ? c->code : c->name + " " + c->code);
    return {padded(geo::bounds(c->geometry), pad), name, code};
}

std::pair<int, int> fitted_size(const Area& area, int long_side) {
    const double w = area.box_3857.maxx - area.box_3857.minx;
    const double h = area.box_3857.maxy - area.box_3857.miny;
    if (!(w > 0 && h > 0)) return {long_side, long_side};
    const auto other = [&](double r) {
        return std::max(1, static_cast<int>(std::lround(long_side * r)));
    };
    return w >= h ? std::pair{long_side, other(h / w)} : std::pair{other(w / h), long_side};
}

Area area_of_lonlat(const geo::Box& ll, const MapData* data) {
    if (!ll.valid() || ll.minx < -180 || ll.maxx > 180 || ll.miny < -90 || ll.maxy > 90 ||
        ll.minx == ll.maxx || ll.miny == ll.maxy)
        throw InputError("a bbox must be minlon,minlat,maxlon,maxlat with min < max");
    const auto a = lonlat_to_3857({ll.minx, ll.miny});
    const auto b = lonlat_to_3857({ll.maxx, ll.maxy});
    // Named by the cell at its centre, else the county; raw coordinates only outside the grid.
    const geo::Point centre{(a.x + b.x) / 2, (a.y + b.y) / 2};
    if (data) {
        for (const auto& c : data->grid_3857().cells)
            if (geo::bounds(c.geometry).contains(centre) && inside(c.geometry, centre)) {
                std::string name = unit_chain(data->grid_3857(), c.village_code);
                return {{a.x, a.y, b.x, b.y},
                        name + (name.empty() ? "" : " ") + (c.name.empty() ? c.code : c.name) +
                            " 附近"};
            }
    }
    std::ostringstream name;
    name.precision(6);
    name << ll.minx << "," << ll.miny << " – " << ll.maxx << "," << ll.maxy;
    return {{a.x, a.y, b.x, b.y}, name.str()};
}

std::string default_style_dir() {
    if (const char* env = std::getenv("WANGGE_STYLE_DIR"); env && *env) return env;
    return base::data_dir("styles", WANGGE_STYLE_DIR).string(); // installed, else the sources
}

std::map<std::string, std::string> read_style_params(const std::string& style_dir) {
    const fs::path file = fs::path(style_dir) / "params.ent";
    std::ifstream in(file);
    if (!in) throw InputError("cannot read the style parameters", {.file = file.string()});
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    static const std::regex entity(R"re(<!ENTITY\s+([A-Za-z_][\w.-]*)\s+"([^"]*)"\s*>)re");
    std::map<std::string, std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), entity), end; it != end; ++it)
        out[(*it)[1].str()] = (*it)[2].str();
    return out;
}

} // namespace wangge::render
