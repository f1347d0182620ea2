// The helpers the exact edits share (redraw/edit_shared.hpp), the incremental validation of
// an edit and the canonical form of a geometry.
#include "redraw/edit_shared.hpp"

#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/redraw/edit.hpp"

#include <algorithm>
#include <cmath>
#include <geos_c.h>
#include <map>
#include <optional>
#include <set>
#include <sstream>

namespace wangge::redraw {

namespace detail {

double cross(Point o, Point a, Point b) {
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

// Crossing-number test; points on the ring count as outside (callers test interior points).
bool inside_ring(const Ring& ring, Point p) {
    bool in = false;
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
        const Point a = ring[i], b = ring[j];
        if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x)
            in = !in;
    }
    return in;
}

bool inside_polygon(const geo::Polygon& poly, Point p) {
    if (poly.rings.empty() || !inside_ring(poly.rings[0], p)) return false;
    for (std::size_t h = 1; h < poly.rings.size(); ++h)
        if (inside_ring(poly.rings[h], p)) return false;
    return true;
}

bool inside(const geo::MultiPolygon& mp, Point p) {
    return std::any_of(mp.polygons.begin(), mp.polygons.end(),
                       [&](const auto& poly) { return inside_polygon(poly, p); });
}

std::size_t index_of(const grid::Grid& g, const std::string& code) {
    for (std::size_t i = 0; i < g.cells.size(); ++i)
        if (g.cells[i].code == code) return i;
    throw InputError("no cell " + code + " in the draft", {.cell = code});
}

geo::Box box_of(Point p) {
    return {p.x, p.y, p.x, p.y};
}

// Inserts p between a and b (adjacent, in either order) in every ring of cells `among`
// (except `skip`) that has that edge. The neighbours then share p bit for bit.
void insert_into_neighbours(grid::Grid& g, const CellBoxes& boxes, Point a, Point b, Point p,
                            std::size_t skip, std::set<std::string>& touched) {
    for (auto i : boxes.near(box_of(p))) {
        if (i == skip) continue;
        bool hit = false;
        for (auto& poly : g.cells[i].geometry.polygons)
            for (auto& ring : poly.rings)
                for (std::size_t k = 0; k + 1 < ring.size(); ++k)
                    if ((ring[k] == a && ring[k + 1] == b) || (ring[k] == b && ring[k + 1] == a)) {
                        ring.insert(ring.begin() + static_cast<std::ptrdiff_t>(k) + 1, p);
                        hit = true;
                        break;
                    }
        if (hit) touched.insert(g.cells[i].code);
    }
}

// Checks a code given by the planner: unique in the grid (apart from `replacing`), and for
// national codes of the same scheme as `like` with the village prefix `village`.
void check_code(const grid::Grid& g, const std::string& code, const std::string& like,
                const std::string& village, const std::set<std::string>& replacing) {
    if (code.empty()) throw InputError("an empty cell code");
    if (const auto scheme = grid::split_cell_code(like)) {
        const auto parts = grid::split_cell_code(code);
        if (!parts || code.size() != like.size())
            throw DataError("cell code " + code + " breaks the national rule: " +
                                std::to_string(like.size()) + " digits like " + like,
                            {.cell = code});
        if (!village.empty() && parts->village != village)
            throw DataError("cell code " + code + " does not start with its village's code " +
                                village,
                            {.cell = code});
        if (std::all_of(parts->sequence.begin(), parts->sequence.end(),
                        [](char c) { return c == '0'; }))
            throw DataError("cell code " + code + " has sequence number 0", {.cell = code});
    }
    if (!replacing.count(code) && g.find_cell(code))
        throw DataError("cell code " + code + " is already used by another cell", {.cell = code});
}

// The next `n` free codes for cells of a village (national codes: the next sequence
// numbers; other codes: `like` with a letter suffix).
std::vector<std::string> next_codes(const grid::Grid& g, const grid::Cell& like, std::size_t n) {
    std::vector<std::string> out;
    const auto parts = grid::split_cell_code(like.code);
    if (!parts) {
        for (char s = 'a'; out.size() < n && s <= 'z'; ++s)
            if (!g.find_cell(like.code + s)) out.push_back(like.code + s);
    } else {
        const std::size_t digits = parts->sequence.size();
        unsigned long long max_seq = 0;
        for (const auto& c : g.cells)
            if (c.code.size() == like.code.size() && c.code.compare(0, 12, parts->village) == 0)
                if (const auto p = grid::split_cell_code(c.code))
                    max_seq = std::max(max_seq, std::stoull(p->sequence));
        for (unsigned long long s = max_seq + 1; out.size() < n; ++s) {
            std::string seq = std::to_string(s);
            if (seq.size() > digits)
                throw DataError("village " + parts->village + " has no free cell code left",
                                {.cell = like.code});
            out.push_back(parts->village + std::string(digits - seq.size(), '0') + seq);
        }
    }
    if (out.size() < n) throw DataError("no free cell code left", {.cell = like.code});
    return out;
}

// Where the line meets one ring. Throws when the line runs along an edge.
void ring_hits(const Ring& ring, const Line& line, const std::string& code, std::vector<Hit>& hits,
               bool along_ok) {
    constexpr double eps = 1e-12;
    for (std::size_t j = 0; j + 1 < line.size(); ++j) {
        const Point a = line[j], b = line[j + 1];
        const Point r{b.x - a.x, b.y - a.y};
        for (std::size_t e = 0; e + 1 < ring.size(); ++e) {
            const Point c = ring[e], d = ring[e + 1];
            const Point s{d.x - c.x, d.y - c.y};
            const double denom = r.x * s.y - r.y * s.x;
            const Point ca{c.x - a.x, c.y - a.y};
            if (denom == 0) {
                if (ca.x * r.y - ca.y * r.x == 0) {
                    // Collinear: overlapping segments run along the boundary.
                    const double rr = r.x * r.x + r.y * r.y;
                    const double t0 = (ca.x * r.x + ca.y * r.y) / rr;
                    const double t1 = ((d.x - a.x) * r.x + (d.y - a.y) * r.y) / rr;
                    if (std::max(t0, t1) > eps && std::min(t0, t1) < 1 - eps && !along_ok)
                        throw InputError("the line runs along the boundary of cell " + code +
                                             " instead of crossing it",
                                         {.cell = code});
                }
                continue;
            }
            const double t = (ca.x * s.y - ca.y * s.x) / denom;
            const double u = (ca.x * r.y - ca.y * r.x) / denom;
            if (t < -eps || t > 1 + eps || u < -eps || u > 1 + eps) continue;
            Hit h{j, std::clamp(t, 0.0, 1.0), e, u, {}};
            if (u <= eps) {
                h.u = 0;
                h.p = c;
            } else if (u >= 1 - eps) {
                h.u = 1;
                h.p = d;
            } else if (t <= eps) {
                h.p = a;
            } else if (t >= 1 - eps) {
                h.p = b;
            } else {
                h.p = {a.x + t * r.x, a.y + t * r.y};
            }
            hits.push_back(h);
        }
    }
    std::sort(hits.begin(), hits.end(), [](const Hit& x, const Hit& y) {
        return x.seg != y.seg ? x.seg < y.seg : x.t < y.t;
    });
    // A vertex of the ring or of the line is met twice (end of one segment, start of the next).
    std::vector<Hit> unique;
    for (const auto& h : hits)
        if (std::none_of(unique.begin(), unique.end(), [&](const Hit& u) { return u.p == h.p; }))
            unique.push_back(h);
    hits = std::move(unique);
}

// Index of p in an open ring, or npos.
std::size_t find_vertex(const Ring& open, Point p) {
    for (std::size_t i = 0; i < open.size(); ++i)
        if (open[i] == p) return i;
    return std::string::npos;
}

Ring walk(const Ring& open, std::size_t from, std::size_t to) {
    Ring out;
    for (std::size_t i = from;; i = (i + 1) % open.size()) {
        out.push_back(open[i]);
        if (i == to) break;
    }
    return out;
}

double polygon_area(const geo::MultiPolygon& mp) {
    return std::abs(geo::planar_area(mp));
}

bool collinear(Point p, Point v, Point q) {
    const double dx = q.x - p.x, dy = q.y - p.y;
    const double len2 = dx * dx + dy * dy;
    if (len2 == 0) return false;
    // v lies between p and q and its distance from the line pq is below 1e-9 of |pq|.
    const double along = ((v.x - p.x) * dx + (v.y - p.y) * dy) / len2;
    return along > 0 && along < 1 && std::abs(cross(p, q, v)) <= 1e-9 * len2;
}

// Edges of a cell as ordered pairs of points (for adjacency).
std::set<std::pair<std::pair<double, double>, std::pair<double, double>>>
edges_of(const geo::MultiPolygon& mp) {
    std::set<std::pair<std::pair<double, double>, std::pair<double, double>>> out;
    for (const auto& poly : mp.polygons)
        for (const auto& ring : poly.rings)
            for (std::size_t k = 0; k + 1 < ring.size(); ++k) {
                std::pair<double, double> a{ring[k].x, ring[k].y}, b{ring[k + 1].x, ring[k + 1].y};
                if (b < a) std::swap(a, b);
                out.insert({a, b});
            }
    return out;
}

bool share_edge(const geo::MultiPolygon& a, const geo::MultiPolygon& b) {
    if (!geo::bounds(a).intersects(geo::bounds(b))) return false;
    const auto ea = edges_of(a);
    for (const auto& e : edges_of(b))
        if (ea.count(e)) return true;
    return false;
}

// Whether segments ab and cd meet anywhere (touching included).
bool segments_meet(Point a, Point b, Point c, Point d) {
    const double d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
        return true;
    const auto on = [](Point p, Point q, Point r) { // r on segment pq, given collinear
        return std::min(p.x, q.x) <= r.x && r.x <= std::max(p.x, q.x) &&
               std::min(p.y, q.y) <= r.y && r.y <= std::max(p.y, q.y);
    };
    return (d1 == 0 && on(c, d, a)) || (d2 == 0 && on(c, d, b)) || (d3 == 0 && on(a, b, c)) ||
           (d4 == 0 && on(a, b, d));
}

void refresh_units(grid::Grid& g, const std::set<std::string>& codes) {
    geo::GeosContext ctx;
    for (auto& u : g.units) {
        if (!codes.count(u.code)) continue;
        std::vector<const geo::MultiPolygon*> parts;
        for (const auto& c : g.cells)
            if ((u.level == grid::UnitLevel::village && c.village_code == u.code) ||
                (u.level == grid::UnitLevel::township && c.township_code == u.code))
                parts.push_back(&c.geometry);
        u.geometry = parts.empty() ? geo::MultiPolygon{} : geo::coverage_union(ctx, parts);
        geo::normalise_orientation(u.geometry);
    }
}

} // namespace detail

