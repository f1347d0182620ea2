// The generated satellite-like image of Jishan County. Every pixel is a pure function of its
// position in local metres (EPSG:4546 around Jifeng), computed from fields prepared once on a
// 25 m raster (where the settlements are, hills, tone); roads are drawn afterwards. The image
// is in EPSG:3857; pixel centres are mapped to local metres by interpolating a coarse lattice
// of PROJ-transformed points (the mapping is smooth, so this is exact to millimetres).
// The ground is in jishan_landscape.cpp, the roads in jishan_roads.cpp.
#include "jishan_landscape.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/sample/jishan.hpp"

#include <cstdio>
#include <gdal.h>
#include <thread>
#include <utility>

namespace wangge::sample {

using namespace detail;

void write_jishan_imagery(const grid::Grid& grid, const std::string& tif_path,
                          const JishanOptions& options) {
    const double res = options.imagery_resolution_m;
    if (!(res >= 0.5 && res <= 1000.0))
        throw InputError("imagery resolution must be between 0.5 and 1000 metres");
    if (grid.cells.empty()) throw InputError("the grid has no cells to draw an image of");
    // Two transformers do everything (creating one costs PROJ a database search):
    // lon/lat -> EPSG:4546 and EPSG:3857 -> EPSG:4546 (inverse for the way back).
    const geo::Transformer lonlat_metric("EPSG:4326", metric_crs);
    const geo::Transformer merc_metric("EPSG:3857", metric_crs);
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
    const geo::Point origin = local_origin(lonlat_metric);
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
    L.river = FenRiver(options.seed);
    L.river_u0 = local.minx - 1000.0;
    for (double u = L.river_u0; u <= local.maxx + 1000.0; u += L.river_step) {
        L.river_v.push_back(L.river.centre(u));
        L.river_w.push_back(L.river.width(u));
    }

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
                                     (1.0 + 0.4 * value_noise(warp, u / 400.0, v / 400.0) +
                                      0.2 * value_noise(warp + 1, u / 120.0, v / 120.0));
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
                    static_cast<float>(1.0 + 0.07 * fbm(ts, u / 3000.0, v / 3000.0, 3));
                const double hv = v + 3000.0 * fbm(hs, u / 7000.0, v / 7000.0, 3);
                const double hl = smoothstep(13000.0, 20000.0, hv);
                L.hill.at(i, j) = static_cast<float>(hl);
                height.at(i, j) =
                    static_cast<float>(hl * 400.0 * (1.0 + fbm(rs, u / 1400.0, v / 1400.0, 5)));
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
    {
        Image image{w, h, x0, y1, px, res, std::move(rgb)};
        draw_roads(image, options.seed, grid, cells, villages_at, L, local, origin, merc_metric);
        rgb = std::move(image.rgb);
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
