// The county outline on the generation lattice: a noisy ellipse cut off along the Fen River,
// scaled to 686 km2, made one 4-connected piece without holes.
#include "jishan_lattice.hpp"
#include "wangge/error.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace wangge::sample::detail {

namespace {

constexpr double county_target_m2 = 686.0e6;

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

} // namespace

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

County make_county(std::uint64_t seed, const FenRiver& river) {
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
        return 0.16 * fbm(nseed, u / 5000.0, v / 5000.0, 4) +
               0.04 * fbm(nseed + 1, u / 1100.0, v / 1100.0, 3);
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

} // namespace wangge::sample::detail
