#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/geo/proj.hpp"

#include <cmath>
#include <gtest/gtest.h>

using namespace wangge;
using namespace wangge::geo;

TEST(Proj, MetricCrsIsChosenFromTheData) {
    EXPECT_EQ(suggest_metric_crs(110.96, 35.61), "EPSG:4546"); // Jishan: CGCS2000 GK CM 111E
    EXPECT_EQ(suggest_metric_crs(116.4, 39.9), "EPSG:4548");   // Beijing: CM 117E
    EXPECT_EQ(suggest_metric_crs(9.52, 47.14), "EPSG:32632");  // Liechtenstein: UTM 32N
    EXPECT_EQ(suggest_metric_crs(-77.5, 24.5), "EPSG:32618");  // Bahamas: UTM 18N
    EXPECT_EQ(suggest_metric_crs(151.2, -33.9), "EPSG:32756"); // Sydney: UTM 56S
}

TEST(Proj, CentralMeridianMapsToFalseEasting) {
    const Transformer t("EPSG:4326", "EPSG:4546");
    const Point p = t.forward(Point{111.0, 35.0});
    EXPECT_NEAR(p.x, 500000.0, 1e-6);   // 3-degree zones carry no zone prefix in 4534..4554
    EXPECT_NEAR(p.y, 3874592.90, 0.01); // as cs2cs prints it
    const Point back = t.inverse(p);
    EXPECT_NEAR(back.x, 111.0, 1e-12);
    EXPECT_NEAR(back.y, 35.0, 1e-12);
}

TEST(Proj, BatchEqualsSingle) {
    const Transformer t("EPSG:4326", "EPSG:3857");
    std::vector<Point> pts{{110.96, 35.61}, {9.52, 47.14}, {0, 0}};
    auto batch = pts;
    t.forward(batch);
    for (std::size_t i = 0; i < pts.size(); ++i)
        EXPECT_EQ(batch[i], t.forward(pts[i]));
}

TEST(Proj, UnknownCrsNamesTheText) {
    try {
        Transformer t("EPSG:4326", "EPSG:999999");
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("EPSG:999999"), std::string::npos);
    }
}

TEST(Proj, AreaOfOneSquareKilometre) {
    const Transformer to_metric("EPSG:4326", "EPSG:4546");
    const Transformer back("EPSG:4546", "EPSG:4326");
    Ring r{{500000, 3900000},
           {501000, 3900000},
           {501000, 3901000},
           {500000, 3901000},
           {500000, 3900000}};
    back.forward(std::span<Point>(r));
    const MultiPolygon mp{{Polygon{{r}}}};
    EXPECT_NEAR(area_m2(mp, to_metric), 1e6, 1e-3);
}

TEST(Gdal, SpatialRefFromUserInput) {
    const auto srs = SpatialRef::from_user_input("EPSG:4546");
    EXPECT_FALSE(srs.is_geographic());
    EXPECT_EQ(srs.user_string(), "EPSG:4546");
    const auto wgs = SpatialRef::from_user_input("EPSG:4326");
    EXPECT_TRUE(wgs.is_geographic());
    EXPECT_FALSE(srs.is_same(wgs));
    EXPECT_THROW((void)SpatialRef::from_user_input("not a crs"), InputError);
    auto a = SpatialRef::from_user_input("EPSG:3857");
    SpatialRef b = std::move(a);
    EXPECT_TRUE(a.empty()); // NOLINT(bugprone-use-after-move): moved-from state is documented
    EXPECT_FALSE(b.empty());
}

TEST(Gdal, OpeningAMissingFileNamesIt) {
    try {
        (void)Dataset::open_vector("/nonexistent/cells.geojson");
        FAIL();
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().file, "/nonexistent/cells.geojson");
        EXPECT_NE(std::string(e.what()).find("cannot open: No such file or directory"),
                  std::string::npos)
            << e.what();
    }
}

TEST(Gdal, UnknownLayerListsTheLayers) {
    const auto ds = Dataset::open_vector(test::data("tiny_grid.geojson"));
    try {
        (void)ds.layer("nope");
        FAIL();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("layers: cells"), std::string::npos) << e.what();
    }
}

TEST(Gdal, DriverFollowsTheExtension) {
    EXPECT_EQ(Dataset::vector_driver_for("a/b.geojson"), "GeoJSON");
    EXPECT_EQ(Dataset::vector_driver_for("b.GPKG"), "GPKG");
    EXPECT_EQ(Dataset::vector_driver_for("b.shp"), "ESRI Shapefile");
    EXPECT_EQ(Dataset::vector_driver_for("b.fgb"), "FlatGeobuf");
    EXPECT_THROW((void)Dataset::vector_driver_for("b.nothing"), InputError);
    EXPECT_THROW((void)Dataset::vector_driver_for("noext"), InputError);
}

TEST(Gdal, OgrGeometryRoundTrip) {
    const MultiPolygon mp{{Polygon{{Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}}}}};
    const auto g = to_ogr(mp);
    EXPECT_EQ(to_multipolygon(g.get()), mp);
}

TEST(Geos, ConversionRoundTripAndValidity) {
    GeosContext ctx;
    const MultiPolygon ok{{Polygon{{Ring{{0, 0}, {2, 0}, {2, 2}, {0, 2}, {0, 0}}}}}};
    const auto g = ctx.from(ok);
    EXPECT_TRUE(g.is_valid());
    EXPECT_DOUBLE_EQ(g.area(), 4.0);
    EXPECT_EQ(g.to_multipolygon(), ok);
    const MultiPolygon bowtie{{Polygon{{Ring{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}}}}};
    const auto b = ctx.from(bowtie);
    EXPECT_FALSE(b.is_valid());
    EXPECT_NE(b.invalid_reason().find("Self-intersection"), std::string::npos);
}

TEST(Geos, CoverageUnionOfTwoSquares) {
    GeosContext ctx;
    const MultiPolygon a{{Polygon{{Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}}}};
    const MultiPolygon b{{Polygon{{Ring{{1, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 0}}}}}};
    const auto u = coverage_union(ctx, {&a, &b});
    ASSERT_EQ(u.polygons.size(), 1u);
    EXPECT_DOUBLE_EQ(planar_area(u), 2.0);
}
