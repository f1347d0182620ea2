// Shared by the libFuzzer targets: the loaders under test read files, so each input is
// written to one scratch file per process (in /dev/shm when there is one, so no disk I/O).
// Only wangge's own error types are expected; anything else escapes and libFuzzer reports
// it as a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace wangge::fuzz {

inline std::string scratch_path(const std::string& suffix) {
    const std::filesystem::path dir = std::filesystem::is_directory("/dev/shm")
                                          ? std::filesystem::path("/dev/shm")
                                          : std::filesystem::temp_directory_path();
    return (dir / ("wangge-fuzz-" + std::to_string(::getpid()) + suffix)).string();
}

// Writes the input to `path` (replacing it) and returns the path.
inline const std::string& write_input(const std::string& path, const std::uint8_t* data,
                                      std::size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

} // namespace wangge::fuzz