using namespace detail;

grid::ValidationReport validate_touched(const grid::Grid& g, const Change& change,
                                        const grid::ValidateOptions& options) {
    const CellBoxes boxes(g);
    geo::Box box;
    std::set<std::string> codes(change.changed.begin(), change.changed.end());
    for (const auto& c : g.cells)
        if (codes.count(c.code)) box.expand(geo::bounds(c.geometry));
    for (const auto& u : g.units)
        if (std::find(change.units.begin(), change.units.end(), u.code) != change.units.end())
            box.expand(geo::bounds(u.geometry));
    grid::Grid sub;
    std::vector<bool> in_sub(g.cells.size(), false);
    std::set<std::string> unit_codes;
    if (box.valid()) {
        for (auto i : boxes.near(box)) {
            in_sub[i] = true;
            sub.cells.push_back(g.cells[i]);
            unit_codes.insert(g.cells[i].village_code);
            unit_codes.insert(g.cells[i].township_code);
        }
    }
    for (const auto& u : g.units)
        if (unit_codes.count(u.code)) sub.units.push_back(u);
    grid::ValidateOptions opt = options;
    opt.county_boundary.reset(); // gaps at the outline are found as holes of the union
    auto report = grid::validate(sub, opt);
    std::vector<grid::Issue> kept;
    for (auto& issue : report.issues) {
        if (issue.type == grid::IssueType::gap && issue.location) {
            // A hole of the neighbourhood that a cell outside it fills is no gap.
            bool filled = false;
            for (auto i : boxes.near(box_of(*issue.location)))
                if (!in_sub[i] && inside(g.cells[i].geometry, *issue.location)) filled = true;
            if (filled) continue;
        }
        kept.push_back(std::move(issue));
    }
    report.issues = std::move(kept);
    return report;
}

geo::MultiPolygon canonical(geo::MultiPolygon mp) {
    geo::normalise_orientation(mp);
    for (auto& poly : mp.polygons)
        for (auto& ring : poly.rings) {
            if (ring.size() < 2) continue;
            ring.pop_back();
            const auto smallest = std::min_element(ring.begin(), ring.end(), [](Point a, Point b) {
                return a.x != b.x ? a.x < b.x : a.y < b.y;
            });
            std::rotate(ring.begin(), smallest, ring.end());
            ring.push_back(ring.front());
        }
    for (auto& poly : mp.polygons)
        if (poly.rings.size() > 2)
            std::sort(poly.rings.begin() + 1, poly.rings.end(), [](const Ring& a, const Ring& b) {
                return a.front().x != b.front().x ? a.front().x < b.front().x
                                                  : a.front().y < b.front().y;
            });
    std::sort(mp.polygons.begin(), mp.polygons.end(), [](const auto& a, const auto& b) {
        const Point pa = a.rings[0].front(), pb = b.rings[0].front();
        return pa.x != pb.x ? pa.x < pb.x : pa.y < pb.y;
    });
    return mp;
}

} // namespace wangge::redraw
