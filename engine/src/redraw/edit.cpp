#include "wangge/redraw/edit.hpp"

#include "redraw/units.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <geos_c.h>
#include <map>
#include <nlohmann/json.hpp>
#include <ogr_api.h>
#include <optional>
#include <set>
#include <sstream>

namespace wangge::redraw {

namespace {

using geo::Point;
using geo::Ring;

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

// The cells' boxes, taken once per edit (a box is a pass over a cell's vertices, so taking
// them for every question cost an edit on 100,000 cells most of its time); the cells whose
// box meets a box are then a scan of the boxes (about 0.1 ms for 100,000 cells). Indices are
// those of g.cells when it was taken: take it again after cells are added or removed.
class CellBoxes {
  public:
    explicit CellBoxes(const grid::Grid& g) {
        m_boxes.reserve(g.cells.size());
        for (const auto& c : g.cells)
            m_boxes.push_back(geo::bounds(c.geometry));
    }
    [[nodiscard]] std::vector<std::size_t> near(const geo::Box& box) const {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < m_boxes.size(); ++i)
            if (m_boxes[i].intersects(box)) out.push_back(i);
        return out;
    }

  private:
    std::vector<geo::Box> m_boxes;
};

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

struct Hit {
    std::size_t seg = 0; // line segment
    double t = 0;        // along it
    std::size_t edge = 0;
    double u = 0; // along the ring edge; 0 or 1 when at a vertex
    Point p;
};

// Where the line meets one ring. Throws when the line runs along an edge.
void ring_hits(const Ring& ring, const Line& line, const std::string& code, std::vector<Hit>& hits,
               bool along_ok = false) {
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

} // namespace

namespace {

// A geometry from WKT, a GeoJSON geometry, Feature or one-feature FeatureCollection, or a
// file holding one of them (lon/lat). `what` names the option in messages.
geo::GeometryPtr read_geometry(const std::string& text_in, const std::string& what) {
    std::string text = text_in;
    namespace fs = std::filesystem;
    std::error_code ec;
    if (text.size() < 4096 && fs::is_regular_file(text, ec)) {
        std::ifstream in(text);
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) throw InputError("an empty " + what);
    OGRGeometryH g = nullptr;
    geo::GdalErrorCapture capture;
    if (text[first] == '{') {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text);
        } catch (const std::exception& e) {
            throw InputError(what + " is not valid GeoJSON: " + e.what());
        }
        if (j.value("type", "") == "FeatureCollection" && j.contains("features") &&
            j["features"].size() == 1)
            j = j["features"][0];
        if (j.value("type", "") == "Feature") j = j["geometry"];
        g = OGR_G_CreateGeometryFromJson(j.dump().c_str());
    } else {
        char* wkt = text.data() + first;
        if (OGR_G_CreateFromWkt(&wkt, nullptr, &g) != OGRERR_NONE) g = nullptr;
    }
    if (!g) throw InputError(what + " is neither WKT nor GeoJSON: " + capture.last());
    return geo::GeometryPtr(g);
}

// The points of an OGR curve, consecutive duplicates dropped.
Line points_of(OGRGeometryH g, const std::string& what) {
    Line line;
    for (int i = 0; i < OGR_G_GetPointCount(g); ++i) {
        const Point p{OGR_G_GetX(g, i), OGR_G_GetY(g, i)};
        if (!std::isfinite(p.x) || !std::isfinite(p.y))
            throw InputError(what + " has a non-finite coordinate");
        if (line.empty() || !(line.back() == p)) line.push_back(p);
    }
    return line;
}

} // namespace

Line parse_line(const std::string& text) {
    const auto owned = read_geometry(text, "--line");
    OGRGeometryH g = owned.get();
    if (wkbFlatten(OGR_G_GetGeometryType(g)) != wkbLineString)
        throw InputError(std::string("--line must be a LineString, not a ") +
                         OGR_G_GetGeometryName(g));
    Line line = points_of(g, "--line");
    if (line.size() < 2) throw InputError("--line needs at least two distinct points");
    if (!OGR_G_IsSimple(g)) throw InputError("--line intersects itself");
    return line;
}

geo::Ring parse_area(const std::string& text) {
    const auto owned = read_geometry(text, "AREA");
    OGRGeometryH g = owned.get();
    if (wkbFlatten(OGR_G_GetGeometryType(g)) == wkbMultiPolygon && OGR_G_GetGeometryCount(g) == 1)
        g = OGR_G_GetGeometryRef(g, 0);
    if (wkbFlatten(OGR_G_GetGeometryType(g)) != wkbPolygon)
        throw InputError(std::string("AREA must be one Polygon, not a ") +
                         OGR_G_GetGeometryName(g));
    if (OGR_G_GetGeometryCount(g) != 1)
        throw InputError("AREA must be a polygon without holes (transfer each part in turn)");
    if (!OGR_G_IsValid(g)) throw InputError("AREA is not a valid polygon (it intersects itself)");
    Ring ring = points_of(OGR_G_GetGeometryRef(g, 0), "AREA");
    if (ring.size() < 4 || !(ring.front() == ring.back()))
        throw InputError("AREA needs a closed ring of at least three points");
    return ring;
}

