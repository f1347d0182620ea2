// The assign library: points from CSV and OGR sources to cells, with the locator's rule on
// shared edges (the locator itself is tested in test_locator.cpp).
#include "test_process.hpp"
#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/grid/assign.hpp"
#include "wangge/grid/import.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <ogr_api.h>
#include <set>
#include <sstream>

using namespace wangge;
using test::slurp;
using test::write_file;

namespace {

const grid::Grid& tiny() {
    static const grid::Grid g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    return g;
}

// Four points, one per square of the tiny grid, and one outside.
const char* const tiny_points[][2] = {{"110.957", "35.625"},
                                      {"110.970", "35.625"},
                                      {"110.957", "35.615"},
                                      {"110.970", "35.615"},
                                      {"110.900", "35.600"}};
const char* const tiny_codes[] = {"14082410020001", "14082410020002", "14082410020101",
                                  "14082410020102", ""};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    for (std::string l; std::getline(ss, l);)
        out.push_back(l);
    return out;
}

} // namespace

TEST(LocatorAssign, CsvAcrossBlocksWithQuotesCrlfAndBom) {
    const auto dir = test::temp_dir();
    // Over 8 MiB, so records straddle the reader's blocks; quoted fields with commas,
    // doubled quotes and line breaks; CRLF line ends; a byte order mark.
    std::string csv = "\xEF\xBB\xBFid,note,lon,lat\r\n";
    std::map<std::string, int> expected;
    const int n = 400000;
    for (int i = 0; i < n; ++i) {
        const auto& pt = tiny_points[i % 5];
        std::string note = "plain";
        if (i % 7 == 0) note = "\"a, b\"";
        if (i % 1001 == 0) note = "\"line one\r\nline \"\"two\"\"\"";
        csv += std::to_string(i) + "," + note + "," + pt[0] + "," + pt[1] + "\r\n";
        expected[tiny_codes[i % 5]]++;
    }
    ASSERT_GT(csv.size(), std::size_t{9} << 20);
    write_file(dir / "in.csv", csv);
    const grid::Locator loc(tiny());
    grid::AssignOptions o;
    o.source = (dir / "in.csv").string();
    o.out = (dir / "out.csv").string();
    o.threads = 2;
    const auto s = grid::assign_points(tiny(), loc, o);
    EXPECT_EQ(s.read, n);
    EXPECT_EQ(s.assigned, n - expected[""]);
    EXPECT_EQ(s.outside, expected[""]);
    EXPECT_EQ(s.skipped, 0);
    EXPECT_FALSE(std::filesystem::exists(o.out + ".partial"));

    const std::string out = slurp(o.out);
    EXPECT_EQ(out.rfind("\xEF\xBB\xBFid,note,lon,lat,cell_code,village_code,township_code,"
                        "boundary_distance_m,near_boundary\n",
                        0),
              0u);
    // Each input record comes back byte for byte, in order, with the five fields added.
    std::size_t pos = out.find('\n') + 1;
    for (int i = 0; i < n; ++i) {
        const auto& pt = tiny_points[i % 5];
        std::string note = "plain";
        if (i % 7 == 0) note = "\"a, b\"";
        if (i % 1001 == 0) note = "\"line one\r\nline \"\"two\"\"\"";
        const std::string record = std::to_string(i) + "," + note + "," + pt[0] + "," + pt[1];
        ASSERT_EQ(out.compare(pos, record.size(), record), 0) << "record " << i;
        pos += record.size();
        const std::size_t end = out.find('\n', pos);
        const std::string added = out.substr(pos, end - pos);
        const std::string code = tiny_codes[i % 5];
        ASSERT_EQ(added.rfind("," + code + ",", 0), 0u) << added;
        pos = end + 1;
    }
    EXPECT_EQ(pos, out.size());
}

