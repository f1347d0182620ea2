// Growing regions inside their parents; see jishan_regions.hpp.
#include "jishan_regions.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>

namespace wangge::sample::detail {

namespace {

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

} // namespace

std::vector<float> cost_field(const Lattice& lat, std::uint64_t seed, double scale_m) {
    return smooth_field(lat, [&](double u, double v) {
        return std::exp(1.1 * fbm(seed, u / scale_m, v / scale_m, 4));
    });
}

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

} // namespace wangge::sample::detail