namespace {

// The cut of split_cell once the line's two boundary points on the shell of part `part` of
// cell `ci` are known (hits[0] and hits[1], along `line`).
Change split_at(grid::Grid& g, std::size_t ci, std::size_t part, const std::vector<Hit>& hits,
                const Line& line, const std::vector<std::string>& codes_in) {
    const grid::Cell& cell = g.cells[ci];
    const std::string code = cell.code;
    const geo::Polygon& poly = cell.geometry.polygons[part];
    // The cut: from the first hit along the line to the second.
    Line cut{hits[0].p};
    for (std::size_t j = hits[0].seg + 1; j <= hits[1].seg; ++j)
        if (!(line[j] == cut.back())) cut.push_back(line[j]);
    if (!(hits[1].p == cut.back())) cut.push_back(hits[1].p);
    if (cut.size() < 2 || cut.front() == cut.back())
        throw InputError("the line touches cell " + code + " without cutting it", {.cell = code});
    const Point mid{(cut[0].x + cut[1].x) / 2, (cut[0].y + cut[1].y) / 2};
    if (!inside_polygon(poly, mid))
        throw InputError("the line runs outside cell " + code +
                             " between the points where it meets its boundary",
                         {.cell = code});

    // Insert the two boundary points into the shell and into the neighbours.
    Ring open(poly.rings[0].begin(), poly.rings[0].end() - 1);
    std::set<std::string> touched;
    std::vector<Hit> inserts;
    for (const auto& h : hits)
        if (find_vertex(open, h.p) == std::string::npos) inserts.push_back(h);
    std::sort(inserts.begin(), inserts.end(), [](const Hit& a, const Hit& b) {
        return a.edge != b.edge ? a.edge > b.edge : a.u > b.u;
    });
    std::vector<std::pair<std::pair<Point, Point>, Point>> neighbour_inserts;
    for (const auto& h : inserts) {
        const Point a = poly.rings[0][h.edge], b = poly.rings[0][h.edge + 1];
        open.insert(open.begin() + static_cast<std::ptrdiff_t>(h.edge) + 1, h.p);
        neighbour_inserts.push_back({{a, b}, h.p});
    }
    const std::size_t ia = find_vertex(open, cut.front()), ib = find_vertex(open, cut.back());
    Ring ra = walk(open, ia, ib), rb = walk(open, ib, ia);
    for (std::size_t k = cut.size() - 2; k >= 1; --k)
        ra.push_back(cut[k]);
    ra.push_back(ra.front());
    for (std::size_t k = 1; k + 1 < cut.size(); ++k)
        rb.push_back(cut[k]);
    rb.push_back(rb.front());
    geo::Polygon pa{{ra}}, pb{{rb}};
    for (std::size_t h = 1; h < poly.rings.size(); ++h)
        (inside_ring(ra, poly.rings[h][0]) ? pa : pb).rings.push_back(poly.rings[h]);

    // The part left of the line's direction first: ra runs along the shell from the entry to
    // the exit point and back along the cut, so on a counter-clockwise shell (inside on the
    // left) it is the part right of the line.
    if (geo::signed_area(poly.rings[0]) > 0) std::swap(pa, pb);

    std::vector<std::string> codes = codes_in;
    if (codes.empty())
        codes = next_codes(g, cell, 2);
    else if (codes.size() != 2)
        throw InputError("--codes needs two codes, one for each part", {.cell = code});
    if (codes[0] == codes[1]) throw DataError("the two parts need different codes", {.cell = code});
    for (const auto& c : codes)
        check_code(g, c, cell.code, cell.village_code, {code});

    grid::Cell a = cell, b = cell;
    a.code = codes[0];
    b.code = codes[1];
    a.name = cell.name.empty() ? "" : cell.name + "-1";
    b.name = cell.name.empty() ? "" : cell.name + "-2";
    a.geometry.polygons = {pa};
    b.geometry.polygons = {pb};
    for (std::size_t pi = 0; pi < cell.geometry.polygons.size(); ++pi)
        if (pi != part) a.geometry.polygons.push_back(cell.geometry.polygons[pi]);
    const double total = polygon_area(cell.geometry);
    const double fa = total > 0 ? polygon_area(a.geometry) / total : 0.5;
    a.households = std::llround(static_cast<double>(cell.households) * fa);
    b.households = cell.households - a.households;
    a.population = std::llround(static_cast<double>(cell.population) * fa);
    b.population = cell.population - a.population;

    // Nothing has changed yet; from here on the edit cannot fail.
    const CellBoxes boxes(g);
    for (const auto& [edge, p] : neighbour_inserts)
        insert_into_neighbours(g, boxes, edge.first, edge.second, p, ci, touched);
    g.cells[ci] = std::move(a);
    g.cells.insert(g.cells.begin() + static_cast<std::ptrdiff_t>(ci) + 1, std::move(b));

    Change ch;
    if (code != codes[0] && code != codes[1]) ch.removed.push_back(code);
    ch.changed = codes;
    for (const auto& t : touched)
        ch.changed.push_back(t);
    ch.summary = "split " + code + " into " + codes[0] + " and " + codes[1] +
                 " (households and population apportioned by area)";
    return ch;
}

} // namespace

Change split_cell(grid::Grid& g, const std::string& code, const Line& line,
                  const std::vector<std::string>& codes_in) {
    const std::size_t ci = index_of(g, code);
    const grid::Cell& cell = g.cells[ci];
    // Find the part the line cuts; a hole it touches is refused.
    std::size_t part = std::string::npos;
    std::vector<Hit> hits;
    for (std::size_t pi = 0; pi < cell.geometry.polygons.size(); ++pi) {
        const auto& poly = cell.geometry.polygons[pi];
        for (std::size_t r = 0; r < poly.rings.size(); ++r) {
            std::vector<Hit> h;
            ring_hits(poly.rings[r], line, code, h);
            if (h.empty()) continue;
            if (r > 0)
                throw InputError("the line meets a hole of cell " + code + "; cut around it",
                                 {.cell = code});
            if (part != std::string::npos)
                throw InputError("the line crosses more than one part of cell " + code,
                                 {.cell = code});
            part = pi;
            hits = std::move(h);
        }
    }
    if (hits.size() < 2)
        throw InputError("the line does not cross cell " + code +
                             " from boundary to boundary (it meets the boundary " +
                             std::to_string(hits.size()) +
                             " times; start and end it outside the cell)",
                         {.cell = code});
    if (hits.size() > 2)
        throw InputError("the line crosses the boundary of cell " + code + " " +
                             std::to_string(hits.size()) +
                             " times; draw one that enters and leaves it once",
                         {.cell = code});
    return split_at(g, ci, part, hits, line, codes_in);
}

