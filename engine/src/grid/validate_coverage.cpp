// The validator's coverage stages: the shared-edge index, overlaps, gaps, the county
// boundary, and nesting in villages and townships (see validator.hpp for the plan).
#include "validator.hpp"

#include <map>
#include <numbers>
#include <set>
#include <tuple>
#include <unordered_map>

namespace wangge::grid::detail {

void Validator::build_edge_index() {
    std::vector<Segment>& segs = m_segments;
    std::size_t total = 0;
    for (const auto& c : m_cells)
        if (c.usable)
            for (const auto& p : c.parts)
                for (const auto& r : p.rings)
                    total += r.size() - 1;
    segs.reserve(total);
    for (std::size_t i = 0; i < m_cells.size(); ++i)
        if (m_cells[i].usable)
            add_segments(m_cells[i].parts, static_cast<std::uint32_t>(i), 1, segs);
    m_partner.assign(segs.size(), no_segment);
    std::vector<std::pair<Box, std::uint32_t>> candidates;
    for_each_group(segs, false, [&](const std::vector<std::uint32_t>& group) {
        if (group.size() == 2) {
            const Segment &s0 = segs[group[0]], &s1 = segs[group[1]];
            if (s0.dir != s1.dir && s0.owner != s1.owner) { // cleanly shared
                m_partner[group[0]] = s1.owner;
                m_partner[group[1]] = s0.owner;
                return;
            }
        }
        if (group.size() == 1) {
            m_single_edges.push_back({segs[group[0]].a, segs[group[0]].b});
            m_single_owner.push_back(segs[group[0]].owner);
        } else
            m_tangled = true;
        for (std::size_t k = 0; k < group.size(); ++k) {
            const Segment& sk = segs[group[k]];
            Box b;
            b.expand(sk.a);
            b.expand(sk.b);
            candidates.push_back({b, sk.owner});
            m_cells[sk.owner].candidate = true;
            // Cells sharing an edge that is not cleanly shared: test them directly.
            for (std::size_t l = 0; l < k; ++l)
                if (segs[group[l]].owner != sk.owner)
                    m_pair_seed.push_back(pair_key(segs[group[l]].owner, sk.owner));
        }
    });
    m_edge_candidates = std::move(candidates);
}

std::uint64_t Validator::pair_key(std::uint32_t a, std::uint32_t b) {
    if (a > b) std::swap(a, b);
    return (static_cast<std::uint64_t>(a) << 32) | b;
}

const GEOSGeometry* Validator::geos_of(std::size_t i) {
    if (!m_geos[i]) m_geos[i] = m_ctx.from(parts_to_multipolygon(m_cells[i].parts));
    return m_geos[i].get();
}

bool Validator::disjoint(std::size_t i, std::size_t j) const {
    for (const auto& a : m_cells[i].parts)
        for (const auto& b : m_cells[j].parts)
            if (!detail::certainly_disjoint(a, b)) return false;
    return true;
}

void Validator::test_pair(std::size_t i, std::size_t j) {
    if (disjoint(i, j)) return;
    auto x = overlay(m_ctx, Op::intersection, geos_of(i), geos_of(j));
    MultiPolygon mp = x.to_multipolygon();
    const double planar = geo::planar_area(mp);
    if (planar <= 0) return;
    m_overlap_planar += planar;
    if (m_metric && geo::area_m2(mp, *m_metric) < m_opt.min_defect_area_m2) return;
    add(IssueType::overlap, {code(i), code(j)},
        "cells " + code(std::min(i, j)) + " and " + code(std::max(i, j)) + " overlap",
        std::move(mp));
}

void Validator::check_overlaps() {
    std::unordered_set<std::uint64_t> pairs(m_pair_seed.begin(), m_pair_seed.end());
    for (const auto& candidate : m_edge_candidates) {
        const std::uint32_t owner = candidate.second; // not a structured binding: clang 14
        const Box& box = candidate.first;             // cannot capture those
        m_index->query(box, [&](std::uint32_t other) {
            if (other != owner) pairs.insert(pair_key(owner, other));
        });
    }
    std::vector<std::uint64_t> sorted(pairs.begin(), pairs.end());
    std::sort(sorted.begin(), sorted.end());
    for (auto key : sorted)
        test_pair(key >> 32, key & 0xffffffffu);
    m_tested = std::move(pairs);
}

// Every pair of cells whose boxes meet: for overlaps the edge index cannot see (a cell
// lying over a clean patch of others).
void Validator::check_all_pairs() {
    m_report.notes.push_back(
        "the cells' areas exceed their union's: every pair of cells was checked for overlaps");
    for (std::size_t i = 0; i < m_cells.size(); ++i) {
        if (!m_cells[i].usable) continue;
        std::vector<std::uint32_t> others;
        m_index->query(m_cells[i].box, [&](std::uint32_t j) {
            if (j > i) others.push_back(j);
        });
        std::sort(others.begin(), others.end());
        for (auto j : others)
            if (!m_tested.count(pair_key(static_cast<std::uint32_t>(i), j))) test_pair(i, j);
    }
}

// A vertex of one cell within vertex_tolerance_m of the inside of another cell's edge that
// has no vertex there: the two outlines meet without being noded together (a T-junction).
// Only single edges can take part: a cleanly shared edge has the same vertices on both
// sides. GEOS's CoverageValidator and PostGIS's ST_CoverageInvalidEdges report these too.
// A vertex on an overlap or gap found already is part of that defect and not repeated.
void Validator::check_unmatched_vertices() {
    if (!m_scale || m_single_edges.empty() || m_opt.vertex_tolerance_m <= 0) return;
    const double tol = m_opt.vertex_tolerance_m;
    Box all;
    for (const auto& [a, b] : m_single_edges) {
        all.expand(a);
        all.expand(b);
    }
    const Jacobian jc = m_scale->at({(all.minx + all.maxx) / 2, (all.miny + all.maxy) / 2});
    const double per_degree = std::min(std::hypot(jc.xx, jc.yx), std::hypot(jc.xy, jc.yy));
    const double pad = per_degree > 0 ? 2 * tol / per_degree : 0; // degrees, with a margin
    std::vector<Box> boxes(m_single_edges.size());
    for (std::size_t e = 0; e < boxes.size(); ++e) {
        Box& b = boxes[e];
        b.expand(m_single_edges[e].first);
        b.expand(m_single_edges[e].second);
        b = {b.minx - pad, b.miny - pad, b.maxx + pad, b.maxy + pad};
    }
    BoxIndex index(boxes, std::vector<char>(boxes.size(), 1));
    std::vector<std::pair<Box, geo::GeosGeometry>> defects; // overlaps and gaps so far
    for (const auto& issue : m_report.issues)
        if ((issue.type == IssueType::overlap || issue.type == IssueType::gap) &&
            !issue.geometry.empty()) {
            const Box b = geo::bounds(issue.geometry);
            defects.emplace_back(Box{b.minx - pad, b.miny - pad, b.maxx + pad, b.maxy + pad},
                                 m_ctx.from(issue.geometry));
        }
    auto on_defect = [&](Point p) {
        for (const auto& [box, g] : defects) {
            if (p.x < box.minx || p.x > box.maxx || p.y < box.miny || p.y > box.maxy) continue;
            const auto pt = m_ctx.point(p);
            double d = 0;
            if (GEOSDistance_r(m_ctx.get(), pt.get(), g.get(), &d) && d <= pad) return true;
        }
        return false;
    };
    std::set<std::tuple<double, double, std::uint32_t, std::uint32_t>> found;
    for (std::size_t v = 0; v < m_single_edges.size(); ++v)
        for (const Point p : {m_single_edges[v].first, m_single_edges[v].second}) {
            const std::uint32_t vertex_cell = m_single_owner[v];
            Box pb;
            pb.expand(p);
            const Jacobian j = m_scale->at(p);
            index.query(pb, [&](std::uint32_t e) {
                const std::uint32_t edge_cell = m_single_owner[e];
                // An invalid cell's repaired stand-in has vertices of its own making.
                if (edge_cell == vertex_cell || m_cells[edge_cell].repaired ||
                    m_cells[vertex_cell].repaired)
                    return;
                const auto [a, b] = m_single_edges[e];
                if (p == a || p == b) return;
                const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
                if (len2 == 0) return;
                const double t = ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2;
                if (t <= 0 || t >= 1) return;
                const double off = j.length(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
                if (off > tol || j.length(p.x - a.x, p.y - a.y) <= tol ||
                    j.length(p.x - b.x, p.y - b.y) <= tol)
                    return;
                if (!found.insert({p.x, p.y, vertex_cell, edge_cell}).second) return;
                if (on_defect(p)) return;
                auto& issue =
                    add(IssueType::unmatched_vertex, {code(vertex_cell), code(edge_cell)},
                        "a vertex of cell " + code(vertex_cell) + " lies " + format("%.4f", off) +
                            " m from an edge of cell " + code(edge_cell) +
                            ", which has no vertex there: the cells are not noded "
                            "together (grid import --snap can node them)");
                issue.location = p;
            });
        }
}

// Gores: narrow inlets of the grid's outline, found without a county boundary as what a
// closing (grow, then shrink, by half of gore_width_m, in metres) adds outside the union of
// the cells and its holes. A closing also rounds every inner corner of the outline; those
// pieces are small, so only pieces longer than twice the width and larger than (width/2)^2
// are inlets.
void Validator::check_gores(const geo::GeosGeometry& all) {
    if (!m_metric || m_opt.gore_width_m <= 0 || !all) return;
    const double r = m_opt.gore_width_m / 2;
    MultiPolygon filled; // the union without its holes (they are gaps already)
    for (const auto& poly : all.to_multipolygon().polygons)
        if (!poly.rings.empty()) filled.polygons.push_back({{poly.rings.front()}});
    if (filled.empty()) return;
    m_metric->forward(filled);
    const auto fg = unary_union(m_ctx, m_ctx.from(filled).get());
    // Arcs of 32 segments per quarter: a straight edge next to an inner corner comes back off
    // by at most arc_error, so pieces thinner than a few of those are the closing's rounding.
    constexpr int quadrant_segments = 32;
    const double arc_error = r * (1 - std::cos(std::numbers::pi / (4 * quadrant_segments)));
    const auto grown = m_ctx.check(GEOSBuffer_r(m_ctx.get(), fg.get(), r, quadrant_segments),
                                   "cannot buffer the grid");
    const auto closed = m_ctx.check(GEOSBuffer_r(m_ctx.get(), grown.get(), -r, quadrant_segments),
                                    "cannot buffer the grid");
    MultiPolygon gores;
    for (auto& poly :
         overlay(m_ctx, Op::difference, closed.get(), fg.get()).to_multipolygon().polygons) {
        const Box b = geo::bounds(poly.rings.front());
        if (std::max(b.maxx - b.minx, b.maxy - b.miny) <= 2 * m_opt.gore_width_m) continue;
        MultiPolygon one{{poly}};
        const double area = geo::planar_area(one);
        // A closing fills a square corner with r^2 (1 - pi/4), a 45-degree wedge with
        // 1.24 r^2: what fills less than r^2 is a rounded corner, not an inlet.
        if (area < std::max(m_opt.min_defect_area_m2, r * r)) continue;
        double perimeter = 0;
        for (const auto& ring : poly.rings)
            for (std::size_t k = 0; k + 1 < ring.size(); ++k)
                perimeter += std::hypot(ring[k + 1].x - ring[k].x, ring[k + 1].y - ring[k].y);
        if (2 * area / perimeter < 4 * arc_error) continue;
        gores.polygons.push_back(std::move(poly));
    }
    if (gores.empty()) return;
    m_metric->inverse(gores);
    std::set<std::string_view> invalid; // their repaired stand-ins make inlets of their own
    for (std::size_t i = 0; i < m_cells.size(); ++i)
        if (m_cells[i].repaired) invalid.insert(code(i));
    for (auto& poly : gores.polygons) {
        MultiPolygon one{{std::move(poly)}};
        const auto g = m_ctx.from(one);
        auto cells = bordering(g.get(), geo::bounds(one));
        if (std::any_of(cells.begin(), cells.end(),
                        [&](const std::string& c) { return invalid.count(c) > 0; }))
            continue;
        add(IssueType::gap, std::move(cells),
            "a narrow inlet of the grid's outline (a gore), under " +
                format("%g", m_opt.gore_width_m) +
                " m wide: an area in no cell between its "
                "cells; give the county boundary to check the whole outline",
            std::move(one));
    }
}

geo::GeosGeometry Validator::union_of_candidates(double& expected_planar) {
    std::vector<GEOSGeometry*> parts;
    expected_planar = 0;
    for (std::size_t i = 0; i < m_cells.size(); ++i)
        if (m_cells[i].usable && m_cells[i].candidate) {
            parts.push_back(GEOSGeom_clone_r(m_ctx.get(), geos_of(i)));
            expected_planar += m_cells[i].planar;
        }
    auto all =
        m_ctx.check(GEOSGeom_createCollection_r(m_ctx.get(), GEOS_GEOMETRYCOLLECTION, parts.data(),
                                                static_cast<unsigned>(parts.size())),
                    "cannot build a collection");
    // The coverage union is exact and fast for cells noded together without overlaps;
    // it is trusted only when no overlap was found and the areas agree.
    if (m_overlap_planar == 0) {
        if (GEOSGeometry* u = GEOSCoverageUnion_r(m_ctx.get(), all.get())) {
            geo::GeosGeometry cu(m_ctx, u);
            if (std::abs(cu.area() - expected_planar) <= m_planar_tolerance) return cu;
        }
    }
    return unary_union(m_ctx, all.get());
}

bool Validator::covered_by_clean_cell(Point p) {
    bool covered = false;
    Box b;
    b.expand(p);
    m_index->query(b, [&](std::uint32_t k) {
        if (covered || m_cells[k].candidate) return;
        for (const auto& part : m_cells[k].parts) {
            const auto side = detail::locate(p, part);
            if (side == detail::Side::inside || side == detail::Side::boundary)
                covered = true;
            else if (side == detail::Side::unknown) {
                const auto pt = m_ctx.point(p);
                if (GEOSCovers_r(m_ctx.get(), geos_of(k), pt.get()) == 1) covered = true;
            }
        }
    });
    return covered;
}

std::vector<std::string> Validator::bordering(const GEOSGeometry* g, const Box& box) {
    // A cell borders a defect when it shares a stretch of boundary with it, not just a point.
    // Floating point rarely makes two edges that meet without common vertices exactly
    // collinear, so a stretch is also a length of the cell's boundary within eps (1e-9
    // degrees, 0.1 mm) of the defect: otherwise such a cell went missing from the list.
    constexpr double eps = 1e-9;
    std::vector<std::uint32_t> near;
    m_index->query({box.minx - eps, box.miny - eps, box.maxx + eps, box.maxy + eps},
                   [&](std::uint32_t k) { near.push_back(k); });
    std::vector<std::string> codes;
    if (near.size() <= 256) {
        geo::GeosGeometry grown;
        for (auto k : near) {
            if (GEOSRelatePattern_r(m_ctx.get(), g, geos_of(k), "****1****") == 1) {
                codes.push_back(code(k));
                continue;
            }
            double d = 0;
            if (!GEOSDistance_r(m_ctx.get(), g, geos_of(k), &d) || d > eps) continue;
            if (!grown) grown = m_ctx.check(GEOSBuffer_r(m_ctx.get(), g, eps, 2), "buffer");
            const auto boundary = m_ctx.check(GEOSBoundary_r(m_ctx.get(), geos_of(k)), "boundary");
            const auto shared =
                m_ctx.check(GEOSIntersection_r(m_ctx.get(), boundary.get(), grown.get()), "meet");
            double length = 0;
            if (GEOSLength_r(m_ctx.get(), shared.get(), &length) && length > 10 * eps)
                codes.push_back(code(k));
        }
    } else {
        Prepared prepared(m_ctx, g);
        for (auto k : near)
            if (GEOSPreparedIntersects_r(m_ctx.get(), prepared.get(), geos_of(k)) == 1)
                codes.push_back(code(k));
    }
    std::sort(codes.begin(), codes.end());
    codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
    return codes;
}

// The union of all cells from their single edges (GEOS polygonize, even-odd).
geo::GeosGeometry Validator::polygonize_single_edges() {
    std::vector<geo::GeosGeometry> lines;
    lines.reserve(m_single_edges.size());
    for (const auto& [a, b] : m_single_edges) {
        GEOSCoordSequence* seq = GEOSCoordSeq_create_r(m_ctx.get(), 2, 2);
        GEOSCoordSeq_setXY_r(m_ctx.get(), seq, 0, a.x, a.y);
        GEOSCoordSeq_setXY_r(m_ctx.get(), seq, 1, b.x, b.y);
        lines.push_back(m_ctx.check(GEOSGeom_createLineString_r(m_ctx.get(), seq), "line"));
    }
    std::vector<const GEOSGeometry*> raw;
    raw.reserve(lines.size());
    for (const auto& l : lines)
        raw.push_back(l.get());
    return m_ctx.check(
        GEOSPolygonize_valid_r(m_ctx.get(), raw.data(), static_cast<unsigned>(raw.size())),
        "polygonize failed");
}

geo::GeosGeometry Validator::union_of(const GEOSGeometry* a, const GEOSGeometry* b) {
    GEOSGeometry* r = GEOSUnion_r(m_ctx.get(), a, b);
    if (!r) r = GEOSUnionPrec_r(m_ctx.get(), a, b, 1e-11);
    return m_ctx.check(r, "union failed");
}

double Validator::metric_area(const MultiPolygon& mp) const {
    return m_metric ? geo::area_m2(mp, *m_metric) : 0.0;
}

void Validator::report_gaps(const MultiPolygon& gaps) {
    for (const auto& poly : gaps.polygons) {
        MultiPolygon one{{poly}};
        if (geo::planar_area(one) <= 0) continue;
        if (m_metric && metric_area(one) < m_opt.min_defect_area_m2) continue;
        const auto g = m_ctx.from(one);
        auto cells = bordering(g.get(), geo::bounds(one));
        std::string message = cells.empty()
                                  ? "an area in no cell"
                                  : "an area in no cell, between " + std::to_string(cells.size()) +
                                        (cells.size() == 1 ? " cell" : " cells");
        if (m_opt.county_boundary) message += " inside the county boundary";
        add(IssueType::gap, std::move(cells), std::move(message), std::move(one));
    }
}

void Validator::check_gaps_and_boundary() {
    double total = 0, centre_scale = 1;
    Box box;
    for (const auto& c : m_cells)
        if (c.usable) {
            total += c.planar;
            box.expand(c.box);
        }
    if (!box.valid()) {
        if (m_opt.county_boundary && !m_opt.county_boundary->empty())
            report_gaps(*m_opt.county_boundary);
        return;
    }
    if (m_scale)
        centre_scale = m_scale->at({(box.minx + box.maxx) / 2, (box.miny + box.maxy) / 2}).det();
    // Areas agree when they differ by less than rounding or than the smallest defect.
    m_planar_tolerance = std::max(1e-9 * total, m_opt.min_defect_area_m2 / centre_scale);

    // The bounded parts of the complement of a union are its holes, and areas enclosed
    // by parts that touch at points.
    Box frame = box;
    const double margin = std::max({frame.maxx - frame.minx, frame.maxy - frame.miny, 1e-6});
    frame = {frame.minx - margin, frame.miny - margin, frame.maxx + margin, frame.maxy + margin};
    const auto frame_g = m_ctx.from(Polygon{{{{frame.minx, frame.miny},
                                              {frame.maxx, frame.miny},
                                              {frame.maxx, frame.maxy},
                                              {frame.minx, frame.maxy},
                                              {frame.minx, frame.miny}}}});
    auto enclosed = [&](const GEOSGeometry* u) {
        MultiPolygon out;
        for (auto& poly :
             overlay(m_ctx, Op::difference, frame_g.get(), u).to_multipolygon().polygons) {
            const Box b = geo::bounds(poly.rings.front());
            if (b.minx > frame.minx && b.maxx < frame.maxx && b.miny > frame.miny &&
                b.maxy < frame.maxy)
                out.polygons.push_back(std::move(poly));
        }
        return out;
    };

    // Direct: when every edge is cleanly shared or single and no overlap was found, the
    // single edges are the union's boundary. Trusted only if the areas balance.
    geo::GeosGeometry all_g;
    MultiPolygon holes;
    if (m_overlap_planar == 0 && !m_tangled) {
        all_g = polygonize_single_edges();
        if (std::abs(all_g.area() - total) <= m_planar_tolerance)
            holes = enclosed(all_g.get());
        else
            all_g = {};
    }
    if (!all_g) {
        // Otherwise the union of K. Each bounded part of its complement is wholly filled
        // by clean cells or wholly a gap, as depth cannot change across a clean edge: one
        // point decides.
        double expected = 0;
        const auto uk = union_of_candidates(expected);
        MultiPolygon filled;
        for (auto& poly : enclosed(uk.get()).polygons) {
            const auto pg = m_ctx.from(poly);
            const auto p = point_on_surface(m_ctx, pg.get());
            (p && covered_by_clean_cell(*p) ? filled : holes).polygons.push_back(std::move(poly));
        }
        all_g = filled.empty() ? m_ctx.from(uk.to_multipolygon())
                               : union_of(uk.get(), m_ctx.from(filled).get());
        // Cells that overlap where every edge is clean (one lying over a patch of
        // others) show only here: the cells' areas exceed the union's and the overlaps'.
        if (total - all_g.area() - m_overlap_planar > m_planar_tolerance) check_all_pairs();
    }

    if (!m_opt.county_boundary) {
        report_gaps(holes);
        check_gores(all_g);
        return;
    }
    auto county = m_ctx.from(*m_opt.county_boundary);
    if (!county.is_valid()) {
        m_report.notes.push_back("the county boundary is not a valid polygon (" +
                                 county.invalid_reason() + "); it was repaired");
        county = m_ctx.check(GEOSMakeValid_r(m_ctx.get(), county.get()), "make valid");
    }
    const auto& ug = all_g;
    report_gaps(overlay(m_ctx, Op::difference, county.get(), ug.get()).to_multipolygon());

    // Parts outside, assigned to the cells they come from.
    const auto outside = overlay(m_ctx, Op::difference, ug.get(), county.get()).to_multipolygon();
    std::map<std::size_t, MultiPolygon> per_cell;
    for (const auto& poly : outside.polygons) {
        MultiPolygon one{{poly}};
        if (geo::planar_area(one) <= 0) continue;
        if (m_metric && metric_area(one) < m_opt.min_defect_area_m2) continue;
        const auto og = m_ctx.from(one);
        std::vector<std::uint32_t> near;
        m_index->query(geo::bounds(one), [&](std::uint32_t k) { near.push_back(k); });
        for (auto k : near) {
            auto piece = overlay(m_ctx, Op::intersection, og.get(), geos_of(k)).to_multipolygon();
            if (geo::planar_area(piece) <= 0) continue;
            auto& dst = per_cell[k].polygons;
            dst.insert(dst.end(), piece.polygons.begin(), piece.polygons.end());
        }
    }
    for (auto& [k, mp] : per_cell) {
        if (m_metric && metric_area(mp) < m_opt.min_defect_area_m2) continue;
        add(IssueType::outside_boundary, {code(k)},
            "part of the cell lies outside the county boundary", std::move(mp));
    }
}

void Validator::check_nesting() {
    for (auto level : {UnitLevel::village, UnitLevel::township}) {
        std::unordered_map<std::string_view, std::size_t> units; // code -> grid.units index
        for (std::size_t u = 0; u < m_grid.units.size(); ++u)
            if (m_grid.units[u].level == level && !m_grid.units[u].geometry.empty())
                units.emplace(m_grid.units[u].code, u);
        if (units.empty()) continue;
        std::map<std::size_t, std::vector<std::size_t>> members; // unit -> cells
        std::vector<std::uint32_t> unit_of(m_cells.size(), no_segment);
        for (std::size_t i = 0; i < m_cells.size(); ++i) {
            if (!m_cells[i].usable) continue;
            const auto& c = m_grid.cells[i];
            const auto it =
                units.find(level == UnitLevel::village ? c.village_code : c.township_code);
            if (it == units.end()) continue;
            members[it->second].push_back(i);
            unit_of[i] = static_cast<std::uint32_t>(it->second);
        }
        // A unit whose outline is exactly the net edges of its cells holds them all. Edges
        // cleanly shared by two cells of the unit cancel: only the others are compared
        // with the unit's outline.
        std::vector<Segment> segs;
        for (const auto& [u, cells] : members)
            add_segments(detail::make_parts(m_grid.units[u].geometry),
                         static_cast<std::uint32_t>(u), -1, segs);
        for (std::size_t k = 0; k < m_segments.size(); ++k) {
            const Segment& s = m_segments[k];
            const std::uint32_t u = unit_of[s.owner];
            if (u == no_segment) continue;
            if (m_partner[k] != no_segment && unit_of[m_partner[k]] == u) continue;
            segs.push_back({s.a, s.b, u, s.dir});
        }
        std::set<std::uint32_t> inexact;
        for_each_group(segs, true, [&](const std::vector<std::uint32_t>& group) {
            int net = 0;
            for (auto k : group)
                net += segs[k].dir;
            if (net != 0) inexact.insert(segs[group[0]].owner);
        });
        for (auto u : inexact)
            check_unit_members(m_grid.units[u], members[u]);
    }
}

void Validator::check_unit_members(const AdminUnit& unit, const std::vector<std::size_t>& cells) {
    auto ug = m_ctx.from(unit.geometry);
    if (!ug.is_valid()) ug = m_ctx.check(GEOSMakeValid_r(m_ctx.get(), ug.get()), "make valid");
    Prepared prepared(m_ctx, ug.get());
    const std::string level = unit.level == UnitLevel::village ? "village" : "township";
    for (auto i : cells) {
        if (GEOSPreparedCovers_r(m_ctx.get(), prepared.get(), geos_of(i)) == 1) continue;
        auto out = overlay(m_ctx, Op::difference, geos_of(i), ug.get()).to_multipolygon();
        if (geo::planar_area(out) <= 0) continue;
        if (m_metric && metric_area(out) < m_opt.min_defect_area_m2) continue;
        add(IssueType::not_nested, {code(i)},
            "part of the cell lies outside its " + level + " " + unit.code, std::move(out));
    }
}

} // namespace wangge::grid::detail
