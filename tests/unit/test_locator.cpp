// Point-to-cell assignment: the locator (exactly one cell on shared edges and vertices,
// agreement with GEOS, threads, distances) and the assign library (CSV and OGR).
#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/grid/assign.hpp"
#include "wangge/grid/generated.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/grid/locator.hpp"

#include <cmath>
#include <fstream>
#include <geos_c.h>
#include <gtest/gtest.h>
#include <map>
#include <ogr_api.h>
#include <random>
#include <set>
#include <sstream>

using namespace wangge;

namespace {

// ---- helpers ----------------------------------------------------------------------------

// A prepared GEOS geometry per cell, for the oracle.
class GeosCells {
  public:
    explicit GeosCells(const grid::Grid& g) {
        for (const auto& c : g.cells) {
            m_geoms.push_back(m_ctx.from(c.geometry));
            m_prepared.push_back(GEOSPrepare_r(m_ctx.get(), m_geoms.back().get()));
            m_boxes.push_back(geo::bounds(c.geometry));
        }
    }
    ~GeosCells() {
        for (const auto* p : m_prepared)
            GEOSPreparedGeom_destroy_r(m_ctx.get(), p);
    }
    GeosCells(const GeosCells&) = delete;
    GeosCells& operator=(const GeosCells&) = delete;

    // Cells whose interior holds p.
    std::vector<int> containing(geo::Point p) const { return test(p, GEOSPreparedContains_r); }
    // Cells whose closure holds p.
    std::vector<int> covering(geo::Point p) const { return test(p, GEOSPreparedCovers_r); }

