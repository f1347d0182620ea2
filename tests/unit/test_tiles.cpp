// Tiles: tile math, plans (exact tile lists), expiry, metatile rendering (a mosaic of tiles
// equals one render), MBTiles and XYZ export (metadata, dedupe, determinism, resume after a
// SIGKILL, faults), and the exported Mapnik style rendered by mapnik-render.
#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/sample/jishan.hpp"
#include "wangge/tiles/plan.hpp"
#include "wangge/tiles/source.hpp"
#include "wangge/tiles/tile.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <geos_c.h>
#include <gtest/gtest.h>
#include <memory>
#include <set>
#include <string>
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
