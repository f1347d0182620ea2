// Rendering tests of the Jishan sample as people read it: goldens at the scales in use, the
// status palette under colour-vision deficiencies, legends read from the style, frames,
// searchable and imagery-bearing prints, and past times replayed from the journal.
//
// Golden images: see test_render.cpp.
#include "render_test_support.hpp"

using namespace wangge;
using namespace render_test;

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
