// Tiles: tile math, plans (exact tile lists), expiry, metatile rendering (a mosaic of tiles
// equals one render), MBTiles and XYZ export (metadata, dedupe, determinism, resume after a
// SIGKILL, faults), and the exported Mapnik style rendered by mapnik-render.
#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/sample/jishan.hpp"
#include "wangge/store/workspace.hpp"
#include "wangge/tiles/export.hpp"
#include "wangge/tiles/plan.hpp"
#include "wangge/tiles/png8.hpp"
#include "wangge/tiles/source.hpp"
#include "wangge/tiles/tile.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gdal.h>
#include <geos_c.h>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sqlite3.h>
#include <sstream>
#include <string>
#include <sys/file.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace wangge;
namespace fs = std::filesystem;

namespace {

// The generated Jishan grid (no imagery), projected once for all tests.
std::shared_ptr<const render::MapData> jishan() {
    static const auto data =
        render::MapData::from_grid(sample::generate_jishan_grid({}), std::nullopt, "generated");
    return data;
}

std::string joined(const std::vector<tiles::TileId>& ts) {
    std::string out;
    for (const auto& t : ts) {
        if (!out.empty()) out.push_back(' ');
        out.append(tiles::to_string(t));
    }
    return out;
}

// Independent of the planner: GEOS says which tiles of the area's bounding box touch the area
// grown by the margin; the plan must list exactly those.
void expect_plan_matches_geos(const geo::MultiPolygon& area, const tiles::Plan& plan) {
    geo::GeosContext ctx;
    const auto g = ctx.from(area);
    const auto b = geo::bounds(area);
    std::vector<tiles::TileId> want;
    for (int z = plan.zoom.min; z <= plan.zoom.max; ++z) {
        const double m = tiles::plan_margin_px * tiles::resolution(z);
        const auto tl = tiles::tile_at_3857({b.minx - m, b.maxy + m}, z);
        const auto br = tiles::tile_at_3857({b.maxx + m, b.miny - m}, z);
        for (int x = tl.x; x <= br.x; ++x)
            for (int y = tl.y; y <= br.y; ++y) {
                auto tb = tiles::tile_bounds_3857({z, x, y});
                geo::Polygon box;
                box.rings.push_back({{tb.minx - m, tb.miny - m},
                                     {tb.maxx + m, tb.miny - m},
                                     {tb.maxx + m, tb.maxy + m},
                                     {tb.minx - m, tb.maxy + m},
                                     {tb.minx - m, tb.miny - m}});
                const auto bg = ctx.from(box);
                if (GEOSIntersects_r(ctx.get(), g.get(), bg.get()) == 1) want.push_back({z, x, y});
            }
    }
    EXPECT_EQ(joined(plan.tiles), joined(want));
}

} // namespace

// ---- Tile math -------------------------------------------------------------------------------

TEST(TileMath, KnownTilesAndBounds) {
    // Jifeng, the county seat, at zoom 10 (checked against the OSM slippy-map formula).
    const auto t = tiles::tile_at_lonlat({110.96, 35.61}, 10);
    EXPECT_EQ(tiles::to_string(t), "10/827/403");
    EXPECT_EQ(tiles::tms_row(t), 1023 - 403);
    const auto b = tiles::tile_bounds_lonlat(t);
    EXPECT_LE(b.minx, 110.96);
    EXPECT_GE(b.maxx, 110.96);
    EXPECT_LE(b.miny, 35.61);
    EXPECT_GE(b.maxy, 35.61);
    const auto w = tiles::tile_bounds_3857({0, 0, 0});
    EXPECT_DOUBLE_EQ(w.minx, -tiles::world_half);
    EXPECT_DOUBLE_EQ(w.maxy, tiles::world_half);
    EXPECT_NEAR(tiles::resolution(0), 156543.03392804097, 1e-6);
    // Clamped at the world's edges; a point on an edge goes east / south.
    EXPECT_EQ(tiles::to_string(tiles::tile_at_3857({0, 0}, 1)), "1/1/1");
    EXPECT_EQ(tiles::to_string(tiles::tile_at_lonlat({180, -89}, 2)), "2/3/3");
}

TEST(TileMath, ParsesZoomRangesAndTiles) {
    EXPECT_EQ(tiles::parse_zoom_range("8-18").min, 8);
    EXPECT_EQ(tiles::parse_zoom_range("8-18").max, 18);
    EXPECT_EQ(tiles::parse_zoom_range("12").max, 12);
    EXPECT_THROW((void)tiles::parse_zoom_range("18-8"), InputError);
    EXPECT_THROW((void)tiles::parse_zoom_range("0-23"), InputError);
    EXPECT_THROW((void)tiles::parse_zoom_range("-1"), InputError);
    EXPECT_THROW((void)tiles::parse_zoom_range("a-b"), InputError);
    EXPECT_EQ(tiles::parse_tile("3/2/1"), (tiles::TileId{3, 2, 1}));
    EXPECT_THROW((void)tiles::parse_tile("3/8/1"), InputError);
    EXPECT_THROW((void)tiles::parse_tile("3/2"), InputError);
}

TEST(TileMath, Metatiles) {
    const auto m = tiles::metatile_of({10, 827, 408}, 8);
    EXPECT_EQ(m.x0, 824);
    EXPECT_EQ(m.y0, 408);
    EXPECT_EQ(m.size, 8);
    EXPECT_EQ(tiles::metatile_of({2, 3, 1}, 8).size, 4); // the whole zoom 2
    const auto b = tiles::metatile_bounds_3857(m, 128);
    const auto tl = tiles::tile_bounds_3857({10, 824, 408});
    EXPECT_NEAR(tl.minx - b.minx, 128 * tiles::resolution(10), 1e-6);
    EXPECT_THROW((void)tiles::metatile_of({1, 0, 0}, 3), InputError);
}

