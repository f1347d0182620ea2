// The generated history of the Jishan sample (jishan_history.hpp).
#include "wangge/sample/jishan_history.hpp"

#include "wangge/base/random.hpp"
#include "wangge/error.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace wangge::sample {

using namespace loop;

namespace {

// One matter taken through the loop until `end`.
class Walker {
  public:
    Walker(const ImportContext& context, const HistoryOptions& options, base::SplitMix64& rng,
           IncidentRecord& record, std::vector<Event>& journal)
        : m_loop(context.loop), m_calendar(context.loop.calendar()), m_options(options), m_rng(rng),
          m_record(record), m_journal(journal),
          m_limits(context.loop.catalogue().category_at(record.incident.report.category).limits),
          m_urgent(context.loop.catalogue().category_at(record.incident.report.category).urgency ==
                   Urgency::urgent) {
        // Matters nobody holds go to the territory's department (属地兜底).
        const Catalogue& catalogue = context.loop.catalogue();
        if (const Function* f = catalogue.fallback_function())
            m_default_department = f->department;
        else if (!catalogue.departments().empty())
            m_default_department = catalogue.departments().front().code;
    }

    void run() {
        const LocalTime start = m_record.incident.report.reported_at;
        if (chance(m_options.p_rejected)) {
            go(State::rejected, after(start, 3, 40), "不属于受理范围");
            return;
        }
        if (!m_urgent && chance(m_options.p_self_handled)) {
            if (!go(State::self_handled, after(start, 1, 15))) return;
            verify_and_close();
            return;
        }
        if (!go(State::filed, after(start, 2, 25))) return;
        if (!dispatch()) return;
        if (chance(m_options.p_returned)) {
            if (!go(State::returned, after(now(), 10, 120), "非本部门职责")) return;
            if (!dispatch()) return;
        }
        if (!handle()) return;
        if (chance(m_options.p_rework)) {
            if (!go(State::rework, after(now(), 10, 60), "现场核查未处置到位")) return;
            if (!dispatch() || !handle()) return;
        }
        verify_and_close();
    }

  private:
    bool chance(double p) { return m_rng.chance(p); }
    std::int64_t uniform(std::int64_t lo, std::int64_t hi) { return m_rng.uniform_int(lo, hi); }
    LocalTime after(LocalTime t, std::int64_t lo, std::int64_t hi) {
        return {t.minutes + uniform(lo, hi)};
    }
    LocalTime now() const { return m_record.incident.updated_at; }

    // Applies a transition unless it would happen after `end`.
    bool go(State to, LocalTime at, std::string note = {}, std::string department = {},
            std::string person = {}, std::optional<LocalTime> deadline = {}) {
        at = std::max(at, now());
        if (at > m_options.end) return false;
        // Extensions and the backlog are approved by the centre's deputy director.
        std::string approver =
            to == State::extended || to == State::backlog ? "指挥中心副主任" : "";
        m_journal.push_back(
            m_loop.advance(m_record.incident,
                           {to, at, actor(to), std::move(note), std::move(department),
                            std::move(person), deadline, std::move(approver)},
                           m_limits));
        return true;
    }

    std::string actor(State to) const {
        switch (to) {
        case State::self_handled:
            return m_record.incident.report.reporter;
        case State::in_progress:
        case State::feedback:
        case State::extended:
        case State::backlog:
        case State::returned:
            return m_record.incident.person;
        default:
            return "指挥中心";
        }
    }

    bool dispatch() {
        std::string department =
            m_record.route_department.empty() ? m_default_department : m_record.route_department;
        std::string person = m_record.route_person;
        std::string note;
        // A returned matter goes to the territory's department, or back with a reason.
        if (m_record.incident.state == State::returned &&
            department == m_record.incident.department) {
            if (department != m_default_department && !m_default_department.empty()) {
                department = m_default_department;
                person.clear();
            } else {
                note = "复核后仍属本部门职责";
            }
        }
        return go(State::dispatched, after(now(), 1, 15), std::move(note), std::move(department),
                  std::move(person));
    }

    // in_progress, then feedback (possibly late, extended or parked on the backlog).
    bool handle() {
        const LocalTime dispatched = now();
        const LocalTime due = *m_record.incident.due;
        const auto allowed = m_calendar.elapsed(dispatched, due, m_record.incident.due_unit);
        auto point = [&](double fraction) {
            const auto minutes = static_cast<std::int64_t>(fraction * static_cast<double>(allowed));
            return is_working_time(m_record.incident.due_unit)
                       ? m_calendar.add_working_minutes(dispatched,
                                                        std::max<std::int64_t>(1, minutes))
                       : LocalTime{dispatched.minutes + std::max<std::int64_t>(1, minutes)};
        };
        if (!go(State::in_progress, after(dispatched, 5, 60))) return false;
        if (chance(m_options.p_supervised) && !is_final(m_record.incident.state) &&
            now().minutes + 1 <= m_options.end.minutes)
            m_journal.push_back(m_loop.supervise(m_record.incident, LocalTime{now().minutes + 1},
                                                 "县指挥中心", "督办"));
        if (chance(m_options.p_backlog)) {
            // Parked with an approved review date, as a centre would: the backlog keeps the
            // step's clock unless a review date is set, and a parked matter is reviewed, not
            // due, within the quarter.
            const LocalTime parked = point(0.5);
            const LocalTime review = m_calendar.add(parked, TimeLimit{60, TimeUnit::working_days});
            go(State::backlog, parked, "需协调资金，暂无法处置", {}, {}, review);
            return false;
        }
        if (chance(m_options.p_extended)) {
            const LocalTime new_due = m_calendar.add(due, m_limits.handle);
            if (!go(State::extended, point(0.7), "工程量大，申请延期", {}, {}, new_due))
                return false;
            const auto span = new_due.minutes - now().minutes;
            const auto fraction = m_rng.range(0.1, 0.9);
            return go(State::feedback,
                      LocalTime{now().minutes +
                                static_cast<std::int64_t>(fraction * static_cast<double>(span))});
        }
        const double fraction =
            chance(m_options.p_late) ? m_rng.range(1.05, 2.0) : m_rng.range(0.1, 0.95);
        return go(State::feedback, point(fraction));
    }

