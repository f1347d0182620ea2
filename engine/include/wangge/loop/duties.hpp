// Duties: who holds a function where. Each function is held for a cell by a department
// and a person; a duty is assigned at county, township, village or cell level and is
// inherited downwards, the most specific valid holder winning (cell > village > township >
// county). Among several valid duties at the same level the one with the latest valid_from
// wins (then the later one in the table); check() reports such conflicts.
//
// Routing a matter: category -> function -> the holder of that function for the cell; when
// nobody holds it, the holder of the catalogue's territorial fallback function (属地兜底).
//
// File (CSV, UTF-8, header row, '#' comments):
//   function,level,unit,department,person,valid_from,valid_to
//   level: county | township | village | cell; unit: the code of the county, township,
//   village or cell; valid_from / valid_to: YYYY-MM-DD, inclusive, empty = open-ended.
// Errors name file and line (unknown function or department, bad level or date).
//
// Thread safety: a built DutyTable is immutable; const members are safe from any thread.
// Pointers it returns point into the table and live as long as it.
#pragma once

#include "wangge/grid/grid.hpp"
#include "wangge/loop/catalogue.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wangge::loop {

enum class DutyLevel { county, township, village, cell };
[[nodiscard]] std::string_view to_string(DutyLevel level);
[[nodiscard]] DutyLevel duty_level_from(std::string_view text); // throws InputError

struct Duty {
    std::string function;
    DutyLevel level = DutyLevel::county;
    std::string unit;
    std::string department;
    std::string person;
    std::optional<std::chrono::year_month_day> valid_from;
    std::optional<std::chrono::year_month_day> valid_to;
    std::int64_t line = 0; // the line it was read from, 0 when not from a file

    [[nodiscard]] bool valid_on(std::chrono::year_month_day date) const;
    friend bool operator==(const Duty&, const Duty&) = default;
};

// Where a matter goes.
struct Route {
    const Duty* duty = nullptr; // nullptr: nobody, not even the territory, holds it
    bool fallback = false;      // routed to the territorial function
};

struct DutyGap {
    std::string cell;
    std::string function;
    friend bool operator==(const DutyGap&, const DutyGap&) = default;
};

// Two duties for the same function and unit whose validity periods overlap; `from` and `to`
// bound the overlap (to unset: open-ended).
struct DutyConflict {
    const Duty* first = nullptr; // the earlier row of the table
    const Duty* second = nullptr;
    std::chrono::year_month_day from;
    std::optional<std::chrono::year_month_day> to;
};

// A table with history passes: an expired duty handed over to a successor (another duty
// for the same function and unit valid on the day after it ends) is superseded, not a
// problem; overlaps are found wherever they are, not only on the checked day.
struct DutyCheck {
    std::vector<DutyGap> gaps;             // (cell, function) with no valid holder
    std::vector<const Duty*> expired;      // valid_to before the date, no successor
    std::vector<const Duty*> superseded;   // valid_to before the date, handed over (no problem)
    std::vector<const Duty*> not_yet;      // valid_from after the date (no problem)
    std::vector<const Duty*> orphaned;     // unit not in the grid (e.g. after a redraw)
    std::vector<DutyConflict> conflicting; // overlapping periods, both rows named
    // Given to a department that does not own the function (functions.csv).
    std::vector<const Duty*> foreign;
    [[nodiscard]] bool ok() const noexcept {
        return gaps.empty() && expired.empty() && orphaned.empty() && conflicting.empty() &&
               foreign.empty();
    }
};

class DutyTable {
  public:
    DutyTable() = default;
    // Checks functions and departments against the catalogue; throws DataError.
    DutyTable(std::vector<Duty> duties, const Catalogue& catalogue);

    static DutyTable load(const std::string& path, const Catalogue& catalogue);
    // The same table as text (UTF-8); errors name `name` as the file.
    static DutyTable parse(std::string_view csv, const std::string& name,
                           const Catalogue& catalogue);

    [[nodiscard]] const std::vector<Duty>& duties() const noexcept { return m_duties; }

    // The most specific duty valid on `date` for the function in the cell, or nullptr.
    [[nodiscard]] const Duty* holder(const grid::Cell& cell, std::string_view function,
                                     std::chrono::year_month_day date) const;
    // The holder of the category's function, else of the territorial fallback function.
    [[nodiscard]] Route route(const grid::Cell& cell, const Category& category,
                              const Catalogue& catalogue, std::chrono::year_month_day date) const;

    // Every (cell, function) of the catalogue with no holder on `date`; every duty that is
    // no longer valid (and not handed over) or not yet valid, points at a unit the grid does
    // not have, overlaps another for the same function and unit, or is given to a department
    // that does not own its function.
    [[nodiscard]] DutyCheck check(const grid::Grid& grid, const Catalogue& catalogue,
                                  std::chrono::year_month_day date) const;

  private:
    static DutyTable from_table(const base::CsvTable& table, const Catalogue& catalogue);
    void index();
    // Transparent, so lookups need not allocate a key string.
    struct KeyHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::vector<Duty> m_duties;
    // "function|level|unit" -> indices into m_duties
    std::unordered_map<std::string, std::vector<std::size_t>, KeyHash, std::equal_to<>> m_index;
};

} // namespace wangge::loop
