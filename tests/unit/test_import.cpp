#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/store/workspace.hpp"

#include <gtest/gtest.h>

using namespace wangge;

namespace {
const std::string li_pbf = "liechtenstein-2013-08-03.osm.pbf";
} // namespace

TEST(Import, LiechtensteinMunicipalitiesKeepTheirExclaves) {
    const auto g = grid::read_grid(test::data(li_pbf), test::liechtenstein_options());
    ASSERT_EQ(g.cells.size(), 11u);
    std::map<std::string, std::size_t> parts;
    for (const auto& c : g.cells)
        parts[c.name] = c.geometry.polygons.size();
    EXPECT_EQ(parts["Vaduz"], 7u);
    EXPECT_EQ(parts["Planken"], 5u);
    EXPECT_EQ(parts["Schaan"], 5u);
    EXPECT_EQ(parts["Balzers"], 3u);
    EXPECT_EQ(parts["Triesen"], 1u);

    // The municipalities tile the country: their total area is the country's.
    grid::ImportOptions country = test::liechtenstein_options();
    country.where = "admin_level='2'";
    const auto c = grid::read_grid(test::data(li_pbf), country);
    ASSERT_EQ(c.cells.size(), 1u);
    const geo::Transformer to_metric("EPSG:4326", geo::suggest_metric_crs(9.55, 47.15));
    double sum = 0;
    for (const auto& cell : g.cells)
        sum += geo::area_m2(cell.geometry, to_metric);
    const double country_area = geo::area_m2(c.cells[0].geometry, to_metric);
    EXPECT_NEAR(country_area / 1e6, 160.0, 3.0); // Liechtenstein is about 160 km2
    EXPECT_NEAR(sum, country_area, country_area * 1e-9);
}

TEST(Import, ProjectedSourceIsTransformedToLonLat) {
    const auto a = grid::read_grid(test::data("tiny_grid.geojson"), {});
    const auto b = grid::read_grid(test::data("tiny_grid_4546.geojson"), {});
    ASSERT_EQ(a.cells.size(), b.cells.size());
    for (std::size_t i = 0; i < a.cells.size(); ++i) {
        const auto& pa = a.cells[i].geometry.polygons[0].rings[0];
        const auto& pb = b.cells[i].geometry.polygons[0].rings[0];
        ASSERT_EQ(pa.size(), pb.size());
        for (std::size_t k = 0; k < pa.size(); ++k) {
            EXPECT_NEAR(pa[k].x, pb[k].x, 1e-9);
            EXPECT_NEAR(pa[k].y, pb[k].y, 1e-9);
        }
    }
}

TEST(Import, HierarchyComesFromTheCodes) {
    auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    ASSERT_EQ(g.cells.size(), 4u);
    EXPECT_EQ(g.cells[0].village_code, "140824100200");
    EXPECT_EQ(g.cells[0].township_code, "140824100");
    EXPECT_EQ(g.cells[0].county_code, "140824");
    EXPECT_EQ(g.cells[0].households, 420);
    grid::derive_units(g, [](const std::string& code) { return code == "140824" ? "稷山县" : ""; });
    EXPECT_EQ(g.count(grid::UnitLevel::county), 1u);
    EXPECT_EQ(g.count(grid::UnitLevel::township), 1u);
    EXPECT_EQ(g.count(grid::UnitLevel::village), 2u);
    const auto* county = g.find_unit("140824");
    ASSERT_NE(county, nullptr);
    EXPECT_EQ(county->name, "稷山县");
    ASSERT_EQ(county->geometry.polygons.size(), 1u); // the union of the four squares
    double cells_area = 0;
    for (const auto& c : g.cells)
        cells_area += geo::planar_area(c.geometry);
    EXPECT_NEAR(geo::planar_area(county->geometry), cells_area, 1e-15);
}

