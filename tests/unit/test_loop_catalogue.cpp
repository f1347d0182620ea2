#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/catalogue.hpp"
#include "wangge/loop/duties.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <set>

using namespace wangge;
using loop::Catalogue;
using loop::DutyTable;
using loop::TimeUnit;

namespace {

const std::string catalogue_dir = WANGGE_CATALOGUE_DIR;

struct Files {
    std::string departments, functions, categories;
};

const char* departments_csv = "code,name,kind\nD01,县城市管理局,county_department\n"
                              "D18,乡镇人民政府,township_government\n";
const char* functions_csv = "code,name,department,fallback\nF01,市容环境卫生,D01,\n"
                            "F31,属地综合管理,D18,yes\n";
const char* categories_csv =
    "code,name,function,urgency,dispatch,handle,verify_urban,verify_rural\n"
    "01,市容环境,,,,,,\n"
    "0101,道路不洁,F01,normal,30 natural_minutes,5 working_hours,1 natural_hours,"
    "2 natural_hours\n";

Files write(const std::string& departments, const std::string& functions,
            const std::string& categories) {
    const auto dir = test::temp_dir();
    Files f{(dir / "departments.csv").string(), (dir / "functions.csv").string(),
            (dir / "categories.csv").string()};
    std::ofstream(f.departments) << departments;
    std::ofstream(f.functions) << functions;
    std::ofstream(f.categories) << categories;
    return f;
}

// Loads and expects an InputError at the given file and line whose message contains `what`.
void expect_error(const Files& f, const std::string& file, std::int64_t line,
                  const std::string& what) {
    try {
        (void)Catalogue::load(f.departments, f.functions, f.categories);
        ADD_FAILURE() << "no error, expected " << what;
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().file, file) << e.what();
        EXPECT_EQ(e.context().line, line) << e.what();
        EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
}

} // namespace

TEST(Catalogue, LoadsTheJishanSample) {
    const auto cat = Catalogue::load(catalogue_dir);
    EXPECT_EQ(cat.departments().size(), 18u);
    EXPECT_EQ(cat.functions().size(), 34u);
    EXPECT_GE(cat.majors().size(), 9u);
    EXPECT_GE(cat.categories().size(), 40u);
    // Every department holds at least one function.
    std::set<std::string> holding;
    for (const auto& f : cat.functions())
        holding.insert(f.department);
    EXPECT_EQ(holding.size(), 18u);
    ASSERT_NE(cat.fallback_function(), nullptr);
    EXPECT_EQ(cat.department(cat.fallback_function()->department)->kind, "township_government");

    // The domain's real examples.
    const auto& street = cat.category_at("0101");
    EXPECT_EQ(street.name, "道路不洁");
    EXPECT_EQ(street.limits.handle, (loop::TimeLimit{5, TimeUnit::working_hours}));
    EXPECT_EQ(street.limits.dispatch, (loop::TimeLimit{30, TimeUnit::natural_minutes}));
    EXPECT_EQ(street.limits.verify_urban, (loop::TimeLimit{1, TimeUnit::natural_hours}));
    EXPECT_EQ(street.limits.verify_rural, (loop::TimeLimit{2, TimeUnit::natural_hours}));
    EXPECT_EQ(cat.category_at("0102").limits.handle, (loop::TimeLimit{1, TimeUnit::working_days}));
    EXPECT_EQ(cat.category_at("0304").limits.handle, (loop::TimeLimit{15, TimeUnit::working_days}));
    const auto& fire = cat.category_at("0501");
    EXPECT_EQ(fire.urgency, loop::Urgency::urgent);
    EXPECT_EQ(fire.limits.dispatch, (loop::TimeLimit{10, TimeUnit::natural_minutes}));
    EXPECT_EQ(cat.major("05")->name, "突发事件");
    EXPECT_EQ(cat.function(street.function)->department, "D01");
    EXPECT_EQ(cat.category("9999"), nullptr);
    EXPECT_THROW((void)cat.category_at("9999"), DataError);
}

TEST(Catalogue, ParsesAndPrintsLimits) {
    EXPECT_EQ(loop::parse_limit("5 working_hours"), (loop::TimeLimit{5, TimeUnit::working_hours}));
    EXPECT_EQ(loop::parse_limit("0.5 working_days"),
              (loop::TimeLimit{0.5, TimeUnit::working_days}));
    EXPECT_EQ(loop::format_limit({0.5, TimeUnit::working_days}), "0.5 working_days");
    EXPECT_EQ(loop::format_limit({15, TimeUnit::working_days}), "15 working_days");
    for (const char* bad :
         {"5", "five working_hours", "5 hours", "-1 natural_hours", "0 working_days", ""})
        EXPECT_THROW((void)loop::parse_limit(bad), InputError) << bad;
}

TEST(Catalogue, AMinimalSetLoads) {
    const auto f = write(departments_csv, functions_csv, categories_csv);
    const auto cat = Catalogue::load(f.departments, f.functions, f.categories);
    EXPECT_EQ(cat.categories().size(), 1u);
    EXPECT_EQ(cat.fallback_function()->code, "F31");
}

