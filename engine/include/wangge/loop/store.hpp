// The loop's tables in the workspace GeoPackage, written with SQLite directly for speed.
//
// Tables (created on first open, next to the grid tables of store/workspace.hpp):
//   loop_departments, loop_functions, loop_categories   the catalogue
//   loop_duties                                         duties (function, level, unit, ...)
//   loop_incidents     one row per matter: a GeoPackage feature table (point geometry,
//                      EPSG:4326, registered in gpkg_contents) so GIS tools see the pins;
//                      category, reporter, times (ISO 8601 local), state, cell code, grid
//                      version, routed and dispatched department and person, deadlines,
//                      boundary distance and near-boundary flag
//   loop_journal       the append-only event journal (incident, from, to, actor, time, note,
//                      department, person, deadline, approver, action)
//   loop_steps         each matter's steps with owner, deadline and end (steps.hpp), derived
//                      from the journal and rewritten with it
// Every write is one transaction: a bulk import lands whole or not at all.
//
// Ownership and threading: a LoopStore owns one SQLite connection; use it from one thread
// at a time. Open it only while no GDAL handle is writing the same file (GDAL keeps its own
// connection; SQLite's locking keeps the file consistent, but a writer would wait).
#pragma once

#include "wangge/geo/geometry.hpp"
#include "wangge/grid/grid.hpp"
#include "wangge/grid/locator.hpp"
#include "wangge/loop/catalogue.hpp"
#include "wangge/loop/duties.hpp"
#include "wangge/loop/incident.hpp"
#include "wangge/loop/steps.hpp"

#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace wangge::loop {

namespace detail {
struct StoreAccess;
}

// The largest incident id: 2^53 - 1, the last integer a JSON reader (a browser) keeps exact.
// Ids run from 1; every write refuses others (InputError).
inline constexpr std::int64_t max_incident_id = (std::int64_t{1} << 53) - 1;

// A report as it comes in (from a worker's app, a citizen, a sensor or a file).
struct Report {
    std::int64_t id = 0;
    std::string category;
    geo::Point lonlat;
    LocalTime at;
    std::string reporter;
    std::string note; // what the reporter saw, kept with the matter
};

// A matter with where it is and who it was routed to.
struct IncidentRecord {
    Incident incident;
    geo::Point lonlat;
    std::string cell; // "" when outside every cell
    std::string village;
    std::string township;
    int grid_version = 0;
    double boundary_distance_m = 0;
    bool near_boundary = false;
    std::string route_department; // from the duties at report time; "" when nobody
    std::string route_person;
    bool route_fallback = false; // routed to the territory (属地兜底)
    friend bool operator==(const IncidentRecord&, const IncidentRecord&) = default;
};

struct ImportOptions {
    // Distance to the nearest cell boundary under which a matter is flagged.
    double near_boundary_m = 30;
    // The time new reports are judged against (check_report_time); nullopt: the machine's
    // clock. A generated history sets it to its own "now".
    std::optional<LocalTime> now;
    // Accept reports dated before the calendar's first covered year; their deadlines are
    // then counted Mon-Fri, so the context's Loop must allow that (LoopOptions::uncovered).
    bool allow_backdated = false;
};

// How far a report may be dated after "now" (clocks of phones and sensors drift).
inline constexpr int report_clock_tolerance_minutes = 15;

// A new report's time, checked before anything is written: refused (InputError naming the
// report) when dated more than report_clock_tolerance_minutes after `now`, or before the
// first year the calendar covers unless allow_backdated.
void check_report_time(const Report& report, LocalTime now, const Calendar& calendar,
                       bool allow_backdated);

struct ImportSummary {
    std::size_t imported = 0;
    std::size_t already = 0; // stored before (skip_stored)
    std::size_t outside_grid = 0;
    std::size_t near_boundary = 0;
    std::size_t unrouted = 0; // no holder, not even the territory
};

