#include "wangge/store/grid_values.hpp"

#include "wangge/base/enum_names.hpp"

#include <algorithm>

namespace wangge::store {

namespace {
constexpr base::EnumName<UnitLevel> unit_level_names[] = {{UnitLevel::county, "county"},
                                                          {UnitLevel::township, "township"},
                                                          {UnitLevel::village, "village"}};
} // namespace

std::string_view to_string(UnitLevel level) {
    return base::enum_name(unit_level_names, level);
}

UnitLevel unit_level_from(std::string_view text) {
    return base::parse_enum(unit_level_names, text, "unit level");
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
