// GEOS through its stable C API (geos_c.h, _r functions) behind RAII.
// Ownership: a GeosContext owns one GEOSContextHandle_t and must be used by one thread at a
// time; every GeosGeometry owns its GEOSGeometry and borrows its context, which must outlive
// it. Contexts are created under a process-wide lock (GEOS_init_r has a race in 3.11).
#pragma once

#include "wangge/geo/geometry.hpp"

#include <memory>
#include <string>
#include <vector>

struct GEOSContextHandle_HS;
struct GEOSGeom_t;
using GEOSContextHandle_t = GEOSContextHandle_HS*;
using GEOSGeometry = GEOSGeom_t;

namespace wangge::geo {

class GeosGeometry;

class GeosContext {
  public:
    GeosContext();
    ~GeosContext();
    GeosContext(const GeosContext&) = delete;
    GeosContext& operator=(const GeosContext&) = delete;
    GeosContext(GeosContext&&) = delete;
    GeosContext& operator=(GeosContext&&) = delete;

    [[nodiscard]] GEOSContextHandle_t get() const noexcept { return m_h; }
    // The last error GEOS reported on this context ("" when none).
    [[nodiscard]] const std::string& last_error() const noexcept { return m_last_error; }
    void clear_error() noexcept { m_last_error.clear(); }

    // Conversions. from() throws LibraryError if GEOS rejects the coordinates.
    [[nodiscard]] GeosGeometry from(const MultiPolygon& mp) const;
    [[nodiscard]] GeosGeometry from(const Polygon& p) const;
    [[nodiscard]] GeosGeometry point(Point p) const;
    // Polygonal output only (Polygon, MultiPolygon, or a collection holding them; other
    // parts are dropped). Empty input gives an empty MultiPolygon.
    [[nodiscard]] MultiPolygon to_multipolygon(const GEOSGeometry* g) const;

    // Throws LibraryError("GEOS: <what>: <last error>") when result is null.
    [[nodiscard]] GeosGeometry check(GEOSGeometry* result, const char* what) const;

  private:
    GEOSContextHandle_t m_h = nullptr;
    std::string m_last_error;
};

class GeosGeometry {
  public:
    GeosGeometry() = default;
    GeosGeometry(const GeosContext& ctx, GEOSGeometry* owned) : m_ctx(&ctx), m_g(owned) {}
    ~GeosGeometry();
    GeosGeometry(const GeosGeometry&) = delete;
    GeosGeometry& operator=(const GeosGeometry&) = delete;
    GeosGeometry(GeosGeometry&& o) noexcept : m_ctx(o.m_ctx), m_g(o.m_g) { o.m_g = nullptr; }
    GeosGeometry& operator=(GeosGeometry&& o) noexcept;

    [[nodiscard]] GEOSGeometry* get() const noexcept { return m_g; }
    [[nodiscard]] explicit operator bool() const noexcept { return m_g != nullptr; }
    // Gives up ownership (e.g. to a GEOS collection constructor that takes it).
    [[nodiscard]] GEOSGeometry* release() noexcept {
        auto* g = m_g;
        m_g = nullptr;
        return g;
    }

    [[nodiscard]] bool is_valid() const;
    // GEOS's reason and location for invalidity, "Valid Geometry" when valid.
    [[nodiscard]] std::string invalid_reason() const;
    [[nodiscard]] bool is_empty() const;
    [[nodiscard]] double area() const;
    [[nodiscard]] MultiPolygon to_multipolygon() const { return m_ctx->to_multipolygon(m_g); }

  private:
    const GeosContext* m_ctx = nullptr;
    GEOSGeometry* m_g = nullptr;
};

// Union of polygons that form a coverage (noded together, no overlaps), falling back to a
// unary union when GEOS refuses them as a coverage.
[[nodiscard]] MultiPolygon coverage_union(const GeosContext& ctx,
                                          const std::vector<const MultiPolygon*>& parts);

} // namespace wangge::geo