// ---- Plans -----------------------------------------------------------------------------------

TEST(TilePlan, ExactTilesOfACell) {
    const auto data = jishan();
    const auto& cell = data->grid_3857().cells.front();
    const auto plan = tiles::make_plan(tiles::area_cell(*data, cell.code), {12, 14});
    EXPECT_EQ(cell.code, "14082410020001");
    EXPECT_EQ(joined(plan.tiles),
              "12/3310/1613 13/6620/3227 13/6621/3227 14/13241/6454 14/13242/6454");
    expect_plan_matches_geos(cell.geometry, plan);
}

TEST(TilePlan, ExactTilesOfATownship) {
    const auto data = jishan();
    const auto plan = tiles::make_plan(tiles::area_unit(*data, "140824102"), {10, 12});
    EXPECT_EQ(joined(plan.tiles), "10/827/402 10/827/403 11/1654/805 11/1654/806 11/1655/805 "
                                  "11/1655/806 12/3308/1611 12/3309/1611 12/3309/1612 "
                                  "12/3310/1611 12/3310/1612");
    expect_plan_matches_geos(data->grid_3857().find_unit("140824102")->geometry, plan);
    // Not the whole bounding box: a township of this shape skips a corner at zoom 12.
    EXPECT_LT(plan.per_zoom().at(12), 3u * 2u);
}

TEST(TilePlan, UnknownCodesAreRefused) {
    const auto data = jishan();
    EXPECT_THROW((void)tiles::area_unit(*data, "140824999"), InputError);
    EXPECT_THROW((void)tiles::area_cell(*data, "14082410010099"), InputError);
}

// ---- Shared fixtures and helpers for the rendering and export tests --------------------------

namespace {

constexpr const char* t0 = "2026-04-01T09:30"; // the sample's reference time
constexpr const char* t1 = "2026-04-01T10:30";

std::string quote(const std::string& s) {
    return "'" + s + "'";
}

// Runs a shell command; returns what it printed (stdout and stderr) and sets *rc.
std::string run(const std::string& cmd, int* rc = nullptr) {
    std::string out;
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!p) return "popen failed";
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    const int status = ::pclose(p);
    if (rc) *rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return out;
}

std::string wangge_cmd() {
    return quote(WANGGE_BINARY);
}

// The Jishan sample (grid, generated imagery at 40 m, loop history), made once by the
// command itself and shared by the tests of this run (built aside, then renamed into place,
// so tests running in parallel never see half of it).
std::string sample_workspace() {
    const char* base = std::getenv("WANGGE_TEST_TMP");
    const fs::path dir = fs::path(base ? base : "/tmp/wangge-test") / "tiles-sample";
    const fs::path ws = dir / "jishan.gpkg";
    if (fs::exists(ws)) return ws.string();
    const fs::path part = dir.string() + ".part" + std::to_string(::getpid());
    fs::remove_all(part);
    fs::create_directories(part);
    int rc = 0;
    const auto out = run(wangge_cmd() + " sample jishan --workspace " +
                             quote((part / "jishan.gpkg").string()) + " --imagery-resolution 40",
                         &rc);
    EXPECT_EQ(rc, 0) << out;
    std::error_code ec;
    fs::rename(part, dir, ec); // another test may have won the race: then use its copy
    if (ec) fs::remove_all(part);
    return ws.string();
}

// A private copy of the sample (for tests that write into the workspace).
std::string copy_of_sample(const fs::path& dir) {
    const fs::path src = sample_workspace();
    for (const auto& e : fs::directory_iterator(src.parent_path()))
        fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
    return (dir / "jishan.gpkg").string();
}

render::Image decode(const std::string& bytes, const fs::path& dir) {
    const auto path = dir / "decode.png"; // the reader goes by the extension
    std::ofstream(path, std::ios::binary) << bytes;
    return render::read_image(path.string());
}

// Share of pixels whose channels differ by more than `tolerance` (alpha-weighted colours).
double differing_fraction(const render::Image& a, const render::Image& b, int tolerance) {
    if (a.width != b.width || a.height != b.height) return 1.0;
    std::size_t differ = 0;
    for (int y = 0; y < a.height; ++y)
        for (int x = 0; x < a.width; ++x) {
            const auto* p = a.pixel(x, y);
            const auto* q = b.pixel(x, y);
            for (int c = 0; c < 4; ++c) {
                const int pa = c < 3 ? p[c] * p[3] / 255 : p[c];
                const int qa = c < 3 ? q[c] * q[3] / 255 : q[c];
                if (std::abs(pa - qa) > tolerance) {
                    ++differ;
                    break;
                }
            }
        }
    return static_cast<double>(differ) / (static_cast<double>(a.width) * a.height);
}

// All tiles of an MBTiles file: "z/x/y" (XYZ) -> bytes.
std::map<std::string, std::string> mbtiles_tiles(const std::string& path) {
    std::map<std::string, std::string> out;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        ADD_FAILURE() << "cannot open " << path;
        return out;
    }
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles", -1,
                       &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const int z = sqlite3_column_int(st, 0);
        const int x = sqlite3_column_int(st, 1);
        const int y = (1 << z) - 1 - sqlite3_column_int(st, 2);
        out[tiles::to_string({z, x, y})] =
            std::string(static_cast<const char*>(sqlite3_column_blob(st, 3)),
                        static_cast<std::size_t>(sqlite3_column_bytes(st, 3)));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
}

