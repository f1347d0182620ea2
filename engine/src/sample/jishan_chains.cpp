// Boundary chains and the polygons assembled from them; see jishan_chains.hpp.
#include "jishan_chains.hpp"

#include "wangge/error.hpp"
#include "wangge/geo/box_index.hpp"
#include "wangge/geo/orientation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>

namespace wangge::sample::detail {

namespace {

class ChainBuilder {
  public:
    ChainBuilder(const Lattice& lat, const Labels& lab) : m_lat(lat), m_lab(lab) {}

    std::vector<Chain> build() {
        const int cw = m_lat.w + 1, ch = m_lat.h + 1;
        m_hvis.assign(uz(m_lat.w * ch), 0);
        m_vvis.assign(uz(cw * m_lat.h), 0);
        m_node.assign(uz(cw * ch), 0);
        for (int j = 0; j < ch; ++j)
            for (int i = 0; i < cw; ++i) {
                std::array<int, 4> l = {pix(i - 1, j - 1), pix(i, j - 1), pix(i - 1, j), pix(i, j)};
                std::sort(l.begin(), l.end());
                const auto distinct = std::unique(l.begin(), l.end()) - l.begin();
                if (distinct >= 3) m_node[uz(j * cw + i)] = 1;
            }
        std::vector<Chain> chains;
        for (int j = 0; j < ch; ++j)
            for (int i = 0; i < cw; ++i) {
                if (!m_node[uz(j * cw + i)]) continue;
                for (int d = 0; d < 4; ++d)
                    if (boundary({i, j}, d) && !visited({i, j}, d))
                        chains.push_back(trace({i, j}, d));
            }
        // Closed boundaries without nodes (a region inside one other region).
        for (int j = 0; j < ch; ++j)
            for (int i = 0; i < m_lat.w; ++i)
                if (boundary({i, j}, 0) && !visited({i, j}, 0)) chains.push_back(trace({i, j}, 0));
        // A chain that returns to its start is split in two so every chain has two distinct
        // fixed ends.
        std::vector<Chain> out;
        for (auto& c : chains) {
            if (c.raw.front() == c.raw.back()) {
                const Sz mid = c.raw.size() / 2;
                Chain second = c;
                second.raw.assign(c.raw.begin() + static_cast<std::ptrdiff_t>(mid), c.raw.end());
                c.raw.resize(mid + 1);
                out.push_back(std::move(c));
                out.push_back(std::move(second));
            } else {
                out.push_back(std::move(c));
            }
        }
        return out;
    }

  private:
    static constexpr int di[4] = {1, 0, -1, 0}; // E N W S
    static constexpr int dj[4] = {0, 1, 0, -1};

    int pix(int i, int j) const { return label_at(m_lat, m_lab, i, j); }
    int left(Corner c, int d) const {
        switch (d) {
        case 0:
            return pix(c.i, c.j);
        case 1:
            return pix(c.i - 1, c.j);
        case 2:
            return pix(c.i - 1, c.j - 1);
        default:
            return pix(c.i, c.j - 1);
        }
    }
    int right(Corner c, int d) const {
        switch (d) {
        case 0:
            return pix(c.i, c.j - 1);
        case 1:
            return pix(c.i, c.j);
        case 2:
            return pix(c.i - 1, c.j);
        default:
            return pix(c.i - 1, c.j - 1);
        }
    }
    bool inside_corners(Corner c) const {
        return c.i >= 0 && c.j >= 0 && c.i <= m_lat.w && c.j <= m_lat.h;
    }
    bool boundary(Corner c, int d) const {
        const Corner n{c.i + di[d], c.j + dj[d]};
        return inside_corners(n) && left(c, d) != right(c, d);
    }
    char& edge_flag(Corner c, int d) {
        switch (d) {
        case 0:
            return m_hvis[uz(c.j * m_lat.w + c.i)];
        case 2:
            return m_hvis[uz(c.j * m_lat.w + c.i - 1)];
        case 1:
            return m_vvis[uz(c.j * (m_lat.w + 1) + c.i)];
        default:
            return m_vvis[uz((c.j - 1) * (m_lat.w + 1) + c.i)];
        }
    }
    bool visited(Corner c, int d) { return edge_flag(c, d) != 0; }

    Chain trace(Corner start, int d) {
        Chain chain;
        chain.left = left(start, d);
        chain.right = right(start, d);
        chain.raw.push_back(start);
        Corner cur = start;
        for (;;) {
            edge_flag(cur, d) = 1;
            cur = {cur.i + di[d], cur.j + dj[d]};
            chain.raw.push_back(cur);
            if (cur == start || m_node[uz(cur.j * (m_lat.w + 1) + cur.i)]) break;
            const int back = (d + 2) % 4;
            int next = -1;
            for (int e = 0; e < 4; ++e)
                if (e != back && boundary(cur, e)) {
                    next = e;
                    break;
                }
            if (next < 0) throw LibraryError("Jishan sample: a boundary chain breaks off");
            d = next;
        }
        return chain;
    }

