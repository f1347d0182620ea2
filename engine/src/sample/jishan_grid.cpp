// The generated Jishan grid. Method, in local metres of EPSG:4546 around Jifeng:
//  1. The county is rasterised on a 50 m lattice: a noisy ellipse cut off along the Fen
//     River, scaled so its area is 686 km2, made one 4-connected piece without holes.
//  2. Townships, then villages inside each township, then cells inside each village are
//     grown by multi-source Dijkstra over a noise cost field, with per-seed weights tuned
//     towards target areas (and a few Lloyd steps for compact shapes). Growth keeps every
//     region inside its parent; a tidy pass removes diagonal pinches and stray fragments so
//     every region is one 4-connected piece.
//  3. The cell labels give a planar graph: nodes are lattice corners where three or more
//     labels meet, chains run between them. Each chain is smoothed once and every polygon
//     of every level is assembled from the same chains, so shared boundaries are identical
//     vertex for vertex. Chains whose smoothing would make them touch another chain fall back
//     to less smoothing, down to the raw pixel staircase, which is always valid.
//  4. The chains are transformed once to lon/lat.
#include "jishan_internal.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/geo/orientation.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/sample/catalogue.hpp"
#include "wangge/sample/jishan.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wangge::sample {

namespace {

using detail::lattice_m;
using detail::Rng;
using detail::substream;

constexpr int total_cells = 398;
constexpr double county_target_m2 = 686.0e6;
constexpr double pixel_m2 = lattice_m * lattice_m;
constexpr int outside = -1;
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double pi = 3.14159265358979323846;

// ---- the lattice ---------------------------------------------------------------------

// Pixel (i, j) is the square [u0 + i*s, u0 + (i+1)*s] x [v0 + j*s, v0 + (j+1)*s] in local
// metres (s = lattice_m, local = EPSG:4546 minus the origin); j grows northwards.
struct Lattice {
    int w = 0;
    int h = 0;
    double u0 = 0;
    double v0 = 0;
    [[nodiscard]] int size() const { return w * h; }
    [[nodiscard]] int at(int i, int j) const { return j * w + i; }
    [[nodiscard]] double u_of(int p) const { return u0 + (p % w + 0.5) * lattice_m; }
    [[nodiscard]] double v_of(int p) const { return v0 + (p / w + 0.5) * lattice_m; }
};

using Labels = std::vector<int>;
using Sz = std::size_t;

Sz uz(int i) {
    return static_cast<Sz>(i);
}

int label_at(const Lattice& lat, const Labels& lab, int i, int j) {
    if (i < 0 || j < 0 || i >= lat.w || j >= lat.h) return outside;
    return lab[uz(lat.at(i, j))];
}

// 4-connected components of equal labels. Returns the component of every pixel.
std::vector<int> components(const Lattice& lat, const Labels& lab, int& count) {
    std::vector<int> comp(uz(lat.size()), -1);
    std::vector<int> stack;
    count = 0;
    for (int p = 0; p < lat.size(); ++p) {
        if (comp[uz(p)] >= 0) continue;
        const int l = lab[uz(p)];
        comp[uz(p)] = count;
        stack.push_back(p);
        while (!stack.empty()) {
            const int q = stack.back();
            stack.pop_back();
            const int qi = q % lat.w, qj = q / lat.w;
            const int nb[4][2] = {{qi + 1, qj}, {qi - 1, qj}, {qi, qj + 1}, {qi, qj - 1}};
            for (const auto& n : nb) {
                if (n[0] < 0 || n[1] < 0 || n[0] >= lat.w || n[1] >= lat.h) continue;
                const int r = lat.at(n[0], n[1]);
                if (comp[uz(r)] < 0 && lab[uz(r)] == l) {
                    comp[uz(r)] = count;
                    stack.push_back(r);
                }
            }
        }
        ++count;
    }
    return comp;
}

// A smooth function of position sampled at every other pixel and interpolated between:
// noise varies over hundreds of metres, so a quarter of the evaluations do.
template <class F> std::vector<float> smooth_field(const Lattice& lat, F&& f) {
    const int nw = lat.w / 2 + 2, nh = lat.h / 2 + 2;
    std::vector<double> node(uz(nw * nh));
    for (int b = 0; b < nh; ++b)
        for (int a = 0; a < nw; ++a)
            node[uz(b * nw + a)] =
                f(lat.u0 + (2 * a + 0.5) * lattice_m, lat.v0 + (2 * b + 0.5) * lattice_m);
    std::vector<float> out(uz(lat.size()));
    for (int j = 0; j < lat.h; ++j)
        for (int i = 0; i < lat.w; ++i) {
            const int a = i / 2, b = j / 2;
            const double tx = 0.5 * (i % 2), ty = 0.5 * (j % 2);
            const double n00 = node[uz(b * nw + a)], n10 = node[uz(b * nw + a + 1)];
            const double n01 = node[uz((b + 1) * nw + a)], n11 = node[uz((b + 1) * nw + a + 1)];
            out[uz(lat.at(i, j))] = static_cast<float>((n00 + (n10 - n00) * tx) * (1 - ty) +
                                                       (n01 + (n11 - n01) * tx) * ty);
        }
    return out;
}

// ---- the county ----------------------------------------------------------------------

// One piece, no holes, no diagonal pinches with the outside.
void tidy_county(const Lattice& lat, Labels& lab) {
    for (int round = 0; round < 50; ++round) {
        bool changed = false;
        int n = 0;
        auto comp = components(lat, lab, n);
        std::vector<long> size(uz(n), 0);
        std::vector<char> touches_edge(uz(n), 0);
        for (int p = 0; p < lat.size(); ++p) {
            ++size[uz(comp[uz(p)])];
            const int i = p % lat.w, j = p / lat.w;
            if (i == 0 || j == 0 || i == lat.w - 1 || j == lat.h - 1)
                touches_edge[uz(comp[uz(p)])] = 1;
        }
        int biggest = -1;
        for (int p = 0; p < lat.size(); ++p)
            if (lab[uz(p)] == 0 && (biggest < 0 || size[uz(comp[uz(p)])] > size[uz(biggest)]))
                biggest = comp[uz(p)];
        for (int p = 0; p < lat.size(); ++p) {
            const int c = comp[uz(p)];
            if (lab[uz(p)] == 0 && c != biggest) {
                lab[uz(p)] = outside;
                changed = true;
            } else if (lab[uz(p)] == outside && !touches_edge[uz(c)]) {
                lab[uz(p)] = 0; // a hole
                changed = true;
            }
        }
        for (int j = 0; j + 1 < lat.h; ++j)
            for (int i = 0; i + 1 < lat.w; ++i) {
                const int a = lab[uz(lat.at(i, j))], b = lab[uz(lat.at(i + 1, j))];
                const int c = lab[uz(lat.at(i, j + 1))], d = lab[uz(lat.at(i + 1, j + 1))];
                if (a == d && b == c && a != b) {
                    for (int p :
                         {lat.at(i, j), lat.at(i + 1, j), lat.at(i, j + 1), lat.at(i + 1, j + 1)})
                        lab[uz(p)] = 0;
                    changed = true;
                }
            }
        if (!changed) return;
    }
    throw LibraryError("Jishan sample: the county outline did not settle");
}

struct County {
    Lattice lat;
    Labels mask; // 0 inside, outside
};

County make_county(std::uint64_t seed, const detail::FenRiver& river) {
    Lattice full{1200, 760, -32000.0, -9000.0};
    Rng rng(substream(seed, 0xC0));
    const double cu = rng.range(-3800.0, -2200.0), cv = rng.range(5200.0, 6600.0);
    const double a = 21000.0, b = 14500.0;
    const double rot = rng.range(-0.08, 0.08);
    const double cr = std::cos(rot), sr = std::sin(rot);
    constexpr int harmonics = 8;
    std::array<double, harmonics> amp{}, pcos{}, psin{};
    for (int k = 0; k < harmonics; ++k) {
        amp[uz(k)] = 0.11 / std::pow(k + 2.0, 0.8) * rng.range(0.4, 1.0);
        const double phase = rng.range(0.0, 2 * pi);
        pcos[uz(k)] = std::cos(phase);
        psin[uz(k)] = std::sin(phase);
    }
    const auto nseed = substream(seed, 0xC1);
    // rho <= s is inside the ellipse scaled by s; the river cut does not depend on s, so the
    // area for any s is a count, and s is found by selection instead of a search.
    std::vector<double> rho(uz(full.size()), inf);
    const auto wobble = smooth_field(full, [&](double u, double v) {
        return 0.16 * detail::fbm(nseed, u / 5000.0, v / 5000.0, 4) +
               0.04 * detail::fbm(nseed + 1, u / 1100.0, v / 1100.0, 3);
    });
    std::vector<double> river_v(uz(full.w));
    for (int i = 0; i < full.w; ++i)
        river_v[uz(i)] = river.centre(full.u_of(i));
    for (int p = 0; p < full.size(); ++p) {
        const double u = full.u_of(p), v = full.v_of(p);
        if (v <= river_v[uz(p % full.w)]) continue;
        const double du = u - cu, dv = v - cv;
        const double ex = (du * cr + dv * sr) / a, ey = (-du * sr + dv * cr) / b;
        const double e = std::sqrt(ex * ex + ey * ey);
        if (e > 1.6 || e == 0.0) continue; // beyond anything the noise can reach
        // cos(k*theta + phase) from powers of (cos theta, sin theta): no trigonometry per pixel.
        const double c1 = ex / e, s1 = ey / e;
        double ck = c1 * c1 - s1 * s1, sk = 2 * c1 * s1; // k = 2
        double r = 1.0 + wobble[uz(p)];
        for (int k = 0; k < harmonics; ++k) {
            r += amp[uz(k)] * (ck * pcos[uz(k)] - sk * psin[uz(k)]);
            const double next = ck * c1 - sk * s1;
            sk = sk * c1 + ck * s1;
            ck = next;
        }
        rho[uz(p)] = e / r;
    }
    // Smoothing the outline takes a little area off its convex staircase corners.
    const auto want = static_cast<Sz>(std::llround(county_target_m2 / pixel_m2) + 40);
    auto sorted = rho;
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(want),
                     sorted.end());
    const double threshold = sorted[want];
    Labels mask(uz(full.size()), outside);
    for (int p = 0; p < full.size(); ++p)
        if (rho[uz(p)] < threshold) mask[uz(p)] = 0;
    tidy_county(full, mask);

