#include "wangge/loop/catalogue.hpp"

#include "wangge/base/csv.hpp"
#include "wangge/error.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <sstream>

namespace wangge::loop {

namespace {

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Shortest text that reads back to the same value ("5", "0.5").
std::string format_number(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

} // namespace

std::string_view to_string(Urgency urgency) {
    return urgency == Urgency::urgent ? "urgent" : "normal";
}

Urgency urgency_from(std::string_view text) {
    if (text == "normal") return Urgency::normal;
    if (text == "urgent") return Urgency::urgent;
    throw InputError("unknown urgency '" + std::string(text) + "' (expected normal or urgent)");
}

TimeLimit parse_limit(std::string_view text) {
    const auto space = text.find(' ');
    if (space == std::string_view::npos)
        throw InputError("bad time limit '" + std::string(text) +
                         "' (expected e.g. \"5 working_hours\")");
    const std::string_view number = text.substr(0, space);
    std::string_view unit = text.substr(space + 1);
    while (!unit.empty() && unit.front() == ' ')
        unit.remove_prefix(1);
    double value = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc{} || end != number.data() + number.size() || !std::isfinite(value) ||
        value <= 0)
        throw InputError("bad time limit value '" + std::string(number) +
                         "' (expected a positive number)");
    return {value, time_unit_from(unit)};
}

std::string format_limit(const TimeLimit& limit) {
    return format_number(limit.value) + " " + std::string(to_string(limit.unit));
}

Catalogue::Catalogue(std::vector<Department> departments, std::vector<Function> functions,
                     std::vector<MajorCategory> majors, std::vector<Category> categories)
    : m_departments(std::move(departments)), m_functions(std::move(functions)),
      m_majors(std::move(majors)), m_categories(std::move(categories)) {
    index();
}

void Catalogue::index() {
    auto add = [](auto& map, const std::string& code, std::size_t i, const char* what) {
        if (!map.emplace(code, i).second)
            throw DataError(std::string("duplicate ") + what + " code '" + code + "'");
    };
    for (std::size_t i = 0; i < m_departments.size(); ++i)
        add(m_department_index, m_departments[i].code, i, "department");
    int fallbacks = 0;
    for (std::size_t i = 0; i < m_functions.size(); ++i) {
        const auto& f = m_functions[i];
        add(m_function_index, f.code, i, "function");
        if (!department(f.department))
            throw DataError("function '" + f.code + "': unknown department '" + f.department + "'");
        if (f.fallback && ++fallbacks > 1)
            throw DataError("more than one fallback function ('" + f.code + "')");
    }
    for (const auto& m : m_majors)
        if (m.code.size() != 2 || !all_digits(m.code))
            throw DataError("major category code '" + m.code + "' is not 2 digits");
    for (std::size_t i = 0; i < m_categories.size(); ++i) {
        const auto& c = m_categories[i];
        add(m_category_index, c.code, i, "category");
        if (c.code.size() != 4 || !all_digits(c.code))
            throw DataError("category code '" + c.code + "' is not 4 digits");
        if (!major(c.major()))
            throw DataError("category '" + c.code + "': no major class '" + c.major() + "'");
        if (!function(c.function))
            throw DataError("category '" + c.code + "': unknown function '" + c.function + "'");
    }
}

Catalogue Catalogue::load(const std::string& folder) {
    auto catalogue =
        load(folder + "/departments.csv", folder + "/functions.csv", folder + "/categories.csv");
    const std::string urban = folder + "/urban_townships.csv";
    if (std::filesystem::exists(urban))
        catalogue.set_urban_townships(read_urban_townships(base::CsvTable::read(urban)));
    return catalogue;
}

std::set<std::string> Catalogue::read_urban_townships(const base::CsvTable& table) {
    const auto code = table.column("code");
    std::set<std::string> out;
    for (const auto& row : table.rows()) {
        auto v = table.field(row, code);
        if (v.empty()) throw table.error(row, "empty code", "code");
        out.insert(std::move(v));
    }
    return out;
}

Catalogue Catalogue::load(const std::string& departments_csv, const std::string& functions_csv,
                          const std::string& categories_csv) {
    return from_tables([&](int i) {
        return base::CsvTable::read(i == 0   ? departments_csv
                                    : i == 1 ? functions_csv
                                             : categories_csv);
    });
}

Catalogue Catalogue::parse(std::string_view departments_csv, std::string_view functions_csv,
                           std::string_view categories_csv, const std::string& name) {
    return from_tables([&](int i) {
        return i == 0   ? base::CsvTable::parse(departments_csv, name + "/departments.csv")
               : i == 1 ? base::CsvTable::parse(functions_csv, name + "/functions.csv")
                        : base::CsvTable::parse(categories_csv, name + "/categories.csv");
    });
}

Catalogue Catalogue::from_tables(const std::function<base::CsvTable(int)>& table) {
    using base::CsvTable;
    std::vector<Department> departments;
    std::vector<Function> functions;
    std::vector<MajorCategory> majors;
    std::vector<Category> categories;

    auto require = [](const CsvTable& t, const base::CsvRow& row, std::size_t col,
                      const char* name) {
        std::string v = t.field(row, col);
        if (v.empty()) throw t.error(row, std::string("empty ") + name, name);
        return v;
    };

    {
        const auto t = table(0);
        const auto code = t.column("code"), name = t.column("name"), kind = t.column("kind");
        std::unordered_map<std::string, std::int64_t> seen;
        for (const auto& row : t.rows()) {
            Department d{require(t, row, code, "code"), require(t, row, name, "name"),
                         require(t, row, kind, "kind")};
            if (d.kind != "county_department" && d.kind != "township_government" &&
                d.kind != "enterprise")
                throw t.error(row,
                              "unknown kind '" + d.kind +
                                  "' (expected county_department, township_government or "
                                  "enterprise)",
                              "kind");
            if (const auto [it, fresh] = seen.emplace(d.code, row.line); !fresh)
                throw t.error(row,
                              "duplicate department code '" + d.code + "' (first on line " +
                                  std::to_string(it->second) + ")",
                              "code");
            departments.push_back(std::move(d));
        }
    }
    {
        const auto t = table(1);
        const auto code = t.column("code"), name = t.column("name"), dept = t.column("department");
        const auto fallback = t.optional_column("fallback");
        std::unordered_map<std::string, std::int64_t> seen;
        std::string fallback_code;
        for (const auto& row : t.rows()) {
            Function f{require(t, row, code, "code"), require(t, row, name, "name"),
                       require(t, row, dept, "department"), false};
            if (fallback) {
                const auto flag = t.field(row, *fallback);
                if (flag != "" && flag != "yes" && flag != "no")
                    throw t.error(row, "fallback must be yes, no or empty", "fallback");
                f.fallback = flag == "yes";
            }
            if (std::none_of(departments.begin(), departments.end(),
                             [&](const Department& d) { return d.code == f.department; }))
                throw t.error(row, "unknown department '" + f.department + "'", "department");
            if (const auto [it, fresh] = seen.emplace(f.code, row.line); !fresh)
                throw t.error(row,
                              "duplicate function code '" + f.code + "' (first on line " +
                                  std::to_string(it->second) + ")",
                              "code");
            functions.push_back(std::move(f));
            if (functions.back().fallback) {
                if (!fallback_code.empty())
                    throw t.error(
                        row, "a second fallback function (the first is '" + fallback_code + "')",
                        "fallback");
                fallback_code = functions.back().code;
            }
        }
    }
    {
        const auto t = table(2);
        const auto code = t.column("code"), name = t.column("name"), fn = t.column("function"),
                   urgency = t.column("urgency"), dispatch = t.column("dispatch"),
                   handle = t.column("handle"), verify_urban = t.column("verify_urban"),
                   verify_rural = t.column("verify_rural");
        const auto filing = t.optional_column("filing_condition");
        const auto closing = t.optional_column("closing_condition");
        std::unordered_map<std::string, std::int64_t> seen;
        for (const auto& row : t.rows()) {
            const auto c = require(t, row, code, "code");
            if (const auto [it, fresh] = seen.emplace(c, row.line); !fresh)
                throw t.error(row,
                              "duplicate category code '" + c + "' (first on line " +
                                  std::to_string(it->second) + ")",
                              "code");
            if (!all_digits(c) || (c.size() != 2 && c.size() != 4))
                throw t.error(row,
                              "code '" + c +
                                  "' is neither a 2-digit major nor a 4-digit "
                                  "category",
                              "code");
            if (c.size() == 2) {
                majors.push_back({c, require(t, row, name, "name")});
                continue;
            }
            Category cat;
            cat.code = c;
            cat.name = require(t, row, name, "name");
            if (std::none_of(majors.begin(), majors.end(),
                             [&](const MajorCategory& m) { return m.code == cat.major(); }))
                throw t.error(row, "no major class '" + cat.major() + "' above this row", "code");
            cat.function = require(t, row, fn, "function");
            if (std::none_of(functions.begin(), functions.end(),
                             [&](const Function& f) { return f.code == cat.function; }))
                throw t.error(row, "unknown function '" + cat.function + "'", "function");
            const auto parse = [&](std::size_t col, const char* col_name, auto&& fn_parse) {
                try {
                    return fn_parse(require(t, row, col, col_name));
                } catch (const InputError& e) {
                    if (e.context().line) throw;
                    throw t.error(row, e.message(), col_name);
                }
            };
            cat.urgency =
                parse(urgency, "urgency", [](const std::string& s) { return urgency_from(s); });
            const auto limit = [](const std::string& s) { return parse_limit(s); };
            cat.limits.dispatch = parse(dispatch, "dispatch", limit);
            cat.limits.handle = parse(handle, "handle", limit);
            cat.limits.verify_urban = parse(verify_urban, "verify_urban", limit);
            cat.limits.verify_rural = parse(verify_rural, "verify_rural", limit);
            if (filing) cat.filing_condition = t.field(row, *filing);
            if (closing) cat.closing_condition = t.field(row, *closing);
            categories.push_back(std::move(cat));
        }
    }
    return Catalogue(std::move(departments), std::move(functions), std::move(majors),
                     std::move(categories));
}

const Department* Catalogue::department(std::string_view code) const {
    const auto it = m_department_index.find(std::string(code));
    return it == m_department_index.end() ? nullptr : &m_departments[it->second];
}

const Function* Catalogue::function(std::string_view code) const {
    const auto it = m_function_index.find(std::string(code));
    return it == m_function_index.end() ? nullptr : &m_functions[it->second];
}

const Category* Catalogue::category(std::string_view code) const {
    const auto it = m_category_index.find(std::string(code));
    return it == m_category_index.end() ? nullptr : &m_categories[it->second];
}

const MajorCategory* Catalogue::major(std::string_view code) const {
    const auto it = std::find_if(m_majors.begin(), m_majors.end(),
                                 [&](const MajorCategory& m) { return m.code == code; });
    return it == m_majors.end() ? nullptr : &*it;
}

const Category& Catalogue::category_at(std::string_view code) const {
    const auto* c = category(code);
    if (!c) throw DataError("unknown incident category '" + std::string(code) + "'");
    return *c;
}

const Function* Catalogue::fallback_function() const {
    const auto it = std::find_if(m_functions.begin(), m_functions.end(),
                                 [](const Function& f) { return f.fallback; });
    return it == m_functions.end() ? nullptr : &*it;
}

} // namespace wangge::loop
