// Where the files wangge reads at run time are: installed beside the binary
// (<prefix>/bin/wangge finds <prefix>/share/wangge/<name>), or, in a build tree, the source
// tree the build was configured from.
#pragma once

#include <filesystem>
#include <string_view>

namespace wangge::base {

// The folder of the running executable; empty when the system cannot tell.
[[nodiscard]] std::filesystem::path executable_dir();

// <executable_dir>/../share/wangge/<name> when that folder exists, else `fallback`.
[[nodiscard]] std::filesystem::path data_dir(std::string_view name,
                                             const std::filesystem::path& fallback);

} // namespace wangge::base
