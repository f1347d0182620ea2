// The generated Jishan sample: counts, codes, norms, exact tiling with shared vertices,
// validity, determinism, and the image file. CTest runs every TEST in its own process and
// generating the grid is the expensive part, so the checks are helpers grouped into a few
// TESTs, each generating what it needs once.
#include "test_support.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/sample/catalogue.hpp"
#include "wangge/sample/jishan.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <gdal.h>
#include <gtest/gtest.h>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace wangge;

namespace {

std::vector<const grid::AdminUnit*> units_of(const grid::Grid& g, grid::UnitLevel level) {
    std::vector<const grid::AdminUnit*> out;
    for (const auto& u : g.units)
        if (u.level == level) out.push_back(&u);
    return out;
}

double km2(const geo::MultiPolygon& lonlat) {
    static const geo::Transformer to_metric("EPSG:4326", "EPSG:4546");
    return geo::area_m2(lonlat, to_metric) / 1e6;
}

bool all_digits(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Town cells: the county-seat communities, the development zone and the town centre of
// Jifeng town (its first five villages, the streets around the seat).
bool is_town_cell(const grid::Cell& c) {
    if (c.township_code == "140824400" || c.township_code == "140824401") return true;
    return c.village_code >= "140824100200" && c.village_code <= "140824100204";
}

using Segment = std::pair<std::pair<double, double>, std::pair<double, double>>;

Segment segment(const geo::Point& a, const geo::Point& b) {
    return {{a.x, a.y}, {b.x, b.y}};
}

double union_area_diff(const geo::GeosContext& ctx,
                       const std::vector<const geo::MultiPolygon*>& parts,
                       const geo::MultiPolygon& whole, std::size_t* npolygons = nullptr) {
    const auto u = geo::coverage_union(ctx, parts);
    if (npolygons) *npolygons = u.polygons.size();
    const double a = geo::planar_area(u), b = geo::planar_area(whole);
    return std::abs(a - b) / b;
}

void check_counts_and_names(const grid::Grid& g) {
    EXPECT_EQ(g.cells.size(), 398u);
    EXPECT_EQ(g.count(grid::UnitLevel::county), 1u);
    EXPECT_EQ(g.count(grid::UnitLevel::township), 9u);
    EXPECT_EQ(g.count(grid::UnitLevel::village), 151u);
    const auto* county = g.find_unit("140824");
    ASSERT_NE(county, nullptr);
    EXPECT_EQ(county->name, "稷山县");
    EXPECT_EQ(county->parent_code, "");
    // Names and codes are the real ones of the catalogue.
    for (const auto& t : sample::jishan_townships()) {
        const auto* u = g.find_unit(t.code);
        ASSERT_NE(u, nullptr) << t.code;
        EXPECT_EQ(u->name, t.name);
        EXPECT_EQ(u->level, grid::UnitLevel::township);
        EXPECT_EQ(u->parent_code, "140824");
    }
    for (const auto& v : sample::jishan_villages()) {
        const auto* u = g.find_unit(v.code);
        ASSERT_NE(u, nullptr) << v.code;
        EXPECT_EQ(u->name, v.name);
        EXPECT_EQ(u->level, grid::UnitLevel::village);
        EXPECT_EQ(u->parent_code, v.parent_code);
    }
}

void check_area_and_place(const grid::Grid& g) {
    const double a = km2(g.find_unit("140824")->geometry);
    EXPECT_NEAR(a, 686.0, 35.0);
    EXPECT_NEAR(a, 686.0, 5.0); // the generator's own target
    // Around Jifeng, roughly 40 km east-west by 25 km north-south.
    const geo::Box b = g.bounds();
    EXPECT_LT(b.minx, 110.96);
    EXPECT_GT(b.maxx, 110.96);
    EXPECT_LT(b.miny, 35.61);
    EXPECT_GT(b.maxy, 35.61);
    const geo::Transformer to_metric("EPSG:4326", "EPSG:4546");
    const geo::Point lo = to_metric.forward(geo::Point{b.minx, b.miny});
    const geo::Point hi = to_metric.forward(geo::Point{b.maxx, b.maxy});
    EXPECT_NEAR((hi.x - lo.x) / 1000.0, 40.0, 8.0);
    EXPECT_NEAR((hi.y - lo.y) / 1000.0, 25.0, 6.0);
    // The county seat and the development zone are small, the towns large.
    EXPECT_LT(km2(g.find_unit("140824400")->geometry), 15.0);
    EXPECT_LT(km2(g.find_unit("140824401")->geometry), 5.0);
    for (const auto* t : units_of(g, grid::UnitLevel::township))
        if (t->code < "140824400") {
            EXPECT_GT(km2(t->geometry), 30.0) << t->code;
        }
}

void check_codes_nest(const grid::Grid& g) {
    std::set<std::string> codes;
    for (const auto& c : g.cells) {
        EXPECT_EQ(c.code.size(), 14u) << c.code;
        EXPECT_TRUE(all_digits(c.code)) << c.code;
        EXPECT_TRUE(codes.insert(c.code).second) << "duplicate " << c.code;
        EXPECT_EQ(c.code.substr(0, 12), c.village_code);
        EXPECT_EQ(c.village_code.substr(0, 9), c.township_code);
        EXPECT_EQ(c.township_code.substr(0, 6), "140824");
        EXPECT_EQ(c.county_code, "140824");
        const auto* v = g.find_unit(c.village_code);
        ASSERT_NE(v, nullptr) << c.code;
        EXPECT_EQ(v->parent_code, c.township_code);
        EXPECT_NE(c.name.find("网格"), std::string::npos) << c.name;
        EXPECT_EQ(c.name.find("村委会"), std::string::npos) << c.name;
        EXPECT_EQ(c.name.find("居委会"), std::string::npos) << c.name;
    }
    for (const auto* v : units_of(g, grid::UnitLevel::village)) {
        EXPECT_EQ(v->code.size(), 12u);
        EXPECT_EQ(v->code.substr(0, 9), v->parent_code);
    }
}

// Every village has cells, numbered 01..N without gaps.
void check_numbering(const grid::Grid& g) {
    std::map<std::string, std::vector<int>> seq;
    for (const auto& c : g.cells)
        seq[c.village_code].push_back(std::stoi(c.code.substr(12)));
    for (const auto* v : units_of(g, grid::UnitLevel::village)) {
        auto it = seq.find(v->code);
        ASSERT_NE(it, seq.end()) << v->code << " has no cell";
        auto s = it->second;
        std::sort(s.begin(), s.end());
        for (std::size_t k = 0; k < s.size(); ++k)
            EXPECT_EQ(s[k], static_cast<int>(k + 1)) << v->code;
    }
    EXPECT_EQ(seq.size(), 151u);
}

void check_households(const grid::Grid& g) {
    double town_km2 = 0, rural_km2 = 0;
    int town = 0, rural = 0;
    for (const auto& c : g.cells) {
        if (is_town_cell(c)) {
            EXPECT_GE(c.households, 300) << c.code;
            EXPECT_LE(c.households, 500) << c.code;
            town_km2 += km2(c.geometry);
            ++town;
        } else {
            EXPECT_GE(c.households, 250) << c.code;
            EXPECT_LE(c.households, 350) << c.code;
            rural_km2 += km2(c.geometry);
            ++rural;
        }
        const double per = static_cast<double>(c.population) / static_cast<double>(c.households);
        EXPECT_GE(per, 2.59) << c.code;
        EXPECT_LE(per, 3.21) << c.code;
    }
    ASSERT_GT(town, 20);
    ASSERT_GT(rural, 300);
    // Town cells are small, rural ones a few square kilometres.
    EXPECT_GT(town_km2 / town, 0.1);
    EXPECT_LT(town_km2 / town, 0.5);
    EXPECT_GT(rural_km2 / rural, 1.0);
    EXPECT_LT(rural_km2 / rural, 4.0);
}

void check_valid_single_polygons(const grid::Grid& g) {
    const geo::GeosContext ctx;
    for (const auto& u : g.units) {
        ASSERT_EQ(u.geometry.polygons.size(), 1u) << u.code;
        const auto gg = ctx.from(u.geometry);
        EXPECT_TRUE(gg.is_valid()) << u.code << ": " << gg.invalid_reason();
    }
    for (const auto& c : g.cells) {
        ASSERT_EQ(c.geometry.polygons.size(), 1u) << c.code;
        const auto gg = ctx.from(c.geometry);
        EXPECT_TRUE(gg.is_valid()) << c.code << ": " << gg.invalid_reason();
        const auto n = geo::vertex_count(c.geometry);
        EXPECT_GE(n, 8u) << c.code;
        EXPECT_LE(n, 600u) << c.code;
    }
}

// Neighbouring cells share identical vertices: every segment of a cell ring that is not on
// the county outline occurs exactly twice, once in each direction; outline segments occur
// once, in the outline's direction.
void check_shared_segments(const grid::Grid& g) {
    std::map<Segment, int> directed;
    for (const auto& c : g.cells)
        for (const auto& poly : c.geometry.polygons)
            for (const auto& ring : poly.rings)
                for (std::size_t k = 0; k + 1 < ring.size(); ++k)
                    ++directed[segment(ring[k], ring[k + 1])];
    std::set<Segment> outline;
    for (const auto& poly : g.find_unit("140824")->geometry.polygons)
        for (const auto& ring : poly.rings)
            for (std::size_t k = 0; k + 1 < ring.size(); ++k)
                outline.insert(segment(ring[k], ring[k + 1]));
    ASSERT_GT(outline.size(), 100u);
    std::size_t bad = 0;
    for (const auto& [seg, n] : directed) {
        if (n != 1) ++bad;
        if (outline.count(seg)) continue;
        const Segment rev{seg.second, seg.first};
        const auto it = directed.find(rev);
        if (it == directed.end() || it->second != 1) ++bad;
    }
    for (const auto& seg : outline)
        if (!directed.count(seg)) ++bad;
    EXPECT_EQ(bad, 0u);
}

// Villages are the unions of their cells, townships of their villages, the county of all
// cells: the coverage unions have the same area (to rounding) and are single polygons.
void check_unions(const grid::Grid& g) {
    const geo::GeosContext ctx;
    std::vector<const geo::MultiPolygon*> all;
    for (const auto& c : g.cells)
        all.push_back(&c.geometry);
    std::size_t parts = 0;
    EXPECT_LT(union_area_diff(ctx, all, g.find_unit("140824")->geometry, &parts), 1e-9);
    EXPECT_EQ(parts, 1u);

    std::map<std::string, std::vector<const geo::MultiPolygon*>> cells_of, villages_of;
    for (const auto& c : g.cells)
        cells_of[c.village_code].push_back(&c.geometry);
    for (const auto* v : units_of(g, grid::UnitLevel::village)) {
        villages_of[v->parent_code].push_back(&v->geometry);
        EXPECT_LT(union_area_diff(ctx, cells_of[v->code], v->geometry, &parts), 1e-9) << v->code;
        EXPECT_EQ(parts, 1u) << v->code;
    }
    for (const auto* t : units_of(g, grid::UnitLevel::township)) {
        EXPECT_LT(union_area_diff(ctx, villages_of[t->code], t->geometry, &parts), 1e-9) << t->code;
        EXPECT_EQ(parts, 1u) << t->code;
    }
}

void expect_same(const grid::Grid& again, const grid::Grid& first) {
    ASSERT_EQ(again.units.size(), first.units.size());
    for (std::size_t k = 0; k < again.units.size(); ++k) {
        const auto& a = again.units[k];
        const auto& b = first.units[k];
        EXPECT_EQ(a.level, b.level);
        EXPECT_EQ(a.code, b.code);
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.parent_code, b.parent_code);
        EXPECT_TRUE(a.geometry == b.geometry) << a.code;
    }
    ASSERT_EQ(again.cells.size(), first.cells.size());
    for (std::size_t k = 0; k < again.cells.size(); ++k) {
        const auto& a = again.cells[k];
        const auto& b = first.cells[k];
        EXPECT_EQ(a.code, b.code);
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.village_code, b.village_code);
        EXPECT_EQ(a.households, b.households);
        EXPECT_EQ(a.population, b.population);
        EXPECT_TRUE(a.geometry == b.geometry) << a.code;
    }
}