TEST(Import, GeoJsonRoundTripKeepsEveryCoordinate) {
    const auto dir = test::temp_dir();
    const auto ws_path = (dir / "ws.gpkg").string();
    auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    const auto original = g.cells;
    {
        auto ws = store::Workspace::create(ws_path);
        grid::derive_units(g, [](const std::string&) { return std::string(); });
        ws.add_version({.grid = g});
    }
    const auto ws = store::Workspace::open(ws_path);
    const auto out = (dir / "out.geojson").string();
    store::export_grid(ws.grid(), out, 1);
    grid::ImportOptions o;
    const auto back = grid::read_grid(out, o);
    ASSERT_EQ(back.cells.size(), original.size());
    for (std::size_t i = 0; i < original.size(); ++i) {
        EXPECT_EQ(back.cells[i].code, original[i].code);
        EXPECT_EQ(back.cells[i].name, original[i].name);
        EXPECT_EQ(back.cells[i].households, original[i].households);
        // Bit for bit, not approximately.
        EXPECT_EQ(back.cells[i].geometry, original[i].geometry) << original[i].code;
    }
    // Exporting over an existing file is refused and leaves it alone.
    EXPECT_THROW(store::export_grid(ws.grid(), out, 1), InputError);
}

TEST(Import, ShapefileExportWritesAllItsFiles) {
    const auto dir = test::temp_dir();
    auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    store::export_grid(g, (dir / "cells.shp").string(), 1);
    for (const char* ext : {".shp", ".shx", ".dbf", ".prj"})
        EXPECT_TRUE(std::filesystem::exists(dir / (std::string("cells") + ext))) << ext;
    EXPECT_FALSE(std::filesystem::exists(dir / "cells.shp.partial.d"));
    const auto back = grid::read_grid((dir / "cells.shp").string(), {});
    EXPECT_EQ(back.cells.size(), 4u);
}

namespace {
std::string import_error(const std::string& file, grid::ImportOptions o = {}) {
    try {
        (void)grid::read_grid(file, o);
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}
} // namespace

TEST(Import, BadInputSaysWhatAndWhere) {
    const auto tiny = test::data("tiny_grid.geojson");
    EXPECT_NE(import_error(test::data("nope.geojson")).find("nope.geojson: cannot open"),
              std::string::npos);
    grid::ImportOptions layer;
    layer.layer = "roads";
    EXPECT_NE(import_error(tiny, layer).find("no layer 'roads' (layers: cells)"),
              std::string::npos);
    grid::ImportOptions field;
    field.code_field = "grid_code";
    const auto fe = import_error(tiny, field);
    EXPECT_NE(fe.find("field 'grid_code': no such field (--code-field); fields: code, name"),
              std::string::npos)
        << fe;
    const auto np = import_error(test::data("not_polygons.geojson"));
    EXPECT_NE(np.find("feature 2: cell 14082410020101: geometry is a LINESTRING"),
              std::string::npos)
        << np;
    const auto nc = import_error(test::data("no_crs.csv"));
    EXPECT_NE(nc.find("the layer has no CRS; give it with --src-crs"), std::string::npos) << nc;
    grid::ImportOptions crs;
    crs.src_crs = "EPSG:123456789";
    EXPECT_NE(import_error(tiny, crs).find("unknown CRS 'EPSG:123456789'"), std::string::npos);
    const auto dup = import_error(test::data("duplicate_codes.geojson"));
    EXPECT_NE(
        dup.find("feature 3: field 'code': duplicate cell code '14082410020001' (also feature 0)"),
        std::string::npos)
        << dup;
    grid::ImportOptions where;
    where.where = "code = 'x'";
    EXPECT_NE(import_error(tiny, where).find("no feature matches --where"), std::string::npos);
}

TEST(Import, CsvWithSourceCrsImports) {
    grid::ImportOptions o;
    o.src_crs = "EPSG:4326";
    const auto g = grid::read_grid(test::data("no_crs.csv"), o);
    EXPECT_EQ(g.cells.size(), 4u);
}
