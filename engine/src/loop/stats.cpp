// Performance per unit or holder (wangge stats), over the matters as they were at a time.
#include "loop/store_impl.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/state_at.hpp"

#include <algorithm>
#include <array>
#include <deque>
#include <future>
#include <map>
#include <unordered_map>

namespace wangge::loop {

using namespace detail;

std::string_view to_string(StatsBy by) {
    switch (by) {
    case StatsBy::cell:
        return "cell";
    case StatsBy::village:
        return "village";
    case StatsBy::township:
        return "township";
    case StatsBy::department:
        return "department";
    case StatsBy::person:
        return "person";
    }
    return "?";
}

StatsBy stats_by_from(std::string_view text) {
    for (auto by :
         {StatsBy::cell, StatsBy::village, StatsBy::township, StatsBy::department, StatsBy::person})
        if (to_string(by) == text) return by;
    throw InputError("unknown grouping '" + std::string(text) +
                     "' (expected cell, village, township, department or person)");
}

namespace {

// Sums matters per key; shared by compute_stats() and LoopStore::stats().
class StatsAccumulator {
  public:
    StatsAccumulator(LocalTime at, const Calendar& calendar) : m_at(at), m_calendar(calendar) {}

    void add(std::string_view key, State state, bool late, std::optional<LocalTime> due,
             LocalTime reported_at, std::optional<LocalTime> closed_at, int returns, int reworks,
             bool supervised) {
        if (state == State::rejected) return;
        auto it = m_index.find(key);
        if (it == m_index.end()) {
            m_groups.emplace_back();
            m_groups.back().row.key = std::string(key);
            // The map's key views the row's own copy, which never moves (deque).
            it = m_index.emplace(m_groups.back().row.key, m_groups.size() - 1).first;
        }
        Group& g = m_groups[it->second];
        StatsRow& row = g.row;
        ++row.total;
        if (supervised) ++row.supervised;
        row.returns += static_cast<std::size_t>(returns);
        row.reworks += static_cast<std::size_t>(reworks);
        if (state == State::closed) {
            ++row.closed;
            if (!late) ++row.closed_on_time;
            if (closed_at) g.minutes.push_back(m_calendar.working_minutes(reported_at, *closed_at));
        } else {
            const bool overdue = due && m_at > *due;
            if (overdue) ++row.open_overdue;
            if (overdue || late) ++row.open_late;
            if (state == State::backlog) ++row.backlog;
        }
    }

    std::vector<StatsRow> finish() {
        std::vector<StatsRow> out;
        out.reserve(m_groups.size());
        for (auto& g : m_groups) {
            StatsRow& row = g.row;
            const auto ratio = [](std::size_t a, std::size_t b) {
                return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
            };
            row.close_rate = ratio(row.closed, row.total);
            row.on_time_rate = ratio(row.closed_on_time, row.closed + row.open_late);
            if (!g.minutes.empty()) {
                auto& m = g.minutes;
                const auto mid = m.begin() + static_cast<std::ptrdiff_t>(m.size() / 2);
                std::nth_element(m.begin(), mid, m.end());
                double median = static_cast<double>(*mid);
                if (m.size() % 2 == 0)
                    median = (median + static_cast<double>(*std::max_element(m.begin(), mid))) / 2;
                row.median_close_working_minutes = median;
            }
            out.push_back(std::move(row));
        }
        std::sort(out.begin(), out.end(),
                  [](const StatsRow& a, const StatsRow& b) { return a.key < b.key; });
        return out;
    }

