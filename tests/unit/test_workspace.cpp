#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/store/workspace.hpp"

#include <gtest/gtest.h>

using namespace wangge;

namespace {
grid::Grid two_cells(double shift = 0) {
    grid::Grid g;
    auto cell = [&](const char* code, double x) {
        grid::Cell c;
        c.code = code;
        c.name = std::string("cell ") + code;
        c.village_code = "140824100200";
        c.township_code = "140824100";
        c.county_code = "140824";
        c.households = 300;
        c.population = 900;
        c.geometry = {{geo::Polygon{{geo::Ring{{x, 35.6 + shift},
                                               {x + 0.01, 35.6 + shift},
                                               {x + 0.01, 35.61 + shift},
                                               {x, 35.61 + shift},
                                               {x, 35.6 + shift}}}}}};
        return c;
    };
    g.cells = {cell("14082410020001", 110.95), cell("14082410020002", 110.96)};
    g.units = {{grid::UnitLevel::village, "140824100200", "东北街村委会", "140824100", {}}};
    return g;
}
} // namespace

TEST(Workspace, CreateRefusesAnExistingFileAndOpenRefusesStrangers) {
    const auto dir = test::temp_dir();
    const auto path = (dir / "ws.gpkg").string();
    { auto ws = store::Workspace::create(path); }
    EXPECT_THROW((void)store::Workspace::create(path), InputError);
    EXPECT_THROW((void)store::Workspace::open((dir / "missing.gpkg").string()), InputError);
    EXPECT_THROW((void)store::Workspace::open(test::data("tiny_grid.geojson")), InputError);
}

TEST(Workspace, VersionsAreKeptAndOneIsCurrent) {
    const auto path = (test::temp_dir() / "ws.gpkg").string();
    auto ws = store::Workspace::create(path);
    EXPECT_FALSE(ws.current_version());
    const int v1 = ws.add_version({.grid = two_cells(), .note = "first"});
    const int v2 = ws.add_version({.grid = two_cells(0.5), .note = "second"});
    EXPECT_EQ(v1, 1);
    EXPECT_EQ(v2, 2);
    EXPECT_EQ(ws.current_version(), 2);
    const auto versions = ws.versions();
    ASSERT_EQ(versions.size(), 2u);
    EXPECT_EQ(versions[1].parent, 1);
    EXPECT_FALSE(versions[0].parent);
    EXPECT_EQ(versions[0].note, "first");
    // Nothing was overwritten: version 1 still has its own geometry.
    EXPECT_EQ(ws.grid(1).cells, two_cells().cells);
    EXPECT_EQ(ws.grid().cells, two_cells(0.5).cells);
    EXPECT_EQ(ws.grid(1).units.at(0).name, "东北街村委会");
    const auto names = ws.unit_names();
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names.at("140824100200"), "东北街村委会");
    ws.set_current(1);
    EXPECT_EQ(ws.current_version(), 1);
    EXPECT_THROW(ws.set_current(7), InputError);
    // The metric CRS was chosen from the data.
    EXPECT_EQ(ws.metric_crs(), "EPSG:4546");
}

TEST(Workspace, AFailedWriteChangesNothing) {
    const auto path = (test::temp_dir() / "ws.gpkg").string();
    auto ws = store::Workspace::create(path);
    ws.add_version({.grid = two_cells()});
    auto bad = two_cells(1.0);
    bad.cells[1].code = bad.cells[0].code; // violates the unique (version, code) index
    EXPECT_THROW(ws.add_version({.grid = bad}), StoreError);
    EXPECT_EQ(ws.versions().size(), 1u);
    EXPECT_EQ(ws.current_version(), 1);
    EXPECT_EQ(ws.grid().cells, two_cells().cells);
    // Still consistent after reopening.
    const auto again = store::Workspace::open(path);
    EXPECT_EQ(again.versions().size(), 1u);
    EXPECT_EQ(again.grid().cells.size(), 2u);
}

TEST(Workspace, MetaAndImagery) {
    const auto path = (test::temp_dir() / "ws.gpkg").string();
    auto ws = store::Workspace::create(path);
    ws.set_meta("seed", "1");
    ws.set_meta("seed", "2");
    EXPECT_EQ(ws.meta("seed"), "2");
    EXPECT_FALSE(ws.meta("nothing"));
    ws.register_imagery(
        {.name = "satellite", .path = "x.tif", .attribution = "a", .generated = true});
    ws.register_imagery(
        {.name = "satellite", .path = "y.tif", .attribution = "b", .generated = false});
    const auto im = ws.imagery();
    ASSERT_EQ(im.size(), 1u);
    EXPECT_EQ(im[0].path, "y.tif");
    EXPECT_FALSE(im[0].generated);
}