Change merge_cells(grid::Grid& g, const std::vector<std::string>& codes_in,
                   const std::string& code_in, bool allow_multipart) {
    std::vector<std::string> codes;
    for (const auto& c : codes_in)
        if (std::find(codes.begin(), codes.end(), c) == codes.end()) codes.push_back(c);
    if (codes.size() < 2) throw InputError("merge needs at least two different cells");
    std::vector<std::size_t> idx;
    for (const auto& c : codes)
        idx.push_back(index_of(g, c));
    const grid::Cell& first = g.cells[idx[0]];
    for (auto i : idx)
        if (g.cells[i].village_code != first.village_code)
            throw DataError("cells " + first.code + " and " + g.cells[i].code +
                                " lie in different villages (" + first.village_code + ", " +
                                g.cells[i].village_code +
                                "); move one with 'wangge grid recode --village' first",
                            {.cell = g.cells[i].code});
    // Connected through shared edges?
    std::vector<bool> reached(idx.size(), false);
    reached[0] = true;
    for (bool grew = true; grew;) {
        grew = false;
        for (std::size_t a = 0; a < idx.size(); ++a)
            for (std::size_t b = 0; b < idx.size(); ++b)
                if (reached[a] && !reached[b] &&
                    share_edge(g.cells[idx[a]].geometry, g.cells[idx[b]].geometry)) {
                    reached[b] = true;
                    grew = true;
                }
    }
    for (std::size_t k = 0; k < idx.size(); ++k)
        if (!reached[k] && !allow_multipart)
            throw DataError("cell " + codes[k] + " shares no boundary with " + codes[0] +
                                (idx.size() > 2 ? " or the other cells" : "") +
                                "; they are not neighbours (use --allow-multipart to merge "
                                "them into one cell of several parts)",
                            {.cell = codes[k]});

    const std::string code = code_in.empty() ? codes[0] : code_in;
    check_code(g, code, first.code, first.village_code,
               std::set<std::string>(codes.begin(), codes.end()));

    geo::GeosContext ctx;
    std::vector<const geo::MultiPolygon*> parts;
    for (auto i : idx)
        parts.push_back(&g.cells[i].geometry);
    geo::MultiPolygon merged = geo::coverage_union(ctx, parts);
    geo::normalise_orientation(merged);
    // Edge-connected cells fuse; parts left are exclaves the cells had already.

    // Vertices of the dissolved boundary: in two or more of the merged cells.
    std::map<std::pair<double, double>, int> seen;
    for (auto i : idx) {
        std::set<std::pair<double, double>> own;
        for (const auto& poly : g.cells[i].geometry.polygons)
            for (const auto& ring : poly.rings)
                for (const auto& p : ring)
                    own.insert({p.x, p.y});
        for (const auto& p : own)
            ++seen[p];
    }
    std::set<std::size_t> merging(idx.begin(), idx.end());
    std::set<std::string> touched;
    const CellBoxes boxes(g);
    for (auto& poly : merged.polygons)
        for (auto& ring : poly.rings) {
            // Start the ring at a vertex that stays, so every candidate has two neighbours.
            ring.pop_back();
            const auto keep = std::find_if(ring.begin(), ring.end(), [&](Point p) {
                const auto it = seen.find({p.x, p.y});
                return it == seen.end() || it->second < 2;
            });
            if (keep != ring.end()) std::rotate(ring.begin(), keep, ring.end());
            ring.push_back(ring.front());
            for (std::size_t k = 1; k + 1 < ring.size() && ring.size() > 4;) {
                const Point v = ring[k];
                const auto it = seen.find({v.x, v.y});
                if (it == seen.end() || it->second < 2 || !collinear(ring[k - 1], v, ring[k + 1])) {
                    ++k;
                    continue;
                }
                // Used by at most one other cell, where it sits on the same straight edge?
                struct Use {
                    std::size_t cell, part, ring, at;
                };
                std::vector<Use> users;
                bool removable = true;
                for (auto i : boxes.near(box_of(v))) {
                    if (merging.count(i)) continue;
                    auto& mp = g.cells[i].geometry;
                    for (std::size_t pi = 0; pi < mp.polygons.size(); ++pi)
                        for (std::size_t ri = 0; ri < mp.polygons[pi].rings.size(); ++ri) {
                            const auto& r = mp.polygons[pi].rings[ri];
                            for (std::size_t q = 0; q + 1 < r.size(); ++q)
                                if (r[q] == v) {
                                    const Point prev = r[q == 0 ? r.size() - 2 : q - 1];
                                    const Point next = r[q + 1];
                                    const bool same =
                                        (prev == ring[k + 1] && next == ring[k - 1]) ||
                                        (prev == ring[k - 1] && next == ring[k + 1]);
                                    if (!same || r.size() <= 4) removable = false;
                                    users.push_back({i, pi, ri, q});
                                }
                        }
                }
                if (!removable || users.size() > 1) {
                    ++k;
                    continue;
                }
                for (const auto& use : users) {
                    auto& r = g.cells[use.cell].geometry.polygons[use.part].rings[use.ring];
                    r.erase(r.begin() + static_cast<std::ptrdiff_t>(use.at));
                    if (use.at == 0) r.back() = r.front();
                    touched.insert(g.cells[use.cell].code);
                }
                ring.erase(ring.begin() + static_cast<std::ptrdiff_t>(k));
            }
        }

    grid::Cell out = first;
    out.code = code;
    out.geometry = std::move(merged);
    out.households = 0;
    out.population = 0;
    for (auto i : idx) {
        out.households += g.cells[i].households;
        out.population += g.cells[i].population;
    }
    const std::size_t at = *std::min_element(idx.begin(), idx.end());
    std::vector<grid::Cell> cells;
    cells.reserve(g.cells.size() - idx.size() + 1);
    for (std::size_t i = 0; i < g.cells.size(); ++i) {
        if (i == at) cells.push_back(out);
        if (!merging.count(i)) cells.push_back(std::move(g.cells[i]));
    }
    g.cells = std::move(cells);

    Change ch;
    std::string list;
    for (const auto& c : codes) {
        if (c != code) ch.removed.push_back(c);
        if (!list.empty()) list += ", ";
        list += c;
    }
    ch.changed.push_back(code);
    for (const auto& t : touched)
        ch.changed.push_back(t);
    ch.summary = "merged " + list + " into " + code;
    return ch;
}