// Everything an import needs; all references must outlive the call.
struct ImportContext {
    const grid::Grid& grid;
    int grid_version;
    const grid::Locator& locator; // built over grid
    const Loop& loop;
    const DutyTable& duties;
    ImportOptions options = {};
};

// Locates, routes and opens one report (no storage): the record an import writes. Checks
// the report's time first (check_report_time with the context's options).
[[nodiscard]] IncidentRecord make_record(const Report& report, const ImportContext& context);

// Performance per unit of the hierarchy or per holder.
enum class StatsBy { cell, village, township, department, person };
[[nodiscard]] std::string_view to_string(StatsBy by);
[[nodiscard]] StatsBy stats_by_from(std::string_view text); // throws InputError

// Matter-level figures (the county's and townships' 按期结案率): a matter counts whole,
// whoever was late in it.
struct StatsRow {
    std::string key;       // cell / village / township code, department code, or person
    std::size_t total = 0; // matters counted (rejected ones are not)
    std::size_t closed = 0;
    std::size_t closed_on_time = 0;
    std::size_t open_overdue = 0; // open matters past their step's deadline at `at`
    // Open matters already late: past the running step's deadline or late in an earlier step.
    std::size_t open_late = 0;
    std::size_t backlog = 0;    // open matters on the backlog (挂账) at `at`
    std::size_t supervised = 0; // matters under supervision (督办) at `at`
    std::size_t returns = 0;
    std::size_t reworks = 0;
    double close_rate = 0; // closed / total
    // On-time close rate (按期结案率): closed_on_time / (closed + open_late).
    double on_time_rate = 0;
    double median_close_working_minutes = 0; // report to close, working time; 0 if none
    friend bool operator==(const StatsRow&, const StatsRow&) = default;
};

// Step-level figures for a department or person (按时办理率): only the handle steps they
// owned (steps.hpp), as of `at`; the centre's dispatching and verifying never count here.
struct StepStatsRow {
    std::string key;          // department code or person
    std::size_t steps = 0;    // handle steps started by `at`
    std::size_t finished = 0; // ended by `at`
    std::size_t finished_on_time = 0;
    std::size_t finished_late = 0;
    std::size_t returned = 0; // ended by returning the matter (回退)
    std::size_t running = 0;  // still running at `at`
    std::size_t running_overdue = 0;
    double step_on_time_rate = 0; // finished_on_time / (finished + running_overdue)
    friend bool operator==(const StepStatsRow&, const StepStatsRow&) = default;
};

// The same from steps in memory (tests, other stores). `by` is department or person.
[[nodiscard]] std::vector<StepStatsRow> compute_step_stats(std::span<const Step> steps, StatsBy by,
                                                           LocalTime at);

class LoopStore {
  public:
    // Opens the workspace file (it must exist and be a GeoPackage) and creates the loop
    // tables when missing. Throws StoreError.
    static LoopStore open(const std::string& gpkg_path);
    ~LoopStore();
    LoopStore(LoopStore&&) noexcept;
    LoopStore& operator=(LoopStore&&) noexcept;
    LoopStore(const LoopStore&) = delete;
    LoopStore& operator=(const LoopStore&) = delete;

    // Replaces the stored catalogue / duties. One transaction each.
    void save_catalogue(const Catalogue& catalogue);
    // The same with the calendar file's JSON text (setting "calendar"), in one transaction.
    void save_catalogue(const Catalogue& catalogue, const std::string& calendar_json);
    [[nodiscard]] Catalogue load_catalogue() const;
    void save_duties(const DutyTable& duties);
    [[nodiscard]] DutyTable load_duties(const Catalogue& catalogue) const;

    // Locates, routes and opens every report and writes them in one transaction (the
    // locating runs on a second thread, overlapped with the writing). A report
    // whose id exists already fails the whole import (StoreError) unless skip_stored, when
    // it is left out (counted in ImportSummary::already; the check runs inside the
    // transaction, so two imports of one file at once never collide). An unknown category
    // fails it too (DataError).
    ImportSummary import_reports(std::span<const Report> reports, const ImportContext& context,
                                 bool skip_stored = false);