    void verify_and_close() {
        const auto allowed =
            m_calendar.elapsed(now(), *m_record.incident.due, m_record.incident.due_unit);
        go(State::closed, after(now(), 5, std::max<std::int64_t>(6, allowed * 6 / 5)));
    }

    const Loop& m_loop;
    const Calendar& m_calendar;
    const HistoryOptions& m_options;
    base::SplitMix64& m_rng;
    IncidentRecord& m_record;
    std::vector<Event>& m_journal;
    const StepLimits& m_limits;
    bool m_urgent;
    std::string m_default_department;
};

// Common matters are reported far more often than emergencies.
double weight(const Category& c) {
    const std::string major = c.major();
    if (major == "01" || major == "04") return 5;
    if (major == "02" || major == "03") return 2;
    if (major == "05") return 0.3;
    return 1;
}

} // namespace

History generate_history(const ImportContext& context, const HistoryOptions& options) {
    const auto& cells = context.grid.cells;
    if (cells.empty()) throw InputError("cannot generate a history for a grid without cells");
    const auto& categories = context.loop.catalogue().categories();
    if (categories.empty()) throw InputError("cannot generate a history without categories");
    // The history's own stream of the seed, as the grid and image take theirs (0x11 .. 0x91).
    base::SplitMix64 rng(base::substream(options.seed, 0xA1));

    std::vector<geo::Box> boxes;
    boxes.reserve(cells.size());
    for (const auto& c : cells) {
        geo::Box b;
        for (const auto& poly : c.geometry.polygons)
            for (const auto& ring : poly.rings)
                for (const auto& p : ring)
                    b.expand(p);
        boxes.push_back(b);
    }
    std::vector<double> weights;
    for (const auto& c : categories)
        weights.push_back(weight(c));
    const base::WeightedPick pick_category(weights);
    // More households, more matters: cells are drawn in proportion to their households
    // (all alike when the grid has no household counts).
    std::vector<double> cell_weights;
    cell_weights.reserve(cells.size());
    bool any_households = false;
    for (const auto& c : cells)
        any_households = any_households || c.households > 0;
    for (const auto& c : cells)
        cell_weights.push_back(
            any_households ? static_cast<double>(std::max<std::int64_t>(c.households, 1)) : 1.0);
    const base::WeightedPick pick_cell(cell_weights);

    // The reports, day by day.
    std::vector<Report> reports;
    const std::int64_t day_minutes = 24 * 60;
    const std::int64_t first_day = (options.end.minutes / day_minutes) - options.days;
    for (std::int64_t day = first_day; day < first_day + options.days; ++day) {
        const LocalTime midnight{day * day_minutes};
        const double mean =
            options.reports_per_day *
            (context.loop.calendar().is_working_day(date_of(midnight)) ? 1.15 : 0.6);
        const std::int64_t count = base::poisson(rng, mean);
        for (std::int64_t i = 0; i < count; ++i) {
            Report r;
            // Mostly in office hours, some in the early morning and evening.
            const std::int64_t minute =
                rng.chance(0.85) ? 8 * 60 + static_cast<std::int64_t>(rng.uniform() * 630)
                                 : 6 * 60 + static_cast<std::int64_t>(rng.uniform() * 960);
            r.at = {midnight.minutes + minute};
            if (r.at >= options.end) continue;
            r.category = categories[pick_category(rng)].code;
            const std::size_t cell = pick_cell(rng);
            const geo::Box& b = boxes[cell];
            for (int attempt = 0; attempt < 20; ++attempt) {
                r.lonlat = {rng.range(b.minx, b.maxx), rng.range(b.miny, b.maxy)};
                if (context.locator.locate(r.lonlat) == static_cast<std::int32_t>(cell)) break;
            }
            r.reporter = "网格员" + cells[cell].code.substr(cells[cell].code.size() >= 4
                                                                ? cells[cell].code.size() - 4
                                                                : 0);
            reports.push_back(std::move(r));
        }
    }
    std::stable_sort(reports.begin(), reports.end(),
                     [](const Report& a, const Report& b) { return a.at < b.at; });

    History history;
    history.records.reserve(reports.size());
    // The history's reports are judged against its own "now", not the machine's clock.
    ImportContext at_end = context;
    at_end.options.now = options.end;
    for (std::size_t i = 0; i < reports.size(); ++i) {
        reports[i].id = options.first_id + static_cast<std::int64_t>(i);
        history.records.push_back(make_record(reports[i], at_end));
        Walker(context, options, rng, history.records.back(), history.journal).run();
    }
    return history;
}

} // namespace wangge::sample