    // Crop to the county with a margin of outside pixels.
    int imin = full.w, imax = -1, jmin = full.h, jmax = -1;
    for (int p = 0; p < full.size(); ++p)
        if (mask[uz(p)] == 0) {
            imin = std::min(imin, p % full.w);
            imax = std::max(imax, p % full.w);
            jmin = std::min(jmin, p / full.w);
            jmax = std::max(jmax, p / full.w);
        }
    if (imin < 3 || jmin < 3 || imax > full.w - 4 || jmax > full.h - 4)
        throw LibraryError("Jishan sample: the county outline leaves the lattice");
    constexpr int margin = 3;
    County c;
    c.lat = Lattice{imax - imin + 1 + 2 * margin, jmax - jmin + 1 + 2 * margin,
                    full.u0 + (imin - margin) * lattice_m, full.v0 + (jmin - margin) * lattice_m};
    c.mask.assign(uz(c.lat.size()), outside);
    for (int j = 0; j < c.lat.h; ++j)
        for (int i = 0; i < c.lat.w; ++i) {
            const int fi = i + imin - margin, fj = j + jmin - margin;
            c.mask[uz(c.lat.at(i, j))] = mask[uz(full.at(fi, fj))];
        }
    return c;
}

// ---- growing regions -------------------------------------------------------------------

struct Child {
    int seed = 0;         // pixel
    int parent = 0;       // label of the parent region the child grows in
    double target = 1.0;  // pixels
    bool fixed = false;   // seed never moved by Lloyd steps
    double stretch = 1.0; // anisotropy: regions grow this much longer along angle
    double angle = 0.0;
};

// Step lengths of the 8 neighbour moves in a child's stretched metric (area-neutral).
std::array<double, 8> step_lengths(const Child& k) {
    static constexpr int off[8][2] = {{1, 0}, {-1, 0}, {0, 1},  {0, -1},
                                      {1, 1}, {-1, 1}, {1, -1}, {-1, -1}};
    const double c = std::cos(k.angle), s = std::sin(k.angle), r = std::sqrt(k.stretch);
    std::array<double, 8> out{};
    for (Sz d = 0; d < 8; ++d) {
        const double a = off[d][0] * c + off[d][1] * s, b = -off[d][0] * s + off[d][1] * c;
        out[d] = std::hypot(a / r, b * r);
    }
    return out;
}

// The cost of a step through each pixel: smooth log-normal noise, so borders wander.
std::vector<float> cost_field(const Lattice& lat, std::uint64_t seed, double scale_m) {
    return smooth_field(lat, [&](double u, double v) {
        return std::exp(1.1 * detail::fbm(seed, u / scale_m, v / scale_m, 4));
    });
}

struct QueueItem {
    double key;
    int px;
    int kid;
};