  private:
    template <class F> std::vector<int> test(geo::Point p, F predicate) const {
        std::vector<int> out;
        const auto pt = m_ctx.point(p);
        for (std::size_t i = 0; i < m_geoms.size(); ++i)
            if (m_boxes[i].contains(p) && predicate(m_ctx.get(), m_prepared[i], pt.get()) == 1)
                out.push_back(static_cast<int>(i));
        return out;
    }
    geo::GeosContext m_ctx;
    std::vector<geo::GeosGeometry> m_geoms;
    std::vector<const GEOSPreparedGeometry*> m_prepared;
    std::vector<geo::Box> m_boxes;
};

// The documented rule, as an oracle: the cell whose interior holds p moved a hair east and
// far less north (2^-22 degrees, about 3 cm, east; one unit in the last place north: an
// angle of 3e-8, so no real edge through p lies between that direction and due east);
// else, on the outline, the covering cell with the lowest index; else none.
int oracle(const GeosCells& cells, geo::Point p) {
    const geo::Point moved{p.x + std::ldexp(1.0, -22),
                           std::nextafter(p.y, std::numeric_limits<double>::infinity())};
    const auto in = cells.containing(moved);
    if (!in.empty()) return in.front();
    const auto cover = cells.covering(p);
    return cover.empty() ? -1 : cover.front();
}

const grid::Grid& liechtenstein() {
    static const grid::Grid g = grid::read_grid(test::data("liechtenstein-2013-08-03.osm.pbf"),
                                                test::liechtenstein_options());
    return g;
}

grid::Cell make_cell(std::string code, std::vector<std::vector<geo::Ring>> polygons) {
    grid::Cell c;
    c.code = std::move(code);
    c.village_code = c.code.substr(0, std::min<std::size_t>(12, c.code.size()));
    c.township_code = c.code.substr(0, std::min<std::size_t>(9, c.code.size()));
    for (auto& rings : polygons)
        c.geometry.polygons.push_back(geo::Polygon{std::move(rings)});
    return c;
}

// A hand-made coverage with slanted shared edges, a vertex shared by three cells, an
// enclave (a cell in another's hole), a two-part cell and a notch in the outline. All
// coordinates are multiples of 1/512 degree near (110.5 E, 35.5 N), so points on edges at
// k/8 of their length are exactly representable.
geo::Point U(double x, double y) {
    return {110.5 + x / 64, 35.5 + y / 64};
}

grid::Grid slanted_coverage() {
    grid::Grid g;
    const auto P0 = U(0, 0), P1 = U(3, 0), P2 = U(4, 0), P3 = U(4, 4), P4 = U(1, 4), P5 = U(0, 4);
    const auto M = U(2, 2), Q = U(4, 1), R = U(4, 3);
    // A: the west part, with a hole holding D.
    g.cells.push_back(
        make_cell("14082410000001",
                  {{{P0, P1, M, P4, P5, P0}, {U(0.5, 0.5), U(0.5, 1.5), U(1.5, 1), U(0.5, 0.5)}}}));
    // B: south-east, slanted edges P1-M (slope -2) and M-Q (slope -1/2).
    g.cells.push_back(make_cell("14082410000002", {{{P1, P2, Q, M, P1}}}));
    // C: north-east, the vertex R splits its east side for E's second part.
    g.cells.push_back(make_cell("14082410000003", {{{M, Q, R, P3, P4, M}}}));
    // D: the enclave (a slanted triangle in A's hole).
    g.cells.push_back(
        make_cell("14082410000004", {{{U(0.5, 0.5), U(1.5, 1), U(0.5, 1.5), U(0.5, 0.5)}}}));
    // E: two parts east of x = 4, with a notch between them (outside).
    g.cells.push_back(make_cell("14082410000005",
                                {{{P2, U(5, 0), U(5, 1), Q, P2}}, {{R, U(5, 3), U(5, 4), P3, R}}}));
    return g;
}

// Every distinct edge of the grid with the cells that hold it.
std::map<std::pair<std::pair<double, double>, std::pair<double, double>>, std::set<int>>
edge_owners(const grid::Grid& g) {
    std::map<std::pair<std::pair<double, double>, std::pair<double, double>>, std::set<int>> out;
    for (std::size_t c = 0; c < g.cells.size(); ++c)
        for (const auto& poly : g.cells[c].geometry.polygons)
            for (const auto& ring : poly.rings)
                for (std::size_t k = 0; k + 1 < ring.size(); ++k) {
                    auto a = std::make_pair(ring[k].x, ring[k].y);
                    auto b = std::make_pair(ring[k + 1].x, ring[k + 1].y);
                    if (b < a) std::swap(a, b);
                    if (a != b) out[{a, b}].insert(static_cast<int>(c));
                }
    return out;
}

std::vector<geo::Point> random_points(const geo::Box& b, std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> ux(b.minx, b.maxx), uy(b.miny, b.maxy);
    std::vector<geo::Point> pts(n);
    for (auto& p : pts)
        p = {ux(rng), uy(rng)};
    return pts;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary);
    out << text;
}

} // namespace

// ---- the rule on shared edges and vertices ----------------------------------------------

