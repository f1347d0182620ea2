// The closed loop of the Jishan sample: the sample catalogue, calendar and duties of
// data/catalogue/ (compiled into the library, so no data folder is needed at run time),
// a grid worker per cell, and a generated, seeded history of matters up to a fixed
// reference time. Everything is generated: label it as a sample wherever it is shown.
#pragma once

#include "wangge/grid/grid.hpp"
#include "wangge/loop/catalogue.hpp"
#include "wangge/loop/duties.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace wangge::sample {

// "Now" of the sample's history: the 90 days before it start on 2026-01-01, when the
// sample duties take effect. Render the sample at this time to see its live state.
constexpr const char* jishan_reference_time = "2026-04-01T09:30";

// The embedded sample tables (data/catalogue/).
[[nodiscard]] loop::Catalogue jishan_catalogue();
[[nodiscard]] std::string jishan_calendar_json();
// The sample duties (every function at county level, township functions per township)
// plus, for every cell of the grid, its grid worker holding the territorial and the
// information-gathering functions at cell level.
[[nodiscard]] loop::DutyTable jishan_duties(const grid::Grid& grid,
                                            const loop::Catalogue& catalogue);

struct JishanLoopOptions {
    std::uint64_t seed = 140824;
    int days = 90;
    // County-wide average; weekdays get more, weekends fewer (about 20,000 in 90 days).
    double reports_per_day = 225;
};

struct JishanLoopSummary {
    std::size_t duties = 0;
    std::size_t incidents = 0;
    std::size_t events = 0;
    std::size_t open = 0;
    std::size_t overdue = 0; // open and past their step's deadline at the reference time
};

// Writes catalogue, calendar, duties and the history into a workspace that holds the
// sample grid. Throws StoreError / DataError.
JishanLoopSummary write_jishan_loop(const std::string& workspace, const JishanLoopOptions& options);

} // namespace wangge::sample