// A bucket queue (Dial's algorithm) over keys cut into quanta, much cheaper than a heap.
// Dijkstra never pushes a key below the one last popped, nor more than one step above it,
// so a ring of buckets spanning the largest step suffices. Within a quantum, items pop in
// reverse push order: the order is approximate (to a quarter of the smallest step) but
// fixed by the pushes, so the result is deterministic.
class BucketQueue {
  public:
    BucketQueue(double quantum, double max_step)
        : m_quantum(quantum), m_buckets(static_cast<Sz>(max_step / quantum) + 2) {}
    [[nodiscard]] bool empty() const { return m_size == 0; }
    void push(const QueueItem& it) {
        const auto slot = static_cast<Sz>(it.key / m_quantum);
        m_buckets[slot % m_buckets.size()].push_back(it);
        ++m_size;
    }
    QueueItem pop() {
        while (m_buckets[m_current % m_buckets.size()].empty())
            ++m_current;
        auto& bucket = m_buckets[m_current % m_buckets.size()];
        const QueueItem it = bucket.back();
        bucket.pop_back();
        --m_size;
        return it;
    }

  private:
    double m_quantum;
    std::vector<std::vector<QueueItem>> m_buckets;
    Sz m_current = 0;
    Sz m_size = 0;
};

// One parent region copied into a small padded frame, so the Dijkstra below touches only
// compact local arrays and needs no bounds checks (the frame's border is blocked).
struct Frame {
    int i0 = 0; // lattice column of frame column 1
    int j0 = 0;
    int w = 0; // frame width including the 1-pixel border
    int h = 0;
    Labels blank; // outside for the parent's pixels, blocked elsewhere
    std::vector<float> cost;
    double min_cost = inf, max_cost = 0; // over the parent's pixels
    [[nodiscard]] int local(const Lattice& lat, int gp) const {
        return (gp / lat.w - j0 + 1) * w + (gp % lat.w - i0 + 1);
    }
    [[nodiscard]] int global(const Lattice& lat, int q) const {
        return lat.at(q % w - 1 + i0, q / w - 1 + j0);
    }
};

constexpr int blocked = -3;

// One weighted multi-source Dijkstra inside one parent: a pixel belongs to the seed with the
// least (path cost / weight), paths stay inside the parent. Every pixel's predecessor has its
// label, so regions come out connected (up to diagonal steps, which tidy() repairs). Writes
// kid indices into lab (frame-local).
void dijkstra(const Lattice& lat, const Frame& f, const std::vector<Child>& kids,
              const std::vector<int>& ids, const std::vector<double>& weight,
              const std::vector<std::array<double, 8>>& steps, Labels& lab,
              std::vector<double>& dist) {
    lab = f.blank;
    dist.assign(f.blank.size(), inf);
    // Quantum and ring size from the smallest and largest single steps of this run.
    double lo = inf, hi = 0;
    for (int k : ids) {
        const auto& len = steps[uz(k)];
        lo = std::min(lo, *std::min_element(len.begin(), len.end()) * f.min_cost / weight[uz(k)]);
        hi = std::max(hi, *std::max_element(len.begin(), len.end()) * f.max_cost / weight[uz(k)]);
    }
    // A huge ring would only mean a very uneven run; coarser quanta keep it bounded.
    const double quantum = std::max(0.25 * lo, hi / 200000.0);
    BucketQueue heap(quantum, hi);
    for (int k : ids) {
        const int q = f.local(lat, kids[uz(k)].seed);
        dist[uz(q)] = 0.0;
        heap.push({0.0, q, k});
    }
    // The same order as step_lengths().
    const int off[8] = {1, -1, f.w, -f.w, f.w + 1, f.w - 1, -f.w + 1, -f.w - 1};
    while (!heap.empty()) {
        const QueueItem it = heap.pop();
        if (lab[uz(it.px)] != outside) continue;
        const double key = it.key;
        lab[uz(it.px)] = it.kid;
        const double inv_w = 1.0 / weight[uz(it.kid)];
        const auto& len = steps[uz(it.kid)];
        const double here = f.cost[uz(it.px)];
        for (Sz d = 0; d < 8; ++d) {
            const int q = it.px + off[d];
            if (lab[uz(q)] != outside) continue;
            const double nd = key + len[d] * 0.5 * (here + f.cost[uz(q)]) * inv_w;
            if (nd < dist[uz(q)]) {
                dist[uz(q)] = nd;
                heap.push({nd, q, it.kid});
            }
        }
    }
}

// Makes every label one 4-connected region without diagonal pinches (two pixels of a label
// touching only at a corner), moving pixels only between labels of the same parent.
void tidy(const Lattice& lat, Labels& lab, const Labels& parent, int nlabels) {
    for (int round = 0; round < 200; ++round) {
        bool changed = false;
        for (int j = 0; j + 1 < lat.h; ++j)
            for (int i = 0; i + 1 < lat.w; ++i) {
                const int pa = lat.at(i, j), pb = lat.at(i + 1, j);
                const int pc = lat.at(i, j + 1), pd = lat.at(i + 1, j + 1);
                const int a = lab[uz(pa)], b = lab[uz(pb)], c = lab[uz(pc)], d = lab[uz(pd)];
                auto take = [&](int from, int alt, int to, int l) {
                    // The parent level has no pinch, so one of the two is in the same parent.
                    if (parent[uz(from)] == parent[uz(to)])
                        lab[uz(from)] = l;
                    else if (parent[uz(alt)] == parent[uz(to)])
                        lab[uz(alt)] = l;
                    else
                        throw LibraryError("Jishan sample: a pinch crosses a parent border");
                    changed = true;
                };
                if (a >= 0 && a == d && b != a && c != a)
                    take(pb, pc, pa, a);
                else if (b >= 0 && b == c && a != b && d != b)
                    take(pa, pd, pb, b);
            }
        int n = 0;
        const auto comp = components(lat, lab, n);
        std::vector<int> size(uz(n), 0);
        for (int p = 0; p < lat.size(); ++p)
            ++size[uz(comp[uz(p)])];
        std::vector<int> best(uz(nlabels), -1);
        for (int p = 0; p < lat.size(); ++p) {
            const int l = lab[uz(p)];
            if (l < 0) continue;
            int& b = best[uz(l)];
            if (b < 0 || size[uz(comp[uz(p)])] > size[uz(b)]) b = comp[uz(p)];
        }
        constexpr int orphan = -2;
        int orphans = 0;
        for (int p = 0; p < lat.size(); ++p) {
            const int l = lab[uz(p)];
            if (l >= 0 && comp[uz(p)] != best[uz(l)]) {
                lab[uz(p)] = orphan;
                ++orphans;
            }
        }
        while (orphans > 0) {
            int fixed = 0;
            for (int p = 0; p < lat.size(); ++p) {
                if (lab[uz(p)] != orphan) continue;
                const int i = p % lat.w, j = p / lat.w;
                const int nb[4][2] = {{i + 1, j}, {i, j + 1}, {i - 1, j}, {i, j - 1}};
                for (const auto& q : nb) {
                    if (q[0] < 0 || q[1] < 0 || q[0] >= lat.w || q[1] >= lat.h) continue;
                    const int r = lat.at(q[0], q[1]);
                    if (lab[uz(r)] >= 0 && parent[uz(r)] == parent[uz(p)]) {
                        lab[uz(p)] = lab[uz(r)];
                        ++fixed;
                        break;
                    }
                }
            }
            if (fixed == 0) throw LibraryError("Jishan sample: a stray fragment has no home");
            orphans -= fixed;
            changed = true;
        }
        if (!changed) {
            std::vector<int> count(uz(nlabels), 0);
            for (int l : lab)
                if (l >= 0) ++count[uz(l)];
            for (int c : count)
                if (c == 0) throw LibraryError("Jishan sample: a region vanished while growing");
            return;
        }
    }
    throw LibraryError("Jishan sample: regions did not settle");
}