// One value of an SQL query on a file ("" for none).
std::string sql_value(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    std::string v;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

// All tiles of an XYZ folder: "z/x/y" -> bytes.
std::map<std::string, std::string> folder_tiles(const fs::path& root) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file() || e.path().extension() != ".png") continue;
        const auto rel = fs::relative(e.path(), root);
        auto it = rel.begin();
        const std::string z = (it++)->string();
        const std::string x = (it++)->string();
        const std::string y = it->stem().string();
        std::ifstream in(e.path(), std::ios::binary);
        out[z + "/" + x + "/" + y] = std::string(std::istreambuf_iterator<char>(in), {});
    }
    return out;
}

// The overlay of the whole county at z10-13 in metatiles of one tile (104 metatiles), the
// job the resume and fault tests interrupt.
std::string overlay_job(const std::string& ws, const std::string& out) {
    return wangge_cmd() + " tiles export " + quote(ws) + " --out " + quote(out) +
           " --layer overlay --zoom 10-13 --metatile 1 --at " + t0;
}

} // namespace

// ---- PNG encoder -----------------------------------------------------------------------------

// The tile encoder: a picture of at most 256 colours comes back exactly (opaque, translucent
// and fully transparent pixels); 65,536 colours come back within 12 counts per channel (the
// palette is 256 box means of a 5-5-5 histogram); the same pixels give the same bytes.
TEST(TilePng8, FewColoursAreExactAndManyStayClose) {
    const auto dir = test::temp_dir();
    render::Image few;
    few.width = 64;
    few.height = 16;
    few.rgba.resize(64 * 16 * 4);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 64; ++x) {
            auto* p = few.rgba.data() + (y * 64 + x) * 4;
            const int k = (y * 64 + x) % 200; // 200 colours, far apart
            p[0] = static_cast<std::uint8_t>(k * 37 % 256);
            p[1] = static_cast<std::uint8_t>(k * 91 % 256);
            p[2] = static_cast<std::uint8_t>(k * 13 % 256);
            p[3] = static_cast<std::uint8_t>(k < 150 ? 255 : k < 180 ? 128 : 0);
            if (p[3] == 0) p[0] = p[1] = p[2] = 0;
        }
    const std::string bytes = tiles::encode_png8(few.rgba.data(), 64, 16, 64 * 4);
    ASSERT_EQ(bytes.substr(1, 3), "PNG");
    const auto back = decode(bytes, dir);
    ASSERT_EQ(back.width, 64);
    ASSERT_EQ(back.height, 16);
    for (int i = 0; i < 64 * 16; ++i) {
        const auto* a = few.rgba.data() + i * 4;
        const auto* b = back.rgba.data() + i * 4;
        ASSERT_EQ(a[3], b[3]) << "pixel " << i;
        for (int c = 0; c < 3 && a[3] > 0; ++c)
            ASSERT_EQ(a[c], b[c]) << "pixel " << i << " channel " << c;
    }

    std::vector<std::uint8_t> many(256 * 256 * 4);
    for (int y = 0; y < 256; ++y)
        for (int x = 0; x < 256; ++x) {
            auto* p = many.data() + (y * 256 + x) * 4;
            p[0] = static_cast<std::uint8_t>(x);
            p[1] = static_cast<std::uint8_t>(y);
            p[2] = static_cast<std::uint8_t>((x + y) / 2);
            p[3] = 255;
        }
    const std::string packed = tiles::encode_png8(many.data(), 256, 256, 256 * 4);
    EXPECT_EQ(packed, tiles::encode_png8(many.data(), 256, 256, 256 * 4));
    const auto img = decode(packed, dir);
    int worst = 0;
    for (std::size_t i = 0; i < many.size(); ++i)
        worst = std::max(worst, std::abs(int(many[i]) - int(img.rgba[i])));
    EXPECT_LE(worst, 12);
    EXPECT_LT(packed.size(), many.size() / 4); // one byte a pixel, compressed
}

// ---- Metatiles -------------------------------------------------------------------------------

// Tiles n x n from (x0, y0) at zoom z, drawn in metatiles of 2 x 2 and pasted together.
render::Image mosaic_of(tiles::MetatileRenderer& mr, tiles::Layer layer, int z, int x0, int y0,
                        int n, const render::RenderStatus& status, const fs::path& dir) {
    render::Image mosaic;
    mosaic.width = mosaic.height = n * tiles::tile_px;
    mosaic.rgba.assign(static_cast<std::size_t>(mosaic.width) * mosaic.height * 4, 0);
    std::set<tiles::MetaId> metas;
    for (int x = x0; x < x0 + n; ++x)
        for (int y = y0; y < y0 + n; ++y)
            metas.insert(tiles::metatile_of({z, x, y}, mr.options().metatile));
    std::size_t pasted = 0;
    for (const auto& m : metas)
        for (const auto& t : mr.render(m, layer, tiles::Format::png, status).tiles) {
            if (t.id.x < x0 || t.id.x >= x0 + n || t.id.y < y0 || t.id.y >= y0 + n) continue;
            const auto img = decode(t.bytes, dir);
            EXPECT_EQ(img.width, tiles::tile_px);
            const int ox = (t.id.x - x0) * tiles::tile_px;
            const int oy = (t.id.y - y0) * tiles::tile_px;
            for (int y = 0; y < tiles::tile_px; ++y)
                std::copy_n(img.pixel(0, y), tiles::tile_px * 4,
                            mosaic.rgba.begin() +
                                (static_cast<std::ptrdiff_t>(oy + y) * mosaic.width + ox) * 4);
            ++pasted;
        }
    EXPECT_EQ(pasted, static_cast<std::size_t>(n * n));
    return mosaic;
}

