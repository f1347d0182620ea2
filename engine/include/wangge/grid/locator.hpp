// Point-to-cell assignment: every point gets exactly one cell or none.
//
// Rule on shared edges and vertices (documented, deterministic): see locator.cpp. In short,
// a half-open crossing-number test over edges put in a canonical order, so two neighbours
// that share an edge agree on which of them owns a point on it; points on the county's
// outer boundary belong to their cell; points outside every cell get none.
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
    // included); +inf when not computed.
    double boundary_distance_m = std::numeric_limits<double>::infinity();
};

struct LocatorOptions {
    // Target side of the acceleration grid's squares in cells-per-square terms; 0 = auto.
    int grid_resolution = 0;
};

class Locator {
  public:
    // Builds the acceleration structures over the cells (lon/lat). The grid must outlive
    // nothing: the locator copies what it needs.
    explicit Locator(const Grid& grid, LocatorOptions options = {});
    ~Locator();
    Locator(const Locator&) = delete;
    Locator& operator=(const Locator&) = delete;
    Locator(Locator&&) noexcept;
    Locator& operator=(Locator&&) noexcept;

    // The cell index for a lon/lat point, or -1.
    [[nodiscard]] std::int32_t locate(geo::Point lonlat) const;
    // The cell and the distance to the nearest boundary in metres.
    [[nodiscard]] Location locate_with_distance(geo::Point lonlat) const;
    // Many points at once on `threads` threads (0 = all cores). out.size() == points.size().
    void locate_batch(std::span<const geo::Point> points, std::span<std::int32_t> out,
                      int threads = 0) const;
    void locate_batch(std::span<const geo::Point> points, std::span<Location> out,
                      int threads = 0) const;

    [[nodiscard]] std::size_t cell_count() const noexcept;
    [[nodiscard]] const std::string& cell_code(std::int32_t index) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace wangge::grid
