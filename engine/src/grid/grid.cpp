#include "wangge/grid/grid.hpp"

#include "wangge/error.hpp"

#include <algorithm>

namespace wangge::grid {

std::size_t code_length(CodeScheme scheme) {
    switch (scheme) {
    case CodeScheme::national14:
        return 14;
    case CodeScheme::beijing15:
        return 15;
    case CodeScheme::professional20:
        return 20;
    }
    return 14;
}

CodeScheme code_scheme_from(std::string_view text) {
    if (text == "14" || text == "national") return CodeScheme::national14;
    if (text == "15" || text == "beijing") return CodeScheme::beijing15;
    if (text == "20" || text == "professional") return CodeScheme::professional20;
    throw InputError("unknown code scheme '" + std::string(text) + "' (use 14, 15 or 20)");
}

std::optional<CodeParts> split_cell_code(std::string_view code, CodeScheme scheme) {
    if (code.size() != code_length(scheme)) return std::nullopt;
    if (!std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    return CodeParts{std::string(code.substr(0, 6)), std::string(code.substr(0, 9)),
                     std::string(code.substr(0, 12)), std::string(code.substr(12))};
}

std::optional<CodeParts> split_cell_code(std::string_view code) {
    for (auto s : {CodeScheme::national14, CodeScheme::beijing15, CodeScheme::professional20})
        if (auto parts = split_cell_code(code, s)) return parts;
    return std::nullopt;
}

} // namespace wangge::grid
