#include "validate_geometry.hpp"

#include <algorithm>
#include <cmath>

namespace wangge::grid::detail {

using geo::Point;
using geo::Ring;

int orientation(Point a, Point b, Point c) noexcept {
    const double left = (a.x - c.x) * (b.y - c.y);
    const double right = (a.y - c.y) * (b.x - c.x);
    const double det = left - right;
    const double sum = std::abs(left) + std::abs(right);
    // (3 + 16 eps) eps: bounds the error of this evaluation order, rounded differences
    // included (Shewchuk 1997, "ccwerrboundA").
    constexpr double bound = 3.3306690738754716e-16;
    if (det > bound * sum) return 1;
    if (-det > bound * sum) return -1;
    // Both products are exactly zero only when a factor was an exact zero difference.
    if (sum == 0) return 0;
    return uncertain;
}

namespace {

int sign(double d) noexcept {
    return (d > 0) - (d < 0);
}

// For x and y collinear with v: do they lie on the same ray from v? (The sign of a
// difference of doubles is exact.)
bool same_ray(Point v, Point x, Point y) noexcept {
    return sign(x.x - v.x) == sign(y.x - v.x) && sign(x.y - v.y) == sign(y.y - v.y);
}

enum class Contact {
    none,          // no common point
    shared_vertex, // exactly one common point, an end of both
    same_reversed, // the same segment, opposite directions (a shared edge)
    other,         // a crossing, a T, a collinear overlap, the same segment twice
    unknown,
};

Contact classify(Point p1, Point p2, Point q1, Point q2) noexcept {
    if (std::max(p1.x, p2.x) < std::min(q1.x, q2.x) ||
        std::max(q1.x, q2.x) < std::min(p1.x, p2.x) ||
        std::max(p1.y, p2.y) < std::min(q1.y, q2.y) || std::max(q1.y, q2.y) < std::min(p1.y, p2.y))
        return Contact::none;
    const bool e11 = p1 == q1, e12 = p1 == q2, e21 = p2 == q1, e22 = p2 == q2;
    if (e12 && e21) return Contact::same_reversed;
    if (e11 && e22) return Contact::other;
    if (e11 || e12 || e21 || e22) {
        const Point v = (e11 || e12) ? p1 : p2;
        const Point a = (e11 || e12) ? p2 : p1;
        const Point b = (e11 || e21) ? q2 : q1;
        const int o = orientation(v, a, b);
        if (o == uncertain) return Contact::unknown;
        if (o != 0) return Contact::shared_vertex;
        return same_ray(v, a, b) ? Contact::other : Contact::shared_vertex;
    }
    const int o1 = orientation(p1, p2, q1), o2 = orientation(p1, p2, q2);
    const int o3 = orientation(q1, q2, p1), o4 = orientation(q1, q2, p2);
    auto apart = [](int s, int t) { return s != uncertain && t != uncertain && s * t > 0; };
    if (apart(o1, o2) || apart(o3, o4)) return Contact::none;
    if (o1 == uncertain || o2 == uncertain || o3 == uncertain || o4 == uncertain)
        return Contact::unknown;
    if (o1 == 0 && o2 == 0) {
        // Collinear: compare the projections on an axis along which p1 != p2.
        const bool on_x = p1.x != p2.x;
        auto coord = [on_x](Point p) { return on_x ? p.x : p.y; };
        const double lo_p = std::min(coord(p1), coord(p2)), hi_p = std::max(coord(p1), coord(p2));
        const double lo_q = std::min(coord(q1), coord(q2)), hi_q = std::max(coord(q1), coord(q2));
        return (hi_p < lo_q || hi_q < lo_p) ? Contact::none : Contact::other;
    }
    return Contact::other; // a crossing or an end on the other's interior
}

// Where a vertex occurs in a part: ring and index, or nothing when it occurs twice or never.
struct Occurrence {
    const Ring* ring = nullptr;
    std::size_t index = 0;
};

bool find_once(const Part& part, Point v, Occurrence& out) {
    int count = 0;
    for (const auto& ring : part.rings)
        for (std::size_t i = 0; i + 1 < ring.size(); ++i)
            if (ring[i] == v) {
                out = {&ring, i};
                ++count;
            }
    return count == 1;
}

Point prev_of(const Occurrence& o) {
    const Ring& r = *o.ring;
    return r[o.index == 0 ? r.size() - 2 : o.index - 1];
}
Point next_of(const Occurrence& o) {
    return (*o.ring)[o.index + 1];
}

// Which half-turn the direction v->x lies in, measured counter-clockwise from v->ref:
// 0 for [0, pi), 1 for [pi, 2 pi), or `uncertain`.
int half(Point v, Point ref, Point x) {
    const int o = orientation(v, ref, x);
    if (o == uncertain) return uncertain;
    if (o != 0) return o > 0 ? 0 : 1;
    return same_ray(v, ref, x) ? 0 : 1;
}

// Compares the counter-clockwise angles from v->ref to v->x and to v->y.
int compare_angles(Point v, Point ref, Point x, Point y) {
    const int hx = half(v, ref, x), hy = half(v, ref, y);
    if (hx == uncertain || hy == uncertain) return uncertain;
    if (hx != hy) return hx < hy ? -1 : 1;
    const int o = orientation(v, x, y);
    if (o == uncertain) return uncertain;
    return -o; // y to the left of v->x: x comes first
}

// At a vertex v shared by a and b: are the open interior wedges disjoint? a's wedge runs
// counter-clockwise from its next vertex to its previous one (interior on the left).
bool wedges_disjoint(Point v, Point pa, Point na, Point pb, Point nb) {
    // Measured from v->pa, a's wedge is (angle(na), 2 pi); b's must fit in [0, angle(na)].
    if (half(v, pa, na) == 0 && orientation(v, pa, na) == 0) return false; // a spike
    if (compare_angles(v, pa, nb, pb) != -1) return false;
    const int c = compare_angles(v, pa, pb, na);
    return c == -1 || c == 0;
}

struct Edge {
    Point a, b;
    std::size_t ring;
};

void edges_near(const Part& part, const geo::Box& box, std::vector<Edge>& out) {
    for (std::size_t r = 0; r < part.rings.size(); ++r) {
        const Ring& ring = part.rings[r];
        for (std::size_t i = 0; i + 1 < ring.size(); ++i) {
            geo::Box e;
            e.expand(ring[i]);
            e.expand(ring[i + 1]);
            if (e.intersects(box)) out.push_back({ring[i], ring[i + 1], r});
        }
    }
}

} // namespace

Ring clean_ring(const Ring& ring) {
    Ring out;
    out.reserve(ring.size() + 1);
    for (const auto& p : ring)
        if (out.empty() || !(out.back() == p)) out.push_back(p);
    if (!out.empty() && !(out.front() == out.back())) out.push_back(out.front());
    return out;
}

std::vector<Part> make_parts(const geo::MultiPolygon& mp) {
    std::vector<Part> parts;
    parts.reserve(mp.polygons.size());
    for (const auto& poly : mp.polygons) {
        Part part;
        for (std::size_t i = 0; i < poly.rings.size(); ++i) {
            Ring r = clean_ring(poly.rings[i]);
            if (r.size() < 4) continue;
            const double a = geo::signed_area(r);
            if ((i == 0) != (a > 0)) std::reverse(r.begin(), r.end());
            if (i == 0) part.box = geo::bounds(r);
            part.rings.push_back(std::move(r));
        }
        if (!part.rings.empty() && part.box.valid()) parts.push_back(std::move(part));
    }
    return parts;
}

Answer ring_is_simple(const Ring& ring) {
    if (ring.size() < 4) return Answer::no;
    const std::size_t n = ring.size() - 1; // edges
    if (n > 1024) return Answer::unknown;
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) {
            const Contact c = classify(ring[i], ring[i + 1], ring[j], ring[j + 1]);
            if (c == Contact::none) continue;
            if (c == Contact::unknown) return Answer::unknown;
            const bool neighbours = j == i + 1 || (i == 0 && j == n - 1);
            if (neighbours && c == Contact::shared_vertex) continue;
            return Answer::no;
        }
    return Answer::yes;
}

