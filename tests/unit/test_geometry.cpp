#include "wangge/error.hpp"
#include "wangge/geo/geometry.hpp"

#include <gtest/gtest.h>

using namespace wangge;
using namespace wangge::geo;

namespace {
Ring square(double x, double y, double s, bool ccw = true) {
    Ring r{{x, y}, {x + s, y}, {x + s, y + s}, {x, y + s}, {x, y}};
    if (!ccw) std::reverse(r.begin(), r.end());
    return r;
}
} // namespace

TEST(Geometry, AreaOfPolygonWithHole) {
    MultiPolygon mp{{Polygon{{square(0, 0, 10), square(2, 2, 3, false)}}}};
    EXPECT_DOUBLE_EQ(planar_area(mp), 100.0 - 9.0);
    EXPECT_DOUBLE_EQ(signed_area(square(0, 0, 2)), 4.0);
    EXPECT_DOUBLE_EQ(signed_area(square(0, 0, 2, false)), -4.0);
}

TEST(Geometry, OrientationIsNormalised) {
    MultiPolygon mp{{Polygon{{square(0, 0, 10, false), square(2, 2, 3, true)}}}};
    normalise_orientation(mp);
    EXPECT_GT(signed_area(mp.polygons[0].rings[0]), 0);
    EXPECT_LT(signed_area(mp.polygons[0].rings[1]), 0);
}

TEST(Geometry, BoundsCoverEveryPart) {
    MultiPolygon mp{{Polygon{{square(0, 0, 1)}}, Polygon{{square(5, -3, 2)}}}};
    const Box b = bounds(mp);
    EXPECT_EQ(b.minx, 0);
    EXPECT_EQ(b.miny, -3);
    EXPECT_EQ(b.maxx, 7);
    EXPECT_EQ(b.maxy, 1);
    EXPECT_TRUE(b.contains({6, -2}));
    EXPECT_FALSE(b.contains({8, 0}));
}

TEST(Geometry, WkbRoundTripIsExact) {
    MultiPolygon mp{{Polygon{{square(110.95123456789012, 35.60987654321098, 0.0123456789012345),
                              square(110.955, 35.612, 0.001, false)}},
                     Polygon{{square(111.0, 35.7, 0.5)}}}};
    const auto wkb = to_wkb(mp);
    EXPECT_EQ(multipolygon_from_wkb(wkb), mp);
}

TEST(Geometry, WkbReaderRejectsOtherTypesAndTruncation) {
    // A WKB point.
    const std::vector<std::uint8_t> point{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_THROW((void)multipolygon_from_wkb(point), InputError);
    auto wkb = to_wkb(MultiPolygon{{Polygon{{square(0, 0, 1)}}}});
    wkb.resize(wkb.size() - 3);
    EXPECT_THROW((void)multipolygon_from_wkb(wkb), InputError);
}

TEST(Error, ContextIsPrintedOutermostFirst) {
    const InputError e(
        "duplicate cell code",
        ErrorContext{.file = "grid.geojson", .layer = "cells", .feature = 12, .field = "code"});
    EXPECT_STREQ(e.what(),
                 "grid.geojson: layer 'cells': feature 12: field 'code': duplicate cell code");
    EXPECT_EQ(e.message(), "duplicate cell code");
    EXPECT_EQ(e.context().feature, 12);
}