    // Writes one newly reported matter and its first step in one BEGIN IMMEDIATE
    // transaction. An id of 0 takes the next free one (the largest stored id + 1), chosen
    // inside that transaction, so concurrent writers never collide; the chosen id is written
    // back into `record`. A stored id fails with StoreError ("exists already"), an id outside
    // 1..max_incident_id or no id left with InputError.
    void insert_report(IncidentRecord& record, const Loop& loop);

    // Writes finished records and their journal as they are (a generated history, a copy
    // from another workspace), with their steps, in one transaction. A repeated id fails it
    // (StoreError).
    void insert(std::span<const IncidentRecord> records, std::span<const Event> journal,
                const Loop& loop);

    // Applies transitions (or supervision orders: who is the actor, why the note) to stored
    // incidents, appends them to the journal and rewrites the matters' steps, all in one
    // transaction; nothing is written if any of them fails.
    struct Change {
        enum class Supervision { none, put, lift };
        std::int64_t incident = 0;
        Transition transition;
        Supervision supervision = Supervision::none; // put / lift: only at, actor, note count
    };
    void apply(std::span<const Change> changes, const Loop& loop);

    // The steps of a matter (steps.hpp), in order.
    [[nodiscard]] std::vector<Step> steps(std::int64_t incident) const;
    // Whether loop_steps was just added to a workspace that holds matters (an older file):
    // then rebuild_steps() derives them from the journal.
    [[nodiscard]] bool steps_missing() const noexcept;
    void rebuild_steps(const Loop& loop);

    [[nodiscard]] std::optional<IncidentRecord> incident(std::int64_t id) const;
    [[nodiscard]] std::vector<IncidentRecord> incidents() const;
    [[nodiscard]] std::vector<Event> journal(std::int64_t incident) const;
    [[nodiscard]] std::size_t incident_count() const;
    // The ids of the stored incidents, ascending (to skip reports imported before).
    [[nodiscard]] std::vector<std::int64_t> incident_ids() const;
    // The largest stored incident id, 0 when there is none (one indexed read).
    [[nodiscard]] std::int64_t largest_incident_id() const;

    // Small named texts of the loop (e.g. "calendar": the calendar file's JSON), one
    // transaction each; nullopt when never saved.
    void save_setting(const std::string& key, const std::string& value);
    [[nodiscard]] std::optional<std::string> setting(const std::string& key) const;

    // The file's health after a crash: SQLite's integrity check and whether every journal
    // line belongs to a stored incident.
    struct Consistency {
        std::string integrity; // "ok" when PRAGMA integrity_check finds nothing
        std::size_t incidents = 0;
        std::size_t events = 0;
        std::size_t orphaned_events = 0; // journal lines whose incident is missing
        [[nodiscard]] bool ok() const noexcept { return integrity == "ok" && orphaned_events == 0; }
    };
    [[nodiscard]] Consistency check_consistency() const;

    // compute_stats() over the stored incidents, reading only the columns it needs.
    [[nodiscard]] std::vector<StatsRow> stats(StatsBy by, LocalTime at, const Loop& loop) const;
    // compute_step_stats() over loop_steps, in SQL order; `by` is department or person.
    [[nodiscard]] std::vector<StepStatsRow> step_stats(StatsBy by, LocalTime at) const;

  private:
    friend struct detail::StoreAccess; // the loop's own sources (state_at.cpp, stats.cpp)
    struct Impl;
    explicit LoopStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

// Groups by `by` (department and person: the dispatched holder, else the routed one;
// records without one are grouped under ""). Rows sorted by key. Counts open matters that
// are overdue at `at` against the on-time rate.
[[nodiscard]] std::vector<StatsRow> compute_stats(std::span<const IncidentRecord> records,
                                                  StatsBy by, LocalTime at, const Loop& loop);

} // namespace wangge::loop
