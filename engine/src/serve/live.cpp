#include "live.hpp"

#include "wangge/error.hpp"
#include "wangge/store/workspace.hpp"

#include <sqlite3.h>

namespace wangge::serve {

loop::LocalTime ServerClock::now() const {
    using namespace std::chrono;
    if (m_start) {
        const auto elapsed = duration_cast<minutes>(steady_clock::now() - m_t0).count();
        return {m_start->minutes + elapsed};
    }
    const auto utc = floor<minutes>(system_clock::now());
    return {utc.time_since_epoch().count() + loop::local_utc_offset_minutes};
}

// A read-only connection of its own: PRAGMA data_version changes when another connection
// (our Session's, or another process's) commits.
struct Live::Watch {
    sqlite3* db = nullptr;
    ~Watch() {
        if (db) sqlite3_close_v2(db);
    }
};

namespace {

// Sets the file's journal mode on a short-lived connection of its own and returns the one
// it had ("" when the file cannot be opened for writing). In WAL mode a reader (the server
// rebuilding its snapshot) never blocks a writer (a report through the API or the command
// line), which a rollback journal does for as long as the read lasts. Failure only costs
// that concurrency, so it is not an error.
std::string set_journal_mode(const std::string& path, const std::string& mode) {
    sqlite3* db = nullptr;
    std::string before;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        const auto remember = [](void* out, int, char** values, char**) {
            if (values[0]) *static_cast<std::string*>(out) = values[0];
            return 0;
        };
        sqlite3_exec(db, "PRAGMA journal_mode", remember, &before, nullptr);
        if (before != mode)
            sqlite3_exec(db, ("PRAGMA journal_mode=" + mode).c_str(), nullptr, nullptr, nullptr);
    }
    sqlite3_close_v2(db);
    return before;
}

} // namespace

Live::Live(const std::string& workspace, ServerClock clock, int interval_ms)
    : m_path(workspace), m_journal_mode(set_journal_mode(workspace, "wal")), m_clock(clock),
      m_interval_ms(interval_ms), m_session(loop::Session::open(workspace)),
      m_workspace(std::make_unique<store::Workspace>(store::Workspace::open(workspace))),
      m_watch(std::make_unique<Watch>()) {
    if (m_session->grid().cells.empty())
        throw DataError("the workspace has no grid: import one first", {.file = workspace});
    m_grid = &m_session->grid();
    (void)m_session->locator(); // built now, not on the first request
    if (sqlite3_open_v2(workspace.c_str(), &m_watch->db, SQLITE_OPEN_READONLY, nullptr) !=
        SQLITE_OK)
        throw StoreError("cannot open for watching", {.file = workspace});
    sqlite3_busy_timeout(m_watch->db, 5000);
    m_snapshot = build(1);
}

Live::~Live() {
    stop();
    // Leave the file in the rollback-journal mode GeoPackage readers expect, once our own
    // connections are closed.
    m_session.reset();
    m_workspace.reset();
    m_watch.reset();
    if (!m_journal_mode.empty()) set_journal_mode(m_path, m_journal_mode);
}

std::int64_t Live::data_version() const {
    sqlite3_stmt* st = nullptr;
    std::int64_t v = -1;
    if (sqlite3_prepare_v2(m_watch->db, "PRAGMA data_version", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

render::RenderStatus Live::status_at(loop::LocalTime t) const {
    // LOOP: replace with the loop's one function deciding a matter's status at T once it
    // lands; until then the renderer's hook is the one place that decides a cell's colour.
    std::lock_guard lock(m_workspace_mutex);
    return render::status_from_workspace(*m_workspace, loop::format_time(t));
}

std::shared_ptr<const Snapshot> Live::build(std::uint64_t version) {
    auto s = std::make_shared<Snapshot>();
    s->version = version;
    s->at = now();
    s->status = std::make_shared<const render::RenderStatus>(status_at(s->at));
    s->records = with_session([](loop::Session& session) { return session.store().incidents(); });
    for (std::size_t i = 0; i < s->records.size(); ++i)
        s->by_id[s->records[i].incident.report.id] = i;
    return s;
}

std::shared_ptr<const Snapshot> Live::snapshot() const {
    std::lock_guard lock(m_snapshot_mutex);
    return m_snapshot;
}

void Live::start(std::function<void(const Change&)> on_change) {
    m_on_change = std::move(on_change);
    m_thread = std::thread([this] { watch(); });
}

void Live::stop() {
    {
        std::lock_guard lock(m_wake_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable()) m_thread.join();
}

void Live::poke() {
    {
        std::lock_guard lock(m_wake_mutex);
        m_poked = true;
    }
    m_wake.notify_all();
}

namespace {

Change diff(std::shared_ptr<const Snapshot> before, std::shared_ptr<const Snapshot> after) {
    Change c;
    const auto& a = before->status->cells;
    const auto& b = after->status->cells;
    for (const auto& [code, st] : a) {
        const auto it = b.find(code);
        if ((it == b.end() ? render::CellState::none : it->second) != st) c.cells.insert(code);
    }
    for (const auto& [code, st] : b)
        if (!a.contains(code) && st != render::CellState::none) c.cells.insert(code);
    std::map<std::string, const render::Pin*> pins_a;
    for (const auto& p : before->status->pins)
        pins_a[p.id] = &p;
    for (const auto& p : after->status->pins) {
        const auto it = pins_a.find(p.id);
        if (it == pins_a.end() || it->second->state != p.state) c.matters.insert(std::stoll(p.id));
        if (it != pins_a.end()) pins_a.erase(it);
    }
    for (const auto& [id, p] : pins_a)
        c.matters.insert(std::stoll(id)); // gone from the map
    // Stored changes that do not show on the map (a step within the same colour).
    for (const auto& r : after->records) {
        const auto it = before->by_id.find(r.incident.report.id);
        if (it == before->by_id.end() ||
            before->records[it->second].incident.updated_at != r.incident.updated_at ||
            before->records[it->second].incident.state != r.incident.state)
            c.matters.insert(r.incident.report.id);
    }
    c.before = std::move(before);
    c.after = std::move(after);
    return c;
}

} // namespace

void Live::watch() {
    std::int64_t seen = data_version();
    std::int64_t minute = snapshot()->at.minutes;
    for (;;) {
        {
            std::unique_lock lock(m_wake_mutex);
            m_wake.wait_for(lock, std::chrono::milliseconds(m_interval_ms),
                            [this] { return m_stop || m_poked; });
            if (m_stop) return;
            m_poked = false;
        }
        try {
            const auto v = data_version();
            const auto t = now().minutes;
            if (v == seen && t == minute) continue;
            seen = v;
            minute = t;
            auto before = snapshot();
            const auto t0 = std::chrono::steady_clock::now();
            auto after = build(before->version + 1);
            auto change = diff(before, after);
            change.build_ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                    .count();
            if (change.empty() && after->records.size() == before->records.size()) {
                // Nothing visible changed: keep the version (tile caches stay valid).
                auto same = std::make_shared<Snapshot>(*after);
                same->version = before->version;
                std::lock_guard lock(m_snapshot_mutex);
                m_snapshot = std::move(same);
                continue;
            }
            {
                std::lock_guard lock(m_snapshot_mutex);
                m_snapshot = after;
            }
            if (m_on_change) m_on_change(change);
        } catch (const std::exception&) {
            // A write in progress elsewhere (busy) or a transient error: try again next time.
            seen = -2;
        }
    }
}

} // namespace wangge::serve