geo::Box box_of_tiles(int z, int x0, int y0, int n) {
    const auto tl = tiles::tile_bounds_3857({z, x0, y0});
    const auto br = tiles::tile_bounds_3857({z, x0 + n - 1, y0 + n - 1});
    return {tl.minx, br.miny, br.maxx, tl.maxy};
}

// A mosaic of 4 x 4 composite tiles cut from four 2 x 2 metatiles (with their buffers) equals
// one render of the same area. Tolerance: fewer than 1.5% of pixels differ by more than 48
// counts (png8 quantises each tile's imagery on its own: about 2% of pixels move by 32
// counts, 0.2% by 77; and the overdue hatch, aligned to the image origin, lands up to a pixel
// apart in some metatiles: 1.07% in all on the sample at its reference time).
TEST(TileRendering, MosaicOfTilesEqualsOneRender) {
    const auto dir = test::temp_dir();
    const auto ws = store::Workspace::open(sample_workspace());
    const auto data = render::MapData::load(ws);
    const auto status = render::status_from_workspace(ws, t0);
    tiles::MetatileRenderer mr(data, {.metatile = 2});
    const auto mosaic = mosaic_of(mr, tiles::Layer::composite, 12, 3308, 1610, 4, status, dir);
    render::Renderer one(data, {.name = "satellite-overlay"});
    const auto whole =
        one.render(box_of_tiles(12, 3308, 1610, 4), mosaic.width, mosaic.height, status);
    render::write_image(mosaic, (dir / "mosaic.png").string(), "png");
    render::write_image(whole, (dir / "one-render.png").string(), "png");
    EXPECT_LT(differing_fraction(mosaic, whole, 48), 0.015) << "mosaic vs one render, see " << dir;
}

// Compares a mosaic with its golden image tests/tiles/NAME.png: fewer than 0.5% of pixels
// differ by more than 8 counts. WANGGE_OVERWRITE_GOLDEN=1 re-baselines (after a deliberate
// change, and after looking at the picture).
void expect_golden(const render::Image& mosaic, const std::string& name) {
    const std::string golden = std::string(WANGGE_TILES_EXPECTED) + "/" + name + ".png";
    const char* overwrite = std::getenv("WANGGE_OVERWRITE_GOLDEN");
    if (overwrite && std::string(overwrite) == "1") {
        fs::create_directories(fs::path(golden).parent_path());
        render::write_image(mosaic, golden, "png");
    }
    ASSERT_TRUE(fs::exists(golden)) << "run with WANGGE_OVERWRITE_GOLDEN=1 to create " << golden;
    const double diff = differing_fraction(mosaic, render::read_image(golden), 8);
    if (diff >= 0.005) {
        fs::create_directories(WANGGE_TILES_FAILURES);
        render::write_image(mosaic, std::string(WANGGE_TILES_FAILURES) + "/" + name + "-actual.png",
                            "png");
    }
    EXPECT_LT(diff, 0.005) << "mosaic vs " << golden;
}

// The overlay across the corner where four metatiles meet (labels and pins there must not be
// cut or doubled) equals one render of the area and its golden image.
TEST(TileRendering, OverlayAcrossMetatileSeamsMatchesGolden) {
    const auto dir = test::temp_dir();
    const auto ws = store::Workspace::open(sample_workspace());
    const auto data = render::MapData::load(ws);
    const auto status = render::status_from_workspace(ws, t0);
    tiles::MetatileRenderer mr(data, {.metatile = 2});
    const auto mosaic = mosaic_of(mr, tiles::Layer::overlay, 13, 6619, 3223, 2, status, dir);
    render::Renderer one(data, {.name = "overlay"});
    const auto whole =
        one.render(box_of_tiles(13, 6619, 3223, 2), mosaic.width, mosaic.height, status);
    EXPECT_LT(differing_fraction(mosaic, whole, 48), 0.01) << "mosaic vs one render";
    expect_golden(mosaic, "overlay-z13-seams");
}

// The zooms at either end, where the by-eye check found what to watch, in metatiles of 2 x 2:
// far out (z10, the county in a few tiles, a metatile seam through its middle: imagery reduced
// on its overviews, township names, overdue pins only) and close in (z17, across the corner of
// four metatiles: cell name and code repeated on a grid inside the cell, every pin).
TEST(TileRendering, FarAndCloseZoomsAcrossMetatileSeamsMatchGoldens) {
    const auto dir = test::temp_dir();
    const auto ws = store::Workspace::open(sample_workspace());
    const auto data = render::MapData::load(ws);
    const auto status = render::status_from_workspace(ws, t0);
    tiles::MetatileRenderer mr(data, {.metatile = 2});
    expect_golden(mosaic_of(mr, tiles::Layer::composite, 10, 827, 402, 2, status, dir),
                  "composite-z10-seams");
    expect_golden(mosaic_of(mr, tiles::Layer::overlay, 17, 105935, 51637, 2, status, dir),
                  "overlay-z17-seams");
}

