// The generated satellite-like image of Jishan County. Every pixel is a pure function of its
// position in local metres (EPSG:4546 around Jifeng), computed from fields prepared once on a
// 25 m raster (where the settlements are, hills, tone); roads are drawn afterwards. The image
// is in EPSG:3857; pixel centres are mapped to local metres by interpolating a coarse lattice
// of PROJ-transformed points (the mapping is smooth, so this is exact to millimetres).
#include "jishan_internal.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/sample/jishan.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <gdal.h>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace wangge::sample {

namespace {

using detail::hash01;
using detail::hash64;
using detail::Rng;
using detail::substream;
using Sz = std::size_t;

Sz uz(long i) {
    return static_cast<Sz>(i);
}

constexpr double pi = 3.14159265358979323846;

struct Rgb {
    double r, g, b;
};

double dist(double dx, double dy) {
    return std::sqrt(dx * dx + dy * dy);
}

Rgb mix(const Rgb& a, const Rgb& b, double t) {
    return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

Rgb scale(const Rgb& a, double f) {
    return {a.r * f, a.g * f, a.b * f};
}

std::uint8_t to_byte(double x) {
    return static_cast<std::uint8_t>(std::clamp(x, 0.0, 255.0) + 0.5);
}

double smoothstep(double e0, double e1, double x) {
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
void fill_polygon(Field& f, const geo::Polygon& poly, float value) {
    double vmin = 1e300, vmax = -1e300;
    for (const auto& p : poly.rings.front()) {
        vmin = std::min(vmin, p.y);
        vmax = std::max(vmax, p.y);
    }
    const int j0 = std::max(0, static_cast<int>(std::ceil((vmin - f.v0) / f.step)));
    const int j1 = std::min(f.ny - 1, static_cast<int>(std::floor((vmax - f.v0) / f.step)));
    std::vector<double> xs;
    for (int j = j0; j <= j1; ++j) {
        const double v = f.v_of(j);
        xs.clear();
        for (const auto& ring : poly.rings)
            for (Sz k = 0; k + 1 < ring.size(); ++k) {
                const auto& a = ring[k];
                const auto& b = ring[k + 1];
                if ((a.y <= v) != (b.y <= v))
                    xs.push_back(a.x + (v - a.y) / (b.y - a.y) * (b.x - a.x));
            }
        std::sort(xs.begin(), xs.end());
        for (Sz k = 0; k + 1 < xs.size(); k += 2) {
            const int i0 = std::max(0, static_cast<int>(std::ceil((xs[k] - f.u0) / f.step)));
            const int i1 =
                std::min(f.nx - 1, static_cast<int>(std::floor((xs[k + 1] - f.u0) / f.step)));
            for (int i = i0; i <= i1; ++i)
                f.at(i, j) = value;
        }
    }
}

// ---- the landscape ------------------------------------------------------------------------

enum Style : int { rural = 0, town = 1, industry = 2 };

struct Landscape {
    double res = 8.0; // ground metres per pixel
    detail::FenRiver river{0};
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

std::int64_t ifloor(double x) {
    const auto i = static_cast<std::int64_t>(x);
    return i - (static_cast<double>(i) > x);
}

double frac(double x) {
    return x - static_cast<double>(ifloor(x));
}

// Field blocks: the plain is cut by farm roads into rectangles, columns of jittered width
// and, within each column, rows of jittered height (shifted per column, like bricks).
constexpr double column_m = 560.0, row_m = 430.0;

struct Block {
    std::uint64_t id = 0;
    double left = 0, right = 0, bottom = 0, top = 0; // local metres
    int side = 0;    // the nearest edge: 0 left, 1 right, 2 bottom, 3 top
    double edge = 0; // metres to it
};

// Memo of the block last found, kept while a row of pixels crosses it.
struct BlockMemo {
    std::int64_t column = std::numeric_limits<std::int64_t>::min();
    double left = 0, right = 0;
    std::int64_t row = 0;
    double bottom = 0, top = 1.0; // empty until the first lookup
    double row_offset = 0;
};

Block find_block(std::uint64_t seed, double u, double v, BlockMemo& m) {
    auto column_edge = [&](std::int64_t k) {
        return (static_cast<double>(k) + 0.5 * (hash01(seed, k, 1) - 0.5)) * column_m;
    };
    if (m.column == std::numeric_limits<std::int64_t>::min() || u < m.left || u >= m.right) {
        std::int64_t k = ifloor(u / column_m);
        if (u < column_edge(k))
            --k;
        else if (u >= column_edge(k + 1))
            ++k;
        m.column = k;
        m.left = column_edge(k);
        m.right = column_edge(k + 1);
        m.row_offset = hash01(seed, k, 2) * row_m;
        m.bottom = 1.0;
        m.top = 0.0; // forces the row lookup
    }
    auto row_edge = [&](std::int64_t r) {
        return m.row_offset +
               (static_cast<double>(r) + 0.5 * (hash01(seed, m.column * 7919 + r, 3) - 0.5)) *
                   row_m;
    };
    if (v < m.bottom || v >= m.top) {
        std::int64_t r = ifloor((v - m.row_offset) / row_m);
        if (v < row_edge(r))
            --r;
        else if (v >= row_edge(r + 1))
            ++r;
        m.row = r;
        m.bottom = row_edge(r);
        m.top = row_edge(r + 1);
    }
    Block b;
    b.id = hash64(seed, m.column, m.row);
    b.left = m.left;
    b.right = m.right;
    b.bottom = m.bottom;
    b.top = m.top;
    const double d[4] = {u - m.left, m.right - u, v - m.bottom, m.top - v};
    b.edge = d[0];
    for (int k = 1; k < 4; ++k)
        if (d[k] < b.edge) {
            b.edge = d[k];
            b.side = k;
        }
    return b;
}

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

constexpr int crop_count = 8;
constexpr Rgb crops[crop_count] = {{92, 118, 62},   {64, 92, 52},   {118, 140, 72},
                                   {176, 162, 102}, {139, 118, 92}, {170, 155, 128},
                                   {80, 100, 62},   {204, 207, 210}};
constexpr int orchard = 6, greenhouse = 7;

int pick_crop(double x) {
    static constexpr double cumulative[crop_count] = {0.22, 0.36, 0.5,   0.62,
                                                      0.74, 0.84, 0.995, 1.0};
    int k = 0;
    while (k < crop_count - 1 && x > cumulative[k])
        ++k;
    return k;
}

const BlockLook& look_of(const Block& blk, BlockLook& cache) {
    if (cache.id == blk.id) return cache;
    cache.id = blk.id;
    cache.field_block = ~0ULL;
    cache.across = ((blk.id >> 40) & 3) == 0;
    cache.width = 20.0 + 40.0 * static_cast<double>((blk.id >> 48) & 0xFF) / 255.0;
    const double span = cache.across ? blk.right - blk.left : blk.top - blk.bottom;
    // One to three fields along a strip.
    cache.length = span / static_cast<double>(1 + (blk.id >> 56) % 3);
    cache.crop = pick_crop(static_cast<double>((blk.id >> 20) % 1000) / 1000.0);
    if (cache.crop == greenhouse) cache.crop = 0;
    return cache;
}

// The colour of one ground point (everything but roads). col/row give the pixel's grain.
Rgb ground(const Landscape& L, double u, double v, int col, int row, BlockLook& cache) {
    const double grain =
        static_cast<double>(detail::mix64(L.grain_seed ^ (static_cast<std::uint64_t>(row) << 32 |
                                                          static_cast<std::uint32_t>(col))) >>
                            11) *
        0x1.0p-53;

    // The Fen River and its banks.
    const double dv = v - L.river_centre(u);
    const double half = 0.5 * L.river_width(u);
    if (std::abs(dv) < half + 160.0) {
        const double bank_noise = detail::value_noise(L.bank_seed, u / 90.0, v / 90.0);
        if (std::abs(dv) < half + 12.0 * bank_noise) {
            const double depth = 1.0 - std::abs(dv) / half;
            const Rgb shallow{108, 118, 112}, deep{62, 82, 92};
            return scale(mix(shallow, deep, smoothstep(0.0, 0.8, depth)), 0.97 + 0.06 * grain);
        }
        const double t = (std::abs(dv) - half) / 160.0;
        if (bank_noise > 0.25 - 0.6 * t && t < 0.45)
            return scale(Rgb{184, 176, 152}, 0.94 + 0.1 * grain); // sand bars
        if (bank_noise < -0.1 + 0.5 * t)
            return scale(Rgb{58, 80, 50}, 0.85 + 0.25 * grain); // riverside trees
    }

    const Block blk = find_block(L.block_seed, u, v, cache.memo);
    const BlockLook& look = look_of(blk, cache);
    // Along-strip and across-strip coordinates from the block's corner.
    const double pt = look.across ? u - blk.left : v - blk.bottom;
    const double ps = look.across ? v - blk.bottom : u - blk.left;

    // Settlements.
    const double built = L.built.sample(u, v);
    if (built > 0.05 && built + 0.35 * detail::value_noise(L.edge_seed, u / 60.0, v / 60.0) > 0.5) {
        const int st = static_cast<int>(L.style.nearest(u, v));
        if (st == industry) {
            const double lw = 150.0, lh = 110.0;
            const auto lot = hash64(L.industry_seed, ifloor(ps / lw), ifloor(pt / lh));
            const double fs = frac(ps / lw), ft = frac(pt / lh);
            if (fs < 0.08 || ft < 0.1) return scale(Rgb{150, 148, 140}, 0.95 + 0.1 * grain);
            if (fs > 0.15 && fs < 0.85 && ft > 0.2 && ft < 0.75) {
                constexpr Rgb roofs[3] = {{92, 122, 160}, {205, 205, 200}, {150, 150, 150}};
                return scale(roofs[lot % 3], 0.95 + 0.08 * grain);
            }
            return scale(Rgb{168, 162, 150}, 0.93 + 0.1 * grain);
        }
        if (st == town) {
            // Street blocks of apartment rows, now and then a park.
            const double bw = 130.0, bh = 100.0;
            const double fs = frac(ps / bw), ft = frac(pt / bh);
            const auto lot = hash64(L.town_seed, ifloor(ps / bw), ifloor(pt / bh));
            if (fs < 0.1 || ft < 0.12) return scale(Rgb{118, 116, 112}, 0.95 + 0.1 * grain);
            if (lot % 17 == 0) return scale(Rgb{76, 100, 62}, 0.85 + 0.25 * grain); // a park
            const double r = frac(ft * 3.0);
            if (r > 0.25 && r < 0.6 && fs > 0.18 && fs < 0.92) {
                constexpr Rgb roofs[4] = {
                    {186, 184, 178}, {160, 150, 140}, {205, 200, 190}, {140, 95, 80}};
                return scale(roofs[(lot >> 8) % 4], 0.94 + 0.08 * grain);
            }
            return scale(Rgb{132, 128, 118}, 0.92 + 0.14 * grain);
        }
        // Courtyard houses along lanes.
        const double pw = 24.0, ph = 30.0;
        const auto plot = hash64(L.plot_seed, ifloor(ps / pw), ifloor(pt / ph));
        const double fs = frac(ps / pw), ft = frac(pt / ph);
        if (ft < 0.14) return scale(Rgb{158, 150, 136}, 0.94 + 0.1 * grain); // lane
        const bool main_house = ft > 0.18 && ft < 0.55 && fs > 0.06 && fs < 0.94;
        const bool side_house = ft >= 0.55 && ft < 0.95 && fs > 0.06 && fs < 0.3;
        if (main_house || side_house) {
            constexpr Rgb roofs[5] = {
                {128, 126, 124}, {118, 112, 106}, {142, 96, 76}, {104, 104, 108}, {150, 146, 138}};
            return scale(roofs[plot % 5], 0.9 + 0.14 * grain);
        }
        if ((plot >> 20) % 3 == 0) return scale(Rgb{66, 88, 52}, 0.85 + 0.2 * grain); // a tree
        return scale(Rgb{166, 156, 138}, 0.92 + 0.12 * grain);
    }

    const double tone = L.tone.sample(u, v);
    const double hill = L.hill.sample(u, v);

    // Farm roads and, on some sides, shelter belts along block edges.
    if (blk.edge < 0.6 * L.res + 3.0 && hill < 0.5) {
        if ((blk.id >> (8 * blk.side)) % 10 < 2)
            return scale(Rgb{62, 84, 52}, (0.85 + 0.2 * grain) * tone);
        if (blk.edge < 0.5 * L.res) return scale(Rgb{176, 166, 142}, (0.92 + 0.1 * grain) * tone);
    }

    // Strips and their field boundaries.
    const auto strip = ifloor(ps / look.width);
    if (cache.field_block != blk.id || cache.strip != strip) {
        cache.shift = hash01(blk.id, strip, 7) * look.length;
        cache.seg = std::numeric_limits<std::int64_t>::min();
    }
    const double shift = cache.shift;
    const auto seg = ifloor((pt + shift) / look.length);
    if (cache.field_block != blk.id || cache.strip != strip || cache.seg != seg) {
        cache.field_block = blk.id;
        cache.strip = strip;
        cache.seg = seg;
        cache.field = hash64(blk.id, strip, seg);
    }
    const auto field = cache.field;
    const double fw = frac(ps / look.width) * look.width;
    const double fl = frac((pt + shift) / look.length) * look.length;
    const bool boundary = std::min(fw, look.width - fw) < 0.25 * L.res ||
                          std::min(fl, look.length - fl) < 0.25 * L.res;
    // Neighbouring fields often grow the same thing.
    const int kind = (field >> 10) % 100 < 55
                         ? look.crop
                         : pick_crop(static_cast<double>(field % 1000) / 1000.0);
    Rgb c = crops[kind];
    if (kind == orchard && (col + row) % 2 == 0) c = scale(c, 0.8);
    if (kind != greenhouse)
        c = scale(c, 0.93 + 0.14 * static_cast<double>((field >> 12) % 100) / 100.0);
    if (boundary) c = mix(c, Rgb{150, 138, 112}, 0.45);

    // In the hills fields give way to loess slopes and scrub, shaded by the relief.
    if (hill > 0.01) {
        const double scrub = detail::value_noise(L.scrub_seed, u / 420.0, v / 420.0) +
                             0.4 * detail::value_noise(L.bush_seed, u / 90.0, v / 90.0);
        const Rgb slope = mix(Rgb{178, 156, 120}, Rgb{100, 108, 72}, smoothstep(-0.4, 0.6, scrub));
        const double keep = static_cast<double>((field >> 24) % 100) / 100.0;
        if (keep < hill * 1.1) c = slope;
        c = scale(c, 1.0 + hill * (L.shade.sample(u, v) - 1.0));
    }
    return scale(c, tone * (0.95 + 0.1 * grain));
}

// ---- roads ---------------------------------------------------------------------------------

struct Road {
    std::vector<geo::Point> pts; // local metres, then pixels
    double width_m;
    Rgb colour;
};

// Midpoint displacement so roads do not run ruler-straight.
std::vector<geo::Point> wiggle(Rng& rng, geo::Point a, geo::Point b, double amount, int depth) {
    std::vector<geo::Point> pts{a, b};
    for (int d = 0; d < depth; ++d) {
        std::vector<geo::Point> out{pts.front()};
        for (Sz k = 0; k + 1 < pts.size(); ++k) {
            const auto& p = pts[k];
            const auto& q = pts[k + 1];
            const double dx = q.x - p.x, dy = q.y - p.y;
            const double off = rng.range(-amount, amount);
            out.push_back({0.5 * (p.x + q.x) - dy * off, 0.5 * (p.y + q.y) + dx * off});
            out.push_back(q);
        }
        pts = std::move(out);
    }
    return pts;
}

void draw_road(std::vector<std::uint8_t>& rgb, int w, int h, const Road& road, double px_m) {
    const double half = 0.5 * road.width_m / px_m;
    for (Sz k = 0; k + 1 < road.pts.size(); ++k) {
        const auto& a = road.pts[k];
        const auto& b = road.pts[k + 1];
        const int i0 = std::max(0, static_cast<int>(std::floor(std::min(a.x, b.x) - half - 1)));
        const int i1 = std::min(w - 1, static_cast<int>(std::ceil(std::max(a.x, b.x) + half + 1)));
        const int j0 = std::max(0, static_cast<int>(std::floor(std::min(a.y, b.y) - half - 1)));
        const int j1 = std::min(h - 1, static_cast<int>(std::ceil(std::max(a.y, b.y) + half + 1)));
        const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
        for (int j = j0; j <= j1; ++j)
            for (int i = i0; i <= i1; ++i) {
                const double t =
                    len2 > 0 ? std::clamp(((i - a.x) * dx + (j - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
                const double d = dist(i - (a.x + t * dx), j - (a.y + t * dy));
                // Coverage of the pixel by the road, at least a faint trace for thin roads.
                const double cover =
                    std::clamp(half + 0.5 - d, 0.0, 1.0) * std::min(1.0, 0.35 + half);
                if (cover <= 0) continue;
                auto* p = &rgb[(uz(j) * uz(w) + uz(i)) * 3];
                // Blending towards the road colour: where segments overlap at joints the
                // pixel only gets closer to it, never darker.
                const double c[3] = {road.colour.r, road.colour.g, road.colour.b};
                for (Sz ch = 0; ch < 3; ++ch)
                    p[ch] = to_byte(p[ch] + (c[ch] - p[ch]) * cover);
            }
    }
}

} // namespace

void write_jishan_imagery(const grid::Grid& grid, const std::string& tif_path,
                          const JishanOptions& options) {
    const double res = options.imagery_resolution_m;
    if (!(res >= 0.5 && res <= 1000.0))
        throw InputError("imagery resolution must be between 0.5 and 1000 metres");
    if (grid.cells.empty()) throw InputError("the grid has no cells to draw an image of");
    // Two transformers do everything (creating one costs PROJ a database search):
    // lon/lat -> EPSG:4546 and EPSG:3857 -> EPSG:4546 (inverse for the way back).
    const geo::Transformer lonlat_metric("EPSG:4326", detail::metric_crs);
    const geo::Transformer merc_metric("EPSG:3857", detail::metric_crs);
    const geo::Box box = grid.bounds();
    const double lat_c = 0.5 * (box.miny + box.maxy) * pi / 180.0;
    const double k = 1.0 / std::cos(lat_c);
    const double px = res * k; // pixel size in EPSG:3857 units
    // Web Mercator keeps meridians and parallels straight, so the box's corners bound it.
    const geo::Point lo =
        merc_metric.inverse(lonlat_metric.forward(geo::Point{box.minx, box.miny}));
    const geo::Point hi =
        merc_metric.inverse(lonlat_metric.forward(geo::Point{box.maxx, box.maxy}));
    const double margin = 1000.0 * k;
    const double x0 = std::floor((lo.x - margin) / px) * px;
    const double y1 = std::ceil((hi.y + margin) / px) * px;
    const int w = static_cast<int>(std::ceil((hi.x + margin - x0) / px));
    const int h = static_cast<int>(std::ceil((y1 - (lo.y - margin)) / px));
    if (static_cast<double>(w) * h > 4.0e8)
        throw InputError("the image would be too large; use a coarser resolution");

    // Pixel centres -> local metres on a coarse lattice.
    const geo::Point origin = detail::local_origin(lonlat_metric);
    constexpr int step = 32;
    const int nu = w / step + 2, nv = h / step + 2;
    std::vector<geo::Point> lattice(uz(static_cast<long>(nu) * nv));
    for (int b = 0; b < nv; ++b)
        for (int a = 0; a < nu; ++a)
            lattice[uz(static_cast<long>(b) * nu + a)] = {x0 + (a * step + 0.5) * px,
                                                          y1 - (b * step + 0.5) * px};
    merc_metric.forward(std::span<geo::Point>(lattice));
    geo::Box local;
    for (auto& p : lattice) {
        p.x -= origin.x;
        p.y -= origin.y;
        local.expand(p);
    }

    Landscape L;
    L.res = res;
    L.grain_seed = substream(options.seed, 0x61);
    L.block_seed = substream(options.seed, 0x63);
    L.bank_seed = substream(options.seed, 0x62);
    L.edge_seed = substream(options.seed, 0x65);
    L.industry_seed = substream(options.seed, 0x66);
    L.town_seed = substream(options.seed, 0x67);
    L.plot_seed = substream(options.seed, 0x68);
    L.scrub_seed = substream(options.seed, 0x69);
    L.bush_seed = substream(options.seed, 0x6A);
    L.river = detail::FenRiver(options.seed);
    L.river_u0 = local.minx - 1000.0;
    for (double u = L.river_u0; u <= local.maxx + 1000.0; u += L.river_step) {
        L.river_v.push_back(L.river.centre(u));
        L.river_w.push_back(L.river.width(u));
    }

    // Cells in local metres, with their density.
    struct CellInfo {
        geo::Polygon poly;
        double km2 = 0;
        double households = 0;
        geo::Point centre;
        std::string township;
        int village = 0;
        bool dense = false;
    };
    std::vector<CellInfo> cells;
    std::vector<std::string> village_codes;
    for (const auto& c : grid.cells) {
        geo::MultiPolygon m = c.geometry;
        if (m.polygons.empty()) continue;
        lonlat_metric.forward(m);
        for (auto& poly : m.polygons)
            for (auto& ring : poly.rings)
                for (auto& p : ring) {
                    p.x -= origin.x;
                    p.y -= origin.y;
                }
        CellInfo info;
        info.km2 = geo::planar_area(m) / 1e6;
        info.households = static_cast<double>(c.households);
        info.dense = info.households / std::max(info.km2, 1e-3) > 650.0; // town cells
        const geo::Box b = geo::bounds(m);
        info.centre = {0.5 * (b.minx + b.maxx), 0.5 * (b.miny + b.maxy)};
        info.township = c.township_code;
        const auto it = std::find(village_codes.begin(), village_codes.end(), c.village_code);
        info.village = static_cast<int>(it - village_codes.begin());
        if (it == village_codes.end()) village_codes.push_back(c.village_code);
        info.poly = std::move(m.polygons.front());
        cells.push_back(std::move(info));
    }

    // Settlements: town cells are built up throughout; a rural village has one compact
    // settlement near its middle (most of its households) and a hamlet in each cell.
    struct Settlement {
        geo::Point at;
        std::string township;
    };
    std::vector<Settlement> villages_at; // the main settlement of each rural village
    {
        constexpr double cell_step = 25.0;
        L.built.init(local.minx, local.miny, local.maxx, local.maxy, cell_step);
        L.style.init(local.minx, local.miny, local.maxx, local.maxy, cell_step);
        Field label;
        label.init(local.minx, local.miny, local.maxx, local.maxy, cell_step);
        std::fill(label.value.begin(), label.value.end(), -1.0f);
        for (Sz c = 0; c < cells.size(); ++c)
            fill_polygon(label, cells[c].poly, static_cast<float>(c));
        std::vector<std::vector<std::pair<int, int>>> inside(cells.size());
        for (int j = 0; j < label.ny; ++j)
            for (int i = 0; i < label.nx; ++i)
                if (label.at(i, j) >= 0)
                    inside[uz(static_cast<long>(label.at(i, j)))].emplace_back(i, j);
        const auto warp = substream(options.seed, 0x72);
        auto blob = [&](double cu, double cv, double households) {
            const double radius = std::sqrt(households * 420.0 / pi);
            const int reach = static_cast<int>(std::ceil(1.6 * radius / cell_step));
            const int ci = static_cast<int>(std::lround((cu - label.u0) / cell_step));
            const int cj = static_cast<int>(std::lround((cv - label.v0) / cell_step));
            for (int j = std::max(0, cj - reach); j <= std::min(label.ny - 1, cj + reach); ++j)
                for (int i = std::max(0, ci - reach); i <= std::min(label.nx - 1, ci + reach);
                     ++i) {
                    const double u = label.u_of(i), v = label.v_of(j);
                    const double d = dist(u - cu, v - cv) *
                                     (1.0 + 0.4 * detail::value_noise(warp, u / 400.0, v / 400.0) +
                                      0.2 * detail::value_noise(warp + 1, u / 120.0, v / 120.0));
                    const double b = 1.0 - smoothstep(0.75 * radius, 1.25 * radius, d);
                    if (b > L.built.at(i, j)) L.built.at(i, j) = static_cast<float>(b);
                }
        };
        Rng rng(substream(options.seed, 0x71));
        for (Sz c = 0; c < cells.size(); ++c) {
            if (!cells[c].dense && cells[c].township != "140824401") continue;
            for (const auto& [i, j] : inside[c]) {
                L.built.at(i, j) = 0.9f;
                L.style.at(i, j) = cells[c].township == "140824401" ? industry : town;
            }
        }
        for (Sz v = 0; v < village_codes.size(); ++v) {
            double households = 0, wu = 0, wv = 0;
            bool rural_village = false;
            std::string township;
            for (const auto& info : cells)
                if (info.village == static_cast<int>(v) && !info.dense &&
                    info.township != "140824401") {
                    households += info.households;
                    wu += info.households * info.centre.x;
                    wv += info.households * info.centre.y;
                    rural_village = true;
                    township = info.township;
                }
            if (!rural_village) continue;
            // The village's own point nearest its households' mean position.
            const double mu = wu / households, mv = wv / households;
            std::pair<int, int> best{-1, -1};
            double best_d = 1e300;
            for (Sz c = 0; c < cells.size(); ++c) {
                if (cells[c].village != static_cast<int>(v)) continue;
                for (const auto& ij : inside[c]) {
                    const double d = dist(label.u_of(ij.first) - mu, label.v_of(ij.second) - mv);
                    if (d < best_d) {
                        best_d = d;
                        best = ij;
                    }
                }
            }
            if (best.first < 0) continue;
            const geo::Point at{label.u_of(best.first), label.v_of(best.second)};
            blob(at.x, at.y, 0.7 * households);
            for (Sz c = 0; c < cells.size(); ++c) {
                if (cells[c].village != static_cast<int>(v) || inside[c].empty()) continue;
                const auto& ij = inside[c][rng.below(inside[c].size())];
                blob(label.u_of(ij.first), label.v_of(ij.second), 0.3 * cells[c].households);
            }
            villages_at.push_back({at, township});
        }
    }

    // Tone, hills and their shading.
    {
        constexpr double s = 50.0;
        L.tone.init(local.minx, local.miny, local.maxx, local.maxy, s);
        L.hill.init(local.minx, local.miny, local.maxx, local.maxy, s);
        L.shade.init(local.minx, local.miny, local.maxx, local.maxy, s);
        Field height;
        height.init(local.minx, local.miny, local.maxx, local.maxy, s);
        const auto ts = substream(options.seed, 0x81), hs = substream(options.seed, 0x82),
                   rs = substream(options.seed, 0x83);
        for (int j = 0; j < L.tone.ny; ++j)
            for (int i = 0; i < L.tone.nx; ++i) {
                const double u = L.tone.u_of(i), v = L.tone.v_of(j);
                L.tone.at(i, j) =
                    static_cast<float>(1.0 + 0.07 * detail::fbm(ts, u / 3000.0, v / 3000.0, 3));
                const double hv = v + 3000.0 * detail::fbm(hs, u / 7000.0, v / 7000.0, 3);
                const double hl = smoothstep(13000.0, 20000.0, hv);
                L.hill.at(i, j) = static_cast<float>(hl);
                height.at(i, j) = static_cast<float>(
                    hl * 400.0 * (1.0 + detail::fbm(rs, u / 1400.0, v / 1400.0, 5)));
            }
        for (int j = 0; j < L.shade.ny; ++j)
            for (int i = 0; i < L.shade.nx; ++i) {
                const int i0 = std::max(0, i - 1), i1 = std::min(L.shade.nx - 1, i + 1);
                const int j0 = std::max(0, j - 1), j1 = std::min(L.shade.ny - 1, j + 1);
                const double gx = (height.at(i1, j) - height.at(i0, j)) / ((i1 - i0) * s);
                const double gy = (height.at(i, j1) - height.at(i, j0)) / ((j1 - j0) * s);
                // Light from the north-west, as maps are shaded.
                const double lit = 1.0 + 0.9 * (-gx * 0.7071 + gy * 0.7071);
                L.shade.at(i, j) = static_cast<float>(std::clamp(lit, 0.55, 1.35));
            }
    }

    // Every pixel, rows shared among threads (each pixel depends only on its position).
    std::vector<std::uint8_t> rgb(uz(static_cast<long>(w) * h * 3));
    auto render_rows = [&](int r0, int r1) {
        BlockLook cache;
        for (int r = r0; r < r1; ++r) {
            const int b = r / step;
            const double ty = static_cast<double>(r - b * step) / step;
            for (int c = 0; c < w; ++c) {
                const int a = c / step;
                const double tx = static_cast<double>(c - a * step) / step;
                const auto& p00 = lattice[uz(static_cast<long>(b) * nu + a)];
                const auto& p10 = lattice[uz(static_cast<long>(b) * nu + a + 1)];
                const auto& p01 = lattice[uz(static_cast<long>(b + 1) * nu + a)];
                const auto& p11 = lattice[uz(static_cast<long>(b + 1) * nu + a + 1)];
                const double u =
                    (p00.x + (p10.x - p00.x) * tx) * (1 - ty) + (p01.x + (p11.x - p01.x) * tx) * ty;
                const double v =
                    (p00.y + (p10.y - p00.y) * tx) * (1 - ty) + (p01.y + (p11.y - p01.y) * tx) * ty;
                const Rgb col = ground(L, u, v, c, r, cache);
                auto* out = &rgb[(uz(r) * uz(w) + uz(c)) * 3];
                out[0] = to_byte(col.r);
                out[1] = to_byte(col.g);
                out[2] = to_byte(col.b);
            }
        }
    };
    {
        const unsigned n = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
        std::vector<std::thread> pool;
        const int chunk = (h + static_cast<int>(n) - 1) / static_cast<int>(n);
        for (unsigned t = 0; t < n; ++t) {
            const int r0 = static_cast<int>(t) * chunk, r1 = std::min(h, r0 + chunk);
            if (r0 < r1) pool.emplace_back(render_rows, r0, r1);
        }
        for (auto& t : pool)
            t.join();
    }

    // Roads: main roads joining Jifeng and the township seats (a minimum spanning tree), a
    // highway along the valley, and a lane from every village towards its township seat.
    {
        std::vector<Road> roads;
        Rng rng(substream(options.seed, 0x91));
        // A township's seat: its densest cell (Jifeng for the county seat).
        std::vector<std::pair<std::string, geo::Point>> seats;
        for (const auto& u : grid.units) {
            if (u.level != grid::UnitLevel::township) continue;
            geo::Point at{0, 0};
            double best = -1;
            for (const auto& info : cells) {
                if (info.township != u.code) continue;
                const double density = info.households / std::max(info.km2, 1e-3);
                if (density > best) {
                    best = density;
                    at = info.centre;
                }
            }
            if (u.code == "140824400") at = {0, 0};
            if (best >= 0) seats.emplace_back(u.code, at);
        }
        const Rgb main_colour{222, 218, 208}, lane_colour{182, 172, 150};
        // A minimum spanning tree over the seats and Jifeng (Prim, ties by order).
        seats.emplace_back("", geo::Point{0, 0});
        std::vector<char> joined(seats.size(), 0);
        joined.back() = 1;
        for (Sz added = 1; added < seats.size(); ++added) {
            double best = 1e300;
            Sz from = 0, to = 0;
            for (Sz a = 0; a < seats.size(); ++a)
                for (Sz b = 0; b < seats.size(); ++b)
                    if (joined[a] && !joined[b]) {
                        const double d = dist(seats[a].second.x - seats[b].second.x,
                                              seats[a].second.y - seats[b].second.y);
                        if (d < best) {
                            best = d;
                            from = a;
                            to = b;
                        }
                    }
            joined[to] = 1;
            if (best > 500.0)
                roads.push_back({wiggle(rng, seats[from].second, seats[to].second, 0.05, 4), 20.0,
                                 main_colour});
        }
        seats.pop_back();
        {
            Road highway{{}, 24.0, Rgb{222, 220, 214}};
            for (double u = local.minx - 500.0; u <= local.maxx + 500.0; u += 250.0)
                highway.pts.push_back(
                    {u, 0.55 * (L.river_centre(u) - L.river_centre(0.0)) + 450.0});
            roads.push_back(std::move(highway));
        }
        for (const auto& village : villages_at) {
            geo::Point seat{0, 0};
            for (const auto& [code, at] : seats)
                if (code == village.township) seat = at;
            // Towards the seat, ending at the nearest village on the way.
            geo::Point to = seat;
            const geo::Point from = village.at;
            double best = dist(seat.x - from.x, seat.y - from.y);
            for (const auto& other : villages_at) {
                const double d = dist(other.at.x - from.x, other.at.y - from.y);
                const double closer = dist(seat.x - other.at.x, seat.y - other.at.y);
                if (d > 1.0 && d < best && closer < best) {
                    best = d;
                    to = other.at;
                }
            }
            roads.push_back({wiggle(rng, from, to, 0.08, 3), 8.0, lane_colour});
        }
        // Local metres -> pixels.
        for (auto& road : roads) {
            for (auto& p : road.pts) {
                p.x += origin.x;
                p.y += origin.y;
            }
            merc_metric.inverse(std::span<geo::Point>(road.pts));
            for (auto& p : road.pts)
                p = {(p.x - x0) / px - 0.5, (y1 - p.y) / px - 0.5};
        }
        // Lanes first so main roads lie on top.
        for (const auto& road : roads)
            if (road.width_m < 10.0) draw_road(rgb, w, h, road, res);
        for (const auto& road : roads)
            if (road.width_m >= 10.0) draw_road(rgb, w, h, road, res);
    }

    // Write: an in-memory dataset copied to a JPEG-compressed, tiled COG with overviews.
    geo::gdal_init();
    geo::Dataset mem = geo::Dataset::create_raster("", "MEM", w, h, 3, GDT_Byte);
    {
        geo::GdalErrorCapture capture;
        double gt[6] = {x0, px, 0.0, y1, 0.0, -px};
        const auto srs = geo::SpatialRef::from_user_input("EPSG:3857");
        if (GDALSetGeoTransform(mem.get(), gt) != CE_None ||
            GDALSetSpatialRef(mem.get(), srs.get()) != CE_None)
            throw LibraryError("GDAL: cannot georeference the image: " + capture.last());
        char resolution[32];
        std::snprintf(resolution, sizeof resolution, "%g", res);
        GDALSetMetadataItem(mem.get(), "WANGGE_GENERATED", jishan_generated_notice, nullptr);
        GDALSetMetadataItem(mem.get(), "WANGGE_SAMPLE", "jishan", nullptr);
        GDALSetMetadataItem(mem.get(), "WANGGE_SEED", std::to_string(options.seed).c_str(),
                            nullptr);
        GDALSetMetadataItem(mem.get(), "WANGGE_RESOLUTION_M", resolution, nullptr);
        for (int band = 1; band <= 3; ++band)
            GDALSetRasterColorInterpretation(GDALGetRasterBand(mem.get(), band),
                                             static_cast<GDALColorInterp>(GCI_RedBand + band - 1));
        int bands[3] = {1, 2, 3};
        if (GDALDatasetRasterIO(mem.get(), GF_Write, 0, 0, w, h, rgb.data(), w, h, GDT_Byte, 3,
                                bands, 3, static_cast<GSpacing>(w) * 3, 1) != CE_None)
            throw LibraryError("GDAL: cannot fill the image: " + capture.last());
    }
    // Overviews are built in memory first: otherwise the COG driver computes them through a
    // temporary file on disk. Halving until the smallest fits one tile, as OVERVIEWS=AUTO does.
    {
        std::vector<int> factors;
        for (int f = 2; std::max(w, h) > 512 * (f / 2); f *= 2)
            factors.push_back(f);
        geo::GdalErrorCapture capture;
        if (!factors.empty() &&
            GDALBuildOverviews(mem.get(), "AVERAGE", static_cast<int>(factors.size()),
                               factors.data(), 0, nullptr, nullptr, nullptr) != CE_None)
            throw LibraryError("GDAL: cannot build the image's overviews: " + capture.last());
    }
    geo::Dataset out = geo::Dataset::create_copy(tif_path, "COG", mem,
                                                 {"COMPRESS=JPEG", "QUALITY=85",
                                                  "OVERVIEW_COMPRESS=JPEG", "OVERVIEW_QUALITY=85",
                                                  "OVERVIEWS=FORCE_USE_EXISTING", "BLOCKSIZE=512"});
    out.close();
}

} // namespace wangge::sample
