// Publishing a draft: in one SQLite transaction on the workspace file the draft becomes the
// current grid version from its effective time, every open matter is re-located into the
// new cells, and duties follow the cells they were held for.
//
// Matters: an open matter (not closed or rejected) whose cell changes gets its current cell,
// village, township and grid version updated, and a line in the relocation journal
// (table redraw_relocations: matter, old and new version, cell, village and township,
// effective time) from which the loop's time travel (loop/state_at.hpp) knows its cell at
// any earlier time. Closed matters keep the cell they were closed under. A matter that would fall
// outside the new grid refuses the publish: no matter is lost or duplicated.
//
// Duties: a cell duty whose cell disappears goes to every cell that inherits part of its
// area (a split cell's duties to both parts; merged cells' duties are merged, and two
// different holders of one function in the merged cell are a conflict). Afterwards the
// duty check on the new grid (wangge duties check) must find nothing it did not find on the
// old one; otherwise the publish lists what the planner must decide and writes nothing,
// unless forced.
//
// Refused, with nothing written: a draft with coverage defects (full validation), a
// version that is not a draft (e.g. published already).
#pragma once

#include "wangge/loop/calendar.hpp"
#include "wangge/redraw/diff.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wangge::redraw {

struct PublishOptions {
    std::optional<int> draft; // default: the newest draft
    loop::LocalTime effective;
    bool force = false; // accept the listed duty problems
    std::string actor;
};

struct PublishResult {
    int version = 0;
    int previous = 0;
    std::size_t open_matters = 0;
    std::vector<MatterMove> moved;
    std::vector<DutyChange> duties;     // duties whose unit went, with where they went
    std::vector<std::string> decisions; // duty problems the planner accepted with force
    Diff diff;
};

PublishResult publish(const std::string& workspace, const PublishOptions& options);

} // namespace wangge::redraw