// The server's entry point: threads sharing one TileSource get the same bytes as one
// MetatileRenderer, and a tile alone equals the same tile of its metatile.
TEST(TileRendering, TileSourceIsThreadSafeAndDeterministic) {
    const auto data = jishan();
    render::RenderStatus status;
    status.cells[data->grid_3857().cells.front().code] = render::CellState::overdue;
    const tiles::TileId tile{11, 1654, 805};
    tiles::MetatileRenderer mr(data, {.metatile = 2});
    const auto want =
        mr.render(tiles::metatile_of(tile, 2), tiles::Layer::overlay, tiles::Format::png, status);
    ASSERT_EQ(want.tiles.size(), 4u);
    tiles::TileSource source(data, {.metatile = 2});
    std::vector<tiles::MetatileResult> got(3);
    std::vector<std::thread> threads;
    for (auto& g : got)
        threads.emplace_back(
            [&] { g = source.metatile(tile, tiles::Layer::overlay, tiles::Format::png, status); });
    for (auto& t : threads)
        t.join();
    for (const auto& g : got) {
        ASSERT_EQ(g.tiles.size(), 4u);
        for (std::size_t i = 0; i < 4; ++i) {
            EXPECT_EQ(g.tiles[i].id, want.tiles[i].id);
            EXPECT_EQ(g.tiles[i].bytes, want.tiles[i].bytes);
        }
    }
    const auto it = std::find_if(want.tiles.begin(), want.tiles.end(),
                                 [&](const tiles::EncodedTile& t) { return t.id == tile; });
    ASSERT_NE(it, want.tiles.end());
    EXPECT_EQ(source.tile(tile, tiles::Layer::overlay, tiles::Format::png, status), it->bytes);
    EXPECT_EQ(std::string(tiles::mime_type(tiles::Format::png)), "image/png");
    EXPECT_THROW((void)source.tile({3, 8, 0}, tiles::Layer::overlay, tiles::Format::png, status),
                 InputError);
    EXPECT_THROW((void)source.tile(tile, tiles::Layer::overlay, tiles::Format::jpeg, status),
                 InputError);
}

// ---- Expiry ----------------------------------------------------------------------------------

TEST(TileExpiry, AStatusChangeExpiresTheCellsTilesWithTheLabelMargin) {
    const auto data = jishan();
    render::RenderStatus before, after;
    EXPECT_TRUE(tiles::diff_status(before, after).empty());
    after.cells["14082410020001"] = render::CellState::overdue;
    const auto change = tiles::diff_status(before, after);
    EXPECT_EQ(change.cells, (std::set<std::string>{"14082410020001"}));
    const auto expired = tiles::expired_tiles(*data, change, {12, 14});
    EXPECT_EQ(joined(expired), "12/3310/1613 12/3310/1614 13/6620/3226 13/6620/3227 "
                               "13/6621/3226 13/6621/3227 14/13241/6454 14/13241/6455 "
                               "14/13242/6454 14/13242/6455");
    EXPECT_EQ(expired, tiles::tiles_for_cells(*data, {"14082410020001"}, {12, 14}));
    // The margin reaches further than the plan's: a superset of the cell's own tiles.
    const auto own = tiles::make_plan(tiles::area_cell(*data, "14082410020001"), {12, 14});
    EXPECT_TRUE(std::includes(expired.begin(), expired.end(), own.tiles.begin(), own.tiles.end()));
    // Back to none is a change too; a cell of another grid version is ignored.
    EXPECT_EQ(tiles::expired_tiles(*data, tiles::diff_status(after, before), {12, 14}), expired);
    EXPECT_TRUE(tiles::tiles_for_cells(*data, {"99999999999999"}, {12, 14}).empty());
}

TEST(TileExpiry, PinsExpireTheTilesAroundThemOnly) {
    const auto data = jishan();
    render::RenderStatus before, after;
    before.pins.push_back({110.96, 35.61, "reported", "7"});
    before.pins.push_back({110.80, 35.65, "dispatched", "8"});
    after = before;
    after.pins[0].state = "overdue"; // restyled; pin 8 unchanged
    const auto change = tiles::diff_status(before, after);
    EXPECT_TRUE(change.cells.empty());
    ASSERT_EQ(change.pins_lonlat.size(), 2u); // its old and new place (the same here)
    const auto expired = tiles::expired_tiles(*data, change, {12, 14});
    for (int z = 12; z <= 14; ++z) {
        EXPECT_TRUE(std::binary_search(expired.begin(), expired.end(),
                                       tiles::tile_at_lonlat({110.96, 35.61}, z)))
            << z;
        EXPECT_FALSE(std::binary_search(expired.begin(), expired.end(),
                                        tiles::tile_at_lonlat({110.80, 35.65}, z)))
            << z;
    }
    // 32 px around a point touches at most 2 x 2 tiles a zoom.
    EXPECT_LE(expired.size(), 3u * 4u);
}

// ---- Export ----------------------------------------------------------------------------------

