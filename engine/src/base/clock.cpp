#include "wangge/base/clock.hpp"

#include <array>
#include <chrono>

namespace wangge::base {

std::string utc_text(std::time_t t, const char* format) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 64> buf{};
    const std::size_t n = std::strftime(buf.data(), buf.size(), format, &tm);
    return {buf.data(), n};
}

std::string utc_now_text(const char* format) {
    return utc_text(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()), format);
}

} // namespace wangge::base
