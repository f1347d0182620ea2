// Summaries shared by several commands.
#pragma once

#include "wangge/store/workspace.hpp"

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

namespace wangge::app {

// The counts, area and extent of a grid version, as grid info prints them.
[[nodiscard]] nlohmann::ordered_json grid_summary(const store::Workspace& ws,
                                                  std::optional<int> version);
void print_grid_summary(std::ostream& out, const nlohmann::ordered_json& summary);

} // namespace wangge::app
