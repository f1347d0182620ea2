// Rendering tests: golden images per style and scale, Chinese labels, the Landsat sample
// imported and drawn at a known place, print maps checked with poppler, and bad input.
//
// Golden images live in tests/render/expected/ (<= 512 px). An image matches when fewer than
// 0.5% of its pixels differ by more than 8 counts in any channel. WANGGE_OVERWRITE_GOLDEN=1
// re-baselines; a failing case leaves <name>-actual.png and <name>-diff.png in
// WANGGE_RENDER_FAILURES (under the build tree) for review.
#include "loop_replay.hpp"
#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/loop/session.hpp"
#include "wangge/render/imagery.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/sample/jishan.hpp"
#include "wangge/sample/jishan_loop.hpp"
#include "wangge/store/workspace.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gdal.h>
#include <gtest/gtest.h>
#include <iostream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace wangge;
namespace fs = std::filesystem;

namespace {

constexpr int channel_tolerance = 8;
constexpr double max_differing_fraction = 0.005;

std::string expected_path(const std::string& name) {
    return std::string(WANGGE_RENDER_EXPECTED) + "/" + name + ".png";
}

// Compares with the golden image; returns "" on a match, else why.
std::string compare_golden(const render::Image& actual, const std::string& name) {
    const std::string path = expected_path(name);
    const char* overwrite = std::getenv("WANGGE_OVERWRITE_GOLDEN");
    if (overwrite && std::string(overwrite) == "1") {
        fs::create_directories(fs::path(path).parent_path());
        render::write_image(actual, path, "png");
        return "";
    }
    if (!fs::exists(path))
        return "no golden image " + path + " (run with WANGGE_OVERWRITE_GOLDEN=1 to create it)";
    const render::Image expected = render::read_image(path);
    const fs::path failures = WANGGE_RENDER_FAILURES;
    auto keep = [&](const render::Image& diff) {
        fs::create_directories(failures);
        render::write_image(actual, (failures / (name + "-actual.png")).string(), "png");
        if (diff.width > 0)
            render::write_image(diff, (failures / (name + "-diff.png")).string(), "png");
    };
    if (expected.width != actual.width || expected.height != actual.height) {
        keep({});
        return "size differs from " + path;
    }
    render::Image diff{actual.width, actual.height,
                       std::vector<std::uint8_t>(actual.rgba.size(), 255)};
    std::size_t differing = 0;
    for (std::size_t i = 0; i < actual.rgba.size(); i += 4) {
        int worst = 0;
        for (std::size_t c = 0; c < 4; ++c)
            worst = std::max(worst, std::abs(int(actual.rgba[i + c]) - int(expected.rgba[i + c])));
        if (worst > channel_tolerance) {
            ++differing;
            diff.rgba[i] = 255;
            diff.rgba[i + 1] = 0;
            diff.rgba[i + 2] = 0;
        } else {
            // Faint copy of the expected image, so the red pixels can be placed.
            for (std::size_t c = 0; c < 3; ++c)
                diff.rgba[i + c] = static_cast<std::uint8_t>(200 + expected.rgba[i + c] / 5);
        }
    }
    const double fraction = double(differing) / double(actual.rgba.size() / 4);
    if (fraction >= max_differing_fraction) {
        keep(diff);
        std::ostringstream s;
        s << name << ": " << differing << " pixels (" << fraction * 100 << "%) differ by more than "
          << channel_tolerance << " counts; see " << failures.string();
        return s.str();
    }
    return "";
}

// Names the catalogue would give; the tiny grid's villages are named here.
std::string tiny_name(const std::string& code) {
    static const std::map<std::string, std::string> names = {{"140824", "稷山县"},
                                                             {"140824100", "稷峰镇"},
                                                             {"140824100200", "东北街社区"},
                                                             {"140824100201", "东街社区"}};
    const auto it = names.find(code);
    return it == names.end() ? "" : it->second;
}

std::shared_ptr<const render::MapData> tiny_data() {
    auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    grid::derive_units(g, tiny_name);
    return render::MapData::from_grid(std::move(g), std::nullopt, "test fixture");
}

render::RenderStatus tiny_status() {
    render::RenderStatus s;
    s.at = "2026-03-02T09:30";
    s.cells = {{"14082410020001", render::CellState::on_time},
               {"14082410020002", render::CellState::warning},
               {"14082410020101", render::CellState::overdue}};
    s.pins = {{110.956, 35.625, "reported", "R1"},
              {110.969, 35.626, "dispatched", "D1"},
              {110.957, 35.613, "in_progress", "P1"},
              {110.970, 35.614, "overdue", "O1"},
              {110.963, 35.620, "closed", "C1"}};
    return s;
}

// The Landsat sample warped to EPSG:3857 once per test run.
std::string landsat_3857() {
    static const std::string path = [] {
        const char* base = std::getenv("WANGGE_TEST_TMP");
        const fs::path dir = fs::path(base ? base : "/tmp/wangge-test") / "render-fixtures";
        fs::create_directories(dir);
        // CTest runs tests as parallel processes: each warps to its own name, then renames
        // into place atomically (a reader keeps the file it opened).
        const fs::path p = dir / "landsat-3857.tif";
        if (!fs::exists(p)) {
            const fs::path mine = dir / ("landsat-3857-" + std::to_string(getpid()) + ".tif");
            render::warp_to_web_mercator(test::data("RGB.byte.tif"), mine.string());
            fs::rename(mine, p);
        }
        return p.string();
    }();
    return path;
}

geo::MultiPolygon rect(double x0, double y0, double x1, double y1) {
    geo::Polygon p;
    p.rings.push_back({{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}});
    geo::MultiPolygon mp;
    mp.polygons.push_back(std::move(p));
    return mp;
}

// A 3 x 2 grid of 2 km cells on the east coast of Andros, over the real image.
std::shared_ptr<const render::MapData> bahamas_data() {
    grid::Grid g;
    const double x0 = -77.80, y0 = 24.62, dx = 0.02, dy = 0.02;
    const char* names[] = {"西北网格", "北网格", "东北网格", "西南网格", "南网格", "东南网格"};
    for (int j = 0; j < 2; ++j)
        for (int i = 0; i < 3; ++i) {
            grid::Cell c;
            const std::string village = j == 0 ? "140824100200" : "140824100201";
            c.code = village + "0" + std::to_string(i + 1);
            c.name = names[j * 3 + i];
            c.village_code = village;
            c.township_code = "140824100";
            c.county_code = "140824";
            c.geometry = rect(x0 + i * dx, y0 + (1 - j) * dy, x0 + (i + 1) * dx, y0 + (2 - j) * dy);
            g.cells.push_back(std::move(c));
        }
    grid::derive_units(g, tiny_name);
    return render::MapData::from_grid(
        std::move(g),
        render::ImageryLayer{landsat_3857(), "Landsat 7 (USGS), CC0 1.0 via rasterio test data",
                             false},
        "");
}

render::RenderStatus bahamas_status() {
    render::RenderStatus s;
    s.at = "2026-03-02T09:30";
    s.cells = {{"14082410020001", render::CellState::on_time},
               {"14082410020002", render::CellState::warning},
               {"14082410020003", render::CellState::overdue},
               {"14082410020101", render::CellState::on_time}};
    s.pins = {{-77.790, 24.655, "reported", "R1"},
              {-77.770, 24.652, "dispatched", "D1"},
              {-77.745, 24.645, "overdue", "O1"},
              {-77.785, 24.630, "in_progress", "P1"},
              {-77.755, 24.625, "closed", "C1"}};
    return s;
}

render::StyleChoice style(const std::string& name) {
    return {.dir = WANGGE_STYLE_DIR, .name = name};
}

// A copy of the styles with one parameter entity changed.
std::string styles_with(const fs::path& dir, const std::string& entity, const std::string& value) {
    fs::copy(WANGGE_STYLE_DIR, dir, fs::copy_options::recursive);
    std::ifstream in(dir / "params.ent");
    std::stringstream ss;
    ss << in.rdbuf();
    in.close();
    const std::regex re("<!ENTITY " + entity + " \"[^\"]*\">");
    std::ofstream(dir / "params.ent")
        << std::regex_replace(ss.str(), re, "<!ENTITY " + entity + " \"" + value + "\">");
    return dir.string();
}

std::string run(const std::string& cmd, int* status = nullptr) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((cmd + " 2>&1").c_str(), "r"), pclose);
    std::string out;
    std::array<char, 4096> buf{};
    while (pipe && fgets(buf.data(), buf.size(), pipe.get()))
        out += buf.data();
    const int rc = pclose(pipe.release());
    if (status) *status = WEXITSTATUS(rc);
    return out;
}