TEST(TileExport, MbtilesHasTheFullMetadataTmsRowsAndStoresIdenticalTilesOnce) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const auto out = (dir / "t.mbtiles").string();
    int rc = 0;
    const auto text = run(wangge_cmd() + " tiles export " + quote(ws) + " --out " + quote(out) +
                              " --township 140824102 --zoom 10-12 --at " + t0 + " --json",
                          &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["plan"]["tiles"], 11);
    EXPECT_EQ(j["plan"]["per_zoom"]["10"], 2);
    EXPECT_EQ(j["plan"]["per_zoom"]["12"], 5);
    EXPECT_EQ(j["tiles_written"], 11);

    const auto meta = tiles::read_mbtiles_metadata(out);
    for (const char* key : {"name", "format", "bounds", "center", "minzoom", "maxzoom",
                            "attribution", "description", "type", "version", "json"})
        EXPECT_TRUE(meta.count(key)) << key;
    EXPECT_EQ(meta.at("format"), "png");
    EXPECT_EQ(meta.at("minzoom"), "10");
    EXPECT_EQ(meta.at("maxzoom"), "12");
    EXPECT_EQ(meta.at("type"), "baselayer");
    EXPECT_NE(meta.at("name").find("稷山县"), std::string::npos);
    EXPECT_NE(meta.at("description").find("Generated sample"), std::string::npos);
    double b[4];
    ASSERT_EQ(std::sscanf(meta.at("bounds").c_str(), "%lf,%lf,%lf,%lf", &b[0], &b[1], &b[2], &b[3]),
              4);
    EXPECT_LT(b[0], b[2]);
    EXPECT_NEAR(b[1], 35.6, 0.3);
    const auto json = nlohmann::json::parse(meta.at("json"));
    EXPECT_EQ(json["wangge"]["status_at"], t0);
    EXPECT_EQ(json["layers"].size(), 2u);

    // TMS rows: the XYZ tile 12/3309/1612 is stored in row 4095 - 1612.
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM map WHERE zoom_level = 12 AND tile_column = "
                             "3309 AND tile_row = 2483"),
              "1");
    const auto stored = mbtiles_tiles(out);
    EXPECT_EQ(stored.size(), 11u);
    EXPECT_TRUE(stored.count("12/3309/1612"));
    EXPECT_EQ(tiles::read_mbtiles_tile(out, {12, 3309, 1612}), stored.at("12/3309/1612"));
    EXPECT_EQ(stored.at("12/3309/1612").substr(1, 3), "PNG");
    // The dedupe schema: as many distinct images as distinct tiles, no orphans.
    std::set<std::string> distinct;
    for (const auto& [k, v] : stored)
        distinct.insert(v);
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM images"), std::to_string(distinct.size()));
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM images WHERE tile_id NOT IN (SELECT tile_id "
                             "FROM map)"),
              "0");
    EXPECT_EQ(sql_value(out, "PRAGMA integrity_check"), "ok");
}

TEST(TileExport, IdenticalTilesAreSharedInTheImagesTable) {
    const auto dir = test::temp_dir();
    const auto out = (dir / "o.mbtiles").string();
    int rc = 0;
    // The overlay of a bbox mostly outside the county: the empty transparent tiles are one image.
    const auto text = run(wangge_cmd() + " tiles export " + quote(sample_workspace()) + " --out " +
                              quote(out) + " --layer overlay --bbox 110.5,35.3,110.75,35.45" +
                              " --zoom 12 --at " + t0 + " --json",
                          &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto j = nlohmann::json::parse(text);
    const auto written = j["tiles_written"].get<int>();
    EXPECT_GT(j["tiles_shared"].get<int>(), 0);
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM map"), std::to_string(written));
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM images"),
              std::to_string(written - j["tiles_shared"].get<int>()));
}

// Same workspace, time and options: byte-identical tiles, whatever the thread count or output.
TEST(TileExport, IsDeterministic) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const std::string job = wangge_cmd() + " tiles export " + quote(ws) +
                            " --township 140824102 --zoom 11-13 --metatile 2 --at " + t0;
    int rc = 0;
    auto text = run(job + " --threads 1 --out " + quote((dir / "a.mbtiles").string()), &rc);
    ASSERT_EQ(rc, 0) << text;
    text = run(job + " --threads 2 --out " + quote((dir / "b.mbtiles").string()), &rc);
    ASSERT_EQ(rc, 0) << text;
    text = run(job + " --threads 2 --out " + quote((dir / "c").string()), &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto a = mbtiles_tiles((dir / "a.mbtiles").string());
    EXPECT_EQ(a.size(), 26u) << "plan of z11-13";
    EXPECT_EQ(a, mbtiles_tiles((dir / "b.mbtiles").string()));
    EXPECT_EQ(a, folder_tiles(dir / "c"));
    EXPECT_TRUE(fs::exists(dir / "c" / "metadata.json"));
}

// SIGKILL at a random moment, several times; each --resume continues, and the end result
// equals an export that was never stopped: no tile missing, duplicated or half-written.
TEST(TileExport, ResumesAfterSigkillAtRandomPoints) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const auto reference = (dir / "ref.mbtiles").string();
    int rc = 0;
    auto text = run(overlay_job(ws, reference), &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto want = mbtiles_tiles(reference);
    ASSERT_EQ(want.size(), 104u);

    const auto out = (dir / "killed.mbtiles").string();
    std::mt19937 rng(std::random_device{}());
    int kills_mid_work = 0;
    double delay_ms = 800;
    for (int attempt = 0; attempt < 12 && kills_mid_work < 3; ++attempt) {
        const std::string cmd =
            overlay_job(ws, out) + " --resume --threads 2 > " + quote((dir / "log").string());
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::setpgid(0, 0);
            ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        const double wait_ms = std::uniform_real_distribution<double>(0.3, 1.0)(rng) * delay_ms;
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(wait_ms * 1000)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        const std::string done =
            fs::exists(out) ? sql_value(out, "SELECT count(*) FROM wangge_progress") : "";
        const int n = done.empty() ? 0 : std::stoi(done);
        std::cerr << "attempt " << attempt << ": killed after " << static_cast<int>(wait_ms)
                  << " ms, " << n << "/104 metatiles recorded" << (killed ? "" : " (had ended)")
                  << "\n";
        if (!killed || n >= 104) {
            // It finished first: start again from nothing, killing sooner.
            fs::remove(out);
            fs::remove(out + "-wal");
            fs::remove(out + "-shm");
            delay_ms /= 2;
            continue;
        }
        if (n == 0) {
            delay_ms *= 1.5;
            continue;
        }
        ++kills_mid_work;
        // What the killed run left is a valid database whose tiles are whole and complete
        // for every metatile it recorded.
        EXPECT_EQ(sql_value(out, "PRAGMA integrity_check"), "ok");
        EXPECT_EQ(sql_value(out, "SELECT count(*) FROM map"), std::to_string(n));
        for (const auto& [k, v] : mbtiles_tiles(out))
            EXPECT_EQ(v, want.at(k)) << k;
    }
    EXPECT_GE(kills_mid_work, 3) << "the export was never killed mid-work";
    text = run(overlay_job(ws, out) + " --resume", &rc);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("already done"), std::string::npos) << text;
    EXPECT_EQ(mbtiles_tiles(out), want);
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM map"), "104");
    // A second resume has nothing left to do.
    text = run(overlay_job(ws, out) + " --resume", &rc);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("wrote 0 tiles (104 already done)"), std::string::npos) << text;
}

