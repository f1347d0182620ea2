// Private to the redraw stage: the geometry helpers the exact edits share (edit.cpp: split,
// merge, recode; move_boundary.cpp; transfer.cpp; replace.cpp; propose.cpp), and the outline
// refresh of villages and townships. Lon/lat throughout.
#pragma once

#include "wangge/geo/geometry.hpp"
#include "wangge/grid/grid.hpp"
#include "wangge/redraw/edit.hpp"

#include <cstddef>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace wangge::redraw::detail {

using geo::Point;
using geo::Ring;

// Cross product of (a - o) and (b - o): > 0 when o, a, b turn left.
[[nodiscard]] double cross(Point o, Point a, Point b);
// Crossing-number test; points on the ring count as outside (callers test interior points).
[[nodiscard]] bool inside_ring(const Ring& ring, Point p);
[[nodiscard]] bool inside_polygon(const geo::Polygon& poly, Point p);
[[nodiscard]] bool inside(const geo::MultiPolygon& mp, Point p);
// The index of cell `code` in g.cells; InputError when there is none.
[[nodiscard]] std::size_t index_of(const grid::Grid& g, const std::string& code);

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

[[nodiscard]] geo::Box box_of(Point p);

// Inserts p between a and b (adjacent, in either order) in every ring of cells `among`
// (except `skip`) that has that edge. The neighbours then share p bit for bit.
void insert_into_neighbours(grid::Grid& g, const CellBoxes& boxes, Point a, Point b, Point p,
                            std::size_t skip, std::set<std::string>& touched);

// Checks a code given by the planner: unique in the grid (apart from `replacing`), and for
// national codes of the same scheme as `like` with the village prefix `village`.
void check_code(const grid::Grid& g, const std::string& code, const std::string& like,
                const std::string& village, const std::set<std::string>& replacing);

// The next `n` free codes for cells of a village (national codes: the next sequence
// numbers; other codes: `like` with a letter suffix).
[[nodiscard]] std::vector<std::string> next_codes(const grid::Grid& g, const grid::Cell& like,
                                                  std::size_t n);

struct Hit {
    std::size_t seg = 0; // line segment
    double t = 0;        // along it
    std::size_t edge = 0;
    double u = 0; // along the ring edge; 0 or 1 when at a vertex
    Point p;
};

// Where the line meets one ring. Throws when the line runs along an edge.
void ring_hits(const Ring& ring, const Line& line, const std::string& code, std::vector<Hit>& hits,
               bool along_ok = false);

// Index of p in an open ring, or npos.
[[nodiscard]] std::size_t find_vertex(const Ring& open, Point p);
// The vertices of an open ring from `from` to `to`, forward and cyclic.
[[nodiscard]] Ring walk(const Ring& open, std::size_t from, std::size_t to);
[[nodiscard]] double polygon_area(const geo::MultiPolygon& mp);
// v lies between p and q and its distance from the line pq is below 1e-9 of |pq|.
[[nodiscard]] bool collinear(Point p, Point v, Point q);
// Edges of a cell as ordered pairs of points (for adjacency).
[[nodiscard]] std::set<std::pair<std::pair<double, double>, std::pair<double, double>>>
edges_of(const geo::MultiPolygon& mp);
[[nodiscard]] bool share_edge(const geo::MultiPolygon& a, const geo::MultiPolygon& b);
// Whether segments ab and cd meet anywhere (touching included).
[[nodiscard]] bool segments_meet(Point a, Point b, Point c, Point d);

// The cut of split_cell once the line's two boundary points on the shell of part `part` of
// cell `ci` are known (hits[0] and hits[1], along `line`).
Change split_at(grid::Grid& g, std::size_t ci, std::size_t part, const std::vector<Hit>& hits,
                const Line& line, const std::vector<std::string>& codes_in);

// Recomputes the outlines of the villages and townships `codes` as the union of their
// cells (after an edit changed the cells' outlines, or inserted a cut point on them).
void refresh_units(grid::Grid& g, const std::set<std::string>& codes);

} // namespace wangge::redraw::detail
