// A static spatial index over boxes: a Boost.Geometry R-tree, bulk-loaded (packed) once.
// Ids are the boxes' positions in the vector given to the constructor. The one general index
// of the engine (validator, redraw); the point locator keeps its own flat grid because point
// location is the hot path and its layout is tuned for it (grid/locator*.cpp).
#pragma once

#include "wangge/geo/geometry.hpp"

#include <boost/geometry/geometries/box.hpp>
#include <boost/geometry/geometries/point_xy.hpp>
#include <boost/geometry/index/rtree.hpp>
#include <boost/iterator/function_output_iterator.hpp>
#include <cstdint>
#include <utility>
#include <vector>

namespace wangge::geo {

class BoxIndex {
  public:
    BoxIndex() = default;
    // Indexes boxes[k] for every k with include[k] (all when include is empty); invalid
    // (empty) boxes are skipped.
    explicit BoxIndex(const std::vector<Box>& boxes, const std::vector<char>& include = {}) {
        std::vector<Value> values;
        values.reserve(boxes.size());
        for (std::size_t k = 0; k < boxes.size(); ++k)
            if ((include.empty() || include[k]) && boxes[k].valid())
                values.emplace_back(to_bg(boxes[k]), static_cast<std::uint32_t>(k));
        m_tree = Tree(values.begin(), values.end()); // the packing constructor
    }

    // Calls f(id) once for every indexed box that intersects b (touching counts).
    template <class F> void query(const Box& b, F&& f) const {
        if (!b.valid() || m_tree.empty()) return;
        m_tree.query(boost::geometry::index::intersects(to_bg(b)),
                     boost::make_function_output_iterator([&](const Value& v) { f(v.second); }));
    }

    [[nodiscard]] std::size_t size() const noexcept { return m_tree.size(); }

  private:
    using BgPoint = boost::geometry::model::d2::point_xy<double>;
    using BgBox = boost::geometry::model::box<BgPoint>;
    using Value = std::pair<BgBox, std::uint32_t>;
    using Tree = boost::geometry::index::rtree<Value, boost::geometry::index::rstar<16>>;

    static BgBox to_bg(const Box& b) { return {BgPoint(b.minx, b.miny), BgPoint(b.maxx, b.maxy)}; }

    Tree m_tree;
};

} // namespace wangge::geo
