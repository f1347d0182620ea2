// The coverage validator: running the checks (validate_cells.cpp, validate_coverage.cpp),
// then measuring, locating and ordering the defects.
#include "validator.hpp"

#include <numbers>

namespace wangge::grid::detail {

ValidationReport Validator::run() {
    m_report.cells = m_grid.cells.size();
    check_codes();
    prepare_geometry();
    setup_metric();
    if (m_metric) check_slivers();
    build_edge_index();
    std::vector<char> usable(m_cells.size());
    std::vector<Box> boxes(m_cells.size());
    for (std::size_t i = 0; i < m_cells.size(); ++i) {
        usable[i] = m_cells[i].usable;
        boxes[i] = m_cells[i].box;
    }
    m_boxes = std::move(boxes);
    m_index = std::make_unique<BoxIndex>(m_boxes, usable);
    check_overlaps();
    check_gaps_and_boundary();
    check_unmatched_vertices();
    check_nesting();
    finish();
    return std::move(m_report);
}

Issue& Validator::add(IssueType type, std::vector<std::string> cells, std::string message,
                      MultiPolygon geometry) {
    std::sort(cells.begin(), cells.end());
    Issue issue;
    issue.type = type;
    issue.cells = std::move(cells);
    issue.message = std::move(message);
    issue.geometry = std::move(geometry);
    m_report.issues.push_back(std::move(issue));
    return m_report.issues.back();
}

const std::string& Validator::code(std::size_t i) const {
    return m_grid.cells[i].code;
}

// The cell's geometry for showing a code defect: only when it is sound.
MultiPolygon Validator::shown(std::size_t i) const {
    return m_cells[i].usable && !m_cells[i].repaired ? m_grid.cells[i].geometry : MultiPolygon{};
}

// The width of an areal defect (metric geometry, its area given). Compact shapes: the
// diameter of the maximum inscribed circle, to within 0.1% of sqrt(area). Thin ones
// (4 pi A / P^2 below thin_shape): the mean width 2 A / P, exact for a strip and half
// the greatest width of a thin triangle. GEOS's inscribed circle subdivides a grid down
// to the tolerance along the whole shape, so on a micro-overlap (a vertex nudged by
// 2e-9 degrees: 0.2 mm wide, hundreds of metres long) it took seconds per defect.
std::optional<double> Validator::defect_width(const GEOSGeometry* g, double area) const {
    double perimeter = 0;
    if (!GEOSLength_r(m_ctx.get(), g, &perimeter) || perimeter <= 0) return std::nullopt;
    constexpr double thin_shape = 0.05; // a rectangle about 60 times as long as wide
    if (4 * std::numbers::pi * area / (perimeter * perimeter) < thin_shape)
        return 2 * area / perimeter;
    // A compact shape spans at most about 8 sqrt(A), so this is at most ~10^4 steps.
    const double tolerance = std::max(1e-6, std::sqrt(area) * 1e-3);
    GEOSGeometry* mic = GEOSMaximumInscribedCircle_r(m_ctx.get(), g, tolerance);
    if (!mic) return std::nullopt;
    geo::GeosGeometry line(m_ctx, mic);
    double radius = 0;
    if (!GEOSGeomGetLength_r(m_ctx.get(), mic, &radius)) return std::nullopt;
    return 2 * radius;
}

void Validator::finish() {
    for (auto& issue : m_report.issues) {
        if (issue.geometry.empty()) continue;
        try {
            const auto g = m_ctx.from(issue.geometry);
            if (!issue.location) issue.location = point_on_surface(m_ctx, g.get());
            if (!m_metric || !is_areal(issue.type)) continue;
            MultiPolygon metric = issue.geometry;
            m_metric->forward(metric);
            issue.area_m2 = geo::planar_area(metric);
            const auto mg = m_ctx.from(metric);
            issue.width_m = defect_width(mg.get(), *issue.area_m2);
        } catch (const Error&) {
            // A defect that cannot be measured is still reported.
        }
    }
    std::stable_sort(
        m_report.issues.begin(), m_report.issues.end(), [](const Issue& a, const Issue& b) {
            if (a.type != b.type) return a.type < b.type;
            if (a.cells != b.cells) return a.cells < b.cells;
            const Point pa = a.location.value_or(Point{}), pb = b.location.value_or(Point{});
            return lexless(pa, pb);
        });
}

} // namespace wangge::grid::detail

namespace wangge::grid {

ValidationReport validate(const Grid& grid, const ValidateOptions& options) {
    detail::Validator v(grid, options);
    return v.run();
}

} // namespace wangge::grid
