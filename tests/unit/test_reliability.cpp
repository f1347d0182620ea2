// Issue 10 (reliability): input checks at the edge of grid import and imagery import,
// outputs staged and renamed into place, and kill safety proven by killing the wangge
// command midway (a kill after it finished does not count: each test checks it was killed
// by the signal while its temporary state was on disk).
#include "test_process.hpp"
#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/generated.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/grid/validate.hpp"
#include "wangge/store/workspace.hpp"

#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <thread>

using namespace wangge;
namespace fs = std::filesystem;
using test::run_wangge;
using test::slurp;
using test::spawn_wangge;
using test::write_file;

namespace {

// A one-feature GeoJSON grid whose code and coordinates are given as JSON text.
std::string one_cell(const std::string& code_json, const std::string& ring_json,
                     const std::string& crs_member = "") {
    return R"({"type":"FeatureCollection",)" + crs_member +
           R"("features":[{"type":"Feature","properties":{"code":)" + code_json +
           R"(},"geometry":{"type":"Polygon","coordinates":[)" + ring_json + "]}}]}";
}

const std::string square =
    "[[110.96,35.61],[110.961,35.61],[110.961,35.611],[110.96,35.611],[110.96,35.61]]";

// The message of the InputError read_grid throws for a file.
std::string import_error(const fs::path& file) {
    try {
        (void)grid::read_grid(file.string(), grid::ImportOptions{});
    } catch (const InputError& e) {
        return e.what();
    }
    ADD_FAILURE() << "no InputError for " << file;
    return {};
}

} // namespace

// ---- item 10: grid import names file, feature and cell; refuses what is not a grid ---------

TEST(ImportChecks, BadRingsNameFileFeatureCellAndWhy) {
    const auto dir = test::temp_dir();
    struct Case {
        const char* name;
        std::string ring;
        const char* why;
    };
    const Case cases[] = {
        {"unclosed", "[[110.96,35.61],[110.961,35.61],[110.961,35.611],[110.96,35.611]]",
         "the outer ring is not closed"},
        {"two_points", "[[110.96,35.61],[110.961,35.61]]", "the outer ring has 2 points"},
        {"nan", "[[110.96,35.61],[110.961,35.61],[110.961,NaN],[110.96,35.611],[110.96,35.61]]",
         "not a number"},
    };
    for (const auto& c : cases) {
        const auto file = dir / (std::string(c.name) + ".geojson");
        write_file(file, one_cell("\"14082410020001\"", c.ring));
        const auto msg = import_error(file);
        EXPECT_NE(msg.find(file.string()), std::string::npos) << msg;
        EXPECT_NE(msg.find("feature 0"), std::string::npos) << msg;
        EXPECT_NE(msg.find("cell 14082410020001"), std::string::npos) << msg;
        EXPECT_NE(msg.find(c.why), std::string::npos) << c.name << ": " << msg;
    }
}

TEST(ImportChecks, CodesMustBeTextNotArraysOrBooleans) {
    const auto dir = test::temp_dir();
    write_file(dir / "array.geojson", one_cell("[1,2]", square));
    write_file(dir / "bool.geojson", one_cell("true", square));
    const auto array = import_error(dir / "array.geojson");
    EXPECT_NE(array.find("cell codes must be strings of digits"), std::string::npos) << array;
    EXPECT_NE(array.find("field 'code'"), std::string::npos) << array;
    const auto boolean = import_error(dir / "bool.geojson");
    EXPECT_NE(boolean.find("holds a boolean"), std::string::npos) << boolean;
    // A code column mixing text and arrays is read as text: the array is still refused.
    write_file(
        dir / "mixed.geojson",
        R"({"type":"FeatureCollection","features":[)"
        R"({"type":"Feature","properties":{"code":"14082410020001"},"geometry":{"type":"Polygon","coordinates":[)" +
            square +
            R"(]}},{"type":"Feature","properties":{"code":["x"]},"geometry":{"type":"Polygon","coordinates":[)" +
            square + "]}}]}");
    const auto mixed = import_error(dir / "mixed.geojson");
    EXPECT_NE(mixed.find("strings of digits"), std::string::npos) << mixed;
}

TEST(ImportChecks, UnknownGeoJsonCrsNeedsSrcCrs) {
    const auto dir = test::temp_dir();
    const auto file = dir / "crs.geojson";
    write_file(
        file,
        one_cell("\"14082410020001\"", square,
                 R"("crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::999999"}},)"));
    const auto msg = import_error(file);
    EXPECT_NE(msg.find("--src-crs"), std::string::npos) << msg;
    grid::ImportOptions o;
    o.src_crs = "EPSG:4326";
    EXPECT_EQ(grid::read_grid(file.string(), o).cells.size(), 1u);
}

