// The server's view of a workspace: a snapshot of every matter and every cell's status at
// the server's "now", updated when the workspace changes (by this server or by another
// process, noticed through SQLite's PRAGMA data_version on a connection of its own) and when
// the clock passes a minute (statuses age: on time -> warning -> overdue).
// A change is read incrementally: the matters with journal events after the last one seen,
// and the ids added or gone, are the only rows read again; each matter's mark on the map
// (render/status_mark.hpp) is kept, and a cell's status comes from counts of its matters'
// marks. Anything else that commits (duties, a redrawn grid, a bulk import) rebuilds the
// snapshot from every matter.
//
// Threads: snapshot() and now() are safe from any thread (the snapshot is immutable and
// swapped whole). with_session() serialises use of the one loop::Session (its SQLite
// connection is single-threaded). The watcher thread calls on_change.
#pragma once

#include "wangge/grid/locator.hpp"
#include "wangge/loop/session.hpp"
#include "wangge/loop/state_at.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/store/sqlite.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace wangge::store {
class Workspace;
}

namespace wangge::serve {

// The server's clock: from `start` on with the wall clock, or the real local time.
class ServerClock {
  public:
    explicit ServerClock(std::optional<loop::LocalTime> start)
        : m_start(start), m_t0(std::chrono::steady_clock::now()) {}
    [[nodiscard]] loop::LocalTime now() const;

  private:
    std::optional<loop::LocalTime> m_start;
    std::chrono::steady_clock::time_point m_t0;
};

struct Snapshot {
    std::uint64_t version = 0; // 1 for the first, +1 per change
    loop::LocalTime at;
    std::shared_ptr<const render::RenderStatus> status; // cells and pins at `at`
    std::vector<loop::IncidentRecord> records;          // every matter as stored
    std::map<std::int64_t, std::size_t> by_id;          // id -> index into records
    // From this time on `records` are every matter's state and place (loop::settled_since,
    // read after them); an earlier ?at= goes through the loop's rule instead.
    std::optional<loop::LocalTime> settled;
    int grid_version = 0; // the grid version in force at `at` (a publish takes effect)
};

struct Change {
    std::shared_ptr<const Snapshot> before; // null for the first snapshot
    std::shared_ptr<const Snapshot> after;
    std::set<std::string> cells;    // cells whose status changed
    std::set<std::int64_t> matters; // matters added, moved or whose status changed
    double build_ms = 0;            // time to rebuild the snapshot (for operators, benches)
    // A published grid took effect: every cell may have changed (boundaries, codes, names).
    [[nodiscard]] bool grid_changed() const noexcept {
        return before && after && before->grid_version != after->grid_version;
    }
    [[nodiscard]] bool empty() const noexcept {
        return cells.empty() && matters.empty() && !grid_changed();
    }
};

class Live {
  public:
    // Opens the workspace (Session, and a Workspace for the status function) and builds the
    // first snapshot. Throws StoreError / DataError.
    Live(const std::string& workspace, ServerClock clock, int interval_ms);
    ~Live();
    Live(const Live&) = delete;
    Live& operator=(const Live&) = delete;

    // Starts the watcher thread; on_change runs on it for every non-empty change.
    void start(std::function<void(const Change&)> on_change);
    void stop();
    // Wakes the watcher now (after a write of ours) instead of at the next interval.
    void poke();

    [[nodiscard]] std::shared_ptr<const Snapshot> snapshot() const;
    [[nodiscard]] loop::LocalTime now() const { return m_clock.now(); }
    // Cell and pin statuses at any time (for ?at=): computed, not cached.
    [[nodiscard]] render::RenderStatus status_at(loop::LocalTime t) const;
    // The loop rules; safe from any thread (the catalogue is never reloaded).
    [[nodiscard]] const loop::Loop& loop() const noexcept { return m_session->loop(); }
    [[nodiscard]] const loop::Catalogue& catalogue() const noexcept {
        return m_session->catalogue();
    }
    [[nodiscard]] const loop::DutyTable& duties() const noexcept { return m_session->duties(); }
    [[nodiscard]] const grid::Grid& grid() const noexcept { return *m_grid; }
    [[nodiscard]] int grid_version() const noexcept { return m_grid_version; }
    [[nodiscard]] const std::string& path() const noexcept { return m_path; }
    // ?at= before a publish: the grid version in force at T (store::Workspace::version_at;
    // the served one when no version is recorded as in force then), and that version's grid
    // and map data, read once per version and kept (a time slider goes back and forth over
    // a few versions; a kept grid stays valid as long as the Live). Thread-safe.
    [[nodiscard]] int version_at(loop::LocalTime t) const;
    [[nodiscard]] const grid::Grid& grid_of(int version) const;
    [[nodiscard]] std::shared_ptr<const render::MapData> map_data(int version) const;
    // The cell of grid `version` that holds a lon/lat point (an index into grid_of(version)
    // cells), with the boundary distance; a past version's locator is built once and kept.
    [[nodiscard]] grid::Location locate(geo::Point lonlat, int version);

    template <class F> auto with_session(F&& f) {
        std::lock_guard lock(m_session_mutex);
        return f(*m_session);
    }

  private:
    struct Marks;
    // Every matter read again (at start, and when a change is not only matters).
    std::shared_ptr<const Snapshot> build(std::uint64_t version);
    // The snapshot after a commit (committed) or a new minute: only the matters changed
    // since `before` read again; null when the commit was not (only) matters, so build()
    // must run.
    std::shared_ptr<const Snapshot> update(const std::shared_ptr<const Snapshot>& before,
                                           bool committed);
    // Re-marks matters (all when ids is null) at `at` into m_marks; returns the status.
    render::RenderStatus mark(const std::vector<loop::IncidentRecord>& records,
                              const std::set<std::int64_t>* ids, loop::LocalTime at);
    // The highest journal id, and the matters with events after `after` (watch connection).
    std::int64_t journal_since(std::int64_t after, std::set<std::int64_t>* incidents) const;
    [[nodiscard]] std::vector<std::int64_t> incident_ids() const;
    void watch();
    [[nodiscard]] std::int64_t data_version() const;

    std::string m_path;
    std::string m_journal_mode; // the file's own, restored at the end
    // Holds the WAL while we serve (store/sqlite.hpp: GDAL's opens drop our SQLite locks).
    std::unique_ptr<store::sqlite::WalKeeper> m_wal_keeper;
    ServerClock m_clock;
    int m_interval_ms;
    std::unique_ptr<loop::Session> m_session;
    mutable std::mutex m_session_mutex;
    std::unique_ptr<store::Workspace> m_workspace; // GDAL: one thread at a time
    mutable std::mutex m_workspace_mutex;
    const grid::Grid* m_grid = nullptr;
    int m_grid_version = 0;
    mutable std::mutex m_past_mutex; // guards the past versions' grids, data and locators
    mutable std::map<int, std::unique_ptr<const grid::Grid>> m_past_grids;
    mutable std::map<int, std::shared_ptr<const render::MapData>> m_past_data;
    std::map<int, std::unique_ptr<const grid::Locator>> m_past_locators; // m_past_mutex
    struct Watch;
    std::unique_ptr<Watch> m_watch; // the data_version connection
    std::unique_ptr<Marks> m_marks; // watcher thread only (and the constructor)
    std::int64_t m_journal_seen = 0;
    mutable std::mutex m_snapshot_mutex;
    std::shared_ptr<const Snapshot> m_snapshot;
    std::function<void(const Change&)> m_on_change;
    std::mutex m_wake_mutex;
    std::condition_variable m_wake;
    bool m_poked = false;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace wangge::serve
