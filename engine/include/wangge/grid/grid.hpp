// The grid as values: administrative units (county, township-level units, villages and
// communities) and the cells that tile them. Geometry is lon/lat (EPSG:4326).
#pragma once

#include "wangge/geo/geometry.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wangge::grid {

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

// Cell code schemes: national unit grid 14 digits (6 county + 3 township + 3 village +
// 2 sequence, CJ/T 213 / GB/T 30428.1), Beijing 15 (3-digit sequence, DB11/T 2157),
// professional 20 (CJ/T 349). All share the 12-digit village prefix.
enum class CodeScheme { national14, beijing15, professional20 };

[[nodiscard]] std::size_t code_length(CodeScheme scheme);
// "14", "15", "20" (or the scheme names); throws InputError otherwise.
[[nodiscard]] CodeScheme code_scheme_from(std::string_view text);

struct CodeParts {
    std::string county;   // 6
    std::string township; // 9
    std::string village;  // 12
    std::string sequence; // the rest
};

// The parts of a cell code when it is all digits of the scheme's length, else nullopt.
[[nodiscard]] std::optional<CodeParts> split_cell_code(std::string_view code, CodeScheme scheme);
// Any all-digit code of 14, 15 or 20 digits.
[[nodiscard]] std::optional<CodeParts> split_cell_code(std::string_view code);

} // namespace wangge::grid
