#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/duties.hpp"

#include <fstream>
#include <gtest/gtest.h>

using namespace wangge;
using namespace wangge::loop;

namespace {

const Catalogue& jishan() {
    static const Catalogue c = Catalogue::load(WANGGE_CATALOGUE_DIR);
    return c;
}

grid::Cell cell(const char* code, const char* village) {
    grid::Cell c;
    c.code = code;
    c.village_code = village;
    c.township_code = std::string(village).substr(0, 9);
    c.county_code = "140824";
    return c;
}

// Three cells: two in one village of 稷峰镇, one in a village of 西社镇.
grid::Grid three_cells() {
    grid::Grid g;
    g.cells = {cell("14082410020001", "140824100200"), cell("14082410020002", "140824100200"),
               cell("14082410120101", "140824101201")};
    return g;
}

std::chrono::year_month_day d(const char* text) {
    return parse_date(text);
}

Duty duty(const char* function, DutyLevel level, const char* unit, const char* department,
          const char* person, const char* from = nullptr, const char* until = nullptr) {
    Duty x{function, level, unit, department, person, std::nullopt, std::nullopt, 0};
    if (from) x.valid_from = parse_date(from);
    if (until) x.valid_to = parse_date(until);
    return x;
}

std::string write(const std::string& text) {
    const auto path = (test::temp_dir() / "duties.csv").string();
    std::ofstream(path) << text;
    return path;
}

} // namespace

TEST(Duties, TheMostSpecificHolderWins) {
    const DutyTable table({duty("F01", DutyLevel::county, "140824", "D01", "县城管局"),
                           duty("F01", DutyLevel::township, "140824100", "D18", "稷峰镇城管中队"),
                           duty("F01", DutyLevel::village, "140824100200", "D18", "东北街环卫员"),
                           duty("F01", DutyLevel::cell, "14082410020002", "D01", "网格专员")},
                          jishan());
    const auto g = three_cells();
    const auto on = d("2026-03-02");
    EXPECT_EQ(table.holder(g.cells[0], "F01", on)->person, "东北街环卫员");
    EXPECT_EQ(table.holder(g.cells[1], "F01", on)->person, "网格专员");
    EXPECT_EQ(table.holder(g.cells[2], "F01", on)->person, "县城管局");
    EXPECT_EQ(table.holder(g.cells[0], "F02", on), nullptr);
}

TEST(Duties, ValidityDatesDecide) {
    const DutyTable table(
        {duty("F01", DutyLevel::county, "140824", "D01", "county"),
         duty("F01", DutyLevel::cell, "14082410020001", "D01", "old", "2025-01-01", "2026-02-28"),
         duty("F01", DutyLevel::cell, "14082410020001", "D01", "new", "2026-03-01"),
         duty("F02", DutyLevel::cell, "14082410020001", "D01", "later", "2026-06-01")},
        jishan());
    const auto c = three_cells().cells[0];
    EXPECT_EQ(table.holder(c, "F01", d("2026-02-28"))->person, "old");
    EXPECT_EQ(table.holder(c, "F01", d("2026-03-01"))->person, "new");
    EXPECT_EQ(table.holder(c, "F01", d("2024-12-31"))->person, "county");
    EXPECT_EQ(table.holder(c, "F02", d("2026-05-31")), nullptr);
    EXPECT_EQ(table.holder(c, "F02", d("2026-06-01"))->person, "later");
}

TEST(Duties, RoutingFallsBackToTheTerritory) {
    const DutyTable table({duty("F01", DutyLevel::county, "140824", "D01", "城管"),
                           duty("F31", DutyLevel::township, "140824100", "D18", "稷峰镇")},
                          jishan());
    const auto g = three_cells();
    const auto on = d("2026-03-02");
    const auto street = table.route(g.cells[0], jishan().category_at("0101"), jishan(), on);
    ASSERT_TRUE(street.duty);
    EXPECT_FALSE(street.fallback);
    EXPECT_EQ(street.duty->department, "D01");
    const auto fire = table.route(g.cells[0], jishan().category_at("0501"), jishan(), on);
    ASSERT_TRUE(fire.duty);
    EXPECT_TRUE(fire.fallback);
    EXPECT_EQ(fire.duty->person, "稷峰镇");
    const auto nobody = table.route(g.cells[2], jishan().category_at("0501"), jishan(), on);
    EXPECT_FALSE(nobody.duty);
}

TEST(Duties, CheckListsGapsAndStaleHolders) {
    std::vector<Duty> all;
    for (const auto& f : jishan().functions())
        all.push_back(duty(f.code.c_str(), DutyLevel::county, "140824", f.department.c_str(), "p"));
    // F01 at county level is replaced by township duties, one of which has expired.
    all.erase(all.begin());
    all.push_back(duty("F01", DutyLevel::township, "140824100", "D18", "a"));
    all.push_back(duty("F01", DutyLevel::township, "140824101", "D18", "b", nullptr, "2026-02-28"));
    all.push_back(duty("F02", DutyLevel::cell, "14082410099901", "D01", "gone")); // no cell
    all.push_back(duty("F03", DutyLevel::cell, "14082410020001", "D01", "x"));
    all.push_back(duty("F03", DutyLevel::cell, "14082410020001", "D01", "y")); // conflict
    all.push_back(duty("F04", DutyLevel::cell, "14082410020001", "D01", "z", "2027-01-01"));
    const DutyTable table(std::move(all), jishan());
    const auto check = table.check(three_cells(), jishan(), d("2026-03-02"));
    EXPECT_FALSE(check.ok());
    ASSERT_EQ(check.gaps.size(), 1u);
    EXPECT_EQ(check.gaps[0], (DutyGap{"14082410120101", "F01"}));
    ASSERT_EQ(check.expired.size(), 1u);
    EXPECT_EQ(check.expired[0]->person, "b");
    ASSERT_EQ(check.orphaned.size(), 1u);
    EXPECT_EQ(check.orphaned[0]->person, "gone");
    ASSERT_EQ(check.conflicting.size(), 1u);
    EXPECT_EQ(check.conflicting[0].first->person, "x"); // both rows are named
    EXPECT_EQ(check.conflicting[0].second->person, "y");
    // F01 belongs to D01: the township duties given to D18 are reported.
    ASSERT_EQ(check.foreign.size(), 2u);
    EXPECT_EQ(check.foreign[0]->person, "a");
    ASSERT_EQ(check.not_yet.size(), 1u);
    EXPECT_EQ(check.not_yet[0]->person, "z");
    // Of two valid duties for the same unit the later one in the table is used.
    EXPECT_EQ(table.holder(three_cells().cells[0], "F03", d("2026-03-02"))->person, "y");
}

