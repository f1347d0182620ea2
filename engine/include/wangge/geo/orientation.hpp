// The orientation predicate: on which side of the line a -> b does p lie? Exact for every
// double input, so two callers that ask about the same three points always agree (the
// locator relies on that to give a point on a shared edge to exactly one cell).
//
// Fast path: the determinant in doubles with Shewchuk's error bound (ccwerrboundA); only
// when the result is within the bound is the exact expansion evaluated (rare: nearly
// collinear points).
#pragma once

#include "wangge/geo/geometry.hpp"

#include <cmath>

namespace wangge::geo {

namespace detail {
// The exact sign of (bx-ax)(py-ay) - (by-ay)(px-ax); out of line, as it is rarely needed.
[[gnu::noinline]] int orientation_exact(double ax, double ay, double bx, double by, double px,
                                        double py) noexcept;
} // namespace detail

// +1 when p is left of a -> b (a, b, p counter-clockwise), -1 when right, 0 when collinear.
inline int orientation(double ax, double ay, double bx, double by, double px, double py) noexcept {
    const double l = (bx - ax) * (py - ay);
    const double r = (by - ay) * (px - ax);
    const double det = l - r;
    // (3 + 16 eps) eps bounds the error of this evaluation, rounded differences included.
    const double bound = 3.3306690738754716e-16 * (std::abs(l) + std::abs(r));
    if (det > bound) return 1;
    if (-det > bound) return -1;
    return detail::orientation_exact(ax, ay, bx, by, px, py);
}

inline int orientation(Point a, Point b, Point p) noexcept {
    return orientation(a.x, a.y, b.x, b.y, p.x, p.y);
}

} // namespace wangge::geo