    const Lattice& m_lat;
    const Labels& m_lab;
    std::vector<char> m_hvis, m_vvis, m_node;
};

std::vector<geo::Point> as_points(const std::vector<Corner>& raw) {
    std::vector<geo::Point> out;
    out.reserve(raw.size());
    for (const auto& c : raw)
        out.push_back({static_cast<double>(c.i), static_cast<double>(c.j)});
    return out;
}

std::vector<geo::Point> turning_points(const std::vector<geo::Point>& in) {
    std::vector<geo::Point> out{in.front()};
    for (Sz k = 1; k + 1 < in.size(); ++k) {
        const auto& a = out.back();
        const auto& b = in[k];
        const auto& c = in[k + 1];
        if ((b.x - a.x) * (c.y - b.y) != (b.y - a.y) * (c.x - b.x)) out.push_back(b);
    }
    out.push_back(in.back());
    return out;
}

// Douglas-Peucker keeping both ends; the output is a subset of the input points.
std::vector<geo::Point> simplify(const std::vector<geo::Point>& in, double tol) {
    std::vector<char> keep(in.size(), 0);
    keep.front() = keep.back() = 1;
    std::vector<std::pair<Sz, Sz>> todo{{0, in.size() - 1}};
    while (!todo.empty()) {
        const auto [a, b] = todo.back();
        todo.pop_back();
        if (b <= a + 1) continue;
        const double ax = in[a].x, ay = in[a].y, dx = in[b].x - ax, dy = in[b].y - ay;
        const double len = std::hypot(dx, dy);
        double worst = -1;
        Sz at = a;
        for (Sz k = a + 1; k < b; ++k) {
            const double ex = in[k].x - ax, ey = in[k].y - ay;
            const double d = len > 0 ? std::abs(dx * ey - dy * ex) / len : std::hypot(ex, ey);
            if (d > worst) {
                worst = d;
                at = k;
            }
        }
        if (worst > tol) {
            keep[at] = 1;
            todo.emplace_back(a, at);
            todo.emplace_back(at, b);
        }
    }
    std::vector<geo::Point> out;
    for (Sz k = 0; k < in.size(); ++k)
        if (keep[k]) out.push_back(in[k]);
    return out;
}

// Chaikin corner cutting with fixed ends. Quarter points of quarter points: the results are
// exact binary fractions, so the intersection tests below are exact.
std::vector<geo::Point> chaikin(std::vector<geo::Point> pts, int rounds) {
    for (int r = 0; r < rounds && pts.size() > 2; ++r) {
        std::vector<geo::Point> out{pts.front()};
        const Sz n = pts.size() - 1;
        for (Sz k = 0; k < n; ++k) {
            const auto& a = pts[k];
            const auto& b = pts[k + 1];
            if (k > 0) out.push_back({0.75 * a.x + 0.25 * b.x, 0.75 * a.y + 0.25 * b.y});
            if (k + 1 < n) out.push_back({0.25 * a.x + 0.75 * b.x, 0.25 * a.y + 0.75 * b.y});
        }
        out.push_back(pts.back());
        pts = std::move(out);
    }
    return pts;
}

// The chain through the midpoints of its pixel edges (ends kept): the staircase without its
// half-pixel teeth.
std::vector<geo::Point> midpoints(const std::vector<geo::Point>& in) {
    std::vector<geo::Point> out{in.front()};
    for (Sz k = 0; k + 1 < in.size(); ++k)
        out.push_back({0.5 * (in[k].x + in[k + 1].x), 0.5 * (in[k].y + in[k + 1].y)});
    out.push_back(in.back());
    return out;
}

bool on_segment(const geo::Point& a, const geo::Point& b, const geo::Point& p) {
    return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) && std::min(a.y, b.y) <= p.y &&
           p.y <= std::max(a.y, b.y);
}

// Whether closed segments ab and cd share any point.
bool segments_touch(const geo::Point& a, const geo::Point& b, const geo::Point& c,
                    const geo::Point& d) {
    const int o1 = geo::orientation(a, b, c), o2 = geo::orientation(a, b, d);
    const int o3 = geo::orientation(c, d, a), o4 = geo::orientation(c, d, b);
    if (o1 != o2 && o3 != o4 && o1 * o2 <= 0 && o3 * o4 <= 0) {
        if (o1 != 0 || o2 != 0) return true;
    }
    if (o1 == 0 && on_segment(a, b, c)) return true;
    if (o2 == 0 && on_segment(a, b, d)) return true;
    if (o3 == 0 && on_segment(c, d, a)) return true;
    if (o4 == 0 && on_segment(c, d, b)) return true;
    return false;
}

// Segments sharing the end point p (legitimately): they conflict only when they overlap.
bool overlap_at(const geo::Point& p, const geo::Point& q, const geo::Point& r) {
    return geo::orientation(p, q, r) == 0 &&
           (q.x - p.x) * (r.x - p.x) + (q.y - p.y) * (r.y - p.y) > 0;
}

// ---- polygons from chains ----------------------------------------------------------------

struct Use {
    int chain;
    bool reversed;
};

// Rings of every unit of one level: unit_of maps a cell label to the unit (or outside).
// A unit lies on the left of each of its chains as used, so shells come out
// counter-clockwise and holes clockwise.
std::vector<std::vector<std::vector<Use>>> unit_rings(const std::vector<Chain>& chains,
                                                      const std::vector<int>& unit_of, int nunits,
                                                      const Lattice& lat) {
    std::vector<std::vector<Use>> uses(uz(nunits));
    for (Sz c = 0; c < chains.size(); ++c) {
        const int l = chains[c].left < 0 ? outside : unit_of[uz(chains[c].left)];
        const int r = chains[c].right < 0 ? outside : unit_of[uz(chains[c].right)];
        if (l == r) continue;
        if (l >= 0) uses[uz(l)].push_back({static_cast<int>(c), false});
        if (r >= 0) uses[uz(r)].push_back({static_cast<int>(c), true});
    }
    auto corner_id = [&](const Corner& k) {
        return static_cast<std::int64_t>(k.j) * (lat.w + 1) + k.i;
    };
    auto start_of = [&](const Use& u) {
        const auto& raw = chains[uz(u.chain)].raw;
        return corner_id(u.reversed ? raw.back() : raw.front());
    };
    auto end_of = [&](const Use& u) {
        const auto& raw = chains[uz(u.chain)].raw;
        return corner_id(u.reversed ? raw.front() : raw.back());
    };
    std::vector<std::vector<std::vector<Use>>> out(uz(nunits));
    for (int u = 0; u < nunits; ++u) {
        auto& list = uses[uz(u)];
        std::vector<std::pair<std::int64_t, Sz>> by_start;
        for (Sz k = 0; k < list.size(); ++k)
            by_start.emplace_back(start_of(list[k]), k);
        std::sort(by_start.begin(), by_start.end());
        for (Sz k = 1; k < by_start.size(); ++k)
            if (by_start[k].first == by_start[k - 1].first)
                throw LibraryError("Jishan sample: a unit touches itself at a corner");
        std::vector<char> used(list.size(), 0);
        for (Sz k = 0; k < list.size(); ++k) {
            if (used[k]) continue;
            std::vector<Use> ring;
            Sz cur = k;
            for (;;) {
                used[cur] = 1;
                ring.push_back(list[cur]);
                const auto next_start = end_of(list[cur]);
                if (next_start == start_of(list[k])) break;
                const auto it = std::lower_bound(by_start.begin(), by_start.end(),
                                                 std::make_pair(next_start, Sz{0}));
                if (it == by_start.end() || it->first != next_start || used[it->second])
                    throw LibraryError("Jishan sample: a boundary ring does not close");
                cur = it->second;
            }
            out[uz(u)].push_back(std::move(ring));
        }
    }
    return out;
}

geo::Ring ring_points(const std::vector<Use>& ring,
                      const std::vector<std::vector<geo::Point>>& pts) {
    geo::Ring out;
    for (const auto& u : ring) {
        const auto& p = pts[uz(u.chain)];
        if (u.reversed) {
            for (Sz k = p.size() - 1; k > 0; --k)
                out.push_back(p[k]);
        } else {
            for (Sz k = 0; k + 1 < p.size(); ++k)
                out.push_back(p[k]);
        }
    }
    out.push_back(out.front());
    return out;
}

} // namespace