TEST(ImportChecks, EmptyFeatureCollectionSaysSo) {
    const auto dir = test::temp_dir();
    write_file(dir / "empty.geojson", R"({"type":"FeatureCollection","features":[]})");
    const auto msg = import_error(dir / "empty.geojson");
    EXPECT_NE(msg.find("the layer has no features"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("no such field"), std::string::npos) << msg;
}

// ---- item 13: T-junctions are reported, and grid import --snap nodes them ------------------

TEST(Snap, NodesATJunctionSoTheValidatorFindsNothingUnmatched) {
    // GEOS's CoveragePolygonValidator T-junction case, near Jishan and scaled to 100 m.
    const double x0 = 110.96, y0 = 35.61, s = 0.001;
    auto cell = [&](const char* code, std::vector<geo::Point> pts) {
        grid::Cell c;
        c.code = code;
        for (auto& p : pts)
            p = {x0 + p.x * s, y0 + p.y * s};
        c.geometry.polygons.push_back({{pts}});
        return c;
    };
    grid::Grid g;
    g.cells.push_back(cell("14082410020001", {{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}));
    g.cells.push_back(cell("14082410020002", {{1, 0}, {2, 0}, {2, 1}, {1, 0.9}, {1, 0}}));
    const auto before = grid::validate(g);
    ASSERT_EQ(before.counts().count(grid::IssueType::unmatched_vertex), 1u) << before.summary();
    const auto& issue = *std::find_if(before.issues.begin(), before.issues.end(), [](auto& i) {
        return i.type == grid::IssueType::unmatched_vertex;
    });
    EXPECT_EQ(issue.cells, (std::vector<std::string>{"14082410020001", "14082410020002"}));
    ASSERT_TRUE(issue.location.has_value());
    EXPECT_DOUBLE_EQ(issue.location->x, x0 + s);
    EXPECT_DOUBLE_EQ(issue.location->y, y0 + 0.9 * s);

    EXPECT_EQ(grid::snap_grid(g, 0.05), 1u); // the first cell gains the vertex
    const auto after = grid::validate(g);
    EXPECT_EQ(after.counts().count(grid::IssueType::unmatched_vertex), 0u) << after.summary();
    EXPECT_THROW((void)grid::snap_grid(g, 0), InputError);
}

// ---- item 8: outputs staged; kills leave nothing behind; hot journals roll back -------------

TEST(KillSafety, FailedRenderKeepsTheEarlierOutput) {
    const auto dir = test::temp_dir();
    const auto log = dir / "log.txt";
    const std::string ws = (dir / "ws.gpkg").string();
    ASSERT_EQ(run_wangge({"grid", "import", test::data("tiny_grid.geojson"), "-w", ws}, log), 0)
        << slurp(log);
    const auto png = dir / "o.png";
    ASSERT_EQ(run_wangge({"render", ws, "--out", png.string(), "--width", "64", "--height", "64",
                          "--at", "2026-04-01T09:30"},
                         log),
              0)
        << slurp(log);
    const std::string before = slurp(png);
    ASSERT_GT(before.size(), 0u);
    EXPECT_NE(run_wangge({"render", ws, "--out", png.string(), "--width", "64", "--height", "64",
                          "--format", "gif", "--at", "2026-04-01T09:30"},
                         log),
              0);
    EXPECT_EQ(slurp(png), before) << "a failed render must not touch the earlier output";
    for (const auto& e : fs::directory_iterator(dir))
        EXPECT_EQ(e.path().filename().string().find("partial"), std::string::npos) << e.path();
}

namespace {

// A GeoJSON grid big enough that importing it takes a while (generated, not real).
fs::path big_grid(const fs::path& dir) {
    const auto path = dir / "big.geojson";
    store::export_grid(grid::generated_coverage(20000, 3), path.string(), 1);
    return path;
}

// Polls until `seen()` or the process ends; then kills it. True when it was killed by the
// signal while `seen()` held: a kill mid-work.
bool kill_when(pid_t pid, const std::function<bool()>& seen) {
    int status = 0;
    for (int i = 0; i < 600000; ++i) {
        if (seen()) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        }
        if (waitpid(pid, &status, WNOHANG) == pid) return false; // finished first
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return false;
}

std::vector<std::string> partial_files(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".partial") != std::string::npos)
            out.push_back(e.path().filename().string());
    return out;
}

} // namespace

TEST(KillSafety, KilledImportIntoANewWorkspaceLeavesNothingAfterTheNextRun) {
    const auto dir = test::temp_dir();
    const auto log = dir / "log.txt";
    const auto source = big_grid(dir);
    const auto ws = dir / "ws.gpkg";
    const std::vector<std::string> import{"grid", "import", source.string(), "-w", ws.string()};
    // The staged workspace exists only between its creation and its rename into place:
    // killing while it is there is a kill mid-import (after validation has started).
    const pid_t pid = spawn_wangge(import, log);
    const std::string staged = ws.string() + ".partial-" + std::to_string(pid) + ".gpkg";
    ASSERT_TRUE(kill_when(pid, [&] { return fs::exists(staged); }))
        << "the import finished before it could be killed\n"
        << slurp(log);
    EXPECT_FALSE(fs::exists(ws)) << "a killed import must not leave a workspace";
    EXPECT_FALSE(partial_files(dir).empty()) << "the kill left no staged file: not mid-import";

    ASSERT_EQ(run_wangge(import, log), 0) << slurp(log);
    EXPECT_TRUE(partial_files(dir).empty()) << partial_files(dir).front();
    EXPECT_EQ(store::Workspace::open(ws.string()).grid().cells.size(), 20000u);
}