std::size_t differing_pixels(const render::Image& a, const render::Image& b) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < a.rgba.size(); i += 4)
        for (std::size_t c = 0; c < 3; ++c)
            if (std::abs(int(a.rgba[i + c]) - int(b.rgba[i + c])) > 24) {
                ++n;
                break;
            }
    return n;
}

template <class F> std::string error_of(F&& f) {
    try {
        f();
    } catch (const InputError& e) {
        return e.what();
    }
    return "(no InputError)";
}

} // namespace

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
    // About 1:110,000, 31 m a pixel: the 300 m image enlarged 10x, under the 12x limit.
    const auto img = r.render(render::area_of_all(*data, 0.5).box_3857, 384, 288, bahamas_status());
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

// ---- Cartography: the Jishan sample at the scales people use -------------------------------

namespace {

// The generated Jishan grid (no imagery: the goldens stay small) with a fixed status: every
// state on some cells, pins of every loop step at cell centres.
struct Jishan {
    std::shared_ptr<const render::MapData> data;
    render::RenderStatus status;
};

const Jishan& jishan() {
    static const Jishan j = [] {
        auto g = sample::generate_jishan_grid({});
        Jishan out;
        out.status.at = "2026-04-01T09:30";
        const char* states[] = {"in_progress", "reported", "dispatched", "feedback", "backlog",
                                "overdue",     "closed",   "filed",      "extended", "rework"};
        for (std::size_t i = 0; i < g.cells.size(); ++i) {
            const auto& c = g.cells[i];
            out.status.cells[c.code] = i % 7 == 0   ? render::CellState::overdue
                                       : i % 5 == 0 ? render::CellState::warning
                                       : i % 2 == 0 ? render::CellState::on_time
                                                    : render::CellState::none;
            const auto b = geo::bounds(c.geometry);
            render::Pin pin{(b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2, states[i % 10], {}};
            pin.id = std::to_string(i);
            out.status.pins.push_back(std::move(pin));
        }
        out.data = render::MapData::from_grid(std::move(g), std::nullopt, "");
        return out;
    }();
    return j;
}

render::Image draw(const render::Area& area, int long_side, const std::string& style_name) {
    render::Renderer r(jishan().data, style(style_name));
    r.set_focus(area.focus);
    const auto [w, h] = render::fitted_size(area, long_side);
    return r.render(area.box_3857, w, h, jishan().status);
}

} // namespace

// County (about 1:400,000): fills, township names, overdue pins only.
TEST(RenderGolden, JishanCounty) {
    const auto area = render::area_of_all(*jishan().data);
    EXPECT_EQ(compare_golden(draw(area, 400, "overlay"), "jishan-county"), "");
}

// Township 翟店镇 (about 1:80,000): masked around, every open matter, village names, codes.
TEST(RenderGolden, JishanTownship) {
    const auto area = render::area_of_unit(*jishan().data, "140824103");
    EXPECT_EQ(compare_golden(draw(area, 900, "overlay"), "jishan-township"), "");
}

// One cell (about 1:25,000): its neighbours dimmed, codes in every cell (moved off the pins).
TEST(RenderGolden, JishanCell) {
    const auto area = render::area_of_cell(*jishan().data, "14082410320001");
    EXPECT_EQ(compare_golden(draw(area, 400, "overlay"), "jishan-cell"), "");
}

// A 360 m box (about 1:3,000): names and codes repeated inside the cells in view.
TEST(RenderGolden, Jishan360m) {
    const auto area =
        render::area_of_lonlat({110.8445, 35.6604, 110.8485, 35.6636}, jishan().data.get());
    EXPECT_EQ(area.name, "稷山县 翟店镇 翟东村委会 翟东第2网格 附近");
    EXPECT_EQ(compare_golden(draw(area, 400, "overlay"), "jishan-360m"), "");
}

// ---- The status palette under colour-vision deficiencies ------------------------------------

namespace {

// Machado, Oliveira and Fernandes (2009), severity 1.0, applied in linear RGB.
using Matrix = std::array<std::array<double, 3>, 3>;
const std::pair<const char*, Matrix> vision[] = {{"normal", {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}},
                                                 {"deuteranopia",
                                                  {{{0.367322, 0.860646, -0.227968},
                                                    {0.280085, 0.672501, 0.047413},
                                                    {-0.011820, 0.042940, 0.968881}}}},
                                                 {"protanopia",
                                                  {{{0.152286, 1.052583, -0.204868},
                                                    {0.114503, 0.786281, 0.099216},
                                                    {-0.003882, -0.048116, 1.051998}}}},
                                                 {"tritanopia",
                                                  {{{1.255528, -0.076749, -0.178779},
                                                    {-0.078411, 0.930809, 0.147602},
                                                    {0.004733, 0.691367, 0.303900}}}}};

using Rgb = std::array<double, 3>; // 0-255 sRGB

double to_linear(double c) {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}
double to_srgb(double l) {
    l = std::clamp(l, 0.0, 1.0);
    return 255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * std::pow(l, 1 / 2.4) - 0.055);
}
Rgb simulate(const Rgb& c, const Matrix& m) {
    const Rgb l{to_linear(c[0]), to_linear(c[1]), to_linear(c[2])};
    Rgb out{};
    for (std::size_t i = 0; i < 3; ++i)
        out[i] = to_srgb(m[i][0] * l[0] + m[i][1] * l[1] + m[i][2] * l[2]);
    return out;
}
// CIE L*a*b* (D65) of an sRGB colour.
Rgb lab(const Rgb& c) {
    const double r = to_linear(c[0]), g = to_linear(c[1]), b = to_linear(c[2]);
    const double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    const double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const double z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    const auto f = [](double t) { return t > 0.008856 ? std::cbrt(t) : 7.787 * t + 16.0 / 116; };
    return {116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))};
}
double delta_e(const Rgb& a, const Rgb& b) {
    const auto p = lab(a), q = lab(b);
    return std::sqrt((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1]) +
                     (p[2] - q[2]) * (p[2] - q[2]));
}
Rgb hex_rgb(const std::string& h) {
    return {double(std::stoi(h.substr(1, 2), nullptr, 16)),
            double(std::stoi(h.substr(3, 2), nullptr, 16)),
            double(std::stoi(h.substr(5, 2), nullptr, 16))};
}

} // namespace