bool certainly_disjoint(const Part& a, const Part& b) {
    if (!a.box.intersects(b.box)) return true;
    std::vector<Edge> ea, eb;
    edges_near(a, b.box, ea);
    edges_near(b, a.box, eb);
    // Beyond this GEOS's indexed overlay is the better tool.
    if (ea.size() * eb.size() > 65536) return false;

    std::vector<Point> contacts;
    std::vector<char> touched_a(a.rings.size(), 0), touched_b(b.rings.size(), 0);
    for (const auto& e : ea)
        for (const auto& f : eb) {
            switch (classify(e.a, e.b, f.a, f.b)) {
            case Contact::none:
                continue;
            case Contact::same_reversed:
                contacts.push_back(e.a);
                contacts.push_back(e.b);
                break;
            case Contact::shared_vertex:
                contacts.push_back((e.a == f.a || e.a == f.b) ? e.a : e.b);
                break;
            default:
                return false;
            }
            touched_a[e.ring] = 1;
            touched_b[f.ring] = 1;
        }
    std::sort(contacts.begin(), contacts.end(),
              [](Point p, Point q) { return p.x < q.x || (p.x == q.x && p.y < q.y); });
    contacts.erase(std::unique(contacts.begin(), contacts.end()), contacts.end());
    for (const Point v : contacts) {
        Occurrence oa, ob;
        if (!find_once(a, v, oa) || !find_once(b, v, ob)) return false;
        if (!wedges_disjoint(v, prev_of(oa), next_of(oa), prev_of(ob), next_of(ob))) return false;
    }
    // A ring that touches nothing lies wholly inside or wholly outside the other part.
    for (std::size_t r = 0; r < a.rings.size(); ++r)
        if (!touched_a[r] && locate(a.rings[r][0], b) != Side::outside) return false;
    for (std::size_t r = 0; r < b.rings.size(); ++r)
        if (!touched_b[r] && locate(b.rings[r][0], a) != Side::outside) return false;
    return true;
}

Side locate(Point p, const Part& part) {
    if (!part.box.contains(p)) return Side::outside;
    bool inside = false;
    for (const auto& ring : part.rings)
        for (std::size_t i = 0; i + 1 < ring.size(); ++i) {
            const Point a = ring[i], b = ring[i + 1];
            const bool in_box = p.x >= std::min(a.x, b.x) && p.x <= std::max(a.x, b.x) &&
                                p.y >= std::min(a.y, b.y) && p.y <= std::max(a.y, b.y);
            const bool straddles = (a.y > p.y) != (b.y > p.y);
            if (!in_box && !straddles) continue;
            const int o = orientation(a, b, p);
            if (o == uncertain) return Side::unknown;
            if (in_box && o == 0) return Side::boundary;
            // Half-open crossing count along the ray towards +x.
            if (straddles && (b.y > a.y ? o > 0 : o < 0)) inside = !inside;
        }
    return inside ? Side::inside : Side::outside;
}

} // namespace wangge::grid::detail
