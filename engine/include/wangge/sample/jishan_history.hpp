// A generated sample history of the loop: a plausible, reproducible history (same seed, same
// history) of the last N days for a grid: reports spread over cells in proportion to their
// households, mostly in office hours, weighted towards the common categories, each taken
// through the loop with realistic branches (rejections, self-handling, returns, extensions,
// backlog, rework, supervision, some late handling) and stopped at `end`, so the newest
// matters are still open and some overdue.
// Everything is generated, nothing is real: label it as a sample wherever it is shown.
//
// Thread safety: a free function over immutable inputs; safe from any thread.
#pragma once

#include "wangge/loop/store.hpp"

#include <cstdint>
#include <vector>

namespace wangge::sample {

struct HistoryOptions {
    loop::LocalTime end; // "now": the history covers the `days` days before it
    int days = 90;
    double reports_per_day = 60; // county-wide average
    std::uint64_t seed = 1;
    std::int64_t first_id = 1;
    // Branch probabilities (per matter).
    double p_rejected = 0.05;
    double p_self_handled = 0.15; // of normal-urgency matters
    double p_returned = 0.06;
    double p_extended = 0.05;
    double p_backlog = 0.01;
    double p_rework = 0.05;
    double p_late = 0.10; // handling takes longer than allowed
    double p_supervised = 0.02;
};

struct History {
    std::vector<loop::IncidentRecord> records; // the state at `end`
    std::vector<loop::Event> journal;          // grouped by incident, in order within each
};

// The context's grid must have cells; reports are placed at random points inside them.
[[nodiscard]] History generate_history(const loop::ImportContext& context,
                                       const HistoryOptions& options);

} // namespace wangge::sample
