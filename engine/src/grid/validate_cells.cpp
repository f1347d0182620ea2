// The validator's first stages: cell codes (duplicates, the scheme, prefixes), and each
// cell alone (empty, lon/lat range, validity, slivers).
#include "validator.hpp"

#include <map>
#include <unordered_map>

namespace wangge::grid::detail {

void Validator::check_codes() {
    const std::size_t n = m_grid.cells.size();
    for (const auto& problem : m_opt.unusable)
        if (!problem.geometry) add(IssueType::bad_code, {code(problem.cell)}, problem.message);

    // Duplicates: the first cell of each code, then the others that repeat it.
    std::unordered_map<std::string_view, std::size_t> first;
    first.reserve(n);
    std::map<std::size_t, std::vector<std::size_t>> repeats;
    for (std::size_t i = 0; i < n; ++i) {
        if (code(i).empty()) continue;
        const auto [it, inserted] = first.emplace(code(i), i);
        if (!inserted) repeats[it->second].push_back(i);
    }
    for (const auto& [i, others] : repeats) {
        // Appended piece by piece: GCC 12 warns (wrongly) on "#" + std::to_string().
        std::string where = "#";
        where += std::to_string(i + 1);
        for (auto k : others) {
            where += ", #";
            where += std::to_string(k + 1);
        }
        m_duplicates.push_back({i, "code '" + code(i) + "' is used by " +
                                       std::to_string(others.size() + 1) + " cells (" + where +
                                       ")"});
    }

    auto digits = [](std::string_view s) {
        return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    std::optional<CodeScheme> scheme = m_opt.code_scheme;
    if (!scheme) {
        // The scheme most codes follow, if most follow one.
        std::map<std::size_t, std::size_t> votes; // length -> codes
        for (const auto& c : m_grid.cells)
            if (digits(c.code)) ++votes[c.code.size()];
        for (auto s : {CodeScheme::national14, CodeScheme::beijing15, CodeScheme::professional20})
            if (2 * votes[code_length(s)] >= n && votes[code_length(s)] > 0) scheme = s;
        if (!scheme && n > 0)
            m_report.notes.push_back(
                "cell codes were not checked: most are not national grid codes (14, 15 or "
                "20 digits); give a code scheme to check them");
    }
    if (!scheme) return;
    const std::size_t len = code_length(*scheme);
    // The county every code must start with: given (--county-code, or the county boundary's
    // code field), else the 6-digit prefix more than half of the well-formed codes share.
    std::string county = m_opt.county_code, county_origin;
    if (county.empty()) {
        std::map<std::string_view, std::size_t> prefixes;
        std::size_t well_formed = 0;
        for (const auto& c : m_grid.cells)
            if (c.code.size() == len && digits(c.code)) {
                ++prefixes[std::string_view(c.code).substr(0, 6)];
                ++well_formed;
            }
        for (const auto& [prefix, count] : prefixes)
            if (2 * count > well_formed) {
                county = std::string(prefix);
                county_origin = " (the prefix most cells share)";
            }
    }
    for (std::size_t i = 0; i < n; ++i) {
        const Cell& c = m_grid.cells[i];
        const std::string_view v = c.code;
        if (v.empty()) continue; // reported by the reader
        std::vector<std::string> why;
        if (v.size() != len || !digits(v)) {
            why.push_back("is not a " + std::to_string(len) + "-digit cell code");
        } else {
            if (!county.empty() && v.substr(0, 6) != county)
                why.push_back("does not start with the county code " + county + county_origin);
            if (!c.township_code.empty() && v.substr(0, 9) != c.township_code)
                why.push_back("does not start with its township code " + c.township_code);
            if (!c.village_code.empty() && v.substr(0, 12) != c.village_code)
                why.push_back("does not start with its village code " + c.village_code);
        }
        if (!why.empty()) m_bad_codes.push_back({i, "code '" + c.code + "' " + join(why, " and ")});
    }
}

// GEOS validity; false with GEOS's reason (and where) when invalid or not buildable.
bool Validator::geos_valid(const MultiPolygon& mp, std::string& reason,
                           std::optional<Point>& where) {
    m_ctx.clear_error();
    geo::GeosGeometry g;
    try {
        g = m_ctx.from(mp);
    } catch (const LibraryError&) {
        std::string why = m_ctx.last_error();
        if (const auto colon = why.find("Exception: "); colon != std::string::npos)
            why.erase(0, colon + 11);
        reason = "GEOS cannot build it: " + why;
        for (const auto& poly : mp.polygons)
            for (const auto& ring : poly.rings)
                if (!where && !ring.empty()) where = ring.front();
        return false;
    }
    char* text = nullptr;
    GEOSGeometry* location = nullptr;
    const char v = GEOSisValidDetail_r(m_ctx.get(), g.get(), 0, &text, &location);
    geo::GeosGeometry owned_location(m_ctx, location);
    if (v == 1) return true;
    reason = text ? text : "GEOS cannot check it: " + m_ctx.last_error();
    if (text) GEOSFree_r(m_ctx.get(), text);
    double x = 0, y = 0;
    if (location && !GEOSisEmpty_r(m_ctx.get(), location) &&
        GEOSGeomGetX_r(m_ctx.get(), location, &x) && GEOSGeomGetY_r(m_ctx.get(), location, &y))
        where = Point{x, y};
    return false;
}

// Whether the cell's geometry is valid; if so, its parts for the coverage checks.
bool Validator::valid_geometry(const MultiPolygon& mp, std::vector<detail::Part>& parts,
                               std::string& reason, std::optional<Point>& where) {
    // The common case, one ring, decided without GEOS.
    if (mp.polygons.size() == 1 && mp.polygons[0].rings.size() == 1) {
        const Ring& raw = mp.polygons[0].rings[0];
        if (raw.size() >= 4 && raw.front() == raw.back()) {
            Ring ring = detail::clean_ring(raw);
            if (detail::ring_is_simple(ring) == detail::Answer::yes) {
                if (geo::signed_area(ring) < 0) std::reverse(ring.begin(), ring.end());
                const Box box = geo::bounds(ring);
                parts.push_back({{std::move(ring)}, box});
                return true;
            }
        }
    }
    if (!geos_valid(mp, reason, where)) return false;
    parts = detail::make_parts(mp);
    return true;
}

// A stand-in for an invalid cell so that its area still counts in the coverage checks:
// rings closed, those too short dropped, then GEOS MakeValid.
MultiPolygon Validator::repair(const MultiPolygon& mp) {
    MultiPolygon fixed;
    for (const auto& poly : mp.polygons) {
        Polygon p;
        for (std::size_t r = 0; r < poly.rings.size(); ++r) {
            Ring ring = detail::clean_ring(poly.rings[r]);
            if (ring.size() >= 4)
                p.rings.push_back(std::move(ring));
            else if (r == 0)
                break;
        }
        if (!p.rings.empty()) fixed.polygons.push_back(std::move(p));
    }
    if (fixed.empty()) return {};
    try {
        const auto g = m_ctx.from(fixed);
        GEOSGeometry* v = GEOSMakeValid_r(m_ctx.get(), g.get());
        if (!v) return {};
        return geo::GeosGeometry(m_ctx, v).to_multipolygon();
    } catch (const LibraryError&) {
        return {};
    }
}

void Validator::prepare_geometry() {
    std::unordered_map<std::size_t, const FeatureProblem*> unreadable;
    for (const auto& p : m_opt.unusable)
        if (p.geometry) unreadable[p.cell] = &p;
    std::vector<std::size_t> projected;
    std::optional<Point> example;
    for (std::size_t i = 0; i < m_grid.cells.size(); ++i) {
        const MultiPolygon& mp = m_grid.cells[i].geometry;
        auto& cg = m_cells[i];
        if (auto it = unreadable.find(i); it != unreadable.end()) {
            add(IssueType::invalid_geometry, {code(i)}, it->second->message);
            continue;
        }
        bool any = false, in_range = true;
        for (const auto& poly : mp.polygons)
            for (const auto& ring : poly.rings)
                for (const auto& p : ring) {
                    any = true;
                    if (in_range && !(std::abs(p.x) <= 180 && std::abs(p.y) <= 90)) {
                        in_range = false;
                        if (!example) example = p;
                    }
                }
        if (!any) {
            add(IssueType::empty_geometry, {code(i)}, "the cell has no geometry");
            continue;
        }
        if (!in_range) {
            projected.push_back(i);
            continue;
        }
        std::string reason;
        std::optional<Point> where;
        if (!valid_geometry(mp, cg.parts, reason, where)) {
            auto& issue = add(IssueType::invalid_geometry, {code(i)}, reason);
            issue.location = where;
            cg.parts = detail::make_parts(repair(mp));
            cg.repaired = true;
        }
        if (cg.parts.empty()) continue;
        cg.usable = true;
        for (const auto& p : cg.parts)
            cg.box.expand(p.box);
        cg.planar = planar_area(cg.parts);
    }
    if (!projected.empty()) {
        std::vector<std::string> codes;
        for (auto i : projected)
            codes.push_back(code(i));
        char buf[160];
        std::snprintf(buf, sizeof buf, "(%.3f, %.3f)", example->x, example->y);
        add(IssueType::crs_mismatch, std::move(codes),
            std::to_string(projected.size()) +
                (projected.size() == 1 ? " cell has" : " cells have") +
                " coordinates impossible in EPSG:4326, e.g. " + buf +
                ": the layer is probably projected but labelled EPSG:4326; give its real "
                "CRS (--src-crs)");
    }
    // Code defects are shown with the cell once its geometry is known to be sound.
    for (const auto& [i, message] : m_duplicates)
        add(IssueType::duplicate_code, {code(i)}, message, shown(i));
    for (const auto& [i, message] : m_bad_codes)
        add(IssueType::bad_code, {code(i)}, message, shown(i));
}

void Validator::setup_metric() {
    Box box;
    for (const auto& c : m_cells)
        if (c.usable) box.expand(c.box);
    if (m_opt.county_boundary) box.expand(geo::bounds(*m_opt.county_boundary));
    std::string crs = m_opt.metric_crs;
    if (crs.empty() && box.valid())
        crs = geo::suggest_metric_crs((box.minx + box.maxx) / 2, (box.miny + box.maxy) / 2);
    m_report.metric_crs = crs;
    if (crs.empty()) return;
    m_metric = std::make_unique<geo::Transformer>("EPSG:4326", crs);
    if (box.valid()) m_scale = std::make_unique<LocalScale>(*m_metric, box);
}

Validator::Measure Validator::exact_measure(const std::vector<detail::Part>& parts) const {
    Measure m;
    for (const auto& part : parts)
        for (std::size_t r = 0; r < part.rings.size(); ++r) {
            Ring ring = part.rings[r];
            m_metric->forward(std::span<Point>(ring));
            m.area += (r == 0 ? 1 : -1) * std::abs(geo::signed_area(ring));
            for (std::size_t i = 0; i + 1 < ring.size(); ++i)
                m.perimeter +=
                    std::sqrt(sq(ring[i + 1].x - ring[i].x) + sq(ring[i + 1].y - ring[i].y));
        }
    return m;
}

void Validator::check_slivers() {
    if (!m_scale) return;
    const double area_limit = m_opt.sliver_area_m2, thin_limit = m_opt.sliver_thinness;
    for (std::size_t i = 0; i < m_cells.size(); ++i) {
        const auto& c = m_cells[i];
        if (!c.usable || c.repaired) continue;
        const Jacobian j =
            m_scale->at({(c.box.minx + c.box.maxx) / 2, (c.box.miny + c.box.maxy) / 2});
        Measure m{c.planar * j.det(), 0};
        for (const auto& part : c.parts)
            for (const auto& ring : part.rings)
                for (std::size_t k = 0; k + 1 < ring.size(); ++k)
                    m.perimeter += j.length(ring[k + 1].x - ring[k].x, ring[k + 1].y - ring[k].y);
        auto thinness = [](const Measure& x) {
            return x.perimeter > 0 ? 4 * pi * x.area / (x.perimeter * x.perimeter) : 0.0;
        };
        // Screen with a margin, decide exactly.
        if (m.area >= area_limit * 1.001 && thinness(m) >= thin_limit * 1.001) continue;
        m = exact_measure(c.parts);
        const double t = thinness(m);
        std::string why;
        if (m.area < area_limit)
            why = "tiny cell: " + format("%.2f", m.area) + " m2, under " +
                  format("%g", area_limit) + " m2";
        else if (t < thin_limit)
            why = "extremely thin cell: thinness 4*pi*A/P^2 = " + format("%.4f", t) + ", under " +
                  format("%g", thin_limit);
        else
            continue;
        add(IssueType::sliver, {code(i)}, why, m_grid.cells[i].geometry);
    }
}

} // namespace wangge::grid::detail
