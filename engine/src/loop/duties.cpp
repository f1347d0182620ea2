#include "wangge/loop/duties.hpp"

#include "wangge/base/csv.hpp"
#include "wangge/error.hpp"

#include <algorithm>
#include <set>
#include <span>

namespace wangge::loop {

namespace chr = std::chrono;

namespace {

std::string key(std::string_view function, DutyLevel level, std::string_view unit) {
    std::string k;
    k.reserve(function.size() + unit.size() + 4);
    k += function;
    k += '|';
    k += static_cast<char>('0' + static_cast<int>(level));
    k += '|';
    k += unit;
    return k;
}

// The same key in a caller's buffer, for lookups on the hot path of routing; empty when it
// does not fit (the caller then falls back to key()).
std::string_view key_in(std::span<char> buffer, std::string_view function, DutyLevel level,
                        std::string_view unit) {
    const std::size_t size = function.size() + unit.size() + 4;
    if (size > buffer.size()) return {};
    char* p = buffer.data();
    p = std::copy(function.begin(), function.end(), p);
    *p++ = '|';
    *p++ = static_cast<char>('0' + static_cast<int>(level));
    *p++ = '|';
    p = std::copy(unit.begin(), unit.end(), p);
    return {buffer.data(), static_cast<std::size_t>(p - buffer.data())};
}

std::string_view unit_of(const grid::Cell& cell, DutyLevel level) {
    switch (level) {
    case DutyLevel::cell:
        return cell.code;
    case DutyLevel::village:
        return cell.village_code;
    case DutyLevel::township:
        return cell.township_code;
    case DutyLevel::county:
        return cell.county_code;
    }
    return {};
}

constexpr std::array<DutyLevel, 4> most_specific_first{DutyLevel::cell, DutyLevel::village,
                                                       DutyLevel::township, DutyLevel::county};

std::string describe(const Duty& d) {
    return "duty " + d.function + " at " + std::string(to_string(d.level)) + " " + d.unit;
}

} // namespace

std::string_view to_string(DutyLevel level) {
    switch (level) {
    case DutyLevel::county:
        return "county";
    case DutyLevel::township:
        return "township";
    case DutyLevel::village:
        return "village";
    case DutyLevel::cell:
        return "cell";
    }
    return "?";
}

DutyLevel duty_level_from(std::string_view text) {
    for (const auto l : most_specific_first)
        if (to_string(l) == text) return l;
    throw InputError("unknown duty level '" + std::string(text) +
                     "' (expected county, township, village or cell)");
}

bool Duty::valid_on(chr::year_month_day date) const {
    if (valid_from && chr::sys_days(date) < chr::sys_days(*valid_from)) return false;
    if (valid_to && chr::sys_days(date) > chr::sys_days(*valid_to)) return false;
    return true;
}

DutyTable::DutyTable(std::vector<Duty> duties, const Catalogue& catalogue)
    : m_duties(std::move(duties)) {
    for (const auto& d : m_duties) {
        if (!catalogue.function(d.function))
            throw DataError(describe(d) + ": unknown function '" + d.function + "'");
        if (!catalogue.department(d.department))
            throw DataError(describe(d) + ": unknown department '" + d.department + "'");
        if (d.valid_from && d.valid_to && chr::sys_days(*d.valid_to) < chr::sys_days(*d.valid_from))
            throw DataError(describe(d) + ": valid_to is before valid_from");
    }
    index();
}

void DutyTable::index() {
    m_index.clear();
    for (std::size_t i = 0; i < m_duties.size(); ++i)
        m_index[key(m_duties[i].function, m_duties[i].level, m_duties[i].unit)].push_back(i);
}

DutyTable DutyTable::load(const std::string& path, const Catalogue& catalogue) {
    return from_table(base::CsvTable::read(path), catalogue);
}

DutyTable DutyTable::parse(std::string_view csv, const std::string& name,
                           const Catalogue& catalogue) {
    return from_table(base::CsvTable::parse(csv, name), catalogue);
}

DutyTable DutyTable::from_table(const base::CsvTable& t, const Catalogue& catalogue) {
    const auto function = t.column("function"), level = t.column("level"), unit = t.column("unit"),
               department = t.column("department"), person = t.column("person"),
               valid_from = t.column("valid_from"), valid_to = t.column("valid_to");
    std::vector<Duty> duties;
    for (const auto& row : t.rows()) {
        auto required = [&](std::size_t col, const char* name) {
            auto v = t.field(row, col);
            if (v.empty()) throw t.error(row, std::string("empty ") + name, name);
            return v;
        };
        auto date = [&](std::size_t col, const char* name) -> std::optional<chr::year_month_day> {
            const auto v = t.field(row, col);
            if (v.empty()) return std::nullopt;
            try {
                return parse_date(v);
            } catch (const InputError& e) {
                throw t.error(row, e.message(), name);
            }
        };
        Duty d;
        d.line = row.line;
        d.function = required(function, "function");
        if (!catalogue.function(d.function))
            throw t.error(row, "unknown function '" + d.function + "'", "function");
        try {
            d.level = duty_level_from(required(level, "level"));
        } catch (const InputError& e) {
            if (e.context().line) throw;
            throw t.error(row, e.message(), "level");
        }
        d.unit = required(unit, "unit");
        d.department = required(department, "department");
        if (!catalogue.department(d.department))
            throw t.error(row, "unknown department '" + d.department + "'", "department");
        d.person = t.field(row, person);
        d.valid_from = date(valid_from, "valid_from");
        d.valid_to = date(valid_to, "valid_to");
        if (d.valid_from && d.valid_to && chr::sys_days(*d.valid_to) < chr::sys_days(*d.valid_from))
            throw t.error(row, "valid_to is before valid_from", "valid_to");
        duties.push_back(std::move(d));
    }
    return DutyTable(std::move(duties), catalogue);
}

const Duty* DutyTable::holder(const grid::Cell& cell, std::string_view function,
                              chr::year_month_day date) const {
    for (const auto level : most_specific_first) {
        const auto unit = unit_of(cell, level);
        if (unit.empty()) continue;
        std::array<char, 96> buffer;
        const std::string_view fast = key_in(buffer, function, level, unit);
        const auto it =
            fast.empty() ? m_index.find(key(function, level, unit)) : m_index.find(fast);
        if (it == m_index.end()) continue;
        const Duty* best = nullptr;
        for (const auto i : it->second) {
            const Duty& d = m_duties[i];
            if (!d.valid_on(date)) continue;
            // The newest assignment wins; an open start counts as the oldest.
            if (!best || !best->valid_from ||
                (d.valid_from && chr::sys_days(*d.valid_from) >= chr::sys_days(*best->valid_from)))
                best = &d;
        }
        if (best) return best;
    }
    return nullptr;
}

Route DutyTable::route(const grid::Cell& cell, const Category& category, const Catalogue& catalogue,
                       chr::year_month_day date) const {
    if (const Duty* d = holder(cell, category.function, date)) return {d, false};
    if (const Function* f = catalogue.fallback_function())
        if (const Duty* d = holder(cell, f->code, date)) return {d, true};
    return {};
}

DutyCheck DutyTable::check(const grid::Grid& grid, const Catalogue& catalogue,
                           chr::year_month_day date) const {
    DutyCheck out;
    for (const auto& cell : grid.cells)
        for (const auto& f : catalogue.functions())
            if (!holder(cell, f.code, date)) out.gaps.push_back({cell.code, f.code});

    std::set<std::string> cells, villages, townships, counties;
    for (const auto& c : grid.cells) {
        cells.insert(c.code);
        villages.insert(c.village_code);
        townships.insert(c.township_code);
        counties.insert(c.county_code);
    }
    for (const auto& u : grid.units) {
        if (u.level == grid::UnitLevel::county) counties.insert(u.code);
        if (u.level == grid::UnitLevel::township) townships.insert(u.code);
        if (u.level == grid::UnitLevel::village) villages.insert(u.code);
    }
    const chr::sys_days day(date);
    // Open ends as the extremes of the range, so overlaps are plain comparisons.
    const auto start = [](const Duty& d) {
        return d.valid_from ? chr::sys_days(*d.valid_from) : chr::sys_days::min();
    };
    const auto end = [](const Duty& d) {
        return d.valid_to ? chr::sys_days(*d.valid_to) : chr::sys_days::max();
    };
    for (const auto& [k, indices] : m_index) {
        for (std::size_t a = 0; a < indices.size(); ++a) {
            const Duty& d = m_duties[indices[a]];
            if (d.valid_from && chr::sys_days(*d.valid_from) > day) out.not_yet.push_back(&d);
            if (d.valid_to && chr::sys_days(*d.valid_to) < day) {
                // Handed over: another duty holds the unit on the day after this one ends.
                const auto next = chr::year_month_day(chr::sys_days(*d.valid_to) + chr::days(1));
                const bool handed_over =
                    std::any_of(indices.begin(), indices.end(), [&](std::size_t j) {
                        return j != indices[a] && m_duties[j].valid_on(next);
                    });
                (handed_over ? out.superseded : out.expired).push_back(&d);
            }
            for (std::size_t b = a + 1; b < indices.size(); ++b) {
                const Duty& e = m_duties[indices[b]];
                const auto from = std::max(start(d), start(e));
                const auto to = std::min(end(d), end(e));
                if (from > to) continue;
                DutyConflict c{&d, &e, {}, {}};
                // An overlap with no start on either side starts when the table says nothing
                // earlier: report it from the later start (or the open start as 0001-01-01).
                c.from = from == chr::sys_days::min()
                             ? chr::year_month_day{chr::year(1), chr::January, chr::day(1)}
                             : chr::year_month_day(from);
                if (to != chr::sys_days::max()) c.to = chr::year_month_day(to);
                out.conflicting.push_back(c);
            }
        }
        const Duty& first = m_duties[indices.front()];
        const auto& known = first.level == DutyLevel::cell       ? cells
                            : first.level == DutyLevel::village  ? villages
                            : first.level == DutyLevel::township ? townships
                                                                 : counties;
        if (!known.count(first.unit))
            for (const auto i : indices)
                out.orphaned.push_back(&m_duties[i]);
    }
    for (const auto& d : m_duties) {
        const Function* f = catalogue.function(d.function);
        if (f && f->department != d.department) out.foreign.push_back(&d);
    }
    // Table order, so reports are stable.
    const auto by_position = [](const Duty* a, const Duty* b) { return a < b; };
    for (auto* list : {&out.expired, &out.superseded, &out.not_yet, &out.orphaned, &out.foreign})
        std::sort(list->begin(), list->end(), by_position);
    std::sort(out.conflicting.begin(), out.conflicting.end(),
              [](const DutyConflict& a, const DutyConflict& b) {
                  return std::pair(a.first, a.second) < std::pair(b.first, b.second);
              });
    return out;
}

} // namespace wangge::loop
