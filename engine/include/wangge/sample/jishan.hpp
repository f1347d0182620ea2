// The Jishan sample: a GENERATED grid and satellite-like image for Jishan County (稷山县,
// 140824). No open-licensed boundary or imagery of Jishan exists, so geometry and imagery
// are synthesised deterministically from a seed; names and codes are real (catalogue.hpp).
// Everything this produces must be labelled as generated wherever it is shown.
#pragma once

#include "wangge/grid/grid.hpp"

#include <cstdint>
#include <string>

namespace wangge::sample {

struct JishanOptions {
    std::uint64_t seed = 140824;
    // Ground resolution of the generated image in metres (5-10 m is realistic; tests use a
    // coarser one to stay fast).
    double imagery_resolution_m = 8.0;
};

// The grid: 1 county, 9 township-level units, 151 villages and communities and exactly 398
// cells, nested, tiling an irregular county outline of about 686 km2 around Jifeng
// (110.96 E, 35.61 N) with the Fen River along its south. Neighbouring cells share identical
// vertices. Coordinates are lon/lat (EPSG:4326). Same seed, same grid, bit for bit.
[[nodiscard]] grid::Grid generate_jishan_grid(const JishanOptions& options);

// Writes the satellite-like image of the county as a GeoTIFF in EPSG:3857: tiled,
// JPEG-compressed, with overviews. Same seed and grid, same file content.
void write_jishan_imagery(const grid::Grid& grid, const std::string& tif_path,
                          const JishanOptions& options);

// What the workspace metadata and every map say about this sample.
constexpr const char* jishan_generated_notice =
    "Generated sample: geometry and imagery of Jishan County are synthetic (seeded), not "
    "surveyed; names and codes are real (NBS 2023 division codes).";

} // namespace wangge::sample