TEST(Locator, HandMadeCoverageFollowsTheRuleOnEveryEdgeAndVertex) {
    const auto g = slanted_coverage();
    const grid::Locator loc(g);
    const GeosCells cells(g);
    const auto owners = edge_owners(g);
    int on_shared = 0, on_outline = 0;
    for (const auto& [edge, holders] : owners) {
        const geo::Point a{edge.first.first, edge.first.second};
        const geo::Point b{edge.second.first, edge.second.second};
        for (int k = 0; k <= 8; ++k) {
            // Exactly on the edge: the coordinates are dyadic.
            const geo::Point p{a.x + (b.x - a.x) * k / 8, a.y + (b.y - a.y) * k / 8};
            const auto c = loc.locate(p);
            EXPECT_EQ(c, oracle(cells, p)) << "edge point " << k << "/8 at " << p.x << " " << p.y;
            ASSERT_NE(c, -1) << "a point on a cell's edge belongs to a cell";
            EXPECT_FALSE(cells.covering(p).empty());
            (holders.size() > 1 ? on_shared : on_outline)++;
        }
    }
    EXPECT_GT(on_shared, 50);
    EXPECT_GT(on_outline, 100);
    // The named cases. A point on the vertical shared edge x=4 (B|E) goes east, to E; on the
    // slanted edge P1-M (A|B) to B, east of it; the vertex M (A, B, C) to C, the cell just
    // east-north-east of it; the enclave's slanted edges to the cell east of each.
    EXPECT_EQ(loc.cell_code(loc.locate(U(4, 0.5))), "14082410000005");
    EXPECT_EQ(loc.cell_code(loc.locate(U(2.5, 1))), "14082410000002");
    EXPECT_EQ(loc.cell_code(loc.locate(U(2, 2))), "14082410000003");
    EXPECT_EQ(loc.cell_code(loc.locate(U(1, 0.75))), "14082410000001"); // D's east edge: A
    EXPECT_EQ(loc.cell_code(loc.locate(U(0.5, 1))), "14082410000004");  // D's west edge: D
    // The outline: west edge, south edge, the notch's rim, the far corner.
    EXPECT_EQ(loc.cell_code(loc.locate(U(0, 2))), "14082410000001");
    EXPECT_EQ(loc.cell_code(loc.locate(U(3.5, 0))), "14082410000002");
    EXPECT_EQ(loc.cell_code(loc.locate(U(4.5, 1))), "14082410000005");
    EXPECT_EQ(loc.cell_code(loc.locate(U(4, 2))), "14082410000003");
    EXPECT_EQ(loc.cell_code(loc.locate(U(5, 4))), "14082410000005");
    // Outside: in the notch, beyond the outline, NaN.
    EXPECT_EQ(loc.locate(U(4.5, 2)), -1);
    EXPECT_EQ(loc.locate(U(-0.001, 2)), -1);
    EXPECT_EQ(loc.locate(U(2, 4.001)), -1);
    EXPECT_EQ(loc.locate({std::nan(""), 35.5}), -1);
}

TEST(Locator, HandMadeCoverageAgreesWithGeosEverywhere) {
    const auto g = slanted_coverage();
    const grid::Locator loc(g);
    const GeosCells cells(g);
    // A lattice at 1/4096 of the unit (dyadic: many points on edges and vertices) plus
    // random points.
    int checked = 0;
    for (int i = -8; i <= 5 * 32 + 8; ++i)
        for (int j = -8; j <= 4 * 32 + 8; ++j) {
            const geo::Point p = U(i / 32.0, j / 32.0);
            ASSERT_EQ(loc.locate(p), oracle(cells, p)) << p.x << " " << p.y;
            ++checked;
        }
    for (const auto& p : random_points(
             geo::Box{U(-0.5, -0.5).x, U(-0.5, -0.5).y, U(5.5, 4.5).x, U(5.5, 4.5).y}, 20000, 7)) {
        const auto in = cells.containing(p);
        ASSERT_EQ(loc.locate(p), in.empty() ? -1 : in.front());
    }
    EXPECT_GT(checked, 20000);
}

TEST(Locator, TinyGridSharedCornerAndEdges) {
    const auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    const grid::Locator loc(g);
    const GeosCells cells(g);
    ASSERT_EQ(loc.cell_count(), 4u);
    // Every stored vertex.
    for (const auto& [edge, holders] : edge_owners(g)) {
        const geo::Point a{edge.first.first, edge.first.second};
        const geo::Point b{edge.second.first, edge.second.second};
        for (const geo::Point p : {a, b}) {
            const auto c = loc.locate(p);
            ASSERT_NE(c, -1);
            EXPECT_EQ(c, oracle(cells, p));
        }
    }
    // The corner shared by all four squares belongs to the north-east one.
    const geo::Point corner{110.96358024679137, 35.619753086421966};
    EXPECT_EQ(loc.cell_code(loc.locate(corner)), "14082410020002");
    EXPECT_THROW((void)loc.cell_code(4), InputError);
    EXPECT_THROW((void)loc.cell_code(-1), InputError);
}

