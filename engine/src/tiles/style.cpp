// `tiles style`: the project's style as one XML (render::standalone_style_xml, loaded as the
// renderer loads it), every data layer given a file datasource written beside it.
#include "wangge/tiles/style.hpp"

#include "wangge/error.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

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

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

} // namespace

StyleFiles write_style(const render::MapData& data, const render::RenderStatus& status,
                       const std::string& dir, const std::string& style_dir_in) {
    const std::string style_dir = style_dir_in.empty() ? render::default_style_dir() : style_dir_in;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw InputError("cannot create the folder: " + ec.message(), {.file = dir});
    const fs::path out(dir);

    // Tools that draw "the whole map" (mapnik-render) zoom to the maximum extent: the county,
    // as render::area_of_all frames it.
    std::string xml = render::standalone_style_xml(style_dir, "satellite-overlay",
                                                   render::area_of_all(data).box_3857);
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
    for (const auto& l : render::style_layers()) {
        const auto geojson = [&](const std::string& file) {
            attach(xml, std::string(l.layer), {{"type", "geojson"}, {"file", file}});
        };
        switch (l.data) {
        case render::LayerData::cells:
            geojson("cells.geojson");
            break;
        case render::LayerData::pins:
            geojson("pins.geojson");
            break;
        case render::LayerData::villages:
            geojson(unit_file(grid::UnitLevel::village));
            break;
        case render::LayerData::townships:
            geojson(unit_file(grid::UnitLevel::township));
            break;
        case render::LayerData::county:
            geojson(unit_file(grid::UnitLevel::county));
            break;
        case render::LayerData::imagery:
            if (const auto& im = data.imagery()) {
                fs::copy_file(im->path, out / "imagery.tif", fs::copy_options::overwrite_existing,
                              ec);
                if (ec)
                    throw InputError("cannot copy the imagery: " + ec.message(),
                                     {.file = im->path});
                files.imagery = (out / "imagery.tif").string();
                attach(xml, std::string(l.layer), {{"type", "gdal"}, {"file", "imagery.tif"}});
            }
            break;
        }
    }
    files.style_file = (out / "style.xml").string();
    write_file(files.style_file, xml);
    return files;
}

} // namespace wangge::tiles