// Every pair of cell states stays apart (CIE76 ΔE) under simulated deuteranopia, protanopia and
// tritanopia, over five imagery-like backgrounds (fields, dry land, dark vegetation, bare
// soil, grey town), with the colours and opacities the style uses (read from params.ent).
// Thresholds: filled states pairwise >= 18, nothing-open against each filled state >= 12.
// The previous red/amber/green palette at 45 % gave 10.5 and 2.9 under deuteranopia.
TEST(RenderPalette, StatesStayApartForColourBlindReaders) {
    const auto p = render::read_style_params(WANGGE_STYLE_DIR);
    const Rgb backgrounds[] = {
        {96, 110, 70}, {140, 130, 95}, {60, 80, 50}, {170, 160, 130}, {110, 110, 110}};
    const char* states[] = {"on_time", "warning", "overdue"};
    for (const auto& [name, m] : vision) {
        double worst_filled = 1e9, worst_none = 1e9;
        for (const auto& bg : backgrounds) {
            std::map<std::string, Rgb> seen{{"none", simulate(bg, m)}};
            for (const char* s : states) {
                const Rgb c = hex_rgb(p.at(s));
                const double a = std::stod(p.at(std::string(s) + "_opacity"));
                Rgb mixed{};
                for (std::size_t i = 0; i < 3; ++i)
                    mixed[i] = a * c[i] + (1 - a) * bg[i];
                seen[s] = simulate(mixed, m);
            }
            for (std::size_t i = 0; i < 3; ++i) {
                worst_none = std::min(worst_none, delta_e(seen["none"], seen[states[i]]));
                for (std::size_t j = i + 1; j < 3; ++j)
                    worst_filled =
                        std::min(worst_filled, delta_e(seen[states[i]], seen[states[j]]));
            }
        }
        std::cout << name << ": smallest ΔE between filled states " << worst_filled
                  << ", nothing open vs a filled state " << worst_none << "\n";
        EXPECT_GE(worst_filled, 18.0) << name;
        EXPECT_GE(worst_none, 12.0) << name;
    }
    // The cue that needs no colour vision: overdue cells are hatched and outlined.
    render::Renderer r(tiny_data(), style("overlay"));
    const auto legend = r.legend(render::area_of_all(*tiny_data()).box_3857, 20000, tiny_status());
    const auto overdue = std::find_if(legend.begin(), legend.end(), [](const auto& e) {
        return e.group == "cell" && e.key == "overdue";
    });
    ASSERT_NE(overdue, legend.end());
    EXPECT_FALSE(overdue->pattern.empty());
    EXPECT_FALSE(overdue->outline.empty());
}