TEST(Locator, RealCoverageVerticesAndSharedEdges) {
    const auto& g = liechtenstein();
    const grid::Locator loc(g);
    const GeosCells cells(g);
    // Every stored vertex gets a cell that covers it.
    std::size_t vertices = 0;
    for (const auto& cell : g.cells)
        for (const auto& poly : cell.geometry.polygons)
            for (const auto& ring : poly.rings)
                for (const auto& p : ring) {
                    const auto c = loc.locate(p);
                    ASSERT_NE(c, -1) << "vertex " << p.x << " " << p.y;
                    const auto cover = cells.covering(p);
                    ASSERT_TRUE(std::find(cover.begin(), cover.end(), c) != cover.end());
                    ++vertices;
                }
    EXPECT_GT(vertices, 4000u);
    // Points along the slanted shared edges (within a rounding of them): one of the two
    // neighbours, never none. A naive x-intercept test loses a fifth of these.
    std::size_t along = 0;
    for (const auto& [edge, holders] : edge_owners(g)) {
        if (holders.size() != 2) continue;
        const geo::Point a{edge.first.first, edge.first.second};
        const geo::Point b{edge.second.first, edge.second.second};
        for (int k = 1; k < 16; ++k) {
            const geo::Point p{a.x + (b.x - a.x) * k / 16, a.y + (b.y - a.y) * k / 16};
            const auto c = loc.locate(p);
            ASSERT_TRUE(holders.count(c)) << "point on a shared edge went to cell " << c;
            ++along;
        }
    }
    EXPECT_GT(along, 10000u);
}

// ---- agreement with GEOS on random points -----------------------------------------------

TEST(Locator, AgreesWithGeosOnLiechtenstein) {
    const auto& g = liechtenstein();
    const grid::Locator loc(g);
    const GeosCells cells(g);
    const auto pts = random_points(g.bounds(), 200000, 42);
    std::vector<std::int32_t> got(pts.size());
    loc.locate_batch(pts, got);
    std::size_t inside = 0, mismatches = 0;
    for (std::size_t i = 0; i < pts.size(); ++i) {
        const auto in = cells.containing(pts[i]);
        if (in.size() == 1) {
            ++inside;
            mismatches += got[i] != in.front();
        } else if (in.empty()) {
            // Outside every interior: none, unless exactly on a boundary (then a coverer).
            const auto cover = cells.covering(pts[i]);
            if (cover.empty())
                mismatches += got[i] != -1;
            else
                mismatches += std::find(cover.begin(), cover.end(), got[i]) == cover.end();
        } else {
            mismatches += std::find(in.begin(), in.end(), got[i]) == in.end();
        }
    }
    EXPECT_EQ(mismatches, 0u);
    EXPECT_GT(inside, 80000u); // the municipalities fill about half of the bounding box
}

TEST(Locator, AgreesWithGeosOnAGeneratedCoverage) {
    const auto g = grid::generated_coverage(2500, 3);
    const grid::Locator loc(g);
    const GeosCells cells(g);
    const auto pts = random_points(g.bounds(), 100000, 5);
    std::vector<std::int32_t> got(pts.size());
    loc.locate_batch(pts, got, 2);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < pts.size(); ++i) {
        const auto in = cells.containing(pts[i]);
        ASSERT_LE(in.size(), 1u);
        mismatches += got[i] != (in.empty() ? -1 : in.front());
    }
    EXPECT_EQ(mismatches, 0u);
    // And every stored vertex follows the rule.
    for (const auto& cell : g.cells)
        for (const auto& p : cell.geometry.polygons[0].rings[0])
            ASSERT_EQ(loc.locate(p), oracle(cells, p));
}

TEST(Locator, GeneratedCoverageIsValidAndLabelled) {
    const auto g = grid::generated_coverage(400, 9);
    ASSERT_EQ(g.cells.size(), 400u);
    geo::GeosContext ctx;
    for (const auto& c : g.cells) {
        ASSERT_TRUE(ctx.from(c.geometry).is_valid()) << c.code;
        ASSERT_EQ(c.code.size(), 14u);
        ASSERT_EQ(c.code.substr(0, 12), c.village_code);
    }
    EXPECT_EQ(grid::generated_coverage(400, 9), g); // deterministic
}