  private:
    struct Group {
        StatsRow row;
        std::vector<std::int64_t> minutes;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    LocalTime m_at;
    const Calendar& m_calendar;
    std::deque<Group> m_groups;
    std::unordered_map<std::string_view, std::size_t, Hash, std::equal_to<>> m_index;
};

} // namespace

namespace {

// The row a matter counts in.
std::string_view key_of(const IncidentRecord& r, StatsBy by) {
    const Incident& inc = r.incident;
    switch (by) {
    case StatsBy::cell:
        return r.cell;
    case StatsBy::village:
        return r.village;
    case StatsBy::township:
        return r.township;
    case StatsBy::department:
        return inc.department.empty() ? std::string_view(r.route_department)
                                      : std::string_view(inc.department);
    case StatsBy::person:
        return inc.department.empty() ? std::string_view(r.route_person)
                                      : std::string_view(inc.person);
    }
    return {};
}

void add_record(StatsAccumulator& acc, const IncidentRecord& r, StatsBy by) {
    const Incident& inc = r.incident;
    acc.add(key_of(r, by), inc.state, inc.late, inc.due, inc.report.reported_at, inc.closed_at,
            inc.returns, inc.reworks, inc.supervised);
}

} // namespace

std::vector<StatsRow> compute_stats(std::span<const IncidentRecord> records, StatsBy by,
                                    LocalTime at, const Loop& loop) {
    StatsAccumulator acc(at, loop.calendar());
    for (const auto& r : records)
        add_record(acc, r, by);
    return acc.finish();
}

std::vector<StatsRow> LoopStore::stats(StatsBy by, LocalTime at, const Loop& loop) const {
    std::string key;
    switch (by) {
    case StatsBy::cell:
        key = "cell";
        break;
    case StatsBy::village:
        key = "village";
        break;
    case StatsBy::township:
        key = "township";
        break;
    case StatsBy::department:
        key = "CASE WHEN department <> '' THEN department ELSE route_department END";
        break;
    case StatsBy::person:
        key = "CASE WHEN department <> '' THEN person ELSE route_person END";
        break;
    }
    // The time-travel rule (state_at.hpp): matters reported after `at` do not exist; a stored
    // row not changed after `at` is its state at `at` and is summed here; the few changed
    // later (or moved to another cell by a redraw after `at`) are set aside and replayed up
    // to `at` at the end.
    auto st =
        m_impl->db.prepare("SELECT " + key +
                           ", state, late, due, reported_at, closed_at, returns, reworks, "
                           "updated_at > ?1 OR " +
                           moved_after_sql(m_impl->db) +
                           ", fid, supervised FROM loop_incidents "
                           "WHERE reported_at <= ?1 AND (updated_at > ?1 OR state <> 'rejected')");
    const std::string at_text = format_time(at);
    st.bind(1, std::string_view(at_text));
    std::vector<std::int64_t> changed;
    // One pass in two halves of about equal cost: this thread steps SQLite and copies the
    // columns of a chunk of rows into one flat buffer (no allocation per row); a second
    // thread parses the times and sums the chunk before, so a million matters take about
    // half the time of doing both in turn.
    struct Raw {
        std::uint32_t key = 0, key_len = 0;
        std::uint32_t due = 0, due_len = 0; // len 0: NULL
        std::uint32_t reported = 0, reported_len = 0;
        std::uint32_t closed = 0, closed_len = 0;
        State state = State::reported;
        bool late = false;
        bool supervised = false;
        int returns = 0;
        int reworks = 0;
    };
    struct Chunk {
        std::string text;
        std::vector<Raw> rows;
    };
    constexpr std::size_t chunk_rows = 32768;
    StatsAccumulator acc(at, loop.calendar());
    const auto consume = [&acc](const Chunk& c) {
        const std::string_view text(c.text);
        const auto time = [&text](std::uint32_t off,
                                  std::uint32_t len) -> std::optional<LocalTime> {
            if (len == 0) return std::nullopt;
            return stored_time(text.substr(off, len));
        };
        for (const Raw& r : c.rows)
            acc.add(text.substr(r.key, r.key_len), r.state, r.late, time(r.due, r.due_len),
                    stored_time(text.substr(r.reported, r.reported_len)),
                    time(r.closed, r.closed_len), r.returns, r.reworks, r.supervised);
    };
    const auto copy = [](Chunk& c, std::string_view v, std::uint32_t& off, std::uint32_t& len) {
        off = static_cast<std::uint32_t>(c.text.size());
        len = static_cast<std::uint32_t>(v.size());
        c.text.append(v);
    };
    std::array<Chunk, 2> chunks;
    std::size_t current = 0;
    // Declared after everything the worker uses: on an exception its destructor waits for
    // the worker before those go away.
    std::future<void> pending;
    bool more = true;
    while (more) {
        Chunk& c = chunks[current];
        c.text.clear();
        c.rows.clear();
        while (c.rows.size() < chunk_rows && (more = st.step())) {
            if (st.integer(8) != 0) {
                changed.push_back(st.integer(9));
                continue;
            }
            Raw r;
            copy(c, st.view(0), r.key, r.key_len);
            r.state = state_from(st.view(1));
            r.late = st.integer(2) != 0;
            if (!st.is_null(3)) copy(c, st.view(3), r.due, r.due_len);
            copy(c, st.view(4), r.reported, r.reported_len);
            if (!st.is_null(5)) copy(c, st.view(5), r.closed, r.closed_len);
            r.returns = static_cast<int>(st.integer(6));
            r.reworks = static_cast<int>(st.integer(7));
            r.supervised = st.integer(10) != 0;
            c.rows.push_back(r);
        }
        if (pending.valid()) pending.get();
        if (!c.rows.empty())
            pending = std::async(std::launch::async, [&consume, &c] { consume(c); });
        current ^= 1;
    }
    if (pending.valid()) pending.get();
    Replayer replayer(*this, loop, at);
    for (const auto id : changed)
        if (const auto m = replayer.matter(id)) add_record(acc, m->record, by);
    return acc.finish();
}

namespace {

class StepAccumulator {
  public:
    explicit StepAccumulator(LocalTime at) : m_at(at) {}