// The figures for the README: the county as drawn and as readers with each deficiency see it
// (WANGGE_CVD_FIGURES=DIR writes them; the test only checks the simulation changes pixels).
TEST(RenderPalette, SimulatedViewsOfTheCounty) {
    const auto area = render::area_of_all(*jishan().data);
    const auto img = draw(area, 400, "overlay");
    const char* dir = std::getenv("WANGGE_CVD_FIGURES");
    for (const auto& [name, m] : vision) {
        render::Image out = img;
        for (std::size_t i = 0; i < out.rgba.size(); i += 4) {
            const auto c = simulate(
                {double(out.rgba[i]), double(out.rgba[i + 1]), double(out.rgba[i + 2])}, m);
            for (std::size_t k = 0; k < 3; ++k)
                out.rgba[i + k] = static_cast<std::uint8_t>(std::lround(c[k]));
        }
        if (std::string(name) != "normal") {
            EXPECT_GT(differing_pixels(img, out), 1000u) << name;
        }
        if (dir) {
            fs::path file = fs::path(dir) / "cvd-";
            file += name;
            file += ".png";
            render::write_image(out, file.string());
        }
    }
}

// ---- The legend is the style ----------------------------------------------------------------

// Each legend entry is read from the style's rules; drawing one pin of an entry's state alone
// puts the entry's colour at the pin's centre, and the counts add up to what is in view.
TEST(RenderLegend, EntriesAreTheStylesSymbolsWithCounts) {
    const auto& j = jishan();
    render::Renderer r(j.data, style("overlay"));
    const auto area = render::area_of_unit(*j.data, "140824103");
    const auto params = render::read_style_params(WANGGE_STYLE_DIR);
    for (double scale : {400000.0, 70000.0, 10000.0}) {
        const auto legend = r.legend(area.box_3857, scale, j.status);
        std::size_t cells = 0, pins = 0;
        std::set<std::string> keys;
        for (const auto& e : legend) {
            keys.insert(e.group + ":" + e.key);
            if (e.group == "cell") cells += e.count;
            if (e.group == "pin") pins += e.count;
        }
        std::size_t cells_in_view = 0;
        for (const auto& c : j.data->grid_3857().cells)
            if (geo::bounds(c.geometry).intersects(area.box_3857)) ++cells_in_view;
        EXPECT_EQ(cells, cells_in_view) << scale;
        for (const char* k : {"cell:on_time", "cell:warning", "cell:overdue", "cell:none",
                              "pin:overdue", "line:township", "line:county"})
            EXPECT_TRUE(keys.count(k)) << k << " at 1:" << scale;
        if (scale > 100000) {
            EXPECT_EQ(keys.count("pin:reported"), 0u) << "county view: overdue pins only";
        } else {
            for (const char* k : {"pin:reported", "pin:dispatched", "pin:in_progress",
                                  "pin:feedback", "pin:backlog"})
                EXPECT_TRUE(keys.count(k)) << k << " at 1:" << scale;
            std::size_t open_in_view = 0, all_in_view = 0;
            for (const auto& p : j.status.pins) {
                if (!area.box_3857.contains(render::lonlat_to_3857({p.lon, p.lat}))) continue;
                ++all_in_view;
                if (p.state != "closed") ++open_in_view;
            }
            // Closed matters are pins only close in (their rule's scale).
            EXPECT_EQ(pins, keys.count("pin:closed") ? all_in_view : open_in_view) << scale;
        }
        for (const auto& e : legend)
            if (e.group == "cell" && e.key != "none") {
                EXPECT_EQ(e.colour, params.at(e.key)) << e.key;
                EXPECT_DOUBLE_EQ(e.opacity, std::stod(params.at(e.key + "_opacity"))) << e.key;
            }
    }
    // Drawn alone, each pin shows its legend colour at its centre.
    const auto legend = r.legend(area.box_3857, 10000, j.status);
    for (const auto& e : legend) {
        if (e.group != "pin" || e.key == "other") continue;
        render::RenderStatus one;
        const auto c = render::mercator_to_lonlat({(area.box_3857.minx + area.box_3857.maxx) / 2,
                                                   (area.box_3857.miny + area.box_3857.maxy) / 2});
        one.pins.push_back({c.x, c.y, e.key, "x"});
        // 64 px over 640 m: about 1:36,000 (closed pins need closer: 64 px over 64 m).
        const double half = e.key == "closed" ? 32 : 320;
        const auto xy = render::lonlat_to_3857(c);
        render::Renderer pin_only(render::MapData::from_grid({}, std::nullopt, ""),
                                  style("overlay"));
        const auto img =
            pin_only.render({xy.x - half, xy.y - half, xy.x + half, xy.y + half}, 64, 64, one);
        const auto* px = img.pixel(32, 32);
        const auto want = hex_rgb(e.colour);
        for (std::size_t k = 0; k < 3; ++k)
            EXPECT_NEAR(px[k], want[k], 6) << e.key << " channel " << k;
    }
}

