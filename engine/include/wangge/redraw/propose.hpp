// Balanced proposals: cells for a village or a township redrawn so that each holds about a
// target number of households (the national norm: about 300 in a village cell, 300-500 in a
// town), contiguous, nested in villages, and following existing boundaries where possible.
// The planner reviews the result as a draft (wangge grid propose).
//
// How:
//  1. Households as points. The grid holds one household count per cell; a finer surface is
//     GENERATED: each cell's households become points in it, clustered around a few
//     settlement centres (base/random.hpp, deterministic per seed and cell code). They are
//     not surveyed data, and every output says so.
//  2. Blocks. Each cell of the area is cut (split_cell, exact by construction) at the
//     households' median along its longer side, again and again, until a block holds at
//     most a small share of the target (target x tolerance / 2) or is too small to cut.
//  3. Partition. Per village (and per connected piece of it), the blocks' adjacency graph
//     goes to METIS (METIS_PartGraphKway, contiguous parts) with
//     vertex weights = households and edge weights = shared boundary length, three times as
//     heavy inside a former cell as on an existing cell boundary, so cuts follow the
//     existing boundaries where they can. A few seeds and imbalance bounds are tried; the
//     division with the fewest cells outside the tolerance (then the smallest worst gap to
//     the village's mean) wins. Blocks meet where their edges are the same segments, bit
//     for bit (the cuts insert their end points into every neighbour).
//  4. Dissolve. Each part's blocks are merged (merge_cells: shared edges cancel, the cut
//     vertices that are no longer needed are removed again), so the result tiles the area
//     exactly. Parts are numbered north to south, west to east within the village under the
//     national rule (village code + 2-digit sequence), named like the sample's cells.
//  Households of a proposed cell are the generated points in it; population is shared out
//  among a cell's households (both totals are kept exactly).
#pragma once

#include "wangge/redraw/edit.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace wangge::redraw {

struct ProposeOptions {
    std::string village;  // 12-digit village code, or
    std::string township; // 9-digit township code (each of its villages in turn)
    double households = 300;
    double tolerance = 0.1; // allowed deviation from the target, as a share (0 < t < 1)
    std::uint64_t seed = 140824;
};

struct ProposedCell {
    std::string code;
    std::string name;
    std::string village;
    std::int64_t households = 0;
    std::int64_t population = 0;
    double deviation = 0; // (households - target) / target
    bool within = false;  // |deviation| <= tolerance
};

struct Proposal {
    Change change;
    std::vector<ProposedCell> cells;  // in code order
    std::vector<std::string> notes;   // why a village's cells cannot all be within tolerance
    std::size_t old_cells = 0;        // cells of the area before
    std::size_t blocks = 0;           // building blocks partitioned
    std::size_t household_points = 0; // generated
};

// Throws InputError for options that cannot work (neither or both of village and township,
// a target <= 0, a tolerance outside (0, 1)), naming the option.
void check_options(const ProposeOptions& options);

// Replaces the cells of the area in `grid` by the proposal. InputError when the village or
// township is not in the grid; the grid is unchanged on any error.
[[nodiscard]] Proposal propose_cells(grid::Grid& grid, const ProposeOptions& options);

} // namespace wangge::redraw
