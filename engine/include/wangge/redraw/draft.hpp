// Drafts in a workspace: a grid version that is not yet current, which the planner edits
// (redraw/edit.hpp) and reviews (redraw/diff.hpp) before publishing it (redraw/publish.hpp).
// Every edit is one transaction on the draft; it is validated incrementally (the touched
// cells and their neighbours) and the draft's stored validation report is kept current.
// An edit that fails changes nothing in the workspace.
#pragma once

#include "wangge/redraw/edit.hpp"

#include <functional>
#include <optional>
#include <string>

namespace wangge::redraw {

struct DraftStart {
    std::optional<int> from; // default: the current version
    std::string note;
    std::string author;
};

// Starts a draft as a copy of a version; returns its id.
int start_draft(const std::string& workspace, const DraftStart& start);

// The draft to edit: `draft` when given (InputError unless it is a draft), else the newest
// draft (InputError when there is none).
[[nodiscard]] int resolve_draft(const std::string& workspace, std::optional<int> draft);

struct EditOutcome {
    int draft = 0;
    Change change;
    grid::ValidationReport touched; // the incremental validation of this edit
    std::size_t draft_issues = 0;   // defects in the draft's report after the edit
    std::string draft_summary;      // "no defects" or "2 defects: 1 gap, 1 overlap"
};

// Loads the draft, applies `edit`, validates what it touched, and stores the changed cells,
// units and the updated report in one transaction.
EditOutcome edit_draft(const std::string& workspace, std::optional<int> draft,
                       const std::function<Change(grid::Grid&)>& edit);

// The draft's report (JSON text as stored) with the issues of the touched cells replaced by
// `touched`'s. Exposed for tests.
[[nodiscard]] std::string merge_report(const std::string& stored_json, const Change& change,
                                       const geo::Box& touched_box,
                                       const grid::ValidationReport& touched);

} // namespace wangge::redraw