Change recode_cell(grid::Grid& g, const std::string& code, const std::string& new_code_in,
                   const std::string& village) {
    const std::size_t ci = index_of(g, code);
    grid::Cell cell = g.cells[ci];
    std::string new_village = cell.village_code, new_township = cell.township_code;
    if (!village.empty() && village != cell.village_code) {
        const auto* v = g.find_unit(village);
        if (!v || v->level != grid::UnitLevel::village)
            throw InputError("no village " + village + " in the draft", {.cell = code});
        bool neighbour = false;
        for (const auto& c : g.cells)
            if (c.village_code == village && share_edge(c.geometry, cell.geometry)) {
                neighbour = true;
                break;
            }
        if (!neighbour)
            throw DataError("cell " + code + " shares no boundary with village " + village +
                                "; the village would fall apart in pieces",
                            {.cell = code});
        new_village = village;
        new_township = v->parent_code;
    }
    std::string new_code = new_code_in;
    if (new_code.empty()) {
        if (new_village == cell.village_code)
            throw InputError("recode needs a new code or --village");
        grid::Cell probe = cell;
        probe.code =
            grid::split_cell_code(cell.code) ? new_village + cell.code.substr(12) : cell.code;
        new_code = grid::split_cell_code(cell.code) ? next_codes(g, probe, 1)[0] : cell.code;
    }
    check_code(g, new_code, cell.code, grid::split_cell_code(cell.code) ? new_village : "", {code});
    if (new_code == code && new_village == cell.village_code)
        throw InputError("cell " + code + " already has that code and village", {.cell = code});
    std::set<std::string> units;
    if (new_village != cell.village_code) units = {cell.village_code, new_village};
    if (new_township != cell.township_code) {
        units.insert(cell.township_code);
        units.insert(new_township);
    }
    cell.code = new_code;
    cell.village_code = new_village;
    cell.township_code = new_township;
    g.cells[ci] = std::move(cell);
    refresh_units(g, units);

    Change ch;
    if (new_code != code) ch.removed.push_back(code);
    ch.changed.push_back(new_code);
    ch.units.assign(units.begin(), units.end());
    ch.summary = "recoded " + code + " as " + new_code +
                 (village.empty() ? "" : " in village " + new_village);
    return ch;
}

namespace {

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

// Where a ring of cell A and a ring of cell B share one run of edges: the ring indices and
// the run in A (vertices from..to, forward, cyclic on the open ring).
struct SharedRun {
    std::size_t part_a = 0, ring_a = 0, part_b = 0, ring_b = 0;
    std::size_t from = 0, to = 0; // in A's open ring
};

SharedRun shared_run(const grid::Cell& a, const grid::Cell& b) {
    const auto eb = edges_of(b.geometry);
    std::vector<SharedRun> runs;
    bool closed = false;
    for (std::size_t pi = 0; pi < a.geometry.polygons.size(); ++pi)
        for (std::size_t ri = 0; ri < a.geometry.polygons[pi].rings.size(); ++ri) {
            const Ring& r = a.geometry.polygons[pi].rings[ri];
            const std::size_t n = r.size() - 1;
            std::vector<bool> shared(n);
            for (std::size_t k = 0; k < n; ++k) {
                std::pair<double, double> p{r[k].x, r[k].y}, q{r[k + 1].x, r[k + 1].y};
                if (q < p) std::swap(p, q);
                shared[k] = eb.count({p, q}) > 0;
            }
            if (std::all_of(shared.begin(), shared.end(), [](bool x) { return x; })) {
                closed = true;
                continue;
            }
            for (std::size_t k = 0; k < n; ++k) // a run starts after an unshared edge
                if (shared[k] && !shared[(k + n - 1) % n]) {
                    std::size_t e = k;
                    while (shared[(e + 1) % n])
                        e = (e + 1) % n;
                    runs.push_back({pi, ri, 0, 0, k, (e + 1) % n});
                }
        }
    if (runs.empty())
        throw DataError(closed ? "cell " + b.code + " lies wholly inside cell " + a.code +
                                     ": their shared boundary has no end points (use 'wangge "
                                     "grid transfer' or 'merge')"
                               : "cells " + a.code + " and " + b.code + " are not neighbours",
                        {.cell = b.code});
    if (runs.size() > 1)
        throw DataError("cells " + a.code + " and " + b.code + " share " +
                            std::to_string(runs.size()) +
                            " separate stretches of boundary; move-boundary needs one",
                        {.cell = b.code});
    SharedRun run = runs[0];
    // The ring of B that holds the run's first edge.
    const Ring& ra = a.geometry.polygons[run.part_a].rings[run.ring_a];
    const Point p0 = ra[run.from], p1 = ra[run.from + 1];
    bool found = false;
    for (std::size_t pi = 0; pi < b.geometry.polygons.size() && !found; ++pi)
        for (std::size_t ri = 0; ri < b.geometry.polygons[pi].rings.size() && !found; ++ri) {
            const Ring& r = b.geometry.polygons[pi].rings[ri];
            for (std::size_t k = 0; k + 1 < r.size(); ++k)
                if ((r[k] == p0 && r[k + 1] == p1) || (r[k] == p1 && r[k + 1] == p0)) {
                    run.part_b = pi;
                    run.ring_b = ri;
                    found = true;
                    break;
                }
        }
    return run;
}

// The open ring `r` (closed on input) with its run of vertices from `from` to `to` (cyclic)
// replaced by `line`, which runs from r[from] to r[to]. Returns a closed ring.
Ring replace_run(const Ring& r, std::size_t from, std::size_t to, const Line& line) {
    const std::size_t n = r.size() - 1;
    Ring out(line.begin(), line.end());
    for (std::size_t k = (to + 1) % n; k != from; k = (k + 1) % n)
        out.push_back(r[k]);
    out.push_back(out.front());
    return out;
}

} // namespace

