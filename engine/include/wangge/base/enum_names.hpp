// Enum <-> text through one table per enum, instead of a switch one way and an if-chain the
// other that can drift apart:
//
//   constexpr base::EnumName<UnitLevel> unit_level_names[] = {
//       {UnitLevel::county, "county"}, {UnitLevel::township, "township"}, ...};
//   base::enum_name(unit_level_names, level);                        // "county"
//   base::parse_enum(unit_level_names, text, "unit level");          // or InputError
#pragma once

#include "wangge/error.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wangge::base {

template <typename E> struct EnumName {
    E value;
    std::string_view name;
};

// The name of a value; "unknown" for a value the table does not hold (a cast integer).
template <typename E, std::size_t N>
constexpr std::string_view enum_name(const EnumName<E> (&table)[N], E value) noexcept {
    for (const auto& entry : table)
        if (entry.value == value) return entry.name;
    return "unknown";
}

// The value named `text` exactly, or nullopt.
template <typename E, std::size_t N>
constexpr std::optional<E> find_enum(const EnumName<E> (&table)[N],
                                     std::string_view text) noexcept {
    for (const auto& entry : table)
        if (entry.name == text) return entry.value;
    return std::nullopt;
}

// The names, joined by `separator` (for messages and --help).
template <typename E, std::size_t N>
std::string enum_names(const EnumName<E> (&table)[N], std::string_view separator = ", ") {
    std::string out;
    for (const auto& entry : table) {
        if (!out.empty()) out += separator;
        out += entry.name;
    }
    return out;
}

// The value named `text`; InputError "unknown <what> 'text' (use a, b, c)" otherwise.
template <typename E, std::size_t N>
E parse_enum(const EnumName<E> (&table)[N], std::string_view text, std::string_view what) {
    if (auto value = find_enum(table, text)) return *value;
    throw InputError("unknown " + std::string(what) + " '" + std::string(text) + "' (use " +
                     enum_names(table) + ")");
}

} // namespace wangge::base
