// Private to the Jishan grid generator: the 50 m generation lattice, per-pixel labels and
// the county outline on it. Shared by the region growth (jishan_regions.cpp), the boundary
// chains (jishan_chains.cpp) and the generator itself (jishan_grid.cpp).
#pragma once

#include "jishan_internal.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace wangge::sample::detail {

constexpr double pixel_m2 = lattice_m * lattice_m;
constexpr int outside = -1;
constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double pi = 3.14159265358979323846;

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

inline Sz uz(int i) {
    return static_cast<Sz>(i);
}

inline int label_at(const Lattice& lat, const Labels& lab, int i, int j) {
    if (i < 0 || j < 0 || i >= lat.w || j >= lat.h) return outside;
    return lab[uz(lat.at(i, j))];
}

// 4-connected components of equal labels. Returns the component of every pixel.
std::vector<int> components(const Lattice& lat, const Labels& lab, int& count);

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

struct County {
    Lattice lat;
    Labels mask; // 0 inside, outside
};

// The county outline (about 686 km2, cut off along the Fen River), one 4-connected piece
// without holes, cropped to a lattice with a margin of outside pixels.
County make_county(std::uint64_t seed, const FenRiver& river);

} // namespace wangge::sample::detail
