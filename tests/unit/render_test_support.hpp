// Helpers shared by the render tests (test_render.cpp, test_render_cartography.cpp).
#pragma once

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

namespace render_test {

using namespace wangge;
namespace fs = std::filesystem;

inline constexpr int channel_tolerance = 8;
inline constexpr double max_differing_fraction = 0.005;

inline std::string expected_path(const std::string& name) {
    return std::string(WANGGE_RENDER_EXPECTED) + "/" + name + ".png";
}

// Compares with the golden image; returns "" on a match, else why.
inline std::string compare_golden(const render::Image& actual, const std::string& name) {
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
inline std::string tiny_name(const std::string& code) {
    static const std::map<std::string, std::string> names = {{"140824", "稷山县"},
                                                             {"140824100", "稷峰镇"},
                                                             {"140824100200", "东北街社区"},
                                                             {"140824100201", "东街社区"}};
    const auto it = names.find(code);
    return it == names.end() ? "" : it->second;
}

inline std::shared_ptr<const render::MapData> tiny_data() {
    auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    grid::derive_units(g, tiny_name);
    return render::MapData::from_grid(std::move(g), std::nullopt, "test fixture");
}

inline render::RenderStatus tiny_status() {
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
inline std::string landsat_3857() {
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

inline geo::MultiPolygon rect(double x0, double y0, double x1, double y1) {
    geo::Polygon p;
    p.rings.push_back({{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}});
    geo::MultiPolygon mp;
    mp.polygons.push_back(std::move(p));
    return mp;
}

// A 3 x 2 grid of 2 km cells on the east coast of Andros, over the real image.
inline std::shared_ptr<const render::MapData> bahamas_data() {
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

inline render::RenderStatus bahamas_status() {
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

inline render::StyleChoice style(const std::string& name) {
    return {.dir = WANGGE_STYLE_DIR, .name = name};
}

// A copy of the styles with one parameter entity changed.
inline std::string styles_with(const fs::path& dir, const std::string& entity,
                               const std::string& value) {
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

inline std::string run(const std::string& cmd, int* status = nullptr) {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((cmd + " 2>&1").c_str(), "r"), pclose);
    std::string out;
    std::array<char, 4096> buf{};
    while (pipe && fgets(buf.data(), buf.size(), pipe.get()))
        out += buf.data();
    const int rc = pclose(pipe.release());
    if (status) *status = WEXITSTATUS(rc);
    return out;
}

inline std::size_t differing_pixels(const render::Image& a, const render::Image& b) {
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

} // namespace render_test
