// Helpers shared by the tile tests (test_tiles.cpp, test_tiles_export.cpp).
#pragma once

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

namespace tiles_test {

using namespace wangge;
namespace fs = std::filesystem;

// The generated Jishan grid (no imagery), projected once for all tests.
inline std::shared_ptr<const render::MapData> jishan() {
    static const auto data =
        render::MapData::from_grid(sample::generate_jishan_grid({}), std::nullopt, "generated");
    return data;
}

inline std::string joined(const std::vector<tiles::TileId>& ts) {
    std::string out;
    for (const auto& t : ts) {
        if (!out.empty()) out.push_back(' ');
        out.append(tiles::to_string(t));
    }
    return out;
}

// Independent of the planner: GEOS says which tiles of the area's bounding box touch the area
// grown by the margin; the plan must list exactly those.
inline void expect_plan_matches_geos(const geo::MultiPolygon& area, const tiles::Plan& plan) {
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

inline constexpr const char* t0 = "2026-04-01T09:30"; // the sample's reference time
inline constexpr const char* t1 = "2026-04-01T10:30";

inline std::string quote(const std::string& s) {
    return "'" + s + "'";
}

// Runs a shell command; returns what it printed (stdout and stderr) and sets *rc.
inline std::string run(const std::string& cmd, int* rc = nullptr) {
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

inline std::string wangge_cmd() {
    return quote(WANGGE_BINARY);
}

// The Jishan sample (grid, generated imagery at 40 m, loop history), made once by the
// command itself and shared by the tests of this run (built aside, then renamed into place,
// so tests running in parallel never see half of it). Named after the binary's build time:
// a rebuilt generator makes a new sample rather than testing against a stale one.
inline std::string sample_workspace() {
    const char* base = std::getenv("WANGGE_TEST_TMP");
    const auto built = fs::last_write_time(WANGGE_BINARY).time_since_epoch().count();
    const fs::path dir =
        fs::path(base ? base : "/tmp/wangge-test") / ("tiles-sample-" + std::to_string(built));
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
inline std::string copy_of_sample(const fs::path& dir) {
    const fs::path src = sample_workspace();
    for (const auto& e : fs::directory_iterator(src.parent_path()))
        fs::copy_file(e.path(), dir / e.path().filename(), fs::copy_options::overwrite_existing);
    return (dir / "jishan.gpkg").string();
}

inline render::Image decode(const std::string& bytes, const fs::path& dir) {
    const auto path = dir / "decode.png"; // the reader goes by the extension
    std::ofstream(path, std::ios::binary) << bytes;
    return render::read_image(path.string());
}

// Share of pixels whose channels differ by more than `tolerance` (alpha-weighted colours).
inline double differing_fraction(const render::Image& a, const render::Image& b, int tolerance) {
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
inline std::map<std::string, std::string> mbtiles_tiles(const std::string& path) {
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
inline std::string sql_value(const std::string& path, const std::string& sql) {
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
inline std::map<std::string, std::string> folder_tiles(const fs::path& root) {
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
inline std::string overlay_job(const std::string& ws, const std::string& out) {
    return wangge_cmd() + " tiles export " + quote(ws) + " --out " + quote(out) +
           " --layer overlay --zoom 10-13 --metatile 1 --at " + t0;
}

} // namespace tiles_test
