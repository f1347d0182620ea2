// A GENERATED coverage for tests and benchmarks: not real data. A jittered lattice of
// quadrilateral cells whose edges are bent at two shared intermediate vertices, so
// neighbours share every vertex bit for bit and most edges are slanted. It lies near
// Jishan County (110.96 E, 35.61 N), cells about 80 m across; codes follow the 14-digit
// national scheme under county 140824. Same n and seed, same grid, bit for bit.
#pragma once

#include "wangge/grid/grid.hpp"

#include <cstddef>
#include <cstdint>

namespace wangge::grid {

[[nodiscard]] Grid generated_coverage(std::size_t n, std::uint64_t seed = 1);

} // namespace wangge::grid