// ---- Frames ---------------------------------------------------------------------------------

TEST(RenderFrame, SizeOrientationFocusAndNames) {
    const auto& j = jishan();
    const auto county = render::area_of_all(*j.data);
    const auto [w, h] = render::fitted_size(county, 1024);
    EXPECT_EQ(w, 1024);
    EXPECT_LT(h, 700); // the county is wide: no letterbox
    EXPECT_TRUE(render::fits_landscape(county, {}));
    const auto town = render::area_of_unit(*j.data, "140824103");
    EXPECT_EQ(town.name, "稷山县 翟店镇");
    EXPECT_EQ(town.focus, "140824103");
    EXPECT_FALSE(render::fits_landscape(town, {}));
    const auto cell = render::area_of_cell(*j.data, "14082410320001");
    EXPECT_EQ(cell.name, "稷山县 翟店镇 翟东村委会 翟东第1网格 14082410320001");

    // --township dims what lies outside the township and leaves the inside as it was.
    render::Renderer r(j.data, style("overlay"));
    const auto plain = r.render(town.box_3857, 200, 320, j.status);
    r.set_focus(town.focus);
    const auto focused = r.render(town.box_3857, 200, 320, j.status);
    EXPECT_EQ(plain.pixel(100, 160)[3], focused.pixel(100, 160)[3]);
    EXPECT_GT(focused.pixel(2, 2)[3], plain.pixel(2, 2)[3]) << "the corner is outside: dimmed";
    EXPECT_NE(error_of([&] { r.set_focus("140824999"); }).find("140824999"), std::string::npos);
}

