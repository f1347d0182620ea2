// Private to the Jishan grid generator: the planar graph of cell boundaries. Nodes are
// lattice corners where three or more labels meet, chains run between them. Each chain is
// smoothed once and every polygon of every level is assembled from the same chains, so
// shared boundaries are identical vertex for vertex.
#pragma once

#include "jishan_lattice.hpp"
#include "wangge/geo/geometry.hpp"

#include <vector>

namespace wangge::sample::detail {

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

// Every boundary chain of the labels, each with two distinct fixed ends, not yet smoothed.
std::vector<Chain> build_chains(const Lattice& lat, const Labels& lab);

// The chain's points at a smoothing level: 0 is the raw pixel staircase (always valid),
// 3 the smoothest.
std::vector<geo::Point> smooth(const std::vector<Corner>& raw, int level);

// Marks (lowers the level of) chains whose smoothed lines touch another chain anywhere but
// at shared end nodes, or themselves. Returns how many chains were lowered.
int lower_conflicting(std::vector<Chain>& chains);

// One polygon per unit (shell first), in both metric and lon/lat coordinates.
struct LevelPolygons {
    std::vector<geo::Polygon> metric;
    std::vector<geo::Polygon> lonlat;
};

// The polygons of one level: unit_of maps a cell label to its unit (or outside); metric and
// lonlat hold every chain's points in both coordinate systems.
LevelPolygons level_polygons(const std::vector<Chain>& chains,
                             const std::vector<std::vector<geo::Point>>& metric,
                             const std::vector<std::vector<geo::Point>>& lonlat,
                             const std::vector<int>& unit_of, int nunits, const Lattice& lat);

// The area centroid of a polygon (holes subtracted).
geo::Point centroid(const geo::Polygon& poly);

} // namespace wangge::sample::detail