std::vector<Chain> build_chains(const Lattice& lat, const Labels& lab) {
    return ChainBuilder(lat, lab).build();
}

std::vector<geo::Point> smooth(const std::vector<Corner>& raw, int level) {
    const auto pts = as_points(raw);
    switch (level) {
    case 0:
        return turning_points(pts);
    case 1:
        return chaikin(turning_points(pts), 2);
    case 2:
        return chaikin(simplify(midpoints(pts), 0.35), 3);
    default:
        return chaikin(simplify(midpoints(pts), 0.65), 3);
    }
}

int lower_conflicting(std::vector<Chain>& chains) {
    struct Seg {
        int chain;
        int k;
    };
    // Every segment with its box, in (chain, k) order: pairs are checked as (earlier, later).
    std::vector<Seg> segs;
    std::vector<geo::Box> boxes;
    for (Sz c = 0; c < chains.size(); ++c) {
        const auto& pts = chains[c].pts;
        for (Sz k = 0; k + 1 < pts.size(); ++k) {
            geo::Box b;
            b.expand(pts[k]);
            b.expand(pts[k + 1]);
            segs.push_back({static_cast<int>(c), static_cast<int>(k)});
            boxes.push_back(b);
        }
    }
    const geo::BoxIndex index(boxes);
    std::vector<char> bad(chains.size(), 0);
    auto check = [&](const Seg& s, const Seg& t) {
        const auto& cs = chains[uz(s.chain)].pts;
        const auto& ct = chains[uz(t.chain)].pts;
        const auto& a = cs[uz(s.k)];
        const auto& b = cs[uz(s.k) + 1];
        const auto& c = ct[uz(t.k)];
        const auto& d = ct[uz(t.k) + 1];
        if (s.chain == t.chain) {
            if (s.k == t.k) return false;
            if (t.k == s.k + 1) return overlap_at(b, a, d);
            if (s.k == t.k + 1) return overlap_at(a, b, c);
            return segments_touch(a, b, c, d);
        }
        // Shared chain ends (nodes) are the only places two chains may meet.
        const bool a_end = s.k == 0, b_end = uz(s.k) + 2 == cs.size();
        const bool c_end = t.k == 0, d_end = uz(t.k) + 2 == ct.size();
        const geo::Point* shared = nullptr;
        const geo::Point *so = nullptr, *to = nullptr;
        if (a_end && c_end && a == c)
            shared = &a, so = &b, to = &d;
        else if (a_end && d_end && a == d)
            shared = &a, so = &b, to = &c;
        else if (b_end && c_end && b == c)
            shared = &b, so = &a, to = &d;
        else if (b_end && d_end && b == d)
            shared = &b, so = &a, to = &c;
        if (shared) {
            if (*so == *to) return true; // both ends shared: the same segment twice
            if (overlap_at(*shared, *so, *to)) return true;
            // Otherwise they can only meet again if one's far end lies on the other.
            return (geo::orientation(*shared, *so, *to) == 0 &&
                    (on_segment(*shared, *so, *to) || on_segment(*shared, *to, *so)));
        }
        return segments_touch(a, b, c, d);
    };
    for (std::uint32_t x = 0; x < segs.size(); ++x)
        index.query(boxes[x], [&](std::uint32_t y) {
            if (y > x && check(segs[x], segs[y])) {
                bad[uz(segs[x].chain)] = 1;
                bad[uz(segs[y].chain)] = 1;
            }
        });
    int lowered = 0;
    for (Sz c = 0; c < chains.size(); ++c)
        if (bad[c] && chains[c].level > 0) {
            --chains[c].level;
            chains[c].pts = smooth(chains[c].raw, chains[c].level);
            ++lowered;
        } else if (bad[c]) {
            throw LibraryError("Jishan sample: raw boundary chains intersect");
        }
    return lowered;
}