// ---- Searchable labels in print maps ---------------------------------------------------------

// Every cell name on a township print is found by pdftotext as drawn: 网 not the Kangxi
// radical ⽹ (U+2F79), and no radical anywhere (see engine/src/render/pdf_text.cpp).
TEST(RenderPrint, TownshipPrintLabelsAreSearchable) {
    const auto dir = test::temp_dir();
    auto data = tiny_data();
    render::Renderer r(data, style("overlay"));
    const std::string pdf = (dir / "township.pdf").string();
    r.render_print(render::area_of_unit(*data, "140824100"), {}, tiny_status(), pdf);
    int rc = 0;
    const std::string text = run("pdftotext '" + pdf + "' -", &rc);
    ASSERT_EQ(rc, 0) << text;
    for (const auto& c : data->grid_3857().cells)
        EXPECT_NE(text.find(c.name), std::string::npos) << c.name << " not found in\n" << text;
    // U+2E80-U+2FDF in UTF-8: E2 BA 80 - E2 BF 9F.
    EXPECT_FALSE(std::regex_search(text, std::regex("\xE2[\xBA-\xBF]"))) << text;
}

// A township on A4 (about 1:90,000) carries its cells' codes: the issue's township print had
// none. Codes that collide with pins or other labels may give way, so most, not all, are
// required.
TEST(RenderPrint, TownshipPrintCarriesCellCodes) {
    const auto dir = test::temp_dir();
    render::Renderer r(jishan().data, style("overlay"));
    const std::string pdf = (dir / "township.pdf").string();
    const auto area = render::area_of_unit(*jishan().data, "140824103");
    r.set_focus(area.focus);
    r.render_print(area, {}, jishan().status, pdf);
    int rc = 0;
    const std::string text = run("pdftotext '" + pdf + "' -", &rc);
    ASSERT_EQ(rc, 0) << text;
    std::size_t cells = 0, found = 0;
    for (const auto& c : jishan().data->grid_3857().cells) {
        if (!c.code.starts_with("140824103")) continue;
        ++cells;
        if (text.find(c.code) != std::string::npos) ++found;
    }
    ASSERT_GT(cells, 30u);
    EXPECT_GE(found * 10, cells * 8) << found << " of " << cells << " codes in\n" << text;
}