Change move_boundary(grid::Grid& g, const std::string& code_a, const std::string& code_b,
                     const Line& line_in) {
    if (code_a == code_b) throw InputError("move-boundary needs two different cells");
    const std::size_t ia = index_of(g, code_a), ib = index_of(g, code_b);
    const grid::Cell& a = g.cells[ia];
    const grid::Cell& b = g.cells[ib];
    const SharedRun run = shared_run(a, b);
    const Ring& ra = a.geometry.polygons[run.part_a].rings[run.ring_a];
    const Ring& rb = b.geometry.polygons[run.part_b].rings[run.ring_b];
    const Point p = ra[run.from], q = ra[run.to];
    if (p == q)
        throw DataError("the shared boundary of " + code_a + " and " + code_b +
                            " is closed; it has no end points",
                        {.cell = code_b});

    // The line must join the same end points; ends within 1e-7 degrees (about a centimetre)
    // are snapped onto them, so a line drawn in a desktop GIS with snapping fits.
    Line line = line_in;
    const auto near = [](Point x, Point y) {
        return std::abs(x.x - y.x) <= 1e-7 && std::abs(x.y - y.y) <= 1e-7;
    };
    if (near(line.front(), q) && near(line.back(), p)) std::reverse(line.begin(), line.end());
    if (!near(line.front(), p) || !near(line.back(), q)) {
        std::ostringstream where;
        where.precision(10);
        where << "(" << p.x << " " << p.y << ") and (" << q.x << " " << q.y << ")";
        throw InputError("the line must run between the end points of the shared boundary of " +
                             code_a + " and " + code_b + ": " + where.str(),
                         {.cell = code_b});
    }
    line.front() = p;
    line.back() = q;

    // The line may meet the rest of the two cells' boundaries only at its end points.
    using Key = std::pair<std::pair<double, double>, std::pair<double, double>>;
    const auto key = [](Point x, Point y) {
        std::pair<double, double> u{x.x, x.y}, v{y.x, y.y};
        if (v < u) std::swap(u, v);
        return Key{u, v};
    };
    std::set<Key> run_edges;
    for (std::size_t k = run.from; k != run.to; k = (k + 1) % (ra.size() - 1))
        run_edges.insert(key(ra[k], ra[k + 1]));
    if (line.size() == 2 && run_edges.count(key(p, q)))
        throw InputError("the line is the boundary " + code_a + " and " + code_b + " share already",
                         {.cell = code_b});
    const auto on_segment = [](Point x, Point s0, Point s1) {
        return cross(s0, s1, x) == 0 && std::min(s0.x, s1.x) <= x.x &&
               x.x <= std::max(s0.x, s1.x) && std::min(s0.y, s1.y) <= x.y &&
               x.y <= std::max(s0.y, s1.y);
    };
    // Segment s0-s1 and edge e0-e1 share the end point `end` and nothing more.
    const auto only_at = [&](Point end, Point s0, Point s1, Point e0, Point e1) {
        if (!(s0 == end) || !(e0 == end || e1 == end)) return false;
        const Point e_other = e0 == end ? e1 : e0;
        return !on_segment(s1, e0, e1) && !on_segment(e_other, s0, s1);
    };
    for (const auto* cell : {&a, &b})
        for (const auto& poly : cell->geometry.polygons)
            for (const auto& r : poly.rings)
                for (std::size_t k = 0; k + 1 < r.size(); ++k) {
                    if (run_edges.count(key(r[k], r[k + 1]))) continue; // goes away
                    for (std::size_t j = 0; j + 1 < line.size(); ++j) {
                        const Point s0 = line[j], s1 = line[j + 1];
                        if (!segments_meet(s0, s1, r[k], r[k + 1])) continue;
                        if (j == 0 && only_at(p, s0, s1, r[k], r[k + 1])) continue;
                        if (j + 2 == line.size() && only_at(q, s1, s0, r[k], r[k + 1])) continue;
                        throw InputError("the new boundary crosses or touches the boundary of " +
                                             cell->code +
                                             " away from the shared one; it must stay inside "
                                             "the two cells",
                                         {.cell = cell->code});
                    }
                }

    Line back(line.rbegin(), line.rend());
    // B's ring holds the run from q to p.
    const std::size_t bq = find_vertex(Ring(rb.begin(), rb.end() - 1), q);
    const std::size_t bp = find_vertex(Ring(rb.begin(), rb.end() - 1), p);
    if (bq == std::string::npos || bp == std::string::npos)
        throw DataError("cells " + code_a + " and " + code_b +
                            " do not share the end points of their boundary bit for bit",
                        {.cell = code_b});
    Ring new_a = replace_run(ra, run.from, run.to, line);
    // Two shells (or two holes) run the shared edges in opposite directions, a shell and a
    // hole in the same one.
    const std::size_t nb = rb.size() - 1;
    Ring new_b = run_edges.count(key(rb[bq], rb[(bq + 1) % nb])) ? replace_run(rb, bq, bp, back)
                                                                 : replace_run(rb, bp, bq, line);

    grid::Cell na = a, nb_cell = b;
    geo::Polygon& pa = na.geometry.polygons[run.part_a];
    geo::Polygon& pb = nb_cell.geometry.polygons[run.part_b];
    // Holes go with the shell that holds them now.
    std::vector<Ring> holes;
    if (run.ring_a == 0 && run.ring_b == 0) {
        for (std::size_t h = 1; h < pa.rings.size(); ++h)
            holes.push_back(pa.rings[h]);
        for (std::size_t h = 1; h < pb.rings.size(); ++h)
            holes.push_back(pb.rings[h]);
        pa.rings = {new_a};
        pb.rings = {new_b};
        for (auto& h : holes) {
            const Point probe = h[0];
            if (inside_ring(new_a, probe))
                pa.rings.push_back(std::move(h));
            else
                pb.rings.push_back(std::move(h));
        }
    } else {
        pa.rings[run.ring_a] = new_a;
        pb.rings[run.ring_b] = new_b;
    }
    geo::normalise_orientation(na.geometry);
    geo::normalise_orientation(nb_cell.geometry);

    geo::GeosContext ctx;
    for (const auto* c : {&na, &nb_cell}) {
        const auto gg = ctx.from(c->geometry);
        if (!gg.is_valid())
            throw InputError("the new boundary would make cell " + c->code +
                                 " invalid: " + gg.invalid_reason(),
                             {.cell = c->code});
    }
    const double before = polygon_area(a.geometry) + polygon_area(b.geometry);
    const double after = polygon_area(na.geometry) + polygon_area(nb_cell.geometry);
    if (std::abs(after - before) > 1e-9 * before)
        throw InputError("the new boundary leaves the two cells (their area would change from " +
                             std::to_string(before) + " to " + std::to_string(after) +
                             " square degrees)",
                         {.cell = code_b});

    // Households and population follow the area that changes hands.
    const auto ga = ctx.from(a.geometry), gb = ctx.from(b.geometry);
    const auto gna = ctx.from(na.geometry), gnb = ctx.from(nb_cell.geometry);
    const auto a_to_b =
        ctx.check(GEOSIntersection_r(ctx.get(), ga.get(), gnb.get()), "intersection");
    const auto b_to_a =
        ctx.check(GEOSIntersection_r(ctx.get(), gb.get(), gna.get()), "intersection");
    const double area_a = polygon_area(a.geometry), area_b = polygon_area(b.geometry);
    const double fa = area_a > 0 ? a_to_b.area() / area_a : 0,
                 fb = area_b > 0 ? b_to_a.area() / area_b : 0;
    const auto moved_hh_a = std::llround(static_cast<double>(a.households) * fa);
    const auto moved_hh_b = std::llround(static_cast<double>(b.households) * fb);
    const auto moved_pop_a = std::llround(static_cast<double>(a.population) * fa);
    const auto moved_pop_b = std::llround(static_cast<double>(b.population) * fb);
    na.households = a.households - moved_hh_a + moved_hh_b;
    nb_cell.households = b.households - moved_hh_b + moved_hh_a;
    na.population = a.population - moved_pop_a + moved_pop_b;
    nb_cell.population = b.population - moved_pop_b + moved_pop_a;

    std::set<std::string> units;
    if (a.village_code != b.village_code) units = {a.village_code, b.village_code};
    if (a.township_code != b.township_code) {
        units.insert(a.township_code);
        units.insert(b.township_code);
    }
    g.cells[ia] = std::move(na);
    g.cells[ib] = std::move(nb_cell);
    refresh_units(g, units);

    Change ch;
    ch.changed = {code_a, code_b};
    ch.units.assign(units.begin(), units.end());
    std::ostringstream sum;
    sum.precision(0);
    sum << std::fixed << "moved the boundary of " << code_a << " and " << code_b << " ("
        << (a_to_b.area() > 0 ? "from " + code_a + " to " + code_b : std::string()) << ""
        << (a_to_b.area() > 0 && b_to_a.area() > 0 ? ", " : "")
        << (b_to_a.area() > 0 ? "from " + code_b + " to " + code_a : std::string())
        << "; households and population apportioned by area)";
    ch.summary = sum.str();
    return ch;
}