TEST(LocatorAssign, BadRowFailsNamingFileAndLineAndLeavesNothing) {
    const auto dir = test::temp_dir();
    write_file(dir / "bad.csv",
               "id,lon,lat\n1,110.957,35.625\n\"2\n(two lines)\",110.970,35.625\n3,110.957,abc\n");
    const grid::Locator loc(tiny());
    grid::AssignOptions o;
    o.source = (dir / "bad.csv").string();
    o.out = (dir / "out.csv").string();
    try {
        (void)grid::assign_points(tiny(), loc, o);
        FAIL() << "expected InputError";
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().line, 5); // the quoted line break counts
        EXPECT_EQ(e.context().file, o.source);
        EXPECT_NE(std::string(e.what()).find("cannot read 'abc' in column 'lat'"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(o.out));
    EXPECT_FALSE(std::filesystem::exists(o.out + ".partial"));
}

TEST(LocatorAssign, BadRowsSkipped) {
    const auto dir = test::temp_dir();
    write_file(dir / "bad.csv", "id,lon,lat\n1,110.957,35.625\n2,110.970\n3,,35.6\n4,500000,"
                                "3900000\n5,110.970,35.615\n");
    const grid::Locator loc(tiny());
    grid::AssignOptions o;
    o.source = (dir / "bad.csv").string();
    o.out = (dir / "out.csv").string();
    o.on_bad_row = grid::OnBadRow::skip;
    std::vector<std::int64_t> lines;
    o.report_bad_row = [&](const InputError& e) { lines.push_back(*e.context().line); };
    const auto s = grid::assign_points(tiny(), loc, o);
    EXPECT_EQ(s.read, 5);
    EXPECT_EQ(s.skipped, 3);
    EXPECT_EQ(s.assigned, 2);
    EXPECT_EQ(lines, (std::vector<std::int64_t>{3, 4, 5}));
    const auto out = lines_of(slurp(o.out));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[1].rfind("1,110.957,35.625,14082410020001,140824100200,140824100,", 0), 0u);
    EXPECT_EQ(out[2].rfind("5,110.970,35.615,14082410020102,", 0), 0u);
}

TEST(LocatorAssign, UnknownColumnsAreListed) {
    const auto dir = test::temp_dir();
    write_file(dir / "cols.csv", "id,easting,northing\n1,2,3\n");
    const grid::Locator loc(tiny());
    grid::AssignOptions o;
    o.source = (dir / "cols.csv").string();
    o.out = (dir / "out.csv").string();
    try {
        (void)grid::assign_points(tiny(), loc, o);
        FAIL();
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("the columns are: id, easting, northing"),
                  std::string::npos)
            << e.what();
    }
    o.lon_field = "easting";
    o.lat_field = "north";
    EXPECT_THROW((void)grid::assign_points(tiny(), loc, o), InputError);
    EXPECT_FALSE(std::filesystem::exists(o.out));
    // An empty file has no header.
    write_file(dir / "empty.csv", "");
    o.source = (dir / "empty.csv").string();
    EXPECT_THROW((void)grid::assign_points(tiny(), loc, o), InputError);
    EXPECT_FALSE(std::filesystem::exists(o.out + ".partial"));
}

TEST(LocatorAssign, ProjectedCsvWithSrcCrs) {
    const auto dir = test::temp_dir();
    const geo::Transformer to_gk("EPSG:4326", "EPSG:4546");
    std::string csv = "x,y\n";
    for (const auto& pt : tiny_points) {
        const auto q = to_gk.forward({std::stod(pt[0]), std::stod(pt[1])});
        char line[96];
        std::snprintf(line, sizeof line, "%.3f,%.3f\n", q.x, q.y);
        csv += line;
    }
    write_file(dir / "gk.csv", csv);
    const grid::Locator loc(tiny());
    grid::AssignOptions o;
    o.source = (dir / "gk.csv").string();
    o.out = (dir / "out.csv").string();
    o.src_crs = "EPSG:4546";
    const auto s = grid::assign_points(tiny(), loc, o);
    EXPECT_EQ(s.assigned, 4);
    const auto out = lines_of(slurp(o.out));
    ASSERT_EQ(out.size(), 6u);
    for (int i = 0; i < 5; ++i) {
        const auto fields = out[static_cast<std::size_t>(i + 1)];
        EXPECT_NE(fields.find("," + std::string(tiny_codes[i]) + ","), std::string::npos) << fields;
    }
    // Without the CRS these are not longitudes and latitudes: bad rows.
    o.src_crs.clear();
    std::filesystem::remove(o.out);
    EXPECT_THROW((void)grid::assign_points(tiny(), loc, o), InputError);
}