// ---- Imagery in prints ----------------------------------------------------------------------

// A one-cell A4 print embeds the imagery once, as JPEG, at the resolution the image has (30 m
// here: about 75 px across the page, not the 1,100 px of 150 dpi). The page was 3.2 MB with
// the imagery embedded losslessly at print dpi; now the imagery is about 10 kB and most of
// the file is the label font (Noto Sans CJK's subset keeps its subroutines, about 0.9 MB).
// Closer than the over-zoom limit the imagery is left out and the credits say so.
TEST(RenderPrint, OneCellPrintEmbedsImageryAsJpegAtItsResolution) {
    const auto dir = test::temp_dir();
    auto g = sample::generate_jishan_grid({});
    const std::string tif = (dir / "imagery.tif").string();
    sample::write_jishan_imagery(g, tif, {.imagery_resolution_m = 30});
    auto data = render::MapData::from_grid(std::move(g), render::ImageryLayer{tif, "test", true},
                                           "generated");
    render::Renderer r(data, style("satellite-overlay"));
    const std::string pdf = (dir / "cell.pdf").string();
    r.render_print(render::area_of_cell(*data, "14082410320001"), {}, jishan().status, pdf);
    const auto size = fs::file_size(pdf);
    std::cout << "one-cell A4 print: " << size << " bytes\n";
    EXPECT_LT(size, 1536u * 1024);
    int rc = 0;
    const std::string images = run("pdfimages -list '" + pdf + "'", &rc);
    ASSERT_EQ(rc, 0) << images;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        images, m, std::regex(R"(\n +1 +\d+ +image +(\d+) +(\d+) +rgb +3 +8 +jpeg .* (\d+)B )")))
        << images;
    EXPECT_LT(std::stoi(m[1].str()), 300) << images; // the image's own pixels, not 1,100
    EXPECT_LT(std::stoi(m[3].str()), 100 * 1024) << images;
    EXPECT_EQ(run("pdftotext '" + pdf + "' -").find("not drawn"), std::string::npos);

    // 40 m across an A4 page: far beyond the image's 30 m pixels.
    const auto c = render::lonlat_to_3857({110.845, 35.66});
    const std::string close = (dir / "close.pdf").string();
    r.render_print({{c.x - 20, c.y - 20, c.x + 20, c.y + 20}, "close", ""}, {}, {}, close);
    EXPECT_NE(run("pdftotext '" + close + "' -").find("not drawn"), std::string::npos);
    EXPECT_EQ(run("pdfimages -list '" + close + "'").find("jpeg"), std::string::npos);
}

