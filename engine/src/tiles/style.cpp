// `tiles style`: load the project's style with Mapnik (entities and includes resolved), save
// it back as one XML, and give every data layer a file datasource written beside it.
#include "wangge/tiles/style.hpp"

#include "wangge/error.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <mapnik/font_engine_freetype.hpp>
#include <mapnik/load_map.hpp>
#include <mapnik/map.hpp>
#include <mapnik/save_map.hpp>
#pragma GCC diagnostic pop

#ifndef WANGGE_MAPNIK_FONTS
#define WANGGE_MAPNIK_FONTS "/usr/share/fonts"
#endif

namespace wangge::tiles {

namespace fs = std::filesystem;

namespace {

nlohmann::json ring_json(const geo::Ring& r) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& p : r)
        a.push_back({p.x, p.y});
    return a;
}

nlohmann::json multipolygon_json(const geo::MultiPolygon& mp) {
    nlohmann::json polys = nlohmann::json::array();
    for (const auto& poly : mp.polygons) {
        nlohmann::json rings = nlohmann::json::array();
        for (const auto& r : poly.rings)
            rings.push_back(ring_json(r));
        polys.push_back(rings);
    }
    return {{"type", "MultiPolygon"}, {"coordinates", polys}};
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw InputError("cannot write", {.file = path.string()});
}

void write_features(const fs::path& path, const nlohmann::json& features) {
    nlohmann::json fc = {{"type", "FeatureCollection"}, {"features", features}};
    write_file(path, fc.dump());
}

std::string datasource_xml(const std::map<std::string, std::string>& params) {
    std::string s = "\n        <Datasource>";
    for (const auto& [k, v] : params)
        s += "\n            <Parameter name=\"" + k + "\"><![CDATA[" + v + "]]></Parameter>";
    return s + "\n        </Datasource>";
}

// Inserts a datasource into the <Layer name="NAME" ...> element of a saved map.
void attach(std::string& xml, const std::string& layer,
            const std::map<std::string, std::string>& params) {
    const std::string open = "<Layer name=\"" + layer + "\"";
    const auto at = xml.find(open);
    if (at == std::string::npos) return; // the style has no such layer
    const auto end = xml.find('>', at);
    xml.insert(end + 1, datasource_xml(params));
}

std::string unit_file(grid::UnitLevel level) {
    switch (level) {
    case grid::UnitLevel::county:
        return "county.geojson";
    case grid::UnitLevel::township:
        return "townships.geojson";
    case grid::UnitLevel::village:
        return "villages.geojson";
    }
    return "units.geojson";
}

// The folder of the style's label font: Mapnik reads a map's font-directory without looking
// into subfolders, so the system's font root would register nothing.
std::string font_directory(const mapnik::Map& map) {
    const auto& files = mapnik::freetype_engine::get_mapping();
    for (const auto& [name, set] : map.fontsets())
        for (const auto& face : set.get_face_names())
            if (const auto it = files.find(face); it != files.end())
                return fs::path(it->second.second).parent_path().string();
    return WANGGE_MAPNIK_FONTS;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

} // namespace

