// The lines and areas planners give to the edits: WKT, GeoJSON, or a file holding one.
#include "redraw/edit_shared.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/redraw/edit.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <geos_c.h>
#include <map>
#include <nlohmann/json.hpp>
#include <ogr_api.h>
#include <optional>
#include <set>
#include <sstream>

namespace wangge::redraw {

using namespace detail;

namespace {

// A geometry from WKT, a GeoJSON geometry, Feature or one-feature FeatureCollection, or a
// file holding one of them (lon/lat). `what` names the option in messages.
geo::GeometryPtr read_geometry(const std::string& text_in, const std::string& what) {
    std::string text = text_in;
    namespace fs = std::filesystem;
    std::error_code ec;
    if (text.size() < 4096 && fs::is_regular_file(text, ec)) {
        std::ifstream in(text);
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) throw InputError("an empty " + what);
    OGRGeometryH g = nullptr;
    geo::GdalErrorCapture capture;
    if (text[first] == '{') {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text);
        } catch (const std::exception& e) {
            throw InputError(what + " is not valid GeoJSON: " + e.what());
        }
        if (j.value("type", "") == "FeatureCollection" && j.contains("features") &&
            j["features"].size() == 1)
            j = j["features"][0];
        if (j.value("type", "") == "Feature") j = j["geometry"];
        g = OGR_G_CreateGeometryFromJson(j.dump().c_str());
    } else {
        char* wkt = text.data() + first;
        if (OGR_G_CreateFromWkt(&wkt, nullptr, &g) != OGRERR_NONE) g = nullptr;
    }
    if (!g) throw InputError(what + " is neither WKT nor GeoJSON: " + capture.last());
    return geo::GeometryPtr(g);
}

// The points of an OGR curve, consecutive duplicates dropped.
Line points_of(OGRGeometryH g, const std::string& what) {
    Line line;
    for (int i = 0; i < OGR_G_GetPointCount(g); ++i) {
        const Point p{OGR_G_GetX(g, i), OGR_G_GetY(g, i)};
        if (!std::isfinite(p.x) || !std::isfinite(p.y))
            throw InputError(what + " has a non-finite coordinate");
        if (line.empty() || !(line.back() == p)) line.push_back(p);
    }
    return line;
}

} // namespace

Line parse_line(const std::string& text) {
    const auto owned = read_geometry(text, "--line");
    OGRGeometryH g = owned.get();
    if (wkbFlatten(OGR_G_GetGeometryType(g)) != wkbLineString)
        throw InputError(std::string("--line must be a LineString, not a ") +
                         OGR_G_GetGeometryName(g));
    Line line = points_of(g, "--line");
    if (line.size() < 2) throw InputError("--line needs at least two distinct points");
    if (!OGR_G_IsSimple(g)) throw InputError("--line intersects itself");
    return line;
}

geo::Ring parse_area(const std::string& text) {
    const auto owned = read_geometry(text, "AREA");
    OGRGeometryH g = owned.get();
    if (wkbFlatten(OGR_G_GetGeometryType(g)) == wkbMultiPolygon && OGR_G_GetGeometryCount(g) == 1)
        g = OGR_G_GetGeometryRef(g, 0);
    if (wkbFlatten(OGR_G_GetGeometryType(g)) != wkbPolygon)
        throw InputError(std::string("AREA must be one Polygon, not a ") +
                         OGR_G_GetGeometryName(g));
    if (OGR_G_GetGeometryCount(g) != 1)
        throw InputError("AREA must be a polygon without holes (transfer each part in turn)");
    if (!OGR_G_IsValid(g)) throw InputError("AREA is not a valid polygon (it intersects itself)");
    Ring ring = points_of(OGR_G_GetGeometryRef(g, 0), "AREA");
    if (ring.size() < 4 || !(ring.front() == ring.back()))
        throw InputError("AREA needs a closed ring of at least three points");
    return ring;
}

} // namespace wangge::redraw
