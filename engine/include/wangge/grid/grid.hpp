// The grid: units and cells (values defined in store/grid_values.hpp) and the cell-code
// schemes.
#pragma once

#include "wangge/store/grid_values.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace wangge::grid {

// The value types are defined in the store stage (the workspace persists them); these are
// the names the grid and every later stage use.
using store::AdminUnit;
using store::Cell;
using store::Grid;
using store::to_string;
using store::unit_level_from;
using store::UnitLevel;

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
