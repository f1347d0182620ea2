// Private to the Jishan image writer: the landscape every ground pixel is a pure function
// of (fields prepared on coarse rasters in local metres, the river, field blocks), and the
// roads drawn over it afterwards.
#pragma once

#include "jishan_internal.hpp"
#include "wangge/geo/geometry.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/grid/grid.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace wangge::sample::detail {

using Sz = std::size_t;

inline Sz uz(long i) {
    return static_cast<Sz>(i);
}

constexpr double pi = 3.14159265358979323846;

struct Rgb {
    double r, g, b;
};

inline double dist(double dx, double dy) {
    return std::sqrt(dx * dx + dy * dy);
}

inline Rgb mix(const Rgb& a, const Rgb& b, double t) {
    return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

inline Rgb scale(const Rgb& a, double f) {
    return {a.r * f, a.g * f, a.b * f};
}

inline std::uint8_t to_byte(double x) {
    return static_cast<std::uint8_t>(std::clamp(x, 0.0, 255.0) + 0.5);
}

inline double smoothstep(double e0, double e1, double x) {
    const double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

// ---- rasters prepared in local metres ---------------------------------------------------

// A raster of samples at (u0 + i*step, v0 + j*step).
struct Field {
    double u0 = 0, v0 = 0, step = 25.0;
    int nx = 0, ny = 0;
    std::vector<float> value;

    void init(double umin, double vmin, double umax, double vmax, double s) {
        step = s;
        u0 = std::floor(umin / s) * s;
        v0 = std::floor(vmin / s) * s;
        nx = static_cast<int>(std::ceil((umax - u0) / s)) + 2;
        ny = static_cast<int>(std::ceil((vmax - v0) / s)) + 2;
        value.assign(uz(static_cast<long>(nx) * ny), 0.0f);
    }
    float& at(int i, int j) { return value[uz(static_cast<long>(j) * nx + i)]; }
    [[nodiscard]] float at(int i, int j) const { return value[uz(static_cast<long>(j) * nx + i)]; }
    [[nodiscard]] double u_of(int i) const { return u0 + i * step; }
    [[nodiscard]] double v_of(int j) const { return v0 + j * step; }
    // Bilinear sample, clamped at the edges.
    [[nodiscard]] double sample(double u, double v) const {
        const double x = std::clamp((u - u0) / step, 0.0, nx - 1.001);
        const double y = std::clamp((v - v0) / step, 0.0, ny - 1.001);
        const int i = static_cast<int>(x), j = static_cast<int>(y);
        const double tx = x - i, ty = y - j;
        const double a = at(i, j), b = at(i + 1, j), c = at(i, j + 1), d = at(i + 1, j + 1);
        return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
    }
    [[nodiscard]] double nearest(double u, double v) const {
        const int i = static_cast<int>(std::clamp((u - u0) / step + 0.5, 0.0, nx - 1.0));
        const int j = static_cast<int>(std::clamp((v - v0) / step + 0.5, 0.0, ny - 1.0));
        return at(i, j);
    }
};

// Sets every sample of the field inside the polygon (even-odd over its rings) to value.
void fill_polygon(Field& f, const geo::Polygon& poly, float value);

// ---- the landscape ------------------------------------------------------------------------

enum Style : int { rural = 0, town = 1, industry = 2 };

struct Landscape {
    double res = 8.0; // ground metres per pixel
    FenRiver river{0};
    double river_u0 = 0, river_step = 10.0;
    std::vector<double> river_v; // centre line tabulated
    std::vector<double> river_w; // and width
    Field built;                 // 0..1, how built-up
    Field style;                 // Style of the built-up area
    Field tone;                  // slow brightness variation
    Field hill;                  // 0 plain .. 1 loess hills
    Field shade;                 // hill shading factor
    // Seeds of the per-pixel noises, derived once.
    std::uint64_t grain_seed = 0, block_seed = 0, bank_seed = 0, edge_seed = 0, industry_seed = 0,
                  town_seed = 0, plot_seed = 0, scrub_seed = 0, bush_seed = 0;

    [[nodiscard]] double river_centre(double u) const {
        const double x = std::clamp((u - river_u0) / river_step, 0.0,
                                    static_cast<double>(river_v.size()) - 1.001);
        const auto i = static_cast<Sz>(x);
        return river_v[i] + (river_v[i + 1] - river_v[i]) * (x - static_cast<double>(i));
    }
    [[nodiscard]] double river_width(double u) const {
        const double x = std::clamp((u - river_u0) / river_step, 0.0,
                                    static_cast<double>(river_w.size()) - 1.001);
        return river_w[static_cast<Sz>(x)];
    }
};

// Memo of the field block last found, kept while a row of pixels crosses it.
struct BlockMemo {
    std::int64_t column = std::numeric_limits<std::int64_t>::min();
    double left = 0, right = 0;
    std::int64_t row = 0;
    double bottom = 0, top = 1.0; // empty until the first lookup
    double row_offset = 0;
};

// What a block looks like, worked out once per block (pixels in a row mostly share one).
struct BlockLook {
    BlockMemo memo;
    std::uint64_t id = ~0ULL;
    bool across = false; // strips run east-west (else north-south)
    double width = 30;   // strip width, metres
    double length = 200; // field length along the strip
    int crop = 0;        // the block's usual crop
    // The last field looked up.
    std::int64_t strip = 0, seg = 0;
    double shift = 0;
    std::uint64_t field = 0;
    std::uint64_t field_block = ~0ULL;
};

// The colour of one ground point (everything but roads). col/row give the pixel's grain;
// cache carries what neighbouring pixels share.
Rgb ground(const Landscape& L, double u, double v, int col, int row, BlockLook& cache);

// A cell of the grid in local metres, with its density.
struct CellInfo {
    geo::Polygon poly;
    double km2 = 0;
    double households = 0;
    geo::Point centre;
    std::string township;
    int village = 0;
    bool dense = false;
};

// The main settlement of a rural village.
struct Settlement {
    geo::Point at;
    std::string township;
};

// The image being drawn: RGB bytes, top row first, in EPSG:3857 with square pixels of px
// units whose top-left corner is (x0, y1); res is ground metres per pixel.
struct Image {
    int w = 0, h = 0;
    double x0 = 0, y1 = 0, px = 0, res = 0;
    std::vector<std::uint8_t> rgb;
};

// Roads: main roads joining Jifeng and the township seats (a minimum spanning tree), a
// highway along the valley, and a lane from every village towards its township seat.
// local_box bounds the image in local metres; origin and merc_metric take local metres
// to the image's CRS.
void draw_roads(Image& image, std::uint64_t seed, const grid::Grid& grid,
                const std::vector<CellInfo>& cells, const std::vector<Settlement>& villages_at,
                const Landscape& L, const geo::Box& local_box, const geo::Point& origin,
                const geo::Transformer& merc_metric);

} // namespace wangge::sample::detail