namespace {

// A point inside a cell (not on its boundary).
Point interior_point(const geo::GeosContext& ctx, const geo::MultiPolygon& mp) {
    const auto g = ctx.from(mp);
    const auto p = ctx.check(GEOSPointOnSurface_r(ctx.get(), g.get()), "point on surface");
    double x = 0, y = 0;
    GEOSGeomGetX_r(ctx.get(), p.get(), &x);
    GEOSGeomGetY_r(ctx.get(), p.get(), &y);
    return {x, y};
}

bool on_ring(const Ring& r, Point p) {
    for (std::size_t e = 0; e + 1 < r.size(); ++e)
        if (segments_meet(p, p, r[e], r[e + 1])) return true;
    return false;
}

// Whether p lies inside cell c and not on its boundary.
bool strictly_inside(const grid::Cell& c, Point p) {
    for (const auto& poly : c.geometry.polygons)
        for (const auto& r : poly.rings)
            for (std::size_t e = 0; e + 1 < r.size(); ++e)
                if (segments_meet(p, p, r[e], r[e + 1])) return false;
    return inside(c.geometry, p);
}

// A stretch of the closed ring `area` that runs through the inside of cell `c` from one
// boundary point to another (stretches along the boundary, e.g. where an earlier cut runs,
// do not count): the walk along the ring and the two hits on the shell of one part.
struct Crossing {
    Line walk;
    std::size_t part = 0;
    std::vector<Hit> hits;
};

std::optional<Crossing> first_crossing(const grid::Cell& c, const Ring& area) {
    // Walk from a vertex outside the cell, so no stretch inside wraps around the start.
    std::size_t start = 0;
    for (std::size_t k = 0; k + 1 < area.size(); ++k) {
        if (inside(c.geometry, area[k])) continue;
        bool on = false;
        for (const auto& poly : c.geometry.polygons)
            for (const auto& r : poly.rings)
                for (std::size_t e = 0; e + 1 < r.size() && !on; ++e)
                    on = segments_meet(area[k], area[k], r[e], r[e + 1]);
        if (!on) {
            start = k;
            break;
        }
    }
    Crossing out;
    out.walk.assign(area.begin() + static_cast<std::ptrdiff_t>(start), area.end() - 1);
    out.walk.insert(out.walk.end(), area.begin(),
                    area.begin() + static_cast<std::ptrdiff_t>(start) + 1);
    struct Found {
        Hit hit;
        std::size_t part, ring;
    };
    std::vector<Found> hits;
    for (std::size_t pi = 0; pi < c.geometry.polygons.size(); ++pi)
        for (std::size_t ri = 0; ri < c.geometry.polygons[pi].rings.size(); ++ri) {
            std::vector<Hit> h;
            ring_hits(c.geometry.polygons[pi].rings[ri], out.walk, c.code, h, true);
            for (const auto& x : h)
                if (std::none_of(hits.begin(), hits.end(),
                                 [&](const Found& y) { return y.hit.p == x.p; }))
                    hits.push_back({x, pi, ri});
        }
    std::sort(hits.begin(), hits.end(), [](const Found& x, const Found& y) {
        return x.hit.seg != y.hit.seg ? x.hit.seg < y.hit.seg : x.hit.t < y.hit.t;
    });
    for (std::size_t i = 0; i + 1 < hits.size(); ++i) {
        const Hit& a = hits[i].hit;
        const Hit& b = hits[i + 1].hit;
        const Point next = a.seg == b.seg ? b.p : out.walk[a.seg + 1];
        if (!strictly_inside(c, {(a.p.x + next.x) / 2, (a.p.y + next.y) / 2})) continue;
        if (hits[i].ring != 0 || hits[i + 1].ring != 0 || hits[i].part != hits[i + 1].part)
            throw InputError("the area's outline runs from a hole or another part of cell " +
                                 c.code + "; transfer around the hole in pieces",
                             {.cell = c.code});
        out.part = hits[i].part;
        out.hits = {a, b};
        return out;
    }
    return std::nullopt;
}

} // namespace

