#include "wangge/redraw/draft.hpp"

#include "wangge/error.hpp"
#include "wangge/store/workspace.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

namespace wangge::redraw {

int start_draft(const std::string& path, const DraftStart& start) {
    auto ws = store::Workspace::open(path, true);
    const int from = ws.resolve_version(start.from);
    const auto info = ws.version(from);
    store::NewVersion nv{.grid = ws.grid(from),
                         .note = start.note,
                         .source = "draft of version " + std::to_string(from),
                         .validation_report = info.validation_report,
                         .created_at = "",
                         .author = start.author};
    if (nv.validation_report.empty()) {
        grid::ValidateOptions vo;
        vo.metric_crs = ws.metric_crs();
        nv.validation_report = grid::validate(nv.grid, vo).to_json();
    }
    return ws.add_draft(nv, from);
}

int resolve_draft(const std::string& path, std::optional<int> draft) {
    const auto ws = store::Workspace::open(path);
    if (draft) {
        if (!ws.version(*draft).draft())
            throw InputError("grid version " + std::to_string(*draft) +
                                 " is not a draft (start one with 'wangge grid draft')",
                             {.file = path});
        return *draft;
    }
    if (auto d = ws.latest_draft()) return *d;
    throw InputError("the workspace has no draft; start one with 'wangge grid draft'",
                     {.file = path});
}

std::string merge_report(const std::string& stored, const Change& change, const geo::Box& box,
                         const grid::ValidationReport& touched) {
    nlohmann::ordered_json j;
    try {
        j = stored.empty() ? nlohmann::ordered_json::object()
                           : nlohmann::ordered_json::parse(stored);
    } catch (const std::exception&) {
        j = nlohmann::ordered_json::object();
    }
    std::set<std::string> codes(change.removed.begin(), change.removed.end());
    codes.insert(change.changed.begin(), change.changed.end());
    auto issues = nlohmann::ordered_json::array();
    if (j.contains("issues") && j["issues"].is_array())
        for (const auto& issue : j["issues"]) {
            bool stale = false;
            if (issue.contains("cells"))
                for (const auto& c : issue["cells"])
                    if (c.is_string() && codes.count(c.get<std::string>())) stale = true;
            // Defects without cells (gaps) inside the validated neighbourhood were re-checked.
            if (issue.contains("cells") && issue["cells"].empty() && issue.contains("location") &&
                issue["location"].is_array() && issue["location"].size() == 2 &&
                box.contains(
                    {issue["location"][0].get<double>(), issue["location"][1].get<double>()}))
                stale = true;
            if (!stale) issues.push_back(issue);
        }
    const auto fresh = nlohmann::ordered_json::parse(touched.to_json());
    for (const auto& issue : fresh["issues"])
        issues.push_back(issue);
    std::map<std::string, std::size_t> counts;
    for (const auto& issue : issues)
        ++counts[issue.value("type", "")];
    nlohmann::ordered_json out;
    out["valid"] = issues.empty();
    out["cells"] = touched.cells;
    out["metric_crs"] = touched.metric_crs;
    out["counts"] = counts;
    out["notes"] = j.contains("notes") ? j["notes"] : nlohmann::ordered_json::array();
    out["issues"] = issues;
    out["last_edit"] = change.summary;
    return out.dump();
}

EditOutcome edit_draft(const std::string& path, std::optional<int> draft_in,
                       const std::function<Change(grid::Grid&)>& edit) {
    const int draft = resolve_draft(path, draft_in);
    auto ws = store::Workspace::open(path, true);
    grid::Grid g = ws.grid(draft);
    // The boxes of the cells before the edit: a removed cell's box bounds the stale part of
    // the stored report (cheaper than keeping a copy of the grid).
    std::unordered_map<std::string, geo::Box> before;
    before.reserve(g.cells.size());
    for (const auto& c : g.cells)
        before.emplace(c.code, geo::bounds(c.geometry));

    EditOutcome out;
    out.draft = draft;
    out.change = edit(g);
    grid::ValidateOptions vo;
    vo.metric_crs = ws.metric_crs();
    out.touched = validate_touched(g, out.change, vo);

    geo::Box box;
    store::DraftUpdate update;
    update.removed_cells = out.change.removed;
    std::set<std::string> listed;
    for (const auto& code : out.change.changed) {
        if (!listed.insert(code).second) continue;
        if (const auto* c = g.find_cell(code)) {
            update.cells.push_back(*c);
            box.expand(geo::bounds(c->geometry));
        }
    }
    for (const auto& code : out.change.removed)
        if (auto it = before.find(code); it != before.end()) box.expand(it->second);
    for (const auto& code : out.change.units) {
        if (const auto* u = g.find_unit(code))
            update.units.push_back(*u);
        else
            update.removed_units.push_back(code);
    }
    update.validation_report =
        merge_report(ws.version(draft).validation_report, out.change, box, out.touched);
    const auto merged = nlohmann::json::parse(update.validation_report);
    out.draft_issues = merged["issues"].size();
    out.draft_summary = out.draft_issues == 0 ? "no defects"
                                              : std::to_string(out.draft_issues) + " defect" +
                                                    (out.draft_issues == 1 ? "" : "s");
    ws.update_draft(draft, update);
    return out;
}

} // namespace wangge::redraw
