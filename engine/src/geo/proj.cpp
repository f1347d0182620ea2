#include "wangge/geo/proj.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cmath>
#include <proj.h>

namespace wangge::geo {

struct Transformer::Handles {
    PJ_CONTEXT* ctx = nullptr;
    PJ* pj = nullptr;
    ~Handles() {
        if (pj) proj_destroy(pj);
        if (ctx) proj_context_destroy(ctx);
    }
};

namespace {
std::string proj_message(PJ_CONTEXT* ctx) {
    const int code = proj_context_errno(ctx);
    const char* text = code ? proj_context_errno_string(ctx, code) : nullptr;
    return text ? text : "unknown PROJ error";
}
} // namespace

Transformer::Transformer(const std::string& source, const std::string& target)
    : m_h(std::make_unique<Handles>()) {
    m_h->ctx = proj_context_create();
    if (!m_h->ctx) throw LibraryError("PROJ: cannot create a context");
    // Hermetic: never look for grids on the network.
    proj_context_set_enable_network(m_h->ctx, 0);
    proj_log_level(m_h->ctx, PJ_LOG_NONE);
    for (const auto* crs : {&source, &target}) {
        PJ* probe = proj_create(m_h->ctx, crs->c_str());
        if (!probe) throw InputError("unknown CRS '" + *crs + "': " + proj_message(m_h->ctx));
        proj_destroy(probe);
    }
    PJ* raw = proj_create_crs_to_crs(m_h->ctx, source.c_str(), target.c_str(), nullptr);
    if (!raw)
        throw InputError("no transformation from '" + source + "' to '" + target +
                         "': " + proj_message(m_h->ctx));
    m_h->pj = proj_normalize_for_visualization(m_h->ctx, raw);
    proj_destroy(raw);
    if (!m_h->pj)
        throw LibraryError("PROJ: cannot normalise axis order: " + proj_message(m_h->ctx));
}

Transformer::~Transformer() = default;
Transformer::Transformer(Transformer&&) noexcept = default;
Transformer& Transformer::operator=(Transformer&&) noexcept = default;

namespace {
void run(PJ* pj, PJ_CONTEXT* ctx, PJ_DIRECTION dir, std::span<Point> pts) {
    if (pts.empty()) return;
    proj_errno_reset(pj);
    const std::size_t stride = sizeof(Point);
    const std::size_t n = proj_trans_generic(pj, dir, &pts[0].x, stride, pts.size(), &pts[0].y,
                                             stride, pts.size(), nullptr, 0, 0, nullptr, 0, 0);
    if (n != pts.size()) throw LibraryError("PROJ: transformed only part of the points");
    for (const auto& p : pts)
        if (!std::isfinite(p.x) || !std::isfinite(p.y))
            throw LibraryError("PROJ: a point could not be transformed: " + proj_message(ctx));
}
} // namespace

Point Transformer::forward(Point p) const {
    run(m_h->pj, m_h->ctx, PJ_FWD, {&p, 1});
    return p;
}

Point Transformer::inverse(Point p) const {
    run(m_h->pj, m_h->ctx, PJ_INV, {&p, 1});
    return p;
}

void Transformer::forward(std::span<Point> points) const {
    run(m_h->pj, m_h->ctx, PJ_FWD, points);
}
void Transformer::inverse(std::span<Point> points) const {
    run(m_h->pj, m_h->ctx, PJ_INV, points);
}

void Transformer::forward(MultiPolygon& mp) const {
    for (auto& poly : mp.polygons)
        for (auto& ring : poly.rings)
            forward(std::span<Point>(ring));
}

void Transformer::inverse(MultiPolygon& mp) const {
    for (auto& poly : mp.polygons)
        for (auto& ring : poly.rings)
            inverse(std::span<Point>(ring));
}

std::string suggest_metric_crs(double lon, double lat) {
    const bool in_china = lon >= 73.5 && lon <= 135.5 && lat >= 17.5 && lat <= 54.0;
    if (in_china) {
        // CGCS2000 3-degree Gauss-Kruger, central meridians 75..135 E: EPSG:4534..4554.
        const int cm = static_cast<int>(std::lround(lon / 3.0)) * 3;
        return "EPSG:" + std::to_string(4534 + (cm - 75) / 3);
    }
    int zone = static_cast<int>(std::floor((lon + 180.0) / 6.0)) + 1;
    zone = std::clamp(zone, 1, 60);
    return "EPSG:" + std::to_string((lat >= 0 ? 32600 : 32700) + zone);
}

double area_m2(const MultiPolygon& lonlat, const Transformer& to_metric) {
    MultiPolygon copy = lonlat;
    to_metric.forward(copy);
    return planar_area(copy);
}

} // namespace wangge::geo
