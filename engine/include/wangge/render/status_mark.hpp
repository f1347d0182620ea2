// What one matter puts on the status map at a time T: the per-matter half of
// status_from_workspace (renderer.hpp), for callers that keep the statuses of every matter
// and update them one matter at a time (the live map server) instead of re-reading them all.
// A cell takes the worst cell_state of its matters (none when it has none).
#pragma once

#include "wangge/loop/state_at.hpp"
#include "wangge/render/renderer.hpp"

#include <optional>
#include <string>

namespace wangge::render {

// The matters the map shows at T: open at T, or closed within the day before T.
[[nodiscard]] loop::MatterFilter map_filter(loop::LocalTime at);

struct MatterMark {
    std::string cell;                       // "" = counts for no cell
    CellState cell_state = CellState::none; // none for closed matters
    std::optional<Pin> pin;
};

// The mark of a matter as it was at T (loop::MatterAt). A matter map_filter(T) does not
// pass has no mark (no cell state, no pin): the caller checks loop::matches first.
[[nodiscard]] MatterMark matter_mark(const loop::MatterAt& matter);

} // namespace wangge::render