TEST(LocatorAssign, GeoJsonInGeoPackageOut) {
    const auto dir = test::temp_dir();
    std::string json = R"({"type":"FeatureCollection","features":[)";
    for (int i = 0; i < 5; ++i)
        json += std::string(i ? "," : "") + R"({"type":"Feature","properties":{"id":)" +
                std::to_string(i) +
                R"(,"kind":"fire"},"geometry":{"type":"Point","coordinates":[)" +
                tiny_points[i][0] + "," + tiny_points[i][1] + "]}}";
    json += R"(,{"type":"Feature","properties":{"id":5,"kind":"none"},"geometry":null}]})";
    write_file(dir / "pts.geojson", json);
    const grid::Locator loc(tiny());
    grid::AssignOptions o;
    o.source = (dir / "pts.geojson").string();
    o.out = (dir / "out.gpkg").string();
    EXPECT_THROW((void)grid::assign_points(tiny(), loc, o), InputError); // the null geometry
    EXPECT_FALSE(std::filesystem::exists(o.out));
    EXPECT_FALSE(std::filesystem::exists(o.out + ".partial.d"));
    o.on_bad_row = grid::OnBadRow::skip;
    const auto s = grid::assign_points(tiny(), loc, o);
    EXPECT_EQ(s.read, 6);
    EXPECT_EQ(s.skipped, 1);
    EXPECT_EQ(s.assigned, 4);
    const auto ds = geo::Dataset::open_vector(o.out);
    OGRLayerH layer = ds.layer(0);
    const auto names = geo::field_names(layer);
    EXPECT_EQ(names,
              (std::vector<std::string>{"id", "kind", "cell_code", "village_code", "township_code",
                                        "boundary_distance_m", "near_boundary"}));
    EXPECT_EQ(OGR_L_GetFeatureCount(layer, TRUE), 5);
    OGR_L_ResetReading(layer);
    int i = 0;
    while (OGRFeatureH f = OGR_L_GetNextFeature(layer)) {
        const geo::FeaturePtr keep(f);
        EXPECT_EQ(std::string(OGR_F_GetFieldAsString(f, geo::field_index(layer, "cell_code"))),
                  tiny_codes[i]);
        EXPECT_EQ(OGR_F_GetFieldAsInteger(f, geo::field_index(layer, "id")), i);
        ++i;
    }
    EXPECT_EQ(i, 5);
}

TEST(LocatorAssign, RecordLongerThanABlock) {
    const auto dir = test::temp_dir();
    // A quoted field of 9 MiB with line breaks: the reader must grow its block.
    std::string big(std::size_t{9} << 20, 'x');
    for (std::size_t i = 1000; i < big.size(); i += 100000)
        big[i] = '\n';
    write_file(dir / "big.csv",
               "note,lon,lat\n\"" + big + "\",110.957,35.625\nshort,110.970,35.615\n");
    const grid::Locator loc(tiny());
    grid::AssignOptions o;
    o.source = (dir / "big.csv").string();
    o.out = (dir / "out.csv").string();
    const auto s = grid::assign_points(tiny(), loc, o);
    EXPECT_EQ(s.read, 2);
    EXPECT_EQ(s.assigned, 2);
    const std::string out = slurp(o.out);
    EXPECT_NE(out.find(big + "\",110.957,35.625,14082410020001,"), std::string::npos);
    EXPECT_NE(out.find("\nshort,110.970,35.615,14082410020102,"), std::string::npos);
}