// Grows the children of every parent, tuning weights towards the target areas and moving
// seeds to their regions' centres in the first lloyd_steps rounds.
Labels grow(const Lattice& lat, const Labels& parent, const std::vector<float>& cost,
            std::vector<Child>& kids, int iterations, int lloyd_steps) {
    int nparents = 0;
    for (const auto& k : kids)
        nparents = std::max(nparents, k.parent + 1);
    std::vector<std::vector<int>> ids(uz(nparents));
    for (Sz k = 0; k < kids.size(); ++k)
        ids[uz(kids[k].parent)].push_back(static_cast<int>(k));
    std::vector<Frame> frames(uz(nparents));
    {
        std::vector<int> i1(uz(nparents), -1), j1(uz(nparents), -1);
        for (auto& f : frames)
            f.i0 = f.j0 = std::numeric_limits<int>::max();
        for (int p = 0; p < lat.size(); ++p) {
            const int par = parent[uz(p)];
            if (par < 0 || par >= nparents) continue;
            auto& f = frames[uz(par)];
            f.i0 = std::min(f.i0, p % lat.w);
            f.j0 = std::min(f.j0, p / lat.w);
            i1[uz(par)] = std::max(i1[uz(par)], p % lat.w);
            j1[uz(par)] = std::max(j1[uz(par)], p / lat.w);
        }
        for (int par = 0; par < nparents; ++par) {
            auto& f = frames[uz(par)];
            if (i1[uz(par)] < 0) continue;
            f.w = i1[uz(par)] - f.i0 + 3;
            f.h = j1[uz(par)] - f.j0 + 3;
            f.blank.assign(uz(f.w * f.h), blocked);
            f.cost.assign(uz(f.w * f.h), 0.0f);
            for (int q = 0; q < f.w * f.h; ++q) {
                const int fi = q % f.w, fj = q / f.w;
                if (fi == 0 || fj == 0 || fi == f.w - 1 || fj == f.h - 1) continue;
                const int gp = f.global(lat, q);
                if (parent[uz(gp)] != par) continue;
                f.blank[uz(q)] = outside;
                f.cost[uz(q)] = cost[uz(gp)];
                f.min_cost = std::min(f.min_cost, static_cast<double>(cost[uz(gp)]));
                f.max_cost = std::max(f.max_cost, static_cast<double>(cost[uz(gp)]));
            }
        }
    }

    std::vector<double> weight(kids.size());
    std::vector<std::array<double, 8>> steps(kids.size());
    for (Sz k = 0; k < kids.size(); ++k) {
        weight[k] = std::sqrt(kids[k].target);
        steps[k] = step_lengths(kids[k]);
    }
    Labels out(uz(lat.size()), outside);
    std::vector<double> area(kids.size()), su(kids.size()), sv(kids.size()), best(kids.size());
    std::vector<int> best_px(kids.size());
    // Parents are independent (each touches only its own kids, weights and pixels), so they
    // are shared among threads; the result does not depend on which thread ran which.
    auto run = [&](int par, Labels& lab, std::vector<double>& dist) {
        const Frame& f = frames[uz(par)];
        const auto& mine = ids[uz(par)];
        if (mine.empty()) return;
        for (int it = 0; it < iterations; ++it) {
            dijkstra(lat, f, kids, mine, weight, steps, lab, dist);
            if (it + 1 == iterations) break;
            for (int k : mine)
                area[uz(k)] = su[uz(k)] = sv[uz(k)] = 0.0;
            for (int q = 0; q < f.w * f.h; ++q) {
                const int l = lab[uz(q)];
                if (l < 0) continue;
                area[uz(l)] += 1.0;
                su[uz(l)] += q % f.w;
                sv[uz(l)] += q / f.w;
            }
            for (int k : mine) {
                const double r =
                    area[uz(k)] > 0 ? std::sqrt(kids[uz(k)].target / area[uz(k)]) : 2.0;
                weight[uz(k)] *= std::clamp(r, 0.6, 1.6);
            }
            if (it >= lloyd_steps) continue;
            // Move each seed to its region's pixel nearest the region's centroid.
            for (int k : mine) {
                best[uz(k)] = inf;
                best_px[uz(k)] = -1;
            }
            for (int q = 0; q < f.w * f.h; ++q) {
                const int l = lab[uz(q)];
                if (l < 0 || kids[uz(l)].fixed) continue;
                const double du = q % f.w - su[uz(l)] / area[uz(l)];
                const double dv = q / f.w - sv[uz(l)] / area[uz(l)];
                const double d = du * du + dv * dv;
                if (d < best[uz(l)]) {
                    best[uz(l)] = d;
                    best_px[uz(l)] = q;
                }
            }
            for (int k : mine)
                if (best_px[uz(k)] >= 0) kids[uz(k)].seed = f.global(lat, best_px[uz(k)]);
        }
        for (int q = 0; q < f.w * f.h; ++q)
            if (lab[uz(q)] >= 0) out[uz(f.global(lat, q))] = lab[uz(q)];
    };
    std::atomic<int> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto worker = [&] {
        try {
            Labels lab;
            std::vector<double> dist;
            for (int par = next++; par < nparents; par = next++)
                run(par, lab, dist);
        } catch (...) {
            const std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::current_exception();
        }
    };
    const int nthreads = std::min(
        nparents, static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u)));
    std::vector<std::thread> pool;
    for (int t = 1; t < nthreads; ++t)
        pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
        t.join();
    if (failure) std::rethrow_exception(failure);
    return out;
}

