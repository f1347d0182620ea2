// GENERATED coverage (see generated.hpp): synthetic test and benchmark data.
#include "wangge/grid/generated.hpp"

#include "wangge/base/random.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

namespace wangge::grid {

namespace {

// Uniform in [-1, 1) from the platform-independent generator.
double symmetric(base::SplitMix64& rng) {
    return rng.uniform() * 2.0 - 1.0;
}

std::string digits(std::size_t value, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*zu", width, value);
    return buf;
}

} // namespace

Grid generated_coverage(std::size_t n, std::uint64_t seed) {
    Grid grid;
    if (n == 0) return grid;
    constexpr double lat_step = 0.00075; // about 83 m
    constexpr double centre_lon = 110.96, centre_lat = 35.61;
    const double lon_step = lat_step / std::cos(centre_lat * 3.14159265358979323846 / 180.0);
    const auto cols = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(n))));
    const std::size_t rows = (n + cols - 1) / cols;
    const double lon0 = centre_lon - lon_step * static_cast<double>(cols) / 2;
    const double lat0 = centre_lat - lat_step * static_cast<double>(rows) / 2;
    base::SplitMix64 rng{seed};

    // Lattice vertices (cols+1) x (rows+1), each moved by up to a quarter step.
    std::vector<geo::Point> vertex((cols + 1) * (rows + 1));
    auto v = [&](std::size_t i, std::size_t j) -> geo::Point& {
        return vertex[j * (cols + 1) + i];
    };
    for (std::size_t j = 0; j <= rows; ++j)
        for (std::size_t i = 0; i <= cols; ++i)
            v(i, j) = {lon0 + (static_cast<double>(i) + 0.25 * symmetric(rng)) * lon_step,
                       lat0 + (static_cast<double>(j) + 0.25 * symmetric(rng)) * lat_step};
    // Two bend points on each lattice edge, pushed sideways by up to 8% of a step; stored
    // once and used by both neighbours.
    struct Bends {
        geo::Point p, q;
    };
    auto bend = [&](geo::Point a, geo::Point b, bool horizontal) {
        Bends out;
        const double s1 = 0.08 * symmetric(rng), s2 = 0.08 * symmetric(rng);
        out.p = {a.x + (b.x - a.x) / 3, a.y + (b.y - a.y) / 3};
        out.q = {a.x + 2 * (b.x - a.x) / 3, a.y + 2 * (b.y - a.y) / 3};
        if (horizontal) {
            out.p.y += s1 * lat_step;
            out.q.y += s2 * lat_step;
        } else {
            out.p.x += s1 * lon_step;
            out.q.x += s2 * lon_step;
        }
        return out;
    };
    std::vector<Bends> h_bends(cols * (rows + 1)), v_bends((cols + 1) * rows);
    for (std::size_t j = 0; j <= rows; ++j)
        for (std::size_t i = 0; i < cols; ++i)
            h_bends[j * cols + i] = bend(v(i, j), v(i + 1, j), true);
    for (std::size_t j = 0; j < rows; ++j)
        for (std::size_t i = 0; i <= cols; ++i)
            v_bends[j * (cols + 1) + i] = bend(v(i, j), v(i, j + 1), false);

    grid.cells.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = k % cols, j = k / cols;
        const Bends& bottom = h_bends[j * cols + i];
        const Bends& top = h_bends[(j + 1) * cols + i];
        const Bends& left = v_bends[j * (cols + 1) + i];
        const Bends& right = v_bends[j * (cols + 1) + i + 1];
        // Counter-clockwise: bottom west->east, right south->north, top east->west, left
        // north->south.
        geo::Ring ring = {v(i, j), bottom.p,        bottom.q, v(i + 1, j), right.p,
                          right.q, v(i + 1, j + 1), top.q,    top.p,       v(i, j + 1),
                          left.q,  left.p,          v(i, j)};
        Cell cell;
        cell.county_code = "140824";
        cell.township_code = cell.county_code + digits(100 + k / 10000, 3);
        cell.village_code = cell.township_code + digits(200 + (k / 100) % 100, 3);
        cell.code = cell.village_code + digits(k % 100, 2);
        cell.name = "generated cell " + std::to_string(k);
        cell.geometry.polygons.push_back(geo::Polygon{{std::move(ring)}});
        grid.cells.push_back(std::move(cell));
    }
    return grid;
}

} // namespace wangge::grid
