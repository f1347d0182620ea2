// Balanced proposals (wangge grid propose): METIS parts of generated household points,
// dissolved exactly into cells, on the Jishan sample.
#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/geometry.hpp"
#include "wangge/grid/validate.hpp"
#include "wangge/redraw/edit.hpp"
#include "wangge/redraw/propose.hpp"
#include "wangge/sample/jishan.hpp"

#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>

using namespace wangge;

namespace {

const grid::Grid& jishan() {
    static const grid::Grid g = sample::generate_jishan_grid({});
    return g;
}

grid::ValidateOptions options() {
    grid::ValidateOptions o;
    o.metric_crs = "EPSG:4546";
    return o;
}

struct Totals {
    std::size_t cells = 0;
    std::int64_t households = 0, population = 0;
    double area = 0;
};

Totals totals(const grid::Grid& g, const std::string& village) {
    Totals t;
    for (const auto& c : g.cells)
        if (c.village_code == village) {
            ++t.cells;
            t.households += c.households;
            t.population += c.population;
            t.area += std::abs(geo::planar_area(c.geometry));
        }
    return t;
}

int run(const std::string& args) {
    const std::string cmd = std::string(WANGGE_BINARY) + " " + args + " >/dev/null 2>&1";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// 滨河社区: 6 cells, 2,333 households in the sample.
const std::string binhe = "140824400004";

} // namespace

TEST(RedrawPropose, AVillageBecomesBalancedExactCells) {
    grid::Grid g = jishan();
    const auto before = totals(g, binhe);
    ASSERT_EQ(before.cells, 6u);
    ASSERT_EQ(before.households, 2333);
    const auto p = redraw::propose_cells(g, {.village = binhe, .households = 300});

    // 2,333 / 300 rounds to 8 cells, every one within 10% of 300.
    ASSERT_EQ(p.cells.size(), 8u);
    EXPECT_EQ(p.household_points, 2333u);
    EXPECT_GT(p.blocks, 100u);
    EXPECT_TRUE(p.notes.empty());
    for (std::size_t i = 0; i < p.cells.size(); ++i) {
        const auto& c = p.cells[i];
        // The national rule: the village's code and a 2-digit sequence, 01 to 08.
        EXPECT_EQ(c.code, binhe + (i + 1 < 10 ? "0" : "") + std::to_string(i + 1));
        EXPECT_TRUE(c.within) << c.code << " " << c.households;
        EXPECT_LE(std::abs(c.households - 300), 30) << c.code;
        EXPECT_EQ(c.village, binhe);
    }
    // Households, population and area kept; the cells tile the county exactly.
    const auto after = totals(g, binhe);
    EXPECT_EQ(after.cells, 8u);
    EXPECT_EQ(after.households, before.households);
    EXPECT_EQ(after.population, before.population);
    EXPECT_NEAR(after.area, before.area, 1e-9 * before.area);
    const auto report = grid::validate(g, options());
    EXPECT_TRUE(report.valid()) << report.summary();
    EXPECT_EQ(g.cells.size(), jishan().cells.size() + 2);

    // Deterministic: the same proposal, bit for bit.
    grid::Grid again = jishan();
    (void)redraw::propose_cells(again, {.village = binhe, .households = 300});
    EXPECT_EQ(again, g);
}

TEST(RedrawPropose, ATownshipIsProposedVillageByVillage) {
    grid::Grid g = jishan();
    // The development zone 140824401: 3 cells, 1,189 households.
    const auto p = redraw::propose_cells(g, {.township = "140824401", .households = 200});
    std::int64_t households = 0;
    for (const auto& c : p.cells) {
        households += c.households;
        EXPECT_EQ(c.code.substr(0, 9), "140824401");
        EXPECT_EQ(c.code.substr(0, 12), c.village);
    }
    EXPECT_EQ(households, 1189);
    EXPECT_EQ(p.old_cells, 3u);
    EXPECT_GE(p.cells.size(), 5u); // villages round separately: 5 or 6 cells of about 200
    const auto report = grid::validate(g, options());
    EXPECT_TRUE(report.valid()) << report.summary();
}

TEST(RedrawPropose, BadInputIsRefusedAndChangesNothing) {
    grid::Grid g = jishan();
    const auto refused = [&](const redraw::ProposeOptions& o, const std::string& words) {
        try {
            (void)redraw::propose_cells(g, o);
            ADD_FAILURE() << "not refused: " << words;
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
        }
        EXPECT_EQ(g, jishan());
    };
    refused({.village = "140824999999"}, "village 140824999999 is not in the grid");
    refused({.township = "140824999"}, "township 140824999 is not in the grid");
    refused({.village = binhe, .households = 0}, "--households");
    refused({.village = binhe, .households = -5}, "--households");
    refused({.village = binhe, .tolerance = 0}, "--tolerance");
    refused({.village = binhe, .tolerance = 1.5}, "--tolerance");
    refused({}, "either --village or --township");
    refused({.village = binhe, .township = "140824400"}, "either --village or --township");

    // On the command line: exit 2, the workspace unchanged; a good run writes a draft.
    const auto dir = test::temp_dir();
    const std::string ws = (dir / "j.gpkg").string();
    ASSERT_EQ(run("sample jishan --workspace " + ws + " --no-imagery --no-loop"), 0);
    const std::string bytes = file_bytes(ws);
    EXPECT_EQ(run("grid propose " + ws + " --village 140824999999"), 2);
    EXPECT_EQ(run("grid propose " + ws + " --village " + binhe + " --households 0"), 2);
    EXPECT_EQ(run("grid propose " + ws + " --village " + binhe + " --tolerance 2"), 2);
    EXPECT_EQ(file_bytes(ws), bytes);
    EXPECT_EQ(run("grid propose " + ws + " --village " + binhe + " --households 300"), 0);
    EXPECT_EQ(run("grid validate --workspace " + ws + " --version 2"), 0);
}
