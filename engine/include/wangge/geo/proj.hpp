// PROJ behind RAII: a Transformer owns its own PJ_CONTEXT and PJ, so it may be used from one
// thread at a time (give each thread its own). Coordinates are always in the
// "visualisation" order: longitude/easting first.
#pragma once

#include "wangge/geo/geometry.hpp"

#include <memory>
#include <span>
#include <string>

namespace wangge::geo {

class Transformer {
  public:
    // source and target are anything PROJ accepts: "EPSG:4326", a WKT, a PROJ string.
    // Throws InputError naming the CRS that PROJ could not understand.
    Transformer(const std::string& source, const std::string& target);
    ~Transformer();
    Transformer(const Transformer&) = delete;
    Transformer& operator=(const Transformer&) = delete;
    Transformer(Transformer&&) noexcept;
    Transformer& operator=(Transformer&&) noexcept;

    [[nodiscard]] Point forward(Point p) const;
    [[nodiscard]] Point inverse(Point p) const;
    // In place, all at once (much faster than point by point). Throws LibraryError when a
    // point cannot be transformed.
    void forward(std::span<Point> points) const;
    void inverse(std::span<Point> points) const;
    void forward(MultiPolygon& mp) const;
    void inverse(MultiPolygon& mp) const;

  private:
    struct Handles;
    std::unique_ptr<Handles> m_h;
};

// A projected CRS in metres suitable for areas and lengths around (lon, lat): inside China
// the CGCS2000 3-degree Gauss-Kruger zone (EPSG:4534..4554, e.g. EPSG:4546 for 111 E),
// elsewhere the WGS 84 UTM zone.
[[nodiscard]] std::string suggest_metric_crs(double lon, double lat);

// Area in square metres of a lon/lat multipolygon, measured in the given metric CRS.
[[nodiscard]] double area_m2(const MultiPolygon& lonlat, const Transformer& to_metric);

} // namespace wangge::geo