LevelPolygons level_polygons(const std::vector<Chain>& chains,
                             const std::vector<std::vector<geo::Point>>& metric,
                             const std::vector<std::vector<geo::Point>>& lonlat,
                             const std::vector<int>& unit_of, int nunits, const Lattice& lat) {
    const auto rings = unit_rings(chains, unit_of, nunits, lat);
    LevelPolygons out;
    for (int u = 0; u < nunits; ++u) {
        geo::Polygon pm, pl;
        int shells = 0;
        for (const auto& r : rings[uz(u)]) {
            auto rm = ring_points(r, metric);
            auto rl = ring_points(r, lonlat);
            if (geo::signed_area(rm) > 0) {
                ++shells;
                pm.rings.insert(pm.rings.begin(), std::move(rm));
                pl.rings.insert(pl.rings.begin(), std::move(rl));
            } else {
                pm.rings.push_back(std::move(rm));
                pl.rings.push_back(std::move(rl));
            }
        }
        if (shells != 1) throw LibraryError("Jishan sample: a unit is not one polygon");
        out.metric.push_back(std::move(pm));
        out.lonlat.push_back(std::move(pl));
    }
    return out;
}

geo::Point centroid(const geo::Polygon& poly) {
    double a = 0, cx = 0, cy = 0;
    const geo::Point o = poly.rings.front().front();
    for (const auto& ring : poly.rings)
        for (Sz k = 0; k + 1 < ring.size(); ++k) {
            const double x0 = ring[k].x - o.x, y0 = ring[k].y - o.y;
            const double x1 = ring[k + 1].x - o.x, y1 = ring[k + 1].y - o.y;
            const double cr = x0 * y1 - x1 * y0;
            a += cr;
            cx += (x0 + x1) * cr;
            cy += (y0 + y1) * cr;
        }
    return {o.x + cx / (3 * a), o.y + cy / (3 * a)};
}

} // namespace wangge::sample::detail
