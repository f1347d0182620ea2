// Rendering tests: golden images per style and scale, Chinese labels, the Landsat sample
// imported and drawn at a known place, print maps checked with poppler, and bad input.
//
// Golden images live in tests/render/expected/ (<= 512 px). An image matches when fewer than
// 0.5% of its pixels differ by more than 8 counts in any channel. WANGGE_OVERWRITE_GOLDEN=1
// re-baselines; a failing case leaves <name>-actual.png and <name>-diff.png in
// WANGGE_RENDER_FAILURES (under the build tree) for review.
#include "render_test_support.hpp"

using namespace wangge;
using namespace render_test;

// ---- Golden images, each style at a few scales ---------------------------------------------

TEST(RenderGolden, OverlayTinyGridClose) {
    render::Renderer r(tiny_data(), style("overlay"));
    const auto area = render::area_of_all(*tiny_data());
    // About 1:23,000: cell names and codes are shown.
    const auto img = r.render(area.box_3857, 512, 512, tiny_status());
    EXPECT_EQ(compare_golden(img, "overlay-tiny-close"), "");
}

TEST(RenderGolden, OverlayTinyGridFar) {
    auto data = tiny_data();
    render::Renderer r(data, style("overlay"));
    // About 1:190,000: township names only.
    const auto b = render::area_of_all(*data, 1.5).box_3857;
    const auto img = r.render(b, 256, 256, tiny_status());
    EXPECT_EQ(compare_golden(img, "overlay-tiny-far"), "");
}

TEST(RenderGolden, ImageryLandsat) {
    render::Renderer r(bahamas_data(), style("imagery"));
    const auto area = render::area_of_lonlat({-79.0, 23.6, -76.5, 25.5});
    const auto img = r.render(area.box_3857, 320, 320, {});
    EXPECT_EQ(compare_golden(img, "imagery-landsat"), "");
}

TEST(RenderGolden, SatelliteOverlayWholeGrid) {
    auto data = bahamas_data();
    render::Renderer r(data, style("satellite-overlay"));
    // About 1:220,000, 62 m a pixel: the 300 m image enlarged 4.8x, under the screen limit of
    // 6x (imagery_max_magnification_screen; at 10x it was a smear and is now left out).
    const auto img = r.render(render::area_of_all(*data, 0.5).box_3857, 192, 144, bahamas_status());
    EXPECT_EQ(compare_golden(img, "satellite-overlay-grid"), "");
}

TEST(RenderGolden, SatelliteOverlayOneCell) {
    auto data = bahamas_data();
    render::Renderer r(data, style("satellite-overlay"));
    const auto area = render::area_of_cell(*data, "14082410020002");
    // About 1:24,000: the cell's name and code are shown; the 300 m image would be enlarged
    // 60x, beyond the over-zoom limit, so it is left out.
    const auto img = r.render(area.box_3857, 512, 512, bahamas_status());
    EXPECT_EQ(compare_golden(img, "satellite-overlay-cell"), "");
}

// One Renderer per thread over shared MapData: the same picture as drawing alone.
TEST(RenderThreads, OneRendererPerThreadOverSharedData) {
    auto data = bahamas_data();
    const auto box = render::area_of_all(*data).box_3857;
    const auto alone =
        render::Renderer(data, style("satellite-overlay")).render(box, 256, 192, bahamas_status());
    std::vector<render::Image> images(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < images.size(); ++i)
        threads.emplace_back([&, i] {
            render::Renderer r(data, style("satellite-overlay"));
            for (int k = 0; k < 3; ++k)
                images[i] = r.render(box, 256, 192, bahamas_status());
        });
    for (auto& t : threads)
        t.join();
    for (const auto& img : images)
        EXPECT_EQ(img.rgba, alone.rgba);
}

// ---- Chinese labels ------------------------------------------------------------------------

// Different Chinese names must give different ink: empty boxes (tofu) look alike for any
// character, real glyphs do not. The same check with a Latin-only font shows the difference.
TEST(RenderText, ChineseLabelsRenderAsGlyphs) {
    auto one_cell = [](const std::string& name) {
        auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
        g.cells.resize(1);
        g.cells[0].name = name;
        return render::MapData::from_grid(std::move(g), std::nullopt, "");
    };
    auto draw = [&](const std::string& name, const std::string& style_dir) {
        auto data = one_cell(name);
        render::Renderer r(data, {.dir = style_dir, .name = "overlay"});
        // About 1:7,000: cell names are drawn (further out only codes).
        return r.render(render::area_of_all(*data).box_3857, 768, 768, {});
    };
    const auto a = draw("东北街第一网格", WANGGE_STYLE_DIR);
    const auto b = draw("西南路第三网格", WANGGE_STYLE_DIR);
    const std::size_t cjk_diff = differing_pixels(a, b);
    EXPECT_GT(cjk_diff, 150u) << "different Chinese names drew the same ink: empty boxes?";

    const auto faces = render::font_faces();
    if (std::find(faces.begin(), faces.end(), "DejaVu Sans Book") == faces.end())
        GTEST_SKIP() << "DejaVu Sans is not installed; the contrast case is skipped";
    const auto dir = test::temp_dir() / "latin-styles";
    const auto latin = styles_with(dir, "label_font", "DejaVu Sans Book");
    const std::size_t latin_diff =
        differing_pixels(draw("东北街第一网格", latin), draw("西南路第三网格", latin));
    EXPECT_LT(latin_diff * 4, cjk_diff) << "a font without CJK glyphs should not tell them apart";
    std::cout << "pixels differing between two Chinese names: " << cjk_diff
              << " with Noto Sans CJK, " << latin_diff << " with DejaVu Sans\n";
}