TEST(TileExport, BadInputIsRefusedWithAClearMessage) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const std::string base = wangge_cmd() + " tiles export " + quote(ws) + " --at " + t0 + " ";
    const auto out = quote((dir / "x.mbtiles").string());
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--out " + out + " --township 140824999", "unknown township or village code '140824999'"},
        {"--out " + out + " --cell 14082410099999", "unknown cell code '14082410099999'"},
        {"--out " + out + " --zoom 14-8", "--zoom is reversed"},
        {"--out " + out + " --zoom 0-23", "--zoom must lie within 0-22"},
        {"--out " + out + " --bbox 10,10,10.1,10.1 --zoom 3", ""},
        {"--out " + out + " --bbox 10,10,10.01,10.01 --zoom 8-9 --layer overlay --format jpeg",
         "the overlay layer is transparent"},
        {"--out " + out + " --metatile 3", "--metatile must be 1, 2, 4, 8 or 16"},
        {"--out /dev/null/x.mbtiles --zoom 8", "cannot create the output"},
    };
    for (const auto& [args, message] : cases) {
        int rc = 0;
        const auto text = run(base + args, &rc);
        if (message.empty()) {
            // A bbox far from the county is a plan, not an error: it covers that bbox.
            EXPECT_EQ(rc, 0) << args << "\n" << text;
            fs::remove(dir / "x.mbtiles");
            fs::remove(dir / "x.mbtiles-wal");
            fs::remove(dir / "x.mbtiles-shm");
            continue;
        }
        EXPECT_EQ(rc, 2) << args << "\n" << text;
        EXPECT_NE(text.find(message), std::string::npos) << args << "\n" << text;
        EXPECT_FALSE(fs::exists(dir / "x.mbtiles")) << args;
    }
    // An empty plan: nothing changed between a time and itself.
    int rc = 0;
    auto text = run(base + "--out " + out + " --zoom 12 --only-expired-since " + t0, &rc);
    EXPECT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("nothing changed"), std::string::npos) << text;
}

TEST(TileExport, ExistingOrLockedOutputsAreRefusedAndAFullDiskLeavesItResumable) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const auto reference = (dir / "ref.mbtiles").string();
    int rc = 0;
    auto text = run(overlay_job(ws, reference), &rc);
    ASSERT_EQ(rc, 0) << text;

    // Without --resume an existing output is refused and left as it was.
    text = run(overlay_job(ws, reference), &rc);
    EXPECT_EQ(rc, 2);
    EXPECT_NE(text.find("the output exists; use --resume"), std::string::npos) << text;
    EXPECT_EQ(mbtiles_tiles(reference).size(), 104u);

    // A second export while one holds the output: refused, not interleaved.
    {
        const int fd = ::open(reference.c_str(), O_RDWR);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
        text = run(overlay_job(ws, reference) + " --resume", &rc);
        ::close(fd);
        EXPECT_EQ(rc, 2);
        EXPECT_NE(text.find("another export is writing this output"), std::string::npos) << text;
    }

    // A full disk, simulated by a file-size limit of 600 KiB: the export stops with a clear
    // message, the file is a valid database, and --resume (without the limit) completes it.
    const auto out = (dir / "full.mbtiles").string();
    text = run("ulimit -f 600; " + overlay_job(ws, out), &rc);
    EXPECT_EQ(rc, 2) << text;
    EXPECT_NE(text.find("--resume continues"), std::string::npos) << text;
    EXPECT_EQ(sql_value(out, "PRAGMA integrity_check"), "ok");
    const auto partial = std::stoi(sql_value(out, "SELECT count(*) FROM map"));
    EXPECT_LT(partial, 104);
    text = run(overlay_job(ws, out) + " --resume", &rc);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_EQ(mbtiles_tiles(out), mbtiles_tiles(reference));
}

