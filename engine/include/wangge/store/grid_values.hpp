// The grid as values: administrative units (county, township-level units, villages and
// communities) and the cells that tile them. Geometry is lon/lat (EPSG:4326).
//
// They live in the store stage because the workspace persists them and store comes before
// grid; grid/grid.hpp re-exports them as wangge::grid::Cell etc. with the cell-code rules,
// which is the name every later stage uses.
#pragma once

#include "wangge/geo/geometry.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wangge::store {

enum class UnitLevel { county, township, village };

[[nodiscard]] std::string_view to_string(UnitLevel level);
// Throws InputError for anything but "county", "township", "village".
[[nodiscard]] UnitLevel unit_level_from(std::string_view text);

struct AdminUnit {
    UnitLevel level = UnitLevel::village;
    std::string code; // 6, 9 or 12 digits for national codes
    std::string name;
    std::string parent_code;    // "" for the county
    geo::MultiPolygon geometry; // may be empty when the source had none
    friend bool operator==(const AdminUnit&, const AdminUnit&) = default;
};

struct Cell {
    std::string code; // 14 digits in the national scheme
    std::string name;
    std::string village_code;
    std::string township_code;
    std::string county_code;
    std::int64_t households = 0;
    std::int64_t population = 0;
    geo::MultiPolygon geometry;
    friend bool operator==(const Cell&, const Cell&) = default;
};

struct Grid {
    std::vector<AdminUnit> units;
    std::vector<Cell> cells;

    [[nodiscard]] std::size_t count(UnitLevel level) const;
    [[nodiscard]] const AdminUnit* find_unit(std::string_view code) const;
    [[nodiscard]] const Cell* find_cell(std::string_view code) const;
    [[nodiscard]] geo::Box bounds() const;
    friend bool operator==(const Grid&, const Grid&) = default;
};

} // namespace wangge::store
