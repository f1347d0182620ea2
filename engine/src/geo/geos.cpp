#include "wangge/geo/geos.hpp"

#include "wangge/error.hpp"

#include <geos_c.h>
#include <mutex>

namespace wangge::geo {

namespace {
std::mutex g_init_mutex;

// The _r message handlers get the finished message.
void geos_message(const char* message, void* userdata) {
    *static_cast<std::string*>(userdata) = message ? message : "";
}

void ignore_notice(const char*, void*) {}
} // namespace

GeosContext::GeosContext() {
    std::lock_guard lock(g_init_mutex);
    m_h = GEOS_init_r();
    if (!m_h) throw LibraryError("GEOS: cannot create a context");
    GEOSContext_setErrorMessageHandler_r(m_h, geos_message, &m_last_error);
    GEOSContext_setNoticeMessageHandler_r(m_h, ignore_notice, nullptr);
}

GeosContext::~GeosContext() {
    GEOS_finish_r(m_h);
}

GeosGeometry GeosContext::check(GEOSGeometry* result, const char* what) const {
    if (!result) throw LibraryError(std::string("GEOS: ") + what + ": " + m_last_error);
    return GeosGeometry(*this, result);
}

namespace {
GEOSGeometry* make_ring(GEOSContextHandle_t h, const Ring& ring) {
    GEOSCoordSequence* seq = GEOSCoordSeq_copyFromBuffer_r(
        h, reinterpret_cast<const double*>(ring.data()), static_cast<unsigned>(ring.size()), 0, 0);
    if (!seq) return nullptr;
    return GEOSGeom_createLinearRing_r(h, seq); // takes the sequence
}

GEOSGeometry* make_polygon(GEOSContextHandle_t h, const Polygon& p) {
    if (p.rings.empty()) return GEOSGeom_createEmptyPolygon_r(h);
    GEOSGeometry* shell = make_ring(h, p.rings[0]);
    if (!shell) return nullptr;
    std::vector<GEOSGeometry*> holes;
    for (std::size_t i = 1; i < p.rings.size(); ++i) {
        GEOSGeometry* r = make_ring(h, p.rings[i]);
        if (!r) {
            GEOSGeom_destroy_r(h, shell);
            for (auto* x : holes)
                GEOSGeom_destroy_r(h, x);
            return nullptr;
        }
        holes.push_back(r);
    }
    return GEOSGeom_createPolygon_r(h, shell, holes.data(), static_cast<unsigned>(holes.size()));
}

void read_polygon(GEOSContextHandle_t h, const GEOSGeometry* g, MultiPolygon& out) {
    if (GEOSisEmpty_r(h, g)) return;
    Polygon poly;
    auto read_ring = [&](const GEOSGeometry* ring) {
        const GEOSCoordSequence* seq = GEOSGeom_getCoordSeq_r(h, ring);
        unsigned n = 0;
        GEOSCoordSeq_getSize_r(h, seq, &n);
        Ring r(n);
        if (n) GEOSCoordSeq_copyToBuffer_r(h, seq, reinterpret_cast<double*>(r.data()), 0, 0);
        poly.rings.push_back(std::move(r));
    };
    read_ring(GEOSGetExteriorRing_r(h, g));
    const int nh = GEOSGetNumInteriorRings_r(h, g);
    for (int i = 0; i < nh; ++i)
        read_ring(GEOSGetInteriorRingN_r(h, g, i));
    out.polygons.push_back(std::move(poly));
}

void collect_polygons(GEOSContextHandle_t h, const GEOSGeometry* g, MultiPolygon& out) {
    const int type = GEOSGeomTypeId_r(h, g);
    if (type == GEOS_POLYGON) {
        read_polygon(h, g, out);
    } else if (type == GEOS_MULTIPOLYGON || type == GEOS_GEOMETRYCOLLECTION) {
        const int n = GEOSGetNumGeometries_r(h, g);
        for (int i = 0; i < n; ++i)
            collect_polygons(h, GEOSGetGeometryN_r(h, g, i), out);
    }
}
} // namespace

GeosGeometry GeosContext::from(const Polygon& p) const {
    return check(make_polygon(m_h, p), "cannot build a polygon");
}

GeosGeometry GeosContext::from(const MultiPolygon& mp) const {
    std::vector<GEOSGeometry*> parts;
    parts.reserve(mp.polygons.size());
    for (const auto& p : mp.polygons) {
        GEOSGeometry* g = make_polygon(m_h, p);
        if (!g) {
            for (auto* x : parts)
                GEOSGeom_destroy_r(m_h, x);
            throw LibraryError("GEOS: cannot build a polygon: " + m_last_error);
        }
        parts.push_back(g);
    }
    return check(GEOSGeom_createCollection_r(m_h, GEOS_MULTIPOLYGON, parts.data(),
                                             static_cast<unsigned>(parts.size())),
                 "cannot build a multipolygon");
}

GeosGeometry GeosContext::point(Point p) const {
    return check(GEOSGeom_createPointFromXY_r(m_h, p.x, p.y), "cannot build a point");
}

MultiPolygon GeosContext::to_multipolygon(const GEOSGeometry* g) const {
    MultiPolygon out;
    if (g) collect_polygons(m_h, g, out);
    return out;
}

GeosGeometry::~GeosGeometry() {
    if (m_g) GEOSGeom_destroy_r(m_ctx->get(), m_g);
}

GeosGeometry& GeosGeometry::operator=(GeosGeometry&& o) noexcept {
    if (this != &o) {
        if (m_g) GEOSGeom_destroy_r(m_ctx->get(), m_g);
        m_ctx = o.m_ctx;
        m_g = o.m_g;
        o.m_g = nullptr;
    }
    return *this;
}

bool GeosGeometry::is_valid() const {
    return GEOSisValid_r(m_ctx->get(), m_g) == 1;
}

std::string GeosGeometry::invalid_reason() const {
    char* r = GEOSisValidReason_r(m_ctx->get(), m_g);
    std::string s = r ? r : "unknown";
    GEOSFree_r(m_ctx->get(), r);
    return s;
}

bool GeosGeometry::is_empty() const {
    return GEOSisEmpty_r(m_ctx->get(), m_g) == 1;
}

double GeosGeometry::area() const {
    double a = 0;
    GEOSArea_r(m_ctx->get(), m_g, &a);
    return a;
}

MultiPolygon coverage_union(const GeosContext& ctx, const std::vector<const MultiPolygon*>& parts) {
    std::vector<GEOSGeometry*> polys;
    for (const auto* mp : parts)
        for (const auto& p : mp->polygons)
            polys.push_back(ctx.from(p).release());
    GeosGeometry coll =
        ctx.check(GEOSGeom_createCollection_r(ctx.get(), GEOS_GEOMETRYCOLLECTION, polys.data(),
                                              static_cast<unsigned>(polys.size())),
                  "cannot build a collection");
    GEOSGeometry* u = GEOSCoverageUnion_r(ctx.get(), coll.get());
    if (!u) u = GEOSUnaryUnion_r(ctx.get(), coll.get());
    return ctx.check(u, "union failed").to_multipolygon();
}

} // namespace wangge::geo
