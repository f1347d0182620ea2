// Exact-or-abstain geometric predicates for the coverage validator (private to the engine).
//
// Every predicate here works on the input doubles directly and answers only when floating
// point can decide: orientation uses a static error bound, and anything it cannot settle
// comes back as `unknown`, so the caller asks GEOS instead. This keeps the common case (tens
// of thousands of cells that share edges exactly) away from GEOS while staying exact.
#pragma once

#include "wangge/geo/geometry.hpp"

#include <vector>

namespace wangge::grid::detail {

enum class Answer { yes, no, unknown };

// Sign of the turn a -> b -> c: +1 left (counter-clockwise), -1 right, 0 collinear, or
// `uncertain` (2) when the error bound of the double computation straddles zero.
inline constexpr int uncertain = 2;
[[nodiscard]] int orientation(geo::Point a, geo::Point b, geo::Point c) noexcept;

// A polygon prepared for the predicates: every ring closed, without repeated consecutive
// points, the shell counter-clockwise and the holes clockwise, so the interior is always on
// the left of an edge.
struct Part {
    std::vector<geo::Ring> rings;
    geo::Box box;
};

// Removes repeated consecutive points and closes the ring if it is open.
[[nodiscard]] geo::Ring clean_ring(const geo::Ring& ring);
// Parts from a multipolygon whose rings are already valid; orients them.
[[nodiscard]] std::vector<Part> make_parts(const geo::MultiPolygon& mp);

// Whether one clean closed ring is simple: at least three distinct points, no edge touching
// or crossing another except its neighbours at their shared end, no spike. `unknown` for
// rings too long for the quadratic test or for undecidable orientations.
[[nodiscard]] Answer ring_is_simple(const geo::Ring& ring);

// Whether two valid parts certainly have disjoint interiors. `no` covers both "they
// overlap" and "cannot tell": the caller measures the intersection with GEOS then.
[[nodiscard]] bool certainly_disjoint(const Part& a, const Part& b);

// Where a point lies relative to a part.
enum class Side { inside, outside, boundary, unknown };
[[nodiscard]] Side locate(geo::Point p, const Part& part);

} // namespace wangge::grid::detail