StyleFiles write_style(const render::MapData& data, const render::RenderStatus& status,
                       const std::string& dir, const std::string& style_dir_in) {
    render::init_mapnik();
    const std::string style_dir = style_dir_in.empty() ? render::default_style_dir() : style_dir_in;
    const fs::path src = fs::path(style_dir) / "satellite-overlay.xml";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw InputError("cannot create the folder: " + ec.message(), {.file = dir});
    const fs::path out(dir);

    mapnik::Map map;
    try {
        mapnik::load_map(map, src.string(), false, style_dir);
    } catch (const std::exception& e) {
        throw InputError(std::string("broken style: ") + e.what(), {.file = src.string()});
    }
    map.set_font_directory(font_directory(map));
    // Tools that draw "the whole map" (mapnik-render) zoom to this: the county, as
    // render::area_of_all frames it.
    const auto all = render::area_of_all(data).box_3857;
    map.set_maximum_extent({all.minx, all.miny, all.maxx, all.maxy});
    std::string xml = mapnik::save_map_to_string(map, false);
    // Marker files were resolved to the style folder: point them at the copy beside the XML.
    const std::string abs_style = fs::absolute(style_dir).lexically_normal().string();
    replace_all(xml, abs_style + "/markers/", "markers/");
    replace_all(xml, style_dir + "/markers/", "markers/");
    // The style's own folder is no base for the copy.
    replace_all(xml, " base=\"" + abs_style + "\"", "");
    replace_all(xml, " base=\"" + style_dir + "\"", "");
    fs::create_directories(out / "markers", ec);
    for (const auto& e : fs::directory_iterator(fs::path(style_dir) / "markers"))
        fs::copy_file(e.path(), out / "markers" / e.path().filename(),
                      fs::copy_options::overwrite_existing, ec);
    if (ec) throw InputError("cannot copy the markers: " + ec.message(), {.file = dir});

    StyleFiles files;
    const auto& g = data.grid_3857();
    nlohmann::json cells = nlohmann::json::array();
    for (const auto& c : g.cells) {
        const auto it = status.cells.find(c.code);
        const auto st = it == status.cells.end() ? render::CellState::none : it->second;
        cells.push_back({{"type", "Feature"},
                         {"properties",
                          {{"code", c.code},
                           {"name", c.name},
                           {"status", std::string(render::to_string(st))},
                           {"level", "cell"}}},
                         {"geometry", multipolygon_json(c.geometry)}});
    }
    files.cells = g.cells.size();
    write_features(out / "cells.geojson", cells);
    nlohmann::json pins = nlohmann::json::array();
    for (const auto& p : status.pins) {
        const auto xy = render::lonlat_to_3857({p.lon, p.lat});
        pins.push_back({{"type", "Feature"},
                        {"properties", {{"id", p.id}, {"state", p.state}}},
                        {"geometry", {{"type", "Point"}, {"coordinates", {xy.x, xy.y}}}}});
    }
    files.pins = status.pins.size();
    write_features(out / "pins.geojson", pins);
    for (const auto level :
         {grid::UnitLevel::village, grid::UnitLevel::township, grid::UnitLevel::county}) {
        nlohmann::json units = nlohmann::json::array();
        for (const auto& u : g.units) {
            if (u.level != level || u.geometry.empty()) continue;
            units.push_back({{"type", "Feature"},
                             {"properties",
                              {{"code", u.code},
                               {"name", u.name},
                               {"level", std::string(grid::to_string(u.level))}}},
                             {"geometry", multipolygon_json(u.geometry)}});
        }
        write_features(out / unit_file(level), units);
    }
    const auto geojson = [](const std::string& file) {
        return std::map<std::string, std::string>{{"type", "geojson"}, {"file", file}};
    };
    attach(xml, "cells", geojson("cells.geojson"));
    attach(xml, "cells-overdue", geojson("cells.geojson"));
    attach(xml, "cell-labels", geojson("cells.geojson"));
    attach(xml, "pins", geojson("pins.geojson"));
    attach(xml, "villages", geojson("villages.geojson"));
    attach(xml, "village-labels", geojson("villages.geojson"));
    attach(xml, "townships", geojson("townships.geojson"));
    attach(xml, "township-labels", geojson("townships.geojson"));
    attach(xml, "county", geojson(unit_file(grid::UnitLevel::county)));
    if (const auto& im = data.imagery()) {
        fs::copy_file(im->path, out / "imagery.tif", fs::copy_options::overwrite_existing, ec);
        if (ec) throw InputError("cannot copy the imagery: " + ec.message(), {.file = im->path});
        files.imagery = (out / "imagery.tif").string();
        attach(xml, "imagery", {{"type", "gdal"}, {"file", "imagery.tif"}});
    }
    files.style_file = (out / "style.xml").string();
    write_file(files.style_file, xml);
    return files;
}

} // namespace wangge::tiles