std::vector<char> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}

// A 60 m image: georeferenced in EPSG:3857 around the county, 3 bands, tiled, JPEG, with
// overviews, labelled as generated.
void check_image(const grid::Grid& g, const std::string& a) {
    const auto ds = geo::Dataset::open_raster(a);
    EXPECT_EQ(GDALGetRasterCount(ds.get()), 3);
    const auto srs = geo::SpatialRef::clone_of(GDALGetSpatialRef(ds.get()));
    EXPECT_EQ(srs.user_string(), "EPSG:3857");
    double gt[6];
    ASSERT_EQ(GDALGetGeoTransform(ds.get(), gt), CE_None);
    const double expect_px = 60.0 / std::cos(35.61 * 3.14159265358979 / 180.0);
    EXPECT_NEAR(gt[1], expect_px, expect_px * 0.01);
    EXPECT_NEAR(gt[5], -gt[1], 1e-9);
    // It covers the county with a margin.
    const geo::Transformer to_merc("EPSG:4326", "EPSG:3857");
    const geo::Box box = g.bounds();
    const geo::Point lo = to_merc.forward(geo::Point{box.minx, box.miny});
    const geo::Point hi = to_merc.forward(geo::Point{box.maxx, box.maxy});
    const double xmax = gt[0] + gt[1] * GDALGetRasterXSize(ds.get());
    const double ymin = gt[3] + gt[5] * GDALGetRasterYSize(ds.get());
    EXPECT_LT(gt[0], lo.x - 500);
    EXPECT_GT(xmax, hi.x + 500);
    EXPECT_LT(ymin, lo.y - 500);
    EXPECT_GT(gt[3], hi.y + 500);

    GDALRasterBandH band = GDALGetRasterBand(ds.get(), 1);
    EXPECT_GT(GDALGetOverviewCount(band), 0);
    int bx = 0, by = 0;
    GDALGetBlockSize(band, &bx, &by);
    EXPECT_EQ(bx, 512);
    EXPECT_EQ(by, 512);
    const char* compression = GDALGetMetadataItem(ds.get(), "COMPRESSION", "IMAGE_STRUCTURE");
    ASSERT_NE(compression, nullptr);
    EXPECT_NE(std::string(compression).find("JPEG"), std::string::npos) << compression;
    const char* generated = GDALGetMetadataItem(ds.get(), "WANGGE_GENERATED", nullptr);
    ASSERT_NE(generated, nullptr);
    EXPECT_EQ(std::string(generated), sample::jishan_generated_notice);

    // Not a blank picture: the bands vary.
    std::vector<unsigned char> row(static_cast<std::size_t>(GDALGetRasterXSize(ds.get())));
    ASSERT_EQ(GDALRasterIO(band, GF_Read, 0, GDALGetRasterYSize(ds.get()) / 2,
                           static_cast<int>(row.size()), 1, row.data(),
                           static_cast<int>(row.size()), 1, GDT_Byte, 0, 0),
              CE_None);
    const auto [mn, mx] = std::minmax_element(row.begin(), row.end());
    EXPECT_GT(*mx - *mn, 40);
}

} // namespace

