// Tiles: tile math, plans (exact tile lists), the PNG encoder, metatile rendering (a mosaic of
// tiles equals one render, goldens across seams, imagery over-zoom) and expiry. Export and
// the exported style: test_tiles_export.cpp.
#include "tiles_test_support.hpp"

using namespace wangge;
using namespace tiles_test;

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

// Imagery stops where it would be enlarged past imagery_max_magnification_screen (6, in
// styles/params.ent; print keeps 12): drawn at the last zoom within it, left out at the next,
// where it was a smear, leaving the map's background. (The demo's 9.85 m imagery: z16 drawn
// at 4.1x, z17 left out at 8.3x; this sample's 40 m imagery: z14 and z15.)
TEST(TileRendering, ImageryStopsPastItsScreenMagnification) {
    const auto dir = test::temp_dir();
    const auto ws = store::Workspace::open(sample_workspace());
    const auto data = render::MapData::load(ws);
    ASSERT_TRUE(data->imagery());
    tiles::TileSource source(data, {.metatile = 1});
    const auto box = render::area_of_all(*data).box_3857;
    const geo::Point centre{(box.minx + box.maxx) / 2, (box.miny + box.maxy) / 2};
    const render::RenderStatus none;
    const auto background_share = [&](int z) {
        const auto img = decode(source.tile(tiles::tile_at_3857(centre, z), tiles::Layer::imagery,
                                            tiles::Format::png, none),
                                dir);
        std::size_t n = 0;
        for (int y = 0; y < img.height; ++y)
            for (int x = 0; x < img.width; ++x) {
                const auto* p = img.pixel(x, y);
                // &background; #20262c, within the palette's rounding
                if (std::abs(p[0] - 0x20) <= 2 && std::abs(p[1] - 0x26) <= 2 &&
                    std::abs(p[2] - 0x2c) <= 2)
                    ++n;
            }
        return static_cast<double>(n) / (img.width * img.height);
    };
    GDALDatasetH ds = GDALOpen(data->imagery()->path.c_str(), GA_ReadOnly);
    ASSERT_NE(ds, nullptr);
    double gt[6] = {};
    ASSERT_EQ(GDALGetGeoTransform(ds, gt), CE_None);
    GDALClose(ds);
    int z = 0;
    while (gt[1] / tiles::resolution(z + 1) <= 6)
        ++z;
    EXPECT_LT(background_share(z), 0.01) << "z" << z;
    EXPECT_GT(background_share(z + 1), 0.99) << "z" << z + 1;
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
