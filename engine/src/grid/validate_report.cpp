// The validation report: one line per defect, JSON and GeoJSON forms.
#include "validate_support.hpp"
#include "wangge/grid/validate.hpp"

#include <nlohmann/json.hpp>

namespace wangge::grid {

using geo::Box;
using geo::MultiPolygon;
using geo::Point;
using geo::Polygon;
using geo::Ring;

std::string_view to_string(IssueType type) {
    switch (type) {
    case IssueType::invalid_geometry:
        return "invalid_geometry";
    case IssueType::empty_geometry:
        return "empty_geometry";
    case IssueType::duplicate_code:
        return "duplicate_code";
    case IssueType::bad_code:
        return "bad_code";
    case IssueType::overlap:
        return "overlap";
    case IssueType::gap:
        return "gap";
    case IssueType::sliver:
        return "sliver";
    case IssueType::outside_boundary:
        return "outside_boundary";
    case IssueType::crs_mismatch:
        return "crs_mismatch";
    case IssueType::not_nested:
        return "not_nested";
    case IssueType::unmatched_vertex:
        return "unmatched_vertex";
    }
    return "unknown";
}

namespace {

using detail::format;
using detail::join;

// Rounds to 1/per_unit (1e7: 1e-7); dividing by the exact power of ten gives the double
// nearest the decimal, which JSON then prints briefly.
double round_to(double x, double per_unit) {
    return std::round(x * per_unit) / per_unit;
}

} // namespace

// ---- the report ------------------------------------------------------------------------

std::string Issue::describe() const {
    std::string s(to_string(type));
    s.resize(std::max<std::size_t>(s.size(), 16), ' ');
    s += ' ';
    s += cells.empty() ? std::string("-") : join(cells, ",");
    if (location) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "  at %.7f,%.7f", location->x, location->y);
        s += buf;
    }
    if (area_m2) s += "  area " + format("%.2f", *area_m2) + " m2";
    if (width_m) s += "  width " + format("%.2f", *width_m) + " m";
    return s + "  " + message;
}

std::map<IssueType, std::size_t> ValidationReport::counts() const {
    std::map<IssueType, std::size_t> n;
    for (const auto& i : issues)
        ++n[i.type];
    return n;
}

std::string ValidationReport::summary() const {
    if (issues.empty()) return "no defects";
    std::vector<std::string> parts;
    for (const auto& [type, n] : counts())
        parts.push_back(std::to_string(n) + " " + std::string(to_string(type)));
    return std::to_string(issues.size()) + (issues.size() == 1 ? " defect: " : " defects: ") +
           join(parts, ", ");
}

namespace {
nlohmann::ordered_json issue_properties(const Issue& i) {
    nlohmann::ordered_json j;
    j["type"] = std::string(to_string(i.type));
    j["cells"] = i.cells;
    j["location"] = i.location ? nlohmann::ordered_json::array(
                                     {round_to(i.location->x, 1e7), round_to(i.location->y, 1e7)})
                               : nlohmann::ordered_json();
    j["area_m2"] =
        i.area_m2 ? nlohmann::ordered_json(round_to(*i.area_m2, 100)) : nlohmann::ordered_json();
    j["width_m"] =
        i.width_m ? nlohmann::ordered_json(round_to(*i.width_m, 1000)) : nlohmann::ordered_json();
    j["message"] = i.message;
    return j;
}

nlohmann::ordered_json ring_json(const Ring& ring) {
    auto arr = nlohmann::ordered_json::array();
    for (const auto& p : ring)
        arr.push_back({p.x, p.y});
    return arr;
}
} // namespace

std::string ValidationReport::to_json(int indent) const {
    nlohmann::ordered_json j;
    j["valid"] = valid();
    j["cells"] = cells;
    j["metric_crs"] = metric_crs;
    auto c = nlohmann::ordered_json::object();
    for (const auto& [type, n] : counts())
        c[std::string(to_string(type))] = n;
    j["counts"] = c;
    j["notes"] = notes;
    j["issues"] = nlohmann::ordered_json::array();
    for (const auto& i : issues)
        j["issues"].push_back(issue_properties(i));
    // Codes and messages come from the source file: bytes that are not UTF-8 (found by
    // fuzz_grid_geojson) are replaced, not thrown as a JSON library error.
    return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string ValidationReport::to_geojson() const {
    nlohmann::ordered_json fc;
    fc["type"] = "FeatureCollection";
    fc["name"] = "defects";
    fc["features"] = nlohmann::ordered_json::array();
    for (const auto& i : issues) {
        nlohmann::ordered_json f;
        f["type"] = "Feature";
        auto props = issue_properties(i);
        props["cells"] = join(i.cells, ",");
        props.erase("location");
        f["properties"] = props;
        if (!i.geometry.empty()) {
            auto polys = nlohmann::ordered_json::array();
            for (const auto& p : i.geometry.polygons) {
                auto rings = nlohmann::ordered_json::array();
                for (const auto& r : p.rings)
                    rings.push_back(ring_json(r));
                polys.push_back(rings);
            }
            f["geometry"] = {{"type", "MultiPolygon"}, {"coordinates", polys}};
        } else if (i.location) {
            f["geometry"] = {{"type", "Point"}, {"coordinates", {i.location->x, i.location->y}}};
        } else {
            f["geometry"] = nullptr;
        }
        fc["features"].push_back(f);
    }
    return fc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

} // namespace wangge::grid