// A table with history passes: a duty handed over to a successor is not an error; overlaps
// are reported wherever they are, with both rows and the overlap; foreign departments are.
TEST(Duties, ATableWithHistoryPassesAndOverlapsAreFoundAnywhere) {
    std::vector<Duty> all;
    for (const auto& f : jishan().functions())
        all.push_back(duty(f.code.c_str(), DutyLevel::county, "140824", f.department.c_str(), "p"));
    // F02: handed over on 2026-02-01 (old one ends 01-31): superseded, fine.
    all.push_back(
        duty("F02", DutyLevel::cell, "14082410020001", "D01", "old", "2026-01-01", "2026-01-31"));
    all.push_back(duty("F02", DutyLevel::cell, "14082410020001", "D01", "new", "2026-02-01"));
    // F03: overlap in May only, long after the checked day.
    all.push_back(
        duty("F03", DutyLevel::cell, "14082410020001", "D01", "m", "2026-01-01", "2026-05-31"));
    all.push_back(duty("F03", DutyLevel::cell, "14082410020001", "D01", "n", "2026-05-01"));
    // F05 at cell level: expired, nobody after it.
    all.push_back(
        duty("F05", DutyLevel::cell, "14082410020001", "D01", "gone", "2026-01-01", "2026-02-15"));
    const DutyTable table(std::move(all), jishan());
    const auto check = table.check(three_cells(), jishan(), d("2026-03-02"));
    ASSERT_EQ(check.superseded.size(), 1u);
    EXPECT_EQ(check.superseded[0]->person, "old");
    ASSERT_EQ(check.expired.size(), 1u);
    EXPECT_EQ(check.expired[0]->person, "gone");
    ASSERT_EQ(check.conflicting.size(), 1u);
    EXPECT_EQ(check.conflicting[0].first->person, "m");
    EXPECT_EQ(check.conflicting[0].second->person, "n");
    EXPECT_EQ(loop::format_date(check.conflicting[0].from), "2026-05-01");
    ASSERT_TRUE(check.conflicting[0].to);
    EXPECT_EQ(loop::format_date(*check.conflicting[0].to), "2026-05-31");
    EXPECT_TRUE(check.foreign.empty());
    EXPECT_FALSE(check.ok()); // the overlap and the expired F05
}

TEST(Duties, TheJishanSampleCoversEveryFunction) {
    const auto table =
        DutyTable::load(std::string(WANGGE_CATALOGUE_DIR) + "/duties-jishan-sample.csv", jishan());
    const auto check = table.check(three_cells(), jishan(), d("2026-03-02"));
    EXPECT_TRUE(check.gaps.empty());
    EXPECT_TRUE(check.expired.empty());
    EXPECT_TRUE(check.conflicting.empty());
    EXPECT_TRUE(check.foreign.empty());
    // The four township functions of the seven townships this small grid does not have.
    EXPECT_EQ(check.orphaned.size(), 4u * 7u);
    const auto route = table.route(three_cells().cells[2], jishan().category_at("0601"), jishan(),
                                   d("2026-03-02"));
    ASSERT_TRUE(route.duty);
    EXPECT_EQ(route.duty->unit, "140824101");
}

TEST(Duties, FileErrorsNameTheLine) {
    const std::string header = "function,level,unit,department,person,valid_from,valid_to\n";
    auto expect_error = [&](const std::string& row, const std::string& what) {
        const auto path = write(header + "F01,county,140824,D01,p,,\n" + row);
        try {
            (void)DutyTable::load(path, jishan());
            ADD_FAILURE() << "no error for " << row;
        } catch (const InputError& e) {
            EXPECT_EQ(e.context().file, path);
            EXPECT_EQ(e.context().line, 3) << e.what();
            EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
        }
    };
    expect_error("F99,county,140824,D01,p,,\n", "unknown function 'F99'");
    expect_error("F01,street,140824,D01,p,,\n", "unknown duty level 'street'");
    expect_error("F01,county,140824,D77,p,,\n", "unknown department 'D77'");
    expect_error("F01,county,140824,D01,p,2026-13-01,\n", "bad date '2026-13-01'");
    expect_error("F01,county,140824,D01,p,2026-03-01,2026-02-01\n", "valid_to is before");
    expect_error("F01,county,,D01,p,,\n", "empty unit");
    const auto ok = DutyTable::load(write(header + "F01,county,140824,D01,p,,\n"), jishan());
    EXPECT_EQ(ok.duties().at(0).line, 2);
    EXPECT_THROW(DutyTable({duty("F01", DutyLevel::county, "140824", "D99", "p")}, jishan()),
                 DataError);
}