// ---- The Landsat sample: import, reprojection, a known colour at a known place ------------

TEST(RenderImagery, ImportWarpsToWebMercatorCogAndRegisters) {
    const auto dir = test::temp_dir();
    auto ws = store::Workspace::create((dir / "ws.gpkg").string());
    const auto info = render::import_imagery(
        ws, test::data("RGB.byte.tif"),
        {.name = "satellite", .attribution = "Landsat 7 (USGS), CC0", .generated = false});
    EXPECT_EQ(info.path, (dir / "ws-satellite.tif").string());
    EXPECT_EQ(info.compression, "JPEG");
    const auto im = ws.imagery();
    ASSERT_EQ(im.size(), 1u);
    EXPECT_EQ(im[0].path, "ws-satellite.tif");
    EXPECT_EQ(im[0].attribution, "Landsat 7 (USGS), CC0");

    GDALDatasetH ds = GDALOpen(info.path.c_str(), GA_ReadOnly);
    ASSERT_NE(ds, nullptr);
    const std::string wkt = GDALGetProjectionRef(ds);
    EXPECT_NE(wkt.find("3857"), std::string::npos);
    EXPECT_EQ(std::string(GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE")), "COG");
    EXPECT_EQ(std::string(GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE")), "YCbCr JPEG");
    EXPECT_GE(GDALGetOverviewCount(GDALGetRasterBand(ds, 1)), 1);
    int bx = 0, by = 0;
    GDALGetBlockSize(GDALGetRasterBand(ds, 1), &bx, &by);
    EXPECT_EQ(bx, 256);
    GDALClose(ds);
    // About 78.96-76.57 W, 23.6-25.5 N.
    const auto sw = render::mercator_to_lonlat({info.box_3857.minx, info.box_3857.miny});
    const auto ne = render::mercator_to_lonlat({info.box_3857.maxx, info.box_3857.maxy});
    EXPECT_NEAR(sw.x, -78.96, 0.05);
    EXPECT_NEAR(ne.x, -76.57, 0.1);
    EXPECT_NEAR(sw.y, 23.56, 0.1);
    EXPECT_NEAR(ne.y, 25.56, 0.1);
}

TEST(RenderImagery, KnownColoursAtKnownPlaces) {
    render::Renderer r(bahamas_data(), style("imagery"));
    // 200 m pixels around the places, so one rendered pixel is well inside them.
    struct Place {
        double lon, lat;
        std::array<int, 3> rgb; // the source raster's mean there
        const char* what;
    };
    const Place places[] = {{-78.364, 24.946, {17, 98, 135}, "turquoise bank west of Andros"},
                            {-78.154, 24.066, {13, 55, 76}, "deep blue water south of Andros"}};
    for (const auto& p : places) {
        const auto c = render::lonlat_to_3857({p.lon, p.lat});
        const double half = 200 * 32;
        const auto img = r.render({c.x - half, c.y - half, c.x + half, c.y + half}, 64, 64, {});
        const auto* px = img.pixel(32, 32);
        for (int ch = 0; ch < 3; ++ch)
            EXPECT_NEAR(px[ch], p.rgb[static_cast<std::size_t>(ch)], 20)
                << p.what << " channel " << ch;
        EXPECT_EQ(px[3], 255);
    }
}

// ---- Print maps ----------------------------------------------------------------------------

TEST(RenderPrint, PdfHasOnePageTitleLegendAndAttribution) {
    const auto dir = test::temp_dir();
    auto data = bahamas_data();
    render::Renderer r(data, style("satellite-overlay"));
    const std::string pdf = (dir / "map.pdf").string();
    r.render_print(render::area_of_all(*data), {.size = "A4", .landscape = false, .dpi = 150},
                   bahamas_status(), pdf);
    int rc = 0;
    const std::string info = run("pdfinfo '" + pdf + "'", &rc);
    ASSERT_EQ(rc, 0) << info;
    EXPECT_TRUE(std::regex_search(info, std::regex("Pages: +1\n"))) << info;
    EXPECT_NE(info.find("(A4)"), std::string::npos) << info;
    const std::string text = run("pdftotext -layout '" + pdf + "' -", &rc);
    ASSERT_EQ(rc, 0) << text;
    for (const char* want : {"稷山县", "Grid status map", "2026-03-02T09:30", "Legend", "On time",
                             "Warning", "Overdue", "Nothing open", "Reported", "Dispatched",
                             "In progress", "Township", "Landsat 7", "1:", "km", "制图日期"})
        EXPECT_NE(text.find(want), std::string::npos) << "missing '" << want << "' in\n" << text;
    // Labels are drawn by Mapnik into the same PDF, as text (about 1:25,000: cell codes).
    EXPECT_NE(text.find("14082410020001"), std::string::npos) << text;
}

TEST(RenderPrint, GeneratedSampleSaysSoAndLandscapeA3) {
    const auto dir = test::temp_dir();
    auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    grid::derive_units(g, tiny_name);
    auto data = render::MapData::from_grid(std::move(g), std::nullopt,
                                           "Generated sample: synthetic geometry");
    render::Renderer r(data, style("overlay"));
    const std::string pdf = (dir / "map.pdf").string();
    r.render_print(render::area_of_all(*data), {.size = "A3", .landscape = true, .dpi = 100},
                   tiny_status(), pdf);
    int rc = 0;
    const std::string info = run("pdfinfo '" + pdf + "'", &rc);
    EXPECT_NE(info.find("1190.55 x 841.89 pts (A3)"), std::string::npos) << info;
    const std::string text = run("pdftotext '" + pdf + "' -", &rc);
    EXPECT_NE(text.find("Generated sample"), std::string::npos) << text;
    const std::string svg = (dir / "map.svg").string();
    r.render_print(render::area_of_all(*data), {}, tiny_status(), svg);
    std::ifstream in(svg);
    std::string head(200, '\0');
    in.read(head.data(), 200);
    EXPECT_NE(head.find("<svg"), std::string::npos);
}

// ---- Bad input -----------------------------------------------------------------------------

TEST(RenderErrors, MissingUnreadableAndUngeoreferencedRasters) {
    const auto dir = test::temp_dir();
    EXPECT_NE(error_of([&] {
                  render::warp_to_web_mercator("/no/such.tif", (dir / "a.tif").string());
              }).find("no such raster"),
              std::string::npos);
    std::ofstream(dir / "text.tif") << "not a raster\n";
    EXPECT_NE(error_of([&] {
                  render::warp_to_web_mercator((dir / "text.tif").string(),
                                               (dir / "b.tif").string());
              }).find("cannot read as a raster"),
              std::string::npos);
    // A PNG has pixels but no georeference.
    render::write_image({4, 4, std::vector<std::uint8_t>(64, 128)}, (dir / "plain.png").string());
    const auto msg = error_of([&] {
        render::warp_to_web_mercator((dir / "plain.png").string(), (dir / "c.tif").string());
    });
    EXPECT_NE(msg.find("no georeference"), std::string::npos) << msg;
    EXPECT_NE(msg.find("plain.png"), std::string::npos) << msg;
}

TEST(RenderErrors, BrokenStyleNamesFileAndLine) {
    const auto dir = test::temp_dir() / "styles";
    styles_with(dir, "srs", "epsg:3857");
    std::ofstream(dir / "broken.xml") << "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                                         "<Map srs=\"epsg:3857\">\n"
                                         "  <Style name=\"s\">\n"
                                         "    <Rule><PolygonSymbolizer fill=\"nocolour\"/></Rule>\n"
                                         "  </Style>\n"
                                         "</Map>\n";
    const auto msg = error_of([&] { render::Renderer r(tiny_data(), {dir.string(), "broken"}); });
    EXPECT_NE(msg.find("broken.xml"), std::string::npos) << msg;
    EXPECT_NE(msg.find("line 4"), std::string::npos) << msg;
    std::ofstream(dir / "unclosed.xml") << "<Map srs=\"epsg:3857\">\n<Style name=\"s\">\n</Map>\n";
    const auto msg2 = error_of([&] {
        render::Renderer r(tiny_data(), {dir.string(), "unclosed"});
    });
    EXPECT_NE(msg2.find("unclosed.xml"), std::string::npos) << msg2;
    EXPECT_NE(msg2.find("line"), std::string::npos) << msg2;
    EXPECT_NE(error_of([&] {
                  render::Renderer r(tiny_data(), {dir.string(), "nosuch"});
              }).find("no such style"),
              std::string::npos);
}

TEST(RenderErrors, FontNotInstalledIsNamed) {
    const auto dir = test::temp_dir() / "styles";
    styles_with(dir, "label_font", "Wangge Missing Font Regular");
    const auto msg = error_of([&] { render::Renderer r(tiny_data(), {dir.string(), "overlay"}); });
    EXPECT_NE(msg.find("'Wangge Missing Font Regular' is not installed"), std::string::npos) << msg;
}

TEST(RenderErrors, UnknownTownshipOrCellCode) {
    auto data = tiny_data();
    EXPECT_NE(error_of([&] { (void)render::area_of_unit(*data, "140824999"); }).find("140824999"),
              std::string::npos);
    EXPECT_NE(error_of([&] {
                  (void)render::area_of_cell(*data, "14082499900001");
              }).find("unknown cell code"),
              std::string::npos);
    EXPECT_NO_THROW((void)render::area_of_unit(*data, "140824100"));
}

TEST(RenderStatusFiles, ReadsCellsAndPinsAndNamesBadLines) {
    const auto dir = test::temp_dir();
    std::ofstream(dir / "cells.csv") << "cell_code,state\n14082410020001,overdue\n"
                                        "14082410020002, warning\n";
    std::ofstream(dir / "pins.csv") << "lon,lat,state,id\n110.95,35.62,reported,A-1\n";
    const auto s =
        render::read_status_files((dir / "cells.csv").string(), (dir / "pins.csv").string(), "T");
    EXPECT_EQ(s.cells.at("14082410020001"), render::CellState::overdue);
    EXPECT_EQ(s.cells.at("14082410020002"), render::CellState::warning);
    ASSERT_EQ(s.pins.size(), 1u);
    EXPECT_EQ(s.pins[0].id, "A-1");
    std::ofstream(dir / "bad.csv") << "cell_code,state\n14082410020001,late\n";
    const auto msg =
        error_of([&] { (void)render::read_status_files((dir / "bad.csv").string(), "", ""); });
    EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("late"), std::string::npos) << msg;
}

// ---- The command ---------------------------------------------------------------------------

TEST(RenderCommand, ImportRenderAndFailCleanly) {
    const auto dir = test::temp_dir();
    const std::string w = WANGGE_BINARY;
    const std::string ws = (dir / "ws.gpkg").string();
    int rc = 0;
    auto out =
        run(w + " grid import '" + test::data("tiny_grid.geojson") + "' -w '" + ws + "'", &rc);
    ASSERT_EQ(rc, 0) << out;
    // The Landsat sample is over the Bahamas, the tiny grid in Shanxi.
    out =
        run(w + " imagery import '" + ws + "' '" + test::data("RGB.byte.tif") + "' --allow-outside",
            &rc);
    ASSERT_EQ(rc, 0) << out;
    out = run(w + " render '" + ws + "' --out '" + (dir / "m.png").string() +
                  "' --width 200 --height 150 --cell 14082410020001",
              &rc);
    ASSERT_EQ(rc, 0) << out;
    const auto img = render::read_image((dir / "m.png").string());
    EXPECT_EQ(img.width, 200);
    EXPECT_EQ(img.height, 150);
    out = run(w + " render '" + ws + "' --out '" + (dir / "m.png").string() + "' --cell 1234", &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("unknown cell code '1234'"), std::string::npos) << out;
    out = run(w + " imagery import '" + ws + "' /no/such.tif", &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("no such raster"), std::string::npos) << out;
}

// The loop hook: the map's cell colours come from the loop's own state. A cell is red exactly
// when the loop's statistics count an open overdue matter in it at the same time.
TEST(RenderStatusHook, CellsAreRedExactlyWhereTheLoopCountsOverdueMatters) {
    const auto dir = test::temp_dir();
    const auto path = (dir / "jishan.gpkg").string();
    const auto grid = sample::generate_jishan_grid({});
    {
        auto ws = store::Workspace::create(path);
        ws.add_version({.grid = grid, .note = "sample"});
    }
    const auto summary = sample::write_jishan_loop(path, {.seed = 140824, .days = 30});
    ASSERT_GT(summary.overdue, 0u);

    const auto ws = store::Workspace::open(path);
    const auto status = render::status_from_workspace(ws, sample::jishan_reference_time);
    std::set<std::string> red;
    for (const auto& [code, state] : status.cells)
        if (state == render::CellState::overdue) red.insert(code);

    const auto session = loop::Session::open(path);
    std::set<std::string> overdue_cells;
    for (const auto& row : session->store().stats(
             loop::StatsBy::cell, loop::parse_time(sample::jishan_reference_time), session->loop()))
        if (row.open_overdue > 0) overdue_cells.insert(row.key);
    EXPECT_FALSE(red.empty());
    EXPECT_EQ(red, overdue_cells);
    // Every open matter has a pin.
    std::size_t open_pins = 0;
    for (const auto& p : status.pins)
        if (p.state != "closed") ++open_pins;
    EXPECT_EQ(open_pins, summary.open);
}