TEST(KillSafety, ReadOnlyCommandsWorkAfterAKillLeftAHotJournal) {
    const auto dir = test::temp_dir();
    const auto log = dir / "log.txt";
    const auto source = big_grid(dir);
    const std::string ws = (dir / "ws.gpkg").string();
    ASSERT_EQ(run_wangge({"grid", "import", test::data("tiny_grid.geojson"), "-w", ws}, log), 0)
        << slurp(log);
    const auto before = fs::file_size(ws);
    const pid_t pid = spawn_wangge({"grid", "import", source.string(), "-w", ws}, log);
    // The journal holds the pages the transaction changed: once the file has grown past its
    // old size, the second version is being written.
    ASSERT_TRUE(kill_when(pid,
                          [&] {
                              std::error_code ec;
                              return fs::file_size(ws + "-journal", ec) > 0 && !ec &&
                                     fs::file_size(ws, ec) > before;
                          }))
        << "the import finished before it could be killed\n"
        << slurp(log);
    ASSERT_TRUE(fs::exists(ws + "-journal")) << "no hot journal: not killed mid-write";

    // A read-only command rolls the journal back and sees the workspace as before.
    ASSERT_EQ(run_wangge({"grid", "versions", "-w", ws}, log), 0) << slurp(log);
    EXPECT_EQ(store::Workspace::open(ws).versions().size(), 1u);
    EXPECT_FALSE(fs::exists(ws + "-journal"));
}

// ---- item 11: imagery import is bounded and stays in its folder -----------------------------

TEST(ImageryChecks, RefusesHugeRastersVrtsThatReachOutAndImageryOffTheGrid) {
    const auto dir = test::temp_dir();
    const auto log = dir / "log.txt";
    const std::string ws = (dir / "ws.gpkg").string();
    ASSERT_EQ(run_wangge({"grid", "import", test::data("tiny_grid.geojson"), "-w", ws}, log), 0)
        << slurp(log);
    const std::string header = R"(<VRTDataset rasterXSize="400000" rasterYSize="400000">
  <SRS>EPSG:4326</SRS><GeoTransform>110.9, 0.0000005, 0, 35.7, 0, -0.0000005</GeoTransform>
  <VRTRasterBand dataType="Byte" band="1">)";
    write_file(dir / "huge.vrt", header + "</VRTRasterBand></VRTDataset>\n");
    EXPECT_EQ(run_wangge({"imagery", "import", ws, (dir / "huge.vrt").string()}, log), 2);
    EXPECT_NE(slurp(log).find("400000 x 400000 px (160000 megapixels), above the limit of 1000"),
              std::string::npos)
        << slurp(log);

    auto source = [&](const std::string& file) {
        return header + R"(<SimpleSource><SourceFilename relativeToVRT="0">)" + file +
               "</SourceFilename><SourceBand>1</SourceBand></SimpleSource>"
               "</VRTRasterBand></VRTDataset>\n";
    };
    write_file(dir / "passwd.vrt", source("/etc/passwd"));
    EXPECT_EQ(run_wangge({"imagery", "import", ws, (dir / "passwd.vrt").string()}, log), 2);
    EXPECT_NE(slurp(log).find("outside its folder"), std::string::npos) << slurp(log);
    write_file(dir / "notes.txt", "not a raster\n");
    write_file(dir / "text.vrt", source((dir / "notes.txt").string()));
    EXPECT_EQ(run_wangge({"imagery", "import", ws, (dir / "text.vrt").string()}, log), 2);
    EXPECT_NE(slurp(log).find("which is not a raster"), std::string::npos) << slurp(log);

    // The Landsat sample is over the Bahamas, the grid in Shanxi.
    EXPECT_EQ(run_wangge({"imagery", "import", ws, test::data("RGB.byte.tif")}, log), 2);
    EXPECT_NE(slurp(log).find("does not overlap the workspace's grid"), std::string::npos)
        << slurp(log);
    EXPECT_TRUE(store::Workspace::open(ws).imagery().empty());
    EXPECT_TRUE(partial_files(dir).empty()) << "a refused import left a temporary file";
    EXPECT_FALSE(fs::exists(dir / "ws-satellite.tif"));
    ASSERT_EQ(
        run_wangge({"imagery", "import", ws, test::data("RGB.byte.tif"), "--allow-outside"}, log),
        0)
        << slurp(log);
    EXPECT_EQ(store::Workspace::open(ws).imagery().size(), 1u);
}
