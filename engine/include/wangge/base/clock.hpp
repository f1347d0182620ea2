// Wall-clock times as text, for records of when something was written (versions, publishes,
// map credits). The loop's own times are local civil times (loop/calendar.hpp), not these.
#pragma once

#include <ctime>
#include <string>

namespace wangge::base {

// `t` in UTC, formatted by strftime (default ISO 8601 to the second, e.g. 2026-12-02T16:08:29Z).
[[nodiscard]] std::string utc_text(std::time_t t, const char* format = "%Y-%m-%dT%H:%M:%SZ");
// Now in UTC, the same way.
[[nodiscard]] std::string utc_now_text(const char* format = "%Y-%m-%dT%H:%M:%SZ");

} // namespace wangge::base
