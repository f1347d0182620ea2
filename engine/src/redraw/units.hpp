// Private to the redraw stage: what several edits share.
#pragma once

#include "wangge/grid/grid.hpp"

#include <set>
#include <string>

namespace wangge::redraw {

// Recomputes the outlines of the villages and townships `codes` as the union of their
// cells (after an edit changed the cells' outlines, or inserted a cut point on them).
void refresh_units(grid::Grid& g, const std::set<std::string>& codes);

} // namespace wangge::redraw