// A region whose only neighbour is one sibling would become a polygon with a hole in it.
// The pair is grown again from two far-apart pixels on its outer edge, so both halves
// reach the edge. Then tidied like any level.
void open_enclaves(const Lattice& lat, Labels& lab, const Labels& parent,
                   const std::vector<float>& cost, int nlabels) {
    for (int round = 0; round < 20; ++round) {
        constexpr int none = -2, many = -3;
        std::vector<int> neighbour(uz(nlabels), none);
        for (int j = 0; j < lat.h; ++j)
            for (int i = 0; i < lat.w; ++i) {
                const int a = lab[uz(lat.at(i, j))];
                if (a < 0) continue;
                for (const auto& q : {std::pair{i + 1, j}, {i - 1, j}, {i, j + 1}, {i, j - 1}}) {
                    const int b = label_at(lat, lab, q.first, q.second);
                    if (b == a) continue;
                    int& n = neighbour[uz(a)];
                    n = n == none || n == b ? b : many;
                }
            }
        int inner = -1, outer = -1;
        for (int a = 0; a < nlabels && inner < 0; ++a) {
            const int b = neighbour[uz(a)];
            if (b < 0) continue;
            int pa = -1, pb = -1;
            for (int p = 0; p < lat.size() && (pa < 0 || pb < 0); ++p) {
                if (lab[uz(p)] == a) pa = parent[uz(p)];
                if (lab[uz(p)] == b) pb = parent[uz(p)];
            }
            if (pa == pb) {
                inner = a;
                outer = b;
            }
        }
        if (inner < 0) return;
        Labels pair_parent(uz(lat.size()), outside);
        std::vector<int> pixels;
        double cu = 0, cv = 0, n_inner = 0;
        for (int p = 0; p < lat.size(); ++p)
            if (lab[uz(p)] == inner || lab[uz(p)] == outer) {
                pair_parent[uz(p)] = 0;
                pixels.push_back(p);
                cu += p % lat.w;
                cv += p / lat.w;
                n_inner += lab[uz(p)] == inner;
            }
        cu /= static_cast<double>(pixels.size());
        cv /= static_cast<double>(pixels.size());
        auto farthest = [&](double fu, double fv) {
            int best = pixels.front();
            double best_d = -1;
            for (int p : pixels) {
                const double du = p % lat.w - fu, dv = p / lat.w - fv;
                if (du * du + dv * dv > best_d) {
                    best_d = du * du + dv * dv;
                    best = p;
                }
            }
            return best;
        };
        const int p1 = farthest(cu, cv);
        const int p2 = farthest(p1 % lat.w, p1 / lat.w);
        std::vector<Child> two(2);
        two[0].seed = p1;
        two[0].target = n_inner;
        two[1].seed = p2;
        two[1].target = static_cast<double>(pixels.size()) - n_inner;
        const Labels grown = grow(lat, pair_parent, cost, two, 5, 0);
        for (int p : pixels)
            lab[uz(p)] = grown[uz(p)] == 0 ? inner : outer;
        tidy(lat, lab, parent, nlabels);
    }
    throw LibraryError("Jishan sample: enclosed regions did not open");
}

// Chamfer distance (pixels) to the nearest pixel of another label.
std::vector<float> border_distance(const Lattice& lat, const Labels& lab) {
    std::vector<float> d(uz(lat.size()), 1e9f);
    for (int j = 0; j < lat.h; ++j)
        for (int i = 0; i < lat.w; ++i) {
            const int l = lab[uz(lat.at(i, j))];
            if (label_at(lat, lab, i + 1, j) != l || label_at(lat, lab, i - 1, j) != l ||
                label_at(lat, lab, i, j + 1) != l || label_at(lat, lab, i, j - 1) != l)
                d[uz(lat.at(i, j))] = 0.0f;
        }
    auto relax = [&](int i, int j, int di, int dj, float step) {
        const int qi = i + di, qj = j + dj;
        if (qi < 0 || qj < 0 || qi >= lat.w || qj >= lat.h) return;
        float& here = d[uz(lat.at(i, j))];
        here = std::min(here, d[uz(lat.at(qi, qj))] + step);
    };
    for (int j = 0; j < lat.h; ++j)
        for (int i = 0; i < lat.w; ++i) {
            relax(i, j, -1, 0, 1.0f);
            relax(i, j, 0, -1, 1.0f);
            relax(i, j, -1, -1, 1.4142f);
            relax(i, j, 1, -1, 1.4142f);
        }
    for (int j = lat.h - 1; j >= 0; --j)
        for (int i = lat.w - 1; i >= 0; --i) {
            relax(i, j, 1, 0, 1.0f);
            relax(i, j, 0, 1, 1.0f);
            relax(i, j, 1, 1, 1.4142f);
            relax(i, j, -1, 1, 1.4142f);
        }
    return d;
}

// Best-candidate sampling: of a few random pixels of the pool, the one farthest from the
// seeds already placed in the same parent and from the parent's border.
int pick_seed(Rng& rng, const Lattice& lat, const std::vector<int>& pool,
              const std::vector<int>& placed, const std::vector<float>& border) {
    int best = pool.front();
    double best_score = -1.0;
    for (int c = 0; c < 14; ++c) {
        const int p = pool[rng.below(pool.size())];
        double score = 1.5 * border[uz(p)];
        for (int q : placed) {
            const double du = p % lat.w - q % lat.w, dv = p / lat.w - q / lat.w;
            score = std::min(score, std::sqrt(du * du + dv * dv));
        }
        if (score > best_score) {
            best_score = score;
            best = p;
        }
    }
    return best;
}

// The pixels of the pool nearest to (u, v) local metres, at least n of them.
std::vector<int> nearest_pixels(const Lattice& lat, const std::vector<int>& pool, double u,
                                double v, Sz n) {
    std::vector<std::pair<double, int>> d;
    d.reserve(pool.size());
    for (int p : pool) {
        const double du = lat.u_of(p) - u, dv = lat.v_of(p) - v;
        d.emplace_back(du * du + dv * dv, p);
    }
    n = std::min(std::max<Sz>(n, 1), d.size());
    std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(n), d.end());
    std::vector<int> out;
    for (Sz k = 0; k < n; ++k)
        out.push_back(d[k].second);
    return out;
}

// ---- the plan: households, cells and areas -----------------------------------------------

enum class Kind { community, devzone, centre, seat, rural };

bool is_town(Kind k) {
    return k == Kind::community || k == Kind::devzone || k == Kind::centre;
}

struct VillagePlan {
    int township = 0;
    Kind kind = Kind::rural;
    double households = 0;
    int cells = 0;
    double km2 = 0; // target area
};

struct TownshipLayout {
    const char* code;
    double u_km, v_km;  // where the township lies relative to Jifeng
    double cell_factor; // rural cell size relative to the county's average
};