    // A handle step as of `at` (the caller drops steps started after it).
    void add(std::string_view key, std::optional<LocalTime> due, std::optional<LocalTime> ended,
             bool returned) {
        auto it = m_rows.find(key);
        if (it == m_rows.end()) it = m_rows.emplace(std::string(key), StepStatsRow{}).first;
        StepStatsRow& row = it->second;
        ++row.steps;
        if (ended && *ended <= m_at) {
            ++row.finished;
            if (due && *ended > *due)
                ++row.finished_late;
            else
                ++row.finished_on_time;
            if (returned) ++row.returned;
        } else {
            ++row.running;
            if (due && m_at > *due) ++row.running_overdue;
        }
    }

    std::vector<StepStatsRow> finish() {
        std::vector<StepStatsRow> out;
        for (auto& [key, row] : m_rows) {
            row.key = key;
            const auto denominator = row.finished + row.running_overdue;
            row.step_on_time_rate = denominator ? static_cast<double>(row.finished_on_time) /
                                                      static_cast<double>(denominator)
                                                : 0.0;
            out.push_back(row);
        }
        return out; // std::map: sorted by key
    }

  private:
    LocalTime m_at;
    std::map<std::string, StepStatsRow, std::less<>> m_rows;
};

void check_step_key(StatsBy by) {
    if (by != StatsBy::department && by != StatsBy::person)
        throw InputError("step statistics are per department or person, not per " +
                         std::string(to_string(by)));
}

} // namespace

std::vector<StepStatsRow> compute_step_stats(std::span<const Step> steps, StatsBy by,
                                             LocalTime at) {
    check_step_key(by);
    StepAccumulator acc(at);
    for (const auto& s : steps)
        if (s.clock == Clock::handle && s.started <= at)
            acc.add(by == StatsBy::department ? s.department : s.person, s.due, s.ended,
                    s.outcome == State::returned);
    return acc.finish();
}

std::vector<StepStatsRow> LoopStore::step_stats(StatsBy by, LocalTime at) const {
    check_step_key(by);
    auto st = m_impl->db.prepare(std::string("SELECT ") +
                                 (by == StatsBy::department ? "department" : "person") +
                                 ", due, ended_at, outcome = 'returned' FROM loop_steps "
                                 "WHERE clock = 'handle' AND started_at <= ?1");
    const std::string at_text = format_time(at);
    st.bind(1, std::string_view(at_text));
    StepAccumulator acc(at);
    while (st.step())
        acc.add(st.view(0), time_from(st, 1), time_from(st, 2), st.integer(3) != 0);
    return acc.finish();
}

} // namespace wangge::loop