// ---- threads ----------------------------------------------------------------------------

TEST(Locator, ThreadsGiveTheSameAnswers) {
    const auto g = grid::generated_coverage(100000, 1);
    const grid::Locator loc(g);
    const auto pts = random_points(g.bounds(), 1000000, 11);
    std::vector<std::int32_t> one(pts.size()), many(pts.size());
    loc.locate_batch(pts, one, 1);
    loc.locate_batch(pts, many, 3);
    EXPECT_EQ(one, many);
    EXPECT_GT(std::count_if(one.begin(), one.end(), [](auto c) { return c >= 0; }), 900000);
    for (std::size_t i = 0; i < pts.size(); i += 997)
        ASSERT_EQ(one[i], loc.locate(pts[i]));

    const std::span<const geo::Point> some(pts.data(), 200000);
    std::vector<grid::Location> l1(some.size()), l3(some.size());
    loc.locate_batch(some, l1, 1);
    loc.locate_batch(some, l3, 3);
    for (std::size_t i = 0; i < some.size(); ++i) {
        ASSERT_EQ(l1[i].cell, l3[i].cell);
        ASSERT_EQ(l1[i].boundary_distance_m, l3[i].boundary_distance_m);
        ASSERT_EQ(l1[i].cell, one[i]);
    }
    std::vector<std::int32_t> wrong(3);
    EXPECT_THROW(loc.locate_batch(some, wrong), InputError);
}

// ---- distances --------------------------------------------------------------------------

// Our distance against GEOS's, measured in the Gauss-Kruger zone (EPSG:4546) after
// reprojecting cells and points.
void check_distances(const grid::Grid& g, const std::vector<geo::Point>& pts) {
    const grid::Locator loc(g);
    const geo::Transformer to_gk("EPSG:4326", "EPSG:4546");
    geo::GeosContext ctx;
    std::vector<geo::GeosGeometry> bounds;
    std::vector<geo::Box> boxes;
    for (const auto& c : g.cells) {
        auto mp = c.geometry;
        to_gk.forward(mp);
        auto poly = ctx.from(mp);
        bounds.push_back(ctx.check(GEOSBoundary_r(ctx.get(), poly.get()), "boundary"));
        boxes.push_back(geo::bounds(mp));
    }
    std::size_t near = 0;
    for (const auto& p : pts) {
        const auto ours = loc.locate_with_distance(p);
        const geo::Point q = to_gk.forward(p);
        // Any boundary nearer than ours (with slack) lies in a cell whose box is that near.
        const double reach = ours.boundary_distance_m * 1.01 + 1.0;
        double best = std::numeric_limits<double>::infinity();
        const auto pt = ctx.point(q);
        for (std::size_t i = 0; i < bounds.size(); ++i) {
            const auto& b = boxes[i];
            const double dx = std::max({b.minx - q.x, 0.0, q.x - b.maxx});
            const double dy = std::max({b.miny - q.y, 0.0, q.y - b.maxy});
            if (std::hypot(dx, dy) > reach) continue;
            double d = 0;
            ASSERT_EQ(GEOSDistance_r(ctx.get(), pt.get(), bounds[i].get(), &d), 1);
            best = std::min(best, d);
        }
        ASSERT_TRUE(std::isfinite(best));
        // Edges are straight in lon/lat, GEOS's straight in Gauss-Kruger: a 1.1 km edge
        // along a parallel bows by L^2 tan(lat) / 8R, about 2 cm, between the two.
        EXPECT_NEAR(ours.boundary_distance_m, best, 0.005 * best + 0.05)
            << "at " << p.x << " " << p.y << " in cell " << ours.cell;
        near += best < 20;
    }
    EXPECT_GT(near, 0u);
}