TEST(SampleJishan, GridFollowsTheCatalogueTheNormsAndTilesExactly) {
    const auto g = sample::generate_jishan_grid(sample::JishanOptions{});
    check_counts_and_names(g);
    check_area_and_place(g);
    check_codes_nest(g);
    check_numbering(g);
    check_households(g);
    check_valid_single_polygons(g);
    check_shared_segments(g);
    check_unions(g);
}

// Same seed: the same grid, value for value, and the same image file, byte for byte.
TEST(SampleJishan, SameSeedSameGridAndImage) {
    const auto first = sample::generate_jishan_grid(sample::JishanOptions{});
    const auto again = sample::generate_jishan_grid(sample::JishanOptions{});
    expect_same(again, first);

    const auto dir = test::temp_dir();
    sample::JishanOptions opt;
    opt.imagery_resolution_m = 60.0;
    const std::string a = (dir / "a.tif").string(), b = (dir / "b.tif").string();
    sample::write_jishan_imagery(first, a, opt);
    sample::write_jishan_imagery(again, b, opt);
    const auto ba = file_bytes(a), bb = file_bytes(b);
    ASSERT_GT(ba.size(), 10000u);
    EXPECT_TRUE(ba == bb) << "two runs wrote different files";
    check_image(first, a);
    // The seed drives the picture too.
    opt.seed = 7;
    sample::write_jishan_imagery(first, (dir / "other.tif").string(), opt);
    EXPECT_FALSE(file_bytes((dir / "other.tif").string()) == ba);

    EXPECT_THROW(sample::write_jishan_imagery(first, (dir / "c.tif").string(),
                                              sample::JishanOptions{1, 0.0}),
                 InputError);
}

// Another seed gives another county that keeps every rule.
TEST(SampleJishan, OtherSeedSameRules) {
    sample::JishanOptions other;
    other.seed = 7;
    const auto g = sample::generate_jishan_grid(other);
    check_counts_and_names(g);
    check_area_and_place(g);
    check_numbering(g);
    check_households(g);
    check_shared_segments(g);
}