Change transfer_area(grid::Grid& g, const Ring& area_in, const std::string& to) {
    const grid::Grid original = g;
    Ring area = area_in;
    const geo::Box area_box = geo::bounds(area);
    (void)index_of(g, to); // throws for an unknown cell
    geo::MultiPolygon area_mp;
    area_mp.polygons.push_back({{area}});
    std::set<std::string> changed, units;
    std::map<std::string, std::string> origin; // a cut piece's code -> the cell it came from
    try {
        // 1. Cut every other cell the area's outline crosses along it, one stretch at a time,
        // the part outside the area keeping the cell's code.
        for (std::size_t guard = 0;; ++guard) {
            if (guard > 4 * area.size() + 64)
                throw InputError("the area's outline crosses the cells too often to transfer");
            bool cut = false;
            for (std::size_t i = 0; i < g.cells.size() && !cut; ++i) {
                const grid::Cell& c = g.cells[i];
                if (c.code == to || !geo::bounds(c.geometry).intersects(area_box)) continue;
                const auto crossing = first_crossing(c, area);
                if (!crossing) continue;
                const std::string code = c.code;
                const std::string tmp = next_codes(g, c, 1)[0];
                origin[tmp] = origin.count(code) ? origin[code] : code;
                const auto ch =
                    split_at(g, i, crossing->part, crossing->hits, crossing->walk, {code, tmp});
                changed.insert(ch.changed.begin(), ch.changed.end());
                cut = true;
            }
            if (!cut) break;
        }
        // 2. The cells now wholly inside the area join the target.
        geo::GeosContext ctx;
        const grid::Cell target = *g.find_cell(to);
        std::vector<std::string> give{to};
        // A part of a cell is inside the area when a point inside it is: the outline no
        // longer crosses it (checked: an area inside a part without reaching its boundary
        // would leave a hole). A cell with parts on both sides gives its inside parts as a
        // cell of their own.
        const auto inside_area = [&](const geo::Polygon& poly, const std::string& code) {
            if (!inside(area_mp, interior_point(ctx, geo::MultiPolygon{{poly}}))) return false;
            for (const auto& v : poly.rings[0])
                if (!inside(area_mp, v) && !on_ring(area, v))
                    throw InputError("the area lies inside cell " + code +
                                         " without reaching its boundary; it would leave a "
                                         "hole (draw it across the boundary with " +
                                         to + ")",
                                     {.cell = code});
            return true;
        };
        const std::size_t before_split = g.cells.size();
        for (std::size_t i = 0; i < before_split; ++i) {
            grid::Cell& c = g.cells[i];
            if (c.code == to || !geo::bounds(c.geometry).intersects(area_box)) continue;
            if (c.geometry.polygons.size() < 2) continue;
            grid::Cell in = c;
            in.geometry.polygons.clear();
            std::vector<geo::Polygon> out;
            for (auto& poly : c.geometry.polygons)
                (inside_area(poly, c.code) ? in.geometry.polygons : out).push_back(poly);
            if (in.geometry.polygons.empty() || out.empty()) continue;
            in.code = next_codes(g, c, 1)[0];
            origin[in.code] = origin.count(c.code) ? origin[c.code] : c.code;
            c.geometry.polygons = out;
            const double total = polygon_area(in.geometry) + polygon_area(c.geometry);
            const double f = total > 0 ? polygon_area(in.geometry) / total : 0;
            in.households = std::llround(static_cast<double>(c.households) * f);
            c.households -= in.households;
            in.population = std::llround(static_cast<double>(c.population) * f);
            c.population -= in.population;
            g.cells.push_back(std::move(in));
        }
        for (auto& c : g.cells) {
            if (c.code == to || !geo::bounds(c.geometry).intersects(area_box)) continue;
            if (!inside_area(c.geometry.polygons[0], c.code)) continue;
            give.push_back(c.code);
            if (c.village_code != target.village_code) {
                units.insert(c.village_code);
                units.insert(target.village_code);
                if (c.township_code != target.township_code) {
                    units.insert(c.township_code);
                    units.insert(target.township_code);
                }
                c.village_code = target.village_code;
                c.township_code = target.township_code;
            }
        }
        if (give.size() == 1)
            throw InputError("the area covers no part of any cell but " + to +
                                 " (draw it over the part to give, overlapping " + to + ")",
                             {.cell = to});
        const auto m = merge_cells(g, give, to);
        changed.insert(m.changed.begin(), m.changed.end());
        // 3. What is left of a cut cell outside the area is that cell again, under its code
        // (in several parts when the area cut it through).
        std::map<std::string, std::vector<std::string>> left;
        for (const auto& c : g.cells)
            if (const auto it = origin.find(c.code); it != origin.end())
                left[it->second].push_back(c.code);
        for (auto& [code, pieces] : left) {
            if (g.find_cell(code)) pieces.insert(pieces.begin(), code);
            if (pieces.size() > 1) {
                const auto back = merge_cells(g, pieces, code, true);
                changed.insert(back.changed.begin(), back.changed.end());
            } else {
                g.cells[index_of(g, pieces[0])].code = code;
            }
            changed.insert(code);
        }
        refresh_units(g, units);
    } catch (...) {
        g = original; // an edit changes nothing unless it succeeds
        throw;
    }

    Change ch;
    std::set<std::string> now;
    for (const auto& c : g.cells)
        now.insert(c.code);
    for (const auto& c : original.cells)
        if (!now.count(c.code)) ch.removed.push_back(c.code);
    for (const auto& c : changed)
        if (now.count(c)) ch.changed.push_back(c);
    if (std::find(ch.changed.begin(), ch.changed.end(), to) == ch.changed.end())
        ch.changed.push_back(to);
    ch.units.assign(units.begin(), units.end());
    std::string from;
    for (const auto& c : original.cells) {
        if (c.code == to) continue;
        const auto* n = g.find_cell(c.code);
        if (!n || !(n->geometry == c.geometry)) from += (from.empty() ? "" : ", ") + c.code;
    }
    ch.summary = "transferred the area's part of " + from + " to " + to +
                 " (households and population apportioned by area)";
    return ch;
}