// Roughly where the units lie (hills in the north have bigger, emptier cells).
constexpr TownshipLayout layouts[] = {
    {"140824100", -1.0, 5.0, 0.85},   {"140824101", 9.0, 13.0, 1.45},
    {"140824102", -3.0, 14.0, 1.3},   {"140824103", -10.0, 3.5, 1.0},
    {"140824104", -15.0, 11.0, 1.25}, {"140824200", -18.0, 1.5, 1.0},
    {"140824201", 9.0, 2.5, 0.95},    {"140824400", 0.0, 0.0, 1.0},
    {"140824401", 2.35, -0.45, 1.0}};

const TownshipLayout& layout_of(const std::string& code) {
    for (const auto& l : layouts)
        if (code == l.code) return l;
    throw DataError("Jishan sample: no layout for township " + code);
}

// Cells per village from its households, rounded by largest remainder to exactly 398.
void allocate_cells(std::vector<VillagePlan>& plans) {
    std::vector<double> quota(plans.size());
    double sum = 0;
    for (Sz v = 0; v < plans.size(); ++v) {
        quota[v] = plans[v].households / (is_town(plans[v].kind) ? 400.0 : 300.0);
        sum += quota[v];
    }
    int assigned = 0;
    for (Sz v = 0; v < plans.size(); ++v) {
        quota[v] *= total_cells / sum;
        plans[v].cells = std::max(1, static_cast<int>(std::floor(quota[v])));
        assigned += plans[v].cells;
    }
    std::vector<Sz> order(plans.size());
    for (Sz v = 0; v < order.size(); ++v)
        order[v] = v;
    auto rem = [&](Sz v) { return quota[v] - plans[v].cells; };
    std::stable_sort(order.begin(), order.end(), [&](Sz x, Sz y) { return rem(x) > rem(y); });
    for (Sz k = 0; assigned < total_cells; k = (k + 1) % order.size()) {
        ++plans[order[k]].cells;
        ++assigned;
    }
    for (Sz k = order.size(); assigned > total_cells && k-- > 0;)
        if (plans[order[k]].cells > 1) {
            --plans[order[k]].cells;
            --assigned;
        }
    if (assigned != total_cells) throw LibraryError("Jishan sample: cell allocation failed");
}

std::string strip_suffix(std::string name) {
    static const std::array<std::string, 2> suffixes = {"村委会", "居委会"};
    for (const auto& suffix : suffixes)
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            return name.substr(0, name.size() - suffix.size());
    return name;
}

// ---- chains ----------------------------------------------------------------------------

struct Corner {
    int i;
    int j;
    friend bool operator==(const Corner&, const Corner&) = default;
};

struct Chain {
    std::vector<Corner> raw; // unit steps along pixel edges
    int left = outside;      // cell label on the left of raw's direction
    int right = outside;
    int level = 3;               // smoothing level, lowered when the smoothed chain touches another
    std::vector<geo::Point> pts; // smoothed, in lattice corner units
};

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

// Marks (lowers the level of) chains whose smoothed lines touch another chain anywhere but
// at shared end nodes, or themselves. Returns how many chains were lowered.
int lower_conflicting(std::vector<Chain>& chains, const Lattice& lat) {
    struct Seg {
        int chain;
        int k;
    };
    constexpr int bucket = 8;
    const int bw = lat.w / bucket + 2, bh = lat.h / bucket + 2;
    std::vector<std::vector<Seg>> grid(uz(bw * bh));
    for (Sz c = 0; c < chains.size(); ++c) {
        const auto& pts = chains[c].pts;
        for (Sz k = 0; k + 1 < pts.size(); ++k) {
            const auto& a = pts[k];
            const auto& b = pts[k + 1];
            const int i0 = static_cast<int>(std::floor(std::min(a.x, b.x))) / bucket;
            const int i1 = static_cast<int>(std::floor(std::max(a.x, b.x))) / bucket;
            const int j0 = static_cast<int>(std::floor(std::min(a.y, b.y))) / bucket;
            const int j1 = static_cast<int>(std::floor(std::max(a.y, b.y))) / bucket;
            for (int j = j0; j <= j1; ++j)
                for (int i = i0; i <= i1; ++i)
                    grid[uz(j * bw + i)].push_back({static_cast<int>(c), static_cast<int>(k)});
        }
    }
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
    for (const auto& cell : grid)
        for (Sz x = 0; x < cell.size(); ++x)
            for (Sz y = x + 1; y < cell.size(); ++y)
                if (check(cell[x], cell[y])) {
                    bad[uz(cell[x].chain)] = 1;
                    bad[uz(cell[y].chain)] = 1;
                }
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

// One polygon per unit (shell first), in both metric and lon/lat coordinates.
struct LevelPolygons {
    std::vector<geo::Polygon> metric;
    std::vector<geo::Polygon> lonlat;
};

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

} // namespace

