// Text as wangge stores it: UTF-8, checked at the edge so that one bad byte never reaches the
// workspace (where it would break every JSON listing of it), and converted from another
// encoding (GBK from older Chinese office software) only when the user says so.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wangge::base {

// The byte offset of the first byte that does not start a valid UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF are invalid too); nullopt when all is valid.
[[nodiscard]] std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept;

// Why `text` is not UTF-8, for an error message: "byte offset 12 (bytes CD F8 B8 F1)".
// Only meaningful when first_invalid_utf8(text) is set.
[[nodiscard]] std::string describe_invalid_utf8(std::string_view text, std::size_t offset);

// Converts `text` from `encoding` (an iconv name) into `out`: nullopt when all of it
// converted, else the byte offset in `text` where it is not valid in that encoding. UTF-8 is
// only checked (and copied). Throws InputError when the encoding is unknown.
[[nodiscard]] std::optional<std::size_t>
convert_to_utf8(std::string_view text, const std::string& encoding, std::string& out);

// Converts `text` from `encoding` (an iconv name: GBK, GB18030, BIG5, ...) to UTF-8. UTF-8
// itself is checked and returned as it is. Throws InputError naming `what` (a file, an option)
// and the byte offset when the text is not valid in that encoding or the encoding is unknown.
[[nodiscard]] std::string to_utf8(std::string_view text, const std::string& encoding,
                                  const std::string& what);

} // namespace wangge::base
