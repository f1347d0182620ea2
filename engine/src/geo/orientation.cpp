#include "wangge/geo/orientation.hpp"

#include <array>

namespace wangge::geo::detail {

namespace {

inline void two_sum(double a, double b, double& s, double& e) noexcept {
    s = a + b;
    const double bv = s - a;
    const double av = s - bv;
    e = (a - av) + (b - bv);
}

inline void two_product(double a, double b, double& p, double& e) noexcept {
    p = a * b;
    e = std::fma(a, b, -p);
}

// Sign of the exact sum of the terms. Each term is added to a nonoverlapping expansion with
// a chain of two-sums (no rounding is lost); the largest component carries the sign.
int exact_sign_of_sum(const std::array<double, 12>& terms) noexcept {
    std::array<double, 13> e{};
    std::size_t n = 0;
    for (const double t : terms) {
        double q = t;
        std::size_t m = 0;
        for (std::size_t i = 0; i < n; ++i) {
            double s = 0, err = 0;
            two_sum(q, e[i], s, err);
            if (err != 0) e[m++] = err;
            q = s;
        }
        if (q != 0) e[m++] = q;
        n = m;
    }
    return n == 0 ? 0 : (e[n - 1] > 0 ? 1 : -1);
}

} // namespace

int orientation_exact(double ax, double ay, double bx, double by, double px, double py) noexcept {
    // (bx-ax)(py-ay) - (by-ay)(px-ax) = bx*py - bx*ay - ax*py - by*px + by*ax + ay*px
    std::array<double, 12> t{};
    two_product(bx, py, t[0], t[1]);
    two_product(-bx, ay, t[2], t[3]);
    two_product(-ax, py, t[4], t[5]);
    two_product(-by, px, t[6], t[7]);
    two_product(by, ax, t[8], t[9]);
    two_product(ay, px, t[10], t[11]);
    return exact_sign_of_sum(t);
}

} // namespace wangge::geo::detail
