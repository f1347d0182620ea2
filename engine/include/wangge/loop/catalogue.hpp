// The catalogue of the closed loop: departments, the functions they hold, and incident
// categories with their responsible function, urgency and time limit per step.
//
// Files (CSV, UTF-8, header row, editable in a spreadsheet; '#' lines are comments):
//   departments.csv  code,name,kind
//                    kind: county_department | township_government | enterprise
//   functions.csv    code,name,department,fallback
//                    fallback "yes" marks the one territorial function (属地兜底) that
//                    takes matters with no other holder
//   categories.csv   code,name,function,urgency,dispatch,handle,verify_urban,verify_rural,
//                    filing_condition,closing_condition
//                    2-digit rows name a major class (other columns empty); 4-digit rows are
//                    categories whose first two digits must be a major listed before.
//                    Limits are "<value> <unit>", unit one of working_hours, working_days,
//                    natural_hours, natural_minutes (e.g. "5 working_hours").
// Errors name the file and line (unknown function or department, bad unit, duplicate code).
//
// Thread safety: a loaded Catalogue is immutable; const members are safe from any thread.
#pragma once

#include "wangge/base/csv.hpp"
#include "wangge/loop/calendar.hpp"

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wangge::loop {

enum class Urgency { normal, urgent };
[[nodiscard]] std::string_view to_string(Urgency urgency);
[[nodiscard]] Urgency urgency_from(std::string_view text); // throws InputError

struct Department {
    std::string code;
    std::string name;
    std::string kind;
    friend bool operator==(const Department&, const Department&) = default;
};

struct Function {
    std::string code;
    std::string name;
    std::string department; // code of the department that owns it
    bool fallback = false;
    friend bool operator==(const Function&, const Function&) = default;
};

struct MajorCategory {
    std::string code; // 2 digits
    std::string name;
    friend bool operator==(const MajorCategory&, const MajorCategory&) = default;
};

// Time limits of the steps of the loop, each counted from the step's start:
// dispatch: report -> filed and dispatched; handle: dispatch -> feedback;
// verify: feedback (or self-handling) -> closed, in town or in the countryside.
struct StepLimits {
    TimeLimit dispatch{30, TimeUnit::natural_minutes};
    TimeLimit handle{1, TimeUnit::working_days};
    TimeLimit verify_urban{1, TimeUnit::natural_hours};
    TimeLimit verify_rural{2, TimeUnit::natural_hours};
    friend bool operator==(const StepLimits&, const StepLimits&) = default;
};

struct Category {
    std::string code; // 4 digits: major + minor
    std::string name;
    std::string function;
    Urgency urgency = Urgency::normal;
    StepLimits limits;
    std::string filing_condition;
    std::string closing_condition;
    [[nodiscard]] std::string major() const { return code.substr(0, 2); }
    friend bool operator==(const Category&, const Category&) = default;
};

// "5 working_hours" -> {5, working_hours}; throws InputError.
[[nodiscard]] TimeLimit parse_limit(std::string_view text);
[[nodiscard]] std::string format_limit(const TimeLimit& limit);

class Catalogue {
  public:
    Catalogue() = default;
    // Checks the references between the tables; throws DataError.
    Catalogue(std::vector<Department> departments, std::vector<Function> functions,
              std::vector<MajorCategory> majors, std::vector<Category> categories);

    // Loads departments.csv, functions.csv and categories.csv from a folder.
    static Catalogue load(const std::string& folder);
    static Catalogue load(const std::string& departments_csv, const std::string& functions_csv,
                          const std::string& categories_csv);
    // The same tables as text (UTF-8); errors name `name`/departments.csv and so on.
    static Catalogue parse(std::string_view departments_csv, std::string_view functions_csv,
                           std::string_view categories_csv, const std::string& name);

    // The township-level units counted as town (城区: the verify_urban limits apply); all
    // others are countryside. load(folder) reads them from the folder's optional
    // urban_townships.csv (a `code` column); without it there are none.
    [[nodiscard]] const std::set<std::string>& urban_townships() const noexcept {
        return m_urban_townships;
    }
    void set_urban_townships(std::set<std::string> codes) { m_urban_townships = std::move(codes); }
    // The codes of an urban_townships.csv table; throws InputError naming file and line.
    [[nodiscard]] static std::set<std::string> read_urban_townships(const base::CsvTable& table);

    [[nodiscard]] const std::vector<Department>& departments() const noexcept {
        return m_departments;
    }
    [[nodiscard]] const std::vector<Function>& functions() const noexcept { return m_functions; }
    [[nodiscard]] const std::vector<MajorCategory>& majors() const noexcept { return m_majors; }
    [[nodiscard]] const std::vector<Category>& categories() const noexcept { return m_categories; }

    // nullptr when unknown.
    [[nodiscard]] const Department* department(std::string_view code) const;
    [[nodiscard]] const Function* function(std::string_view code) const;
    [[nodiscard]] const Category* category(std::string_view code) const;
    [[nodiscard]] const MajorCategory* major(std::string_view code) const;
    // Throw DataError naming the code when unknown.
    [[nodiscard]] const Category& category_at(std::string_view code) const;
    // The territorial fallback function (属地兜底), or nullptr.
    [[nodiscard]] const Function* fallback_function() const;

  private:
    // Reads the tables in order (0 departments, 1 functions, 2 categories), each only when
    // the ones before passed, so the first error found is the one reported.
    static Catalogue from_tables(const std::function<base::CsvTable(int)>& table);
    void index();
    std::set<std::string> m_urban_townships;
    std::vector<Department> m_departments;
    std::vector<Function> m_functions;
    std::vector<MajorCategory> m_majors;
    std::vector<Category> m_categories;
    std::unordered_map<std::string, std::size_t> m_department_index;
    std::unordered_map<std::string, std::size_t> m_function_index;
    std::unordered_map<std::string, std::size_t> m_category_index;
};

} // namespace wangge::loop