TEST(Catalogue, QuotedFieldsBomAndCommentsAreRead) {
    const auto f = write(std::string("\xEF\xBB\xBF") + "# a comment\r\ncode,name,kind\r\n"
                                                       "D01,\"城管局, \"\"县\"\"\",county_"
                                                       "department\r\n\r\n"
                                                       "D18,\"乡镇\n政府\",township_government\r\n",
                         functions_csv, categories_csv);
    const auto cat = Catalogue::load(f.departments, f.functions, f.categories);
    EXPECT_EQ(cat.department("D01")->name, "城管局, \"县\"");
    EXPECT_EQ(cat.department("D18")->name, "乡镇\n政府");
}

TEST(Catalogue, ErrorsNameFileAndLine) {
    {
        const auto f = write(departments_csv, std::string(functions_csv) + "F02,街面秩序,D99,\n",
                             categories_csv);
        expect_error(f, f.functions, 4, "unknown department 'D99'");
    }
    {
        const auto f = write(std::string(departments_csv) + "D01,重复,county_department\n",
                             functions_csv, categories_csv);
        expect_error(f, f.departments, 4, "duplicate department code 'D01' (first on line 2)");
    }
    {
        const auto f = write(departments_csv, functions_csv,
                             std::string(categories_csv) +
                                 "0102,暴露垃圾,F01,normal,30 natural_minutes,1 workdays,"
                                 "1 natural_hours,2 natural_hours\n");
        expect_error(f, f.categories, 4, "unknown time unit 'workdays'");
    }
    {
        const auto f = write(departments_csv, functions_csv,
                             std::string(categories_csv) +
                                 "0102,暴露垃圾,F77,normal,30 natural_minutes,1 working_days,"
                                 "1 natural_hours,2 natural_hours\n");
        expect_error(f, f.categories, 4, "unknown function 'F77'");
    }
    {
        const auto f = write(departments_csv, functions_csv,
                             std::string(categories_csv) +
                                 "0101,道路不洁,F01,normal,30 natural_minutes,1 working_days,"
                                 "1 natural_hours,2 natural_hours\n");
        expect_error(f, f.categories, 4, "duplicate category code '0101' (first on line 3)");
    }
    {
        const auto f = write(departments_csv, functions_csv,
                             std::string(categories_csv) +
                                 "0201,小广告,F01,normal,30 natural_minutes,1 working_days,"
                                 "1 natural_hours,2 natural_hours\n");
        expect_error(f, f.categories, 4, "no major class '02'");
    }
    {
        const auto f = write(departments_csv, functions_csv,
                             std::string(categories_csv) +
                                 "0102,暴露垃圾,F01,soon,30 natural_minutes,1 working_days,"
                                 "1 natural_hours,2 natural_hours\n");
        expect_error(f, f.categories, 4, "unknown urgency 'soon'");
    }
    {
        const auto f = write(departments_csv, std::string(functions_csv) + "F32,关爱,D18,yes\n",
                             categories_csv);
        expect_error(f, f.functions, 4, "a second fallback function");
    }
    {
        const auto f = write(departments_csv, "code,name\nF01,x\n", categories_csv);
        expect_error(f, f.functions, 1, "missing column 'department'");
    }
    {
        const auto f = write(departments_csv, functions_csv,
                             std::string(categories_csv) + "0102,\"unclosed\n");
        expect_error(f, f.categories, 4, "a quote is not closed before the end of the file");
    }
    {
        const auto f =
            write(departments_csv, functions_csv, std::string(categories_csv) + "102,x,F01\n");
        expect_error(f, f.categories, 4, "neither a 2-digit major");
    }
}

// The text entry points read what the file loaders read, and their errors name the name given.
TEST(Catalogue, TextEntryPointsMatchTheFilesAndNameTheSourceInErrors) {
    const auto text = [](const std::string& file) {
        std::ifstream in(catalogue_dir + "/" + file, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const auto from_files = Catalogue::load(catalogue_dir);
    const auto from_text = Catalogue::parse(text("departments.csv"), text("functions.csv"),
                                            text("categories.csv"), "built in");
    EXPECT_EQ(from_text.departments(), from_files.departments());
    EXPECT_EQ(from_text.functions(), from_files.functions());
    EXPECT_EQ(from_text.majors(), from_files.majors());
    EXPECT_EQ(from_text.categories(), from_files.categories());
    EXPECT_GT(from_text.categories().size(), 50u);

    const auto duties = DutyTable::parse(text("duties-jishan-sample.csv"), "d.csv", from_files);
    EXPECT_EQ(duties.duties(),
              DutyTable::load(catalogue_dir + "/duties-jishan-sample.csv", from_files).duties());
    try {
        (void)Catalogue::parse(text("departments.csv"), "code,name\nF01,x\n",
                               text("categories.csv"), "built in");
        ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().file, "built in/functions.csv");
        EXPECT_EQ(e.context().line, 1);
    }
    try {
        (void)DutyTable::parse("function,level\n", "d.csv", from_files);
        ADD_FAILURE() << "no error";
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().file, "d.csv");
    }
}

TEST(Catalogue, ConstructorChecksReferences) {
    EXPECT_THROW(
        (Catalogue({{"D01", "a", "county_department"}}, {{"F01", "f", "D02", false}}, {}, {})),
        DataError);
    EXPECT_THROW((Catalogue({{"D01", "a", "county_department"}}, {{"F01", "f", "D01", false}},
                            {{"01", "m"}}, {{.code = "0101", .name = "c", .function = "F09"}})),
                 DataError);
}
