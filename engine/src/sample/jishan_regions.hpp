// Private to the Jishan grid generator: growing regions (townships, villages, cells) inside
// their parents by weighted multi-source Dijkstra over a noise cost field, and tidying them
// into one 4-connected piece each.
#pragma once

#include "jishan_lattice.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace wangge::sample::detail {

struct Child {
    int seed = 0;         // pixel
    int parent = 0;       // label of the parent region the child grows in
    double target = 1.0;  // pixels
    bool fixed = false;   // seed never moved by Lloyd steps
    double stretch = 1.0; // anisotropy: regions grow this much longer along angle
    double angle = 0.0;
};

// The cost of a step through each pixel: smooth log-normal noise, so borders wander.
std::vector<float> cost_field(const Lattice& lat, std::uint64_t seed, double scale_m);

// Grows the children of every parent, tuning weights towards the target areas and moving
// seeds to their regions' centres in the first lloyd_steps rounds.
Labels grow(const Lattice& lat, const Labels& parent, const std::vector<float>& cost,
            std::vector<Child>& kids, int iterations, int lloyd_steps);

// Makes every label one 4-connected region without diagonal pinches (two pixels of a label
// touching only at a corner), moving pixels only between labels of the same parent.
void tidy(const Lattice& lat, Labels& lab, const Labels& parent, int nlabels);

// A region whose only neighbour is one sibling would become a polygon with a hole in it.
// The pair is grown again from two far-apart pixels on its outer edge, so both halves
// reach the edge. Then tidied like any level.
void open_enclaves(const Lattice& lat, Labels& lab, const Labels& parent,
                   const std::vector<float>& cost, int nlabels);

// Chamfer distance (pixels) to the nearest pixel of another label.
std::vector<float> border_distance(const Lattice& lat, const Labels& lab);

// Best-candidate sampling: of a few random pixels of the pool, the one farthest from the
// seeds already placed in the same parent and from the parent's border.
int pick_seed(Rng& rng, const Lattice& lat, const std::vector<int>& pool,
              const std::vector<int>& placed, const std::vector<float>& border);

// The pixels of the pool nearest to (u, v) local metres, at least n of them.
std::vector<int> nearest_pixels(const Lattice& lat, const std::vector<int>& pool, double u,
                                double v, Sz n);

} // namespace wangge::sample::detail
