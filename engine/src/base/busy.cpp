#include "wangge/base/busy.hpp"

#include <cstdlib>

namespace wangge::base {

int busy_timeout_ms() noexcept {
    constexpr int fallback = 30000;
    const char* text = std::getenv("WANGGE_BUSY_TIMEOUT");
    if (!text || !*text) return fallback;
    char* end = nullptr;
    const double seconds = std::strtod(text, &end);
    if (*end != '\0' || !(seconds >= 0) || seconds > 86400) return fallback;
    return static_cast<int>(seconds * 1000);
}

} // namespace wangge::base
