// How long a command waits for another writer of the same workspace before it gives up:
// WANGGE_BUSY_TIMEOUT seconds from the environment (tests set it short), 30 s by default.
#pragma once

namespace wangge::base {

[[nodiscard]] int busy_timeout_ms() noexcept;

} // namespace wangge::base