TEST(Locator, DistancesMatchGeosOnAGeneratedCoverage) {
    const auto g = grid::generated_coverage(3000, 4);
    auto b = g.bounds();
    // Around the coverage too, so that outline distances are checked.
    b = {b.minx - 0.01, b.miny - 0.01, b.maxx + 0.01, b.maxy + 0.01};
    check_distances(g, random_points(b, 3000, 8));
}

TEST(Locator, DistancesMatchGeosOnTheTinyGrid) {
    const auto g = grid::read_grid(test::data("tiny_grid.geojson"), {});
    auto b = g.bounds();
    b = {b.minx - 0.02, b.miny - 0.02, b.maxx + 0.02, b.maxy + 0.02};
    check_distances(g, random_points(b, 3000, 9));
    const grid::Locator loc(g);
    // On an edge the distance is zero; at the centre of a 1.1 km square about 550 m.
    EXPECT_EQ(loc.locate_with_distance({110.96358024679137, 35.625}).boundary_distance_m, 0.0);
    const auto centre = loc.locate_with_distance({(110.95123456789013 + 110.96358024679137) / 2,
                                                  (35.619753086421966 + 35.62962962963296) / 2});
    EXPECT_NEAR(centre.boundary_distance_m, 548, 2);
}

TEST(Locator, DistancesOnACellWithHoleAndManyEdges) {
    // Liechtenstein is in UTM 32N, not in the Gauss-Kruger zone: compare with GEOS there.
    const auto& g = liechtenstein();
    const grid::Locator loc(g);
    const geo::Transformer to_utm("EPSG:4326", geo::suggest_metric_crs(9.55, 47.15));
    geo::GeosContext ctx;
    std::vector<geo::GeosGeometry> bounds;
    for (const auto& c : g.cells) {
        auto mp = c.geometry;
        to_utm.forward(mp);
        auto poly = ctx.from(mp);
        bounds.push_back(ctx.check(GEOSBoundary_r(ctx.get(), poly.get()), "boundary"));
    }
    // Inside a cell: the distance to that cell's boundary (UTM scale is within 0.04% here).
    std::size_t checked = 0;
    for (const auto& p : random_points(g.bounds(), 400, 21)) {
        const auto ours = loc.locate_with_distance(p);
        if (ours.cell < 0) continue;
        const auto pt = ctx.point(to_utm.forward(p));
        double d = 0;
        ASSERT_EQ(GEOSDistance_r(ctx.get(), pt.get(),
                                 bounds[static_cast<std::size_t>(ours.cell)].get(), &d),
                  1);
        EXPECT_NEAR(ours.boundary_distance_m, d, 0.005 * d + 0.05);
        ++checked;
    }
    EXPECT_GT(checked, 100u);
}

TEST(Locator, EmptyGrid) {
    const grid::Locator loc(grid::Grid{});
    EXPECT_EQ(loc.cell_count(), 0u);
    EXPECT_EQ(loc.locate({110, 35}), -1);
    EXPECT_TRUE(std::isinf(loc.locate_with_distance({110, 35}).boundary_distance_m));
}

TEST(Locator, RejectsNonFiniteCoordinates) {
    auto g = slanted_coverage();
    g.cells[1].geometry.polygons[0].rings[0][1].x = std::nan("");
    try {
        const grid::Locator loc(g);
        FAIL() << "expected DataError";
    } catch (const DataError& e) {
        EXPECT_EQ(e.context().cell, "14082410000002");
    }
}

// ---- the assign library -----------------------------------------------------------------

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

    const std::string out = read_file(o.out);
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
    const auto out = lines_of(read_file(o.out));
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
    const auto out = lines_of(read_file(o.out));
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
    const std::string out = read_file(o.out);
    EXPECT_NE(out.find(big + "\",110.957,35.625,14082410020001,"), std::string::npos);
    EXPECT_NE(out.find("\nshort,110.970,35.615,14082410020102,"), std::string::npos);
}
