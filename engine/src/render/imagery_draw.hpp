// Enlarged imagery drawn straight into a map image, without Mapnik (private to render/).
//
// Mapnik's raster symbolizer enlarges imagery through a generic AGG span pipeline (scale
// the window into a new image, then composite it): at z14 of the Jishan sample that was a
// fifth of all drawing. Here the imagery's window is read once with GDAL at its own
// resolution and resampled bilinearly (8-bit weights, as AGG) into the image Mapnik then
// draws the overlay on. Only for what it can do exactly: an RGB Byte raster, north up, in
// the map's CRS, no nodata or alpha; anything else stays with Mapnik.
#pragma once

#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geometry.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wangge::render::detail {

class EnlargedImagery {
  public:
    // Takes the raster (its own GDAL handle: one per Renderer, hence per thread). usable() is
    // false for a raster this class does not draw.
    explicit EnlargedImagery(geo::Dataset raster);

    [[nodiscard]] bool usable() const noexcept { return m_usable; }

    // Draws the imagery over `view` (EPSG:3857, the map's extent) into an RGBA image of
    // width x height (row stride in bytes): every pixel whose centre lies on the raster
    // becomes the bilinear sample there, alpha 255; the others are left as they are.
    // Throws LibraryError when GDAL cannot read the window.
    void draw(const geo::Box& view, int width, int height, std::uint8_t* rgba, std::size_t stride);

  private:
    geo::Dataset m_raster;
    bool m_usable = false;
    double m_gt[6] = {};
    int m_width = 0;
    int m_height = 0;
    std::vector<std::uint8_t> m_window; // the window read last, kept for its memory (MBs)
};

} // namespace wangge::render::detail