grid::Grid generate_jishan_grid(const JishanOptions& options) {
    const std::uint64_t seed = options.seed;
    const auto& townships = jishan_townships();
    const auto& villages = jishan_villages();
    // One transformer both ways: creating one costs PROJ a database search.
    const geo::Transformer lonlat_metric("EPSG:4326", detail::metric_crs);
    const geo::Point origin = detail::local_origin(lonlat_metric);
    const detail::FenRiver river(seed);

    // ---- plan: households, cells and target areas per village ----
    std::vector<VillagePlan> plans(villages.size());
    {
        Rng rng(substream(seed, 0x11));
        for (Sz v = 0; v < villages.size(); ++v) {
            const auto& vc = villages[v];
            auto& p = plans[v];
            p.township = -1;
            for (Sz t = 0; t < townships.size(); ++t)
                if (townships[t].code == vc.parent_code) p.township = static_cast<int>(t);
            if (p.township < 0) throw DataError("Jishan sample: village without township");
            const std::string& tcode = vc.parent_code;
            const std::string tail = vc.code.substr(9);
            if (tcode == "140824400")
                p.kind = Kind::community;
            else if (tcode == "140824401")
                p.kind = Kind::devzone;
            else if (tcode == "140824100" && tail >= "200" && tail <= "204")
                p.kind = Kind::centre;
            else if (tail == "200")
                p.kind = Kind::seat;
            else
                p.kind = Kind::rural;
            switch (p.kind) {
            case Kind::community:
                p.households = rng.range(1400, 2400);
                break;
            case Kind::devzone:
                p.households = rng.range(1100, 1400);
                break;
            case Kind::centre:
                p.households = rng.range(1000, 1600);
                break;
            case Kind::seat:
                p.households = rng.range(800, 1200);
                break;
            case Kind::rural:
                p.households = rng.range(560, 940);
                break;
            }
        }
        allocate_cells(plans);
    }

    // ---- the county ----
    const County county = make_county(seed, river);
    const Lattice& lat = county.lat;
    long county_px = 0;
    for (int l : county.mask)
        county_px += l == 0;

    // Target areas: town cells have fixed sizes, rural ones share what is left.
    {
        Rng rng(substream(seed, 0x12));
        double town = 0, rural = 0;
        for (auto& p : plans) {
            const double f = layout_of(townships[uz(p.township)].code).cell_factor;
            switch (p.kind) {
            case Kind::community:
                p.km2 = p.cells * 0.22 * rng.range(0.8, 1.2);
                break;
            case Kind::devzone:
                p.km2 = p.cells * 0.35;
                break;
            case Kind::centre:
                p.km2 = p.cells * 0.3 * rng.range(0.85, 1.15);
                break;
            case Kind::seat:
                p.km2 = p.cells * f * 0.65;
                break;
            case Kind::rural:
                p.km2 = p.cells * f * rng.range(0.8, 1.25);
                break;
            }
            (is_town(p.kind) ? town : rural) += p.km2;
        }
        const double scale = (county_px * pixel_m2 / 1e6 - town) / rural;
        for (auto& p : plans)
            if (!is_town(p.kind)) p.km2 *= scale;
    }

    std::vector<int> county_pixels;
    for (int p = 0; p < lat.size(); ++p)
        if (county.mask[uz(p)] == 0) county_pixels.push_back(p);

    // ---- townships ----
    Labels tlab;
    std::vector<Child> tkids(townships.size());
    {
        Rng rng(substream(seed, 0x21));
        for (Sz t = 0; t < townships.size(); ++t) {
            const auto& lay = layout_of(townships[t].code);
            const bool town = townships[t].code == "140824400" || townships[t].code == "140824401";
            const double ju = town ? rng.range(-100, 100) : rng.range(-900, 900);
            const double jv = town ? rng.range(-100, 100) : rng.range(-900, 900);
            auto& k = tkids[t];
            k.seed =
                nearest_pixels(lat, county_pixels, lay.u_km * 1000 + ju, lay.v_km * 1000 + jv, 1)
                    .front();
            k.parent = 0;
            k.fixed = town;
            // The town stretches along the river; the rest a little, any way.
            k.stretch = townships[t].code == "140824400" ? 1.7 : rng.range(1.0, 1.35);
            k.angle =
                townships[t].code == "140824400" ? rng.range(-0.15, 0.15) : rng.range(0.0, pi);
            for (const auto& p : plans)
                if (p.township == static_cast<int>(t)) k.target += p.km2 * 1e6 / pixel_m2;
        }
        const auto cost = cost_field(lat, substream(seed, 0x22), 2400.0);
        tlab = grow(lat, county.mask, cost, tkids, 6, 2);
        tidy(lat, tlab, county.mask, static_cast<int>(townships.size()));
        open_enclaves(lat, tlab, county.mask, cost, static_cast<int>(townships.size()));
    }

    // ---- villages ----
    Labels vlab;
    std::vector<Child> vkids(villages.size());
    {
        Rng rng(substream(seed, 0x31));
        std::vector<std::vector<int>> pool(townships.size());
        std::vector<double> tpx(townships.size(), 0);
        for (int p = 0; p < lat.size(); ++p)
            if (tlab[uz(p)] >= 0) {
                pool[uz(tlab[uz(p)])].push_back(p);
                tpx[uz(tlab[uz(p)])] += 1;
            }
        const auto border = border_distance(lat, tlab);
        std::vector<std::vector<int>> placed(townships.size());
        std::vector<double> tsum(townships.size(), 0);
        for (const auto& p : plans)
            tsum[uz(p.township)] += p.km2;
        // Villages with a place first: the town centre around Jifeng, township seats at the
        // township's seed.
        std::vector<Sz> order;
        for (Sz v = 0; v < plans.size(); ++v)
            if (plans[v].kind == Kind::centre || plans[v].kind == Kind::seat) order.push_back(v);
        for (Sz v = 0; v < plans.size(); ++v)
            if (plans[v].kind != Kind::centre && plans[v].kind != Kind::seat) order.push_back(v);
        for (Sz v : order) {
            const auto& p = plans[v];
            const Sz t = uz(p.township);
            auto& k = vkids[v];
            k.parent = p.township;
            k.target = p.km2 / tsum[t] * tpx[t];
            k.stretch = rng.range(1.0, 1.35);
            k.angle = rng.range(0.0, pi);
            if (p.kind == Kind::centre || p.kind == Kind::seat) {
                const int s = tkids[t].seed;
                const double au = p.kind == Kind::centre ? 0.0 : lat.u_of(s);
                const double av = p.kind == Kind::centre ? 0.0 : lat.v_of(s);
                const auto near =
                    nearest_pixels(lat, pool[t], au, av, static_cast<Sz>(k.target * 3));
                k.seed = pick_seed(rng, lat, near, placed[t], border);
            } else {
                k.seed = pick_seed(rng, lat, pool[t], placed[t], border);
            }
            placed[t].push_back(k.seed);
        }
        const auto cost = cost_field(lat, substream(seed, 0x32), 1100.0);
        vlab = grow(lat, tlab, cost, vkids, 6, 2);
        tidy(lat, vlab, tlab, static_cast<int>(villages.size()));
        open_enclaves(lat, vlab, tlab, cost, static_cast<int>(villages.size()));
    }

    // ---- cells ----
    Labels clab;
    std::vector<Child> ckids;
    std::vector<int> cell_village;
    {
        Rng rng(substream(seed, 0x41));
        std::vector<std::vector<int>> pool(villages.size());
        for (int p = 0; p < lat.size(); ++p)
            if (vlab[uz(p)] >= 0) pool[uz(vlab[uz(p)])].push_back(p);
        const auto border = border_distance(lat, vlab);
        for (Sz v = 0; v < villages.size(); ++v) {
            std::vector<double> share(uz(plans[v].cells));
            double sum = 0;
            for (auto& s : share)
                sum += (s = rng.range(0.85, 1.15));
            std::vector<int> placed;
            for (int c = 0; c < plans[v].cells; ++c) {
                Child k;
                k.parent = static_cast<int>(v);
                k.target = share[uz(c)] / sum * static_cast<double>(pool[v].size());
                k.seed = pick_seed(rng, lat, pool[v], placed, border);
                k.stretch = rng.range(1.0, 1.3);
                k.angle = rng.range(0.0, pi);
                placed.push_back(k.seed);
                ckids.push_back(k);
                cell_village.push_back(static_cast<int>(v));
            }
        }
        const auto cost = cost_field(lat, substream(seed, 0x42), 450.0);
        clab = grow(lat, vlab, cost, ckids, 5, 2);
        tidy(lat, clab, vlab, static_cast<int>(ckids.size()));
        open_enclaves(lat, clab, vlab, cost, static_cast<int>(ckids.size()));
    }
    const int ncells = static_cast<int>(ckids.size());

    // ---- polygons of every level from the same chains ----
    std::vector<int> cell_of(uz(ncells)), village_of(uz(ncells)), township_of(uz(ncells)),
        county_of(uz(ncells), 0);
    for (int c = 0; c < ncells; ++c) {
        cell_of[uz(c)] = c;
        village_of[uz(c)] = cell_village[uz(c)];
        township_of[uz(c)] = plans[uz(cell_village[uz(c)])].township;
    }
    struct Level {
        const std::vector<int>* unit_of;
        int units;
    };
    const std::array<Level, 4> levels = {
        Level{&cell_of, ncells}, Level{&village_of, static_cast<int>(villages.size())},
        Level{&township_of, static_cast<int>(townships.size())}, Level{&county_of, 1}};
    std::array<LevelPolygons, 4> polys;

    std::vector<Chain> chains = ChainBuilder(lat, clab).build();
    for (auto& c : chains)
        c.pts = smooth(c.raw, c.level);
    const geo::GeosContext ctx;
    for (int attempt = 0;; ++attempt) {
        for (int round = 0; lower_conflicting(chains, lat) > 0; ++round)
            if (round > 8) throw LibraryError("Jishan sample: boundary smoothing did not settle");
        // Every chain goes to lon/lat once; shared ends are the same input, so the same output.
        std::vector<std::vector<geo::Point>> metric(chains.size()), lonlat(chains.size());
        const double ox = origin.x + lat.u0, oy = origin.y + lat.v0;
        std::vector<geo::Point> all;
        for (Sz c = 0; c < chains.size(); ++c) {
            for (const auto& p : chains[c].pts)
                metric[c].push_back({ox + p.x * lattice_m, oy + p.y * lattice_m});
            all.insert(all.end(), metric[c].begin(), metric[c].end());
        }
        lonlat_metric.inverse(std::span<geo::Point>(all));
        Sz at = 0;
        for (Sz c = 0; c < chains.size(); ++c)
            for (Sz k = 0; k < metric[c].size(); ++k)
                lonlat[c].push_back(all[at++]);
        for (Sz l = 0; l < levels.size(); ++l)
            polys[l] =
                level_polygons(chains, metric, lonlat, *levels[l].unit_of, levels[l].units, lat);
        // The construction should make every polygon valid; GEOS has the last word, and a
        // unit it rejects gets less smoothing on all its chains.
        bool valid = true;
        for (Sz l = 0; l < levels.size(); ++l)
            for (int u = 0; u < levels[l].units; ++u) {
                const auto gg = ctx.from(polys[l].lonlat[uz(u)]);
                if (gg.is_valid()) continue;
                valid = false;
                const auto& unit_of = *levels[l].unit_of;
                for (auto& c : chains) {
                    const bool mine = (c.left >= 0 && unit_of[uz(c.left)] == u) ||
                                      (c.right >= 0 && unit_of[uz(c.right)] == u);
                    if (!mine || c.level == 0) continue;
                    --c.level;
                    c.pts = smooth(c.raw, c.level);
                }
                if (attempt >= 4)
                    throw LibraryError("Jishan sample: invalid polygon: " + gg.invalid_reason());
            }
        if (valid) break;
    }
    const auto& cell_polys = polys[0];
    const auto& village_polys = polys[1];
    const auto& township_polys = polys[2];
    const auto& county_polys = polys[3];

    // ---- the grid ----
    grid::Grid g;
    auto mp = [](const geo::Polygon& p) { return geo::MultiPolygon{{p}}; };
    g.units.push_back({grid::UnitLevel::county, jishan_county_code, jishan_county_name, "",
                       mp(county_polys.lonlat[0])});
    for (Sz t = 0; t < townships.size(); ++t)
        g.units.push_back({grid::UnitLevel::township, townships[t].code, townships[t].name,
                           jishan_county_code, mp(township_polys.lonlat[t])});
    for (Sz v = 0; v < villages.size(); ++v)
        g.units.push_back({grid::UnitLevel::village, villages[v].code, villages[v].name,
                           villages[v].parent_code, mp(village_polys.lonlat[v])});

    // Cell numbering inside a village: rows are bands of northing of the typical cell size
    // (sqrt(village area / cells)) counted down from the northernmost cell centroid; within
    // a row cells go west to east by centroid easting.
    Rng rng(substream(seed, 0x51));
    for (Sz v = 0; v < villages.size(); ++v) {
        std::vector<int> mine;
        for (int c = 0; c < ncells; ++c)
            if (cell_village[uz(c)] == static_cast<int>(v)) mine.push_back(c);
        std::vector<geo::Point> cen;
        double ymax = -inf;
        for (int c : mine) {
            cen.push_back(centroid(cell_polys.metric[uz(c)]));
            ymax = std::max(ymax, cen.back().y);
        }
        const double band =
            std::sqrt(geo::planar_area(village_polys.metric[v]) / static_cast<double>(mine.size()));
        std::vector<Sz> order(mine.size());
        for (Sz k = 0; k < order.size(); ++k)
            order[k] = k;
        auto row = [&](Sz k) { return static_cast<long>(std::floor((ymax - cen[k].y) / band)); };
        std::sort(order.begin(), order.end(), [&](Sz x, Sz y) {
            if (row(x) != row(y)) return row(x) < row(y);
            if (cen[x].x != cen[y].x) return cen[x].x < cen[y].x;
            return cen[x].y > cen[y].y;
        });
        const auto& plan = plans[v];
        const bool town = is_town(plan.kind);
        const double lo = town ? 310 : 255, hi = town ? 490 : 345;
        const double avg = std::clamp(plan.households / plan.cells, lo, hi);
        const std::string base = strip_suffix(villages[v].name);
        for (Sz n = 0; n < order.size(); ++n) {
            grid::Cell cell;
            char seq[8];
            std::snprintf(seq, sizeof seq, "%02d", static_cast<int>(n + 1));
            cell.code = villages[v].code + seq;
            cell.name = base + "第" + std::to_string(n + 1) + "网格";
            cell.village_code = villages[v].code;
            cell.township_code = villages[v].parent_code;
            cell.county_code = jishan_county_code;
            cell.households = std::llround(std::clamp(avg * rng.range(0.92, 1.08), lo, hi));
            cell.population =
                std::llround(static_cast<double>(cell.households) * rng.range(2.6, 3.2));
            cell.geometry = mp(cell_polys.lonlat[uz(mine[order[n]])]);
            g.cells.push_back(std::move(cell));
        }
    }
    std::sort(g.cells.begin(), g.cells.end(),
              [](const grid::Cell& a, const grid::Cell& b) { return a.code < b.code; });

    return g;
}

} // namespace wangge::sample
