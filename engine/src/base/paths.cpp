#include "wangge/base/paths.hpp"

#include <system_error>

namespace wangge::base {

namespace fs = std::filesystem;

fs::path executable_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec); // Linux, the only target
    return ec ? fs::path() : exe.parent_path();
}

fs::path data_dir(std::string_view name, const fs::path& fallback) {
    const fs::path exe = executable_dir();
    if (!exe.empty()) {
        const fs::path installed = exe.parent_path() / "share" / "wangge" / name;
        std::error_code ec;
        if (fs::is_directory(installed, ec)) return installed;
    }
    return fallback;
}

} // namespace wangge::base
