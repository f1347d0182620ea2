// Point-to-cell assignment: every point gets exactly one cell or none.
//
// Rule on shared edges and vertices (documented, deterministic; details in locator.cpp): a
// half-open crossing-number test over edges put in a canonical order, with exact
// orientation, so two neighbours that share an edge agree on which of them owns a point on
// it. In effect a point on a shared edge belongs to the cell on its east side (on a
// horizontal edge: the cell to the north); a point on a shared vertex to the cell just
// north-east of it. Points on the county's outer boundary (edges of one cell only) belong
// to that cell; points outside every cell get none. Where cells overlap (an invalid
// coverage), the cell with the lowest index wins.
//
// Coordinates are used exactly as stored (lon/lat): the rule depends on neighbours holding
// bit-identical shared vertices, so cells are never reprojected here.
//
// Thread safety: a built Locator is immutable; locate() and locate_batch() may be called
// from any number of threads at once.
#pragma once

#include "wangge/grid/grid.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>

namespace wangge::grid {

struct Location {
    // Index into the grid's cells, or -1 when the point is in no cell.
    std::int32_t cell = -1;
    // Distance in metres to the nearest cell boundary (any cell's edge, the county outline
    // included); +inf when not computed or when the grid has no cells. For a point in a
    // cell this is the distance to that cell's boundary (the nearest boundary of a valid
    // coverage); outside every cell, to the outline. Exact point-segment distances in a
    // local metric frame at the point (WGS 84 radii): under 0.1 m off within a kilometre.
    double boundary_distance_m = std::numeric_limits<double>::infinity();
};

struct LocatorOptions {
    // Squares of the acceleration grid along its longer side; 0 = sized from the number of
    // edges (4 squares per edge, at most 1.5 million squares).
    int grid_resolution = 0;
};

// What a built locator looks like (for benchmarks and tuning).
struct LocatorStats {
    int columns = 0;
    int rows = 0;
    std::size_t segments = 0;       // distinct edges
    std::size_t border_squares = 0; // squares some edge passes through
    std::size_t bytes = 0;          // memory held by the acceleration structures
    double build_seconds = 0;
};

class Locator {
  public:
    // Builds the acceleration structures over the cells (lon/lat). The locator copies what
    // it needs; the grid need not outlive it. Throws DataError for a non-finite coordinate.
    explicit Locator(const Grid& grid, LocatorOptions options = {});
    ~Locator();
    Locator(const Locator&) = delete;
    Locator& operator=(const Locator&) = delete;
    Locator(Locator&&) noexcept;
    Locator& operator=(Locator&&) noexcept;

    // The cell index for a lon/lat point, or -1 (also for NaN coordinates).
    [[nodiscard]] std::int32_t locate(geo::Point lonlat) const;
    // The cell and the distance to the nearest boundary in metres.
    [[nodiscard]] Location locate_with_distance(geo::Point lonlat) const;
    // Many points at once on `threads` threads (0 = all cores). out.size() == points.size(),
    // else InputError. Large batches are located in spatial order internally (results stay
    // in input order), which keeps the structures in cache.
    void locate_batch(std::span<const geo::Point> points, std::span<std::int32_t> out,
                      int threads = 0) const;
    void locate_batch(std::span<const geo::Point> points, std::span<Location> out,
                      int threads = 0) const;

    [[nodiscard]] std::size_t cell_count() const noexcept;
    // The code of cell `index`; throws InputError when out of range.
    [[nodiscard]] const std::string& cell_code(std::int32_t index) const;
    [[nodiscard]] LocatorStats stats() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace wangge::grid
