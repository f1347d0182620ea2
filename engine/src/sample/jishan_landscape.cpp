// The ground of the Jishan image: river, field blocks and crops, settlements, hills; see
// jishan_landscape.hpp.
#include "jishan_landscape.hpp"

namespace wangge::sample::detail {

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

namespace {

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

} // namespace

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

} // namespace wangge::sample::detail
