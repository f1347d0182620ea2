// Point-to-cell assignment: the locator (exactly one cell on shared edges and vertices,
// agreement with GEOS, threads, distances). The assign library: test_assign.cpp.
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
