#include "wangge/store/grid_values.hpp"

#include "wangge/error.hpp"

#include <algorithm>

namespace wangge::store {

std::string_view to_string(UnitLevel level) {
    switch (level) {
    case UnitLevel::county:
        return "county";
    case UnitLevel::township:
        return "township";
    case UnitLevel::village:
        return "village";
    }
    return "unknown";
}

UnitLevel unit_level_from(std::string_view text) {
    if (text == "county") return UnitLevel::county;
    if (text == "township") return UnitLevel::township;
    if (text == "village") return UnitLevel::village;
    throw InputError("unknown unit level '" + std::string(text) + "'");
}

std::size_t Grid::count(UnitLevel level) const {
    return static_cast<std::size_t>(std::count_if(
        units.begin(), units.end(), [&](const AdminUnit& u) { return u.level == level; }));
}

const AdminUnit* Grid::find_unit(std::string_view code) const {
    for (const auto& u : units)
        if (u.code == code) return &u;
    return nullptr;
}

const Cell* Grid::find_cell(std::string_view code) const {
    for (const auto& c : cells)
        if (c.code == code) return &c;
    return nullptr;
}

geo::Box Grid::bounds() const {
    geo::Box b;
    for (const auto& c : cells)
        b.expand(geo::bounds(c.geometry));
    return b;
}

} // namespace wangge::store