// A known status change: a matter reported at 10:00. `tiles expire` lists its cell's and
// pin's tiles; re-rendering only those into an export made at T0 gives exactly the tiles of
// a fresh export at T1.
TEST(TileExport, ExpiryListsTheChangedTilesAndReRendersOnlyThem) {
    const auto dir = test::temp_dir();
    const auto ws = copy_of_sample(dir);
    int rc = 0;
    auto text = run(wangge_cmd() + " incidents report " + quote(ws) +
                        " --category 0101 --lon 110.96 --lat 35.61 --at 2026-04-01T10:00",
                    &rc);
    ASSERT_EQ(rc, 0) << text;
    ASSERT_NE(text.find("14082440000305"), std::string::npos) << text;

    text = run(wangge_cmd() + " tiles expire " + quote(ws) + " --since " + t0 + " --at " + t1 +
                   " --zoom 12-14 --json",
               &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto j = nlohmann::json::parse(text);
    const auto cells = j["cells"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(cells.begin(), cells.end(), "14082440000305"), cells.end());
    const auto listed = j["tiles"].get<std::vector<std::string>>();
    for (int z = 12; z <= 14; ++z)
        EXPECT_NE(std::find(listed.begin(), listed.end(),
                            tiles::to_string(tiles::tile_at_lonlat({110.96, 35.61}, z))),
                  listed.end())
            << z;
    // The plain list is the same tiles, one z/x/y a line (renderd's expiry format).
    text = run(wangge_cmd() + " tiles expire " + quote(ws) + " --since " + t0 + " --at " + t1 +
                   " --zoom 12-14",
               &rc);
    std::vector<std::string> lines;
    std::istringstream ss(text);
    for (std::string line; std::getline(ss, line);)
        lines.push_back(line);
    EXPECT_EQ(lines, listed);

    const std::string job = wangge_cmd() + " tiles export " + quote(ws) +
                            " --layer overlay --township 140824102 --zoom 12-14 --metatile 2";
    const auto old_out = (dir / "old.mbtiles").string();
    const auto fresh = (dir / "fresh.mbtiles").string();
    text = run(job + " --at " + t0 + " --out " + quote(old_out), &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto before = mbtiles_tiles(old_out);
    text = run(job + " --at " + t1 + " --out " + quote(fresh), &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto want = mbtiles_tiles(fresh);
    text = run(job + " --at " + t1 + " --only-expired-since " + t0 + " --resume --json --out " +
                   quote(old_out),
               &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto written = nlohmann::json::parse(text)["tiles_written"].get<std::size_t>();
    EXPECT_GT(written, 0u);
    EXPECT_LT(written, want.size()) << "only the expired tiles are drawn again";
    std::size_t changed = 0;
    for (const auto& [k, v] : before)
        changed += want.at(k) != v;
    EXPECT_GT(changed, 0u);
    EXPECT_LE(changed, written);
    EXPECT_EQ(mbtiles_tiles(old_out), want);
    EXPECT_EQ(sql_value(old_out, "SELECT count(*) FROM images WHERE tile_id NOT IN (SELECT "
                                 "tile_id FROM map)"),
              "0");
}

// ---- The exported style ----------------------------------------------------------------------

// `tiles style` writes a folder mapnik-render draws as it is; its picture equals the engine's.
// (Debian's mapnik-render looks for input plugins in ./plugins/input, so it runs in a folder
// with that link.) Tolerance: fewer than 1% of pixels differ by more than 16 counts.
TEST(TileStyle, MapnikRenderDrawsTheExportedStyleLikeTheEngine) {
    const auto dir = test::temp_dir();
    const auto ws_path = sample_workspace();
    const auto style_dir = dir / "style";
    int rc = 0;
    auto text = run(wangge_cmd() + " tiles style " + quote(ws_path) + " --out " +
                        quote(style_dir.string()) + " --at " + t0,
                    &rc);
    ASSERT_EQ(rc, 0) << text;
    for (const char* f : {"style.xml", "cells.geojson", "pins.geojson", "townships.geojson",
                          "imagery.tif", "markers/circle.svg"})
        EXPECT_TRUE(fs::exists(style_dir / f)) << f;
    const auto run_dir = dir / "run";
    fs::create_directories(run_dir / "plugins");
    fs::create_symlink(MAPNIK_INPUT_PLUGINS, run_dir / "plugins" / "input");
    // The folder is self-contained: move it and draw it from elsewhere.
    fs::rename(style_dir, dir / "moved");
    const auto png = (dir / "mapnik-render.png").string();
    text = run("cd " + quote(run_dir.string()) + " && mapnik-render --xml " +
                   quote((dir / "moved" / "style.xml").string()) + " --img " + quote(png),
               &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto theirs = render::read_image(png);

    const auto ws = store::Workspace::open(ws_path);
    const auto data = render::MapData::load(ws);
    render::Renderer ours(data, {.name = "satellite-overlay"});
    // mapnik-render zooms to the union of its layers' extents (the image's and the grid's)
    // clipped to the map's maximum extent, the county framed as area_of_all frames it.
    geo::Box box = render::area_of_all(*data, 0).box_3857;
    {
        GDALDatasetH ds = GDALOpen((dir / "moved" / "imagery.tif").c_str(), GA_ReadOnly);
        ASSERT_NE(ds, nullptr);
        double gt[6];
        ASSERT_EQ(GDALGetGeoTransform(ds, gt), CE_None);
        box.expand(geo::Point{gt[0], gt[3]});
        box.expand(geo::Point{gt[0] + gt[1] * GDALGetRasterXSize(ds),
                              gt[3] + gt[5] * GDALGetRasterYSize(ds)});
        GDALClose(ds);
    }
    const auto max = render::area_of_all(*data).box_3857;
    box = {std::max(box.minx, max.minx), std::max(box.miny, max.miny), std::min(box.maxx, max.maxx),
           std::min(box.maxy, max.maxy)};
    const auto mine =
        ours.render(box, theirs.width, theirs.height, render::status_from_workspace(ws, t0));
    render::write_image(mine, (dir / "engine.png").string(), "png");
    EXPECT_LT(differing_fraction(mine, theirs, 16), 0.01);
}