Change replace_cells(grid::Grid& g, std::vector<grid::Cell> cells, const std::string& township,
                     const grid::ValidateOptions& options, grid::ValidationReport* defects) {
    if (cells.empty()) throw InputError("the replacement has no cells");
    if (!township.empty()) {
        const auto* t = g.find_unit(township);
        if (!t || t->level != grid::UnitLevel::township)
            throw InputError("no township " + township + " in the draft");
    }
    const auto replaced = [&](const grid::Cell& c) {
        return township.empty() || c.township_code == township;
    };
    std::set<std::string> old_codes, units;
    double old_area = 0;
    geo::Box box;
    for (const auto& c : g.cells)
        if (replaced(c)) {
            old_codes.insert(c.code);
            old_area += polygon_area(c.geometry);
            box.expand(geo::bounds(c.geometry));
            units.insert(c.village_code);
            units.insert(c.township_code);
        }
    if (old_codes.empty()) throw InputError("township " + township + " has no cells to replace");
    // The outline vertices the neighbours have, to snap the new cells onto bit for bit (a
    // file written and read again may round the last digit).
    std::map<std::pair<long long, long long>, std::vector<Point>> keep;
    const double cellsize = 1e-9;
    const auto bucket = [&](Point p) {
        return std::pair<long long, long long>{std::llround(p.x / cellsize),
                                               std::llround(p.y / cellsize)};
    };
    for (const auto& c : g.cells)
        if (!replaced(c) && geo::bounds(c.geometry).intersects(box))
            for (const auto& poly : c.geometry.polygons)
                for (const auto& ring : poly.rings)
                    for (const auto& p : ring)
                        keep[bucket(p)].push_back(p);
    std::set<std::string> new_codes;
    double new_area = 0;
    for (auto& c : cells) {
        if (!new_codes.insert(c.code).second)
            throw DataError("cell code " + c.code + " appears twice in the replacement",
                            {.cell = c.code});
        if (!old_codes.count(c.code) && g.find_cell(c.code))
            throw DataError("cell code " + c.code + " is already used by a cell outside " +
                                (township.empty() ? "the county" : "township " + township),
                            {.cell = c.code});
        if (!township.empty() && c.township_code != township)
            throw DataError("cell " + c.code + " belongs to township " + c.township_code +
                                ", not " + township,
                            {.cell = c.code});
        const auto* v = g.find_unit(c.village_code);
        if (!v || v->level != grid::UnitLevel::village)
            throw DataError("cell " + c.code + " names village " + c.village_code +
                                ", which the grid does not have",
                            {.cell = c.code});
        c.township_code = v->parent_code;
        c.county_code = g.cells.front().county_code;
        units.insert(c.village_code);
        units.insert(c.township_code);
        for (auto& poly : c.geometry.polygons)
            for (auto& ring : poly.rings)
                for (auto& p : ring) {
                    const auto b = bucket(p);
                    for (long long dx = -1; dx <= 1; ++dx)
                        for (long long dy = -1; dy <= 1; ++dy)
                            if (const auto it = keep.find({b.first + dx, b.second + dy});
                                it != keep.end())
                                for (const auto& q : it->second)
                                    if (std::abs(q.x - p.x) <= cellsize &&
                                        std::abs(q.y - p.y) <= cellsize)
                                        p = q;
                }
        geo::normalise_orientation(c.geometry);
        new_area += polygon_area(c.geometry);
    }

    grid::Grid out = g;
    std::vector<grid::Cell> kept;
    for (auto& c : out.cells)
        if (!replaced(c)) kept.push_back(std::move(c));
    Change ch;
    for (const auto& code : old_codes)
        if (!new_codes.count(code)) ch.removed.push_back(code);
    for (auto& c : cells) {
        ch.changed.push_back(c.code);
        kept.push_back(std::move(c));
    }
    out.cells = std::move(kept);
    refresh_units(out, units);
    ch.units.assign(units.begin(), units.end());
    // The new outline must meet the neighbours exactly: the validator over the new cells and
    // their neighbours is the judge, and its defects are the map of gaps and overlaps.
    auto report = validate_touched(out, ch, options);
    const double rel = old_area > 0 ? std::abs(new_area - old_area) / old_area : 0;
    if (!report.valid() || rel > 1e-9) {
        if (defects) *defects = report;
        std::string list;
        for (std::size_t i = 0; i < report.issues.size() && i < 5; ++i)
            list += "\n  " + report.issues[i].describe();
        std::ostringstream area;
        area.precision(3);
        area << rel * 100;
        throw DataError("the replacement does not fit its place exactly (" +
                            (report.valid() ? std::string("no defect found") : report.summary()) +
                            "; its area differs by " + area.str() +
                            "% from the cells it replaces); nothing was changed" + list,
                        {});
    }
    g = std::move(out);
    ch.summary = "replaced the " + std::to_string(old_codes.size()) + " cells of " +
                 (township.empty() ? std::string("the county") : "township " + township) +
                 " with " + std::to_string(new_codes.size()) + " cells";
    return ch;
}

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

} // namespace wangge::redraw