// The map as of past times: cell colours and pins come from the loop's time-travel rule and
// agree with an independent replay of the journal up to each time (loop_replay.hpp).
TEST(RenderStatusHook, PastTimesMatchAReplayOfTheJournal) {
    const auto dir = test::temp_dir();
    const auto path = (dir / "jishan.gpkg").string();
    {
        auto ws = store::Workspace::create(path);
        ws.add_version({.grid = sample::generate_jishan_grid({}), .note = "sample"});
    }
    (void)sample::write_jishan_loop(path, {.seed = 140824, .days = 30});
    const auto session = loop::Session::open(path);
    const test::Replay replay(session->store());
    const auto ws = store::Workspace::open(path);
    for (const char* text :
         {"2026-02-01T00:00", "2026-03-05T10:00", "2026-03-20T16:45", "2026-04-01T09:30"}) {
        const auto t = loop::parse_time(text);
        std::map<std::string, render::CellState> cells;
        std::size_t open = 0, fresh_closed = 0;
        for (const auto& m : replay.at(session->loop(), t)) {
            const auto& inc = m.record.incident;
            if (inc.state == loop::State::closed && inc.closed_at &&
                inc.closed_at->minutes >= t.minutes - 24 * 60)
                ++fresh_closed;
            if (loop::is_final(inc.state)) continue;
            ++open;
            const auto cs = m.status == loop::Status::overdue   ? render::CellState::overdue
                            : m.status == loop::Status::warning ? render::CellState::warning
                                                                : render::CellState::on_time;
            auto& slot = cells[m.record.cell];
            slot = std::max(slot, cs);
        }
        const auto status = render::status_from_workspace(ws, text);
        EXPECT_EQ(status.cells, cells) << text;
        std::size_t open_pins = 0, closed_pins = 0;
        for (const auto& p : status.pins)
            (p.state == "closed" ? closed_pins : open_pins) += 1;
        EXPECT_EQ(open_pins, open) << text;
        EXPECT_EQ(closed_pins, fresh_closed) << text;
    }
    // Before the first matter the map is empty.
    EXPECT_TRUE(render::status_from_workspace(ws, "2026-01-01T00:00").cells.empty());
}
