// Performance per unit or holder (wangge stats), over the matters as they were at a time.
#include "loop/store_impl.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/state_at.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <thread>
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

    // Adds the sums of another accumulator of the same time.
    void merge(StatsAccumulator&& other) {
        for (auto& g : other.m_groups) {
            auto it = m_index.find(std::string_view(g.row.key));
            if (it == m_index.end()) {
                m_groups.push_back(std::move(g));
                it = m_index.emplace(m_groups.back().row.key, m_groups.size() - 1).first;
                continue;
            }
            Group& mine = m_groups[it->second];
            StatsRow& a = mine.row;
            const StatsRow& b = g.row;
            a.total += b.total;
            a.closed += b.closed;
            a.closed_on_time += b.closed_on_time;
            a.open_overdue += b.open_overdue;
            a.open_late += b.open_late;
            a.backlog += b.backlog;
            a.supervised += b.supervised;
            a.returns += b.returns;
            a.reworks += b.reworks;
            mine.minutes.insert(mine.minutes.end(), g.minutes.begin(), g.minutes.end());
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

// A second read-only connection to the store's file that shares the snapshot `db` holds (a
// read transaction that has read): it begins its own read at once, without waiting, which
// succeeds only while no writer is committing. nullopt when it cannot.
std::optional<Connection> second_reader(const Connection& db) {
    try {
        Connection c(db.path(), true);
        sqlite3_busy_handler(c.get(), nullptr, nullptr); // fail at once rather than wait
        c.exec("PRAGMA mmap_size = 1073741824");         // as the store's (LoopStore::open)
        c.exec("BEGIN");
        auto first = c.prepare("SELECT 1 FROM loop_incidents LIMIT 1");
        (void)first.step();
        return c; // the transaction stays open until the connection closes
    } catch (const StoreError&) {
        return std::nullopt;
    }
}

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
    // later (or moved to another cell by a redraw after `at`) are replayed up to `at` at the
    // end (for_each_changed_matter_at), from the same snapshot. Most matters pass, so the
    // table is read in order rather than through an index (NOT INDEXED).
    const Connection& db = m_impl->db;
    const ReadTransaction snapshot(db);
    const std::string moved = moved_after_sql(db);
    const std::string sql = "SELECT " + key +
                            ", state, late, due, reported_at, closed_at, returns, reworks, "
                            "supervised FROM loop_incidents NOT INDEXED WHERE fid >= ?2 AND "
                            "fid < ?3 AND reported_at <= ?1 AND updated_at <= ?1 AND "
                            "state <> 'rejected'" +
                            (moved.empty() ? std::string() : " AND NOT " + moved);
    const std::string at_text = format_time(at);
    // Sums the stored rows with ids in [from, to) read through `conn`.
    const auto sum = [&](const Connection& conn, StatsAccumulator& acc, std::int64_t from,
                         std::int64_t to) {
        auto st = conn.prepare(sql);
        st.bind(1, std::string_view(at_text)).bind(2, from).bind(3, to);
        while (st.step()) {
            // Only the times the accumulator uses are parsed: the deadline of an open matter,
            // the report and close of a closed one.
            const State state = state_from(st.view(1));
            const bool closed = state == State::closed;
            acc.add(st.view(0), state, st.integer(2) != 0, closed ? std::nullopt : time_from(st, 3),
                    closed ? stored_time(st.view(4)) : LocalTime{},
                    closed ? time_from(st, 5) : std::nullopt, static_cast<int>(st.integer(6)),
                    static_cast<int>(st.integer(7)), st.integer(8) != 0);
        }
    };
    // The first read takes the snapshot (and, outside WAL mode, the file's shared lock).
    auto range = db.prepare("SELECT min(fid), max(fid) FROM loop_incidents");
    range.step();
    const std::int64_t first = range.integer(0), last = range.integer(1) + 1;
    range.reset();
    StatsAccumulator acc(at, loop.calendar());
    const auto replay = [&](const Connection& conn, StatsAccumulator& into, std::int64_t from,
                            std::int64_t to) {
        for_each_changed_matter_at(conn, loop, at, from, to,
                                   [&](MatterAt&& m) { add_record(into, m.record, by); });
    };
    // Reading SQLite rows and replaying journals is most of the cost: a second connection on
    // another thread shares the work. It must see the same snapshot, which the shared lock
    // held above guarantees in SQLite's rollback mode; in WAL mode, or when a writer is about
    // to commit, it could not, so one thread reads everything.
    std::optional<Connection> second;
    if (last - first > 100000 && std::thread::hardware_concurrency() > 1) {
        auto mode = db.prepare("PRAGMA journal_mode");
        if (mode.step() && mode.view(0) != "wal") second = second_reader(db);
    }
    if (!second) {
        sum(db, acc, first, last);
        replay(db, acc, first, last);
        return acc.finish();
    }
    // Each thread first replays half of the changed matters (split by count: they cluster at
    // the newest ids), then both take the stored rows in 32 id ranges in turn, so they finish
    // together.
    auto median = db.prepare("SELECT fid FROM loop_incidents WHERE updated_at > ?1 AND "
                             "reported_at <= ?1 ORDER BY fid LIMIT 1 OFFSET (SELECT count(*) / 2 "
                             "FROM loop_incidents WHERE updated_at > ?1 AND reported_at <= ?1)");
    median.bind(1, std::string_view(at_text));
    const std::int64_t middle = median.step() ? median.integer(0) : last;
    median.reset();
    constexpr int ranges = 32;
    std::atomic<int> next{0};
    const auto bound = [&](int i) { return first + (last - first) * i / ranges; };
    const auto take = [&](const Connection& conn, StatsAccumulator& into) {
        for (int i = next++; i < ranges; i = next++)
            sum(conn, into, bound(i), bound(i + 1));
    };
    StatsAccumulator other(at, loop.calendar());
    auto pending = std::async(std::launch::async, [&] {
        replay(*second, other, middle, last);
        take(*second, other);
    });
    // The worker is waited for before `other` and `second` go away, also on an error here.
    try {
        replay(db, acc, first, middle);
        take(db, acc);
    } catch (...) {
        next = ranges;
        pending.wait();
        throw;
    }
    pending.get();
    acc.merge(std::move(other));
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
