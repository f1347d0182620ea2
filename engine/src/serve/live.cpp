#include "live.hpp"

#include "wangge/error.hpp"
#include "wangge/loop/state_at.hpp"
#include "wangge/render/status_mark.hpp"
#include "wangge/store/workspace.hpp"

#include <algorithm>
#include <array>
#include <unordered_set>

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
    store::sqlite::Connection db;
};

// Each matter's mark on the map and, per cell, how many of its matters are in each state:
// a cell's status is its worst state with a count above zero.
struct Live::Marks {
    std::map<std::int64_t, render::MatterMark> by_id; // id order: the pins' order
    std::map<std::string, std::array<int, 4>> cells;  // by CellState
    void set(std::int64_t id, std::optional<render::MatterMark> mark) {
        if (const auto it = by_id.find(id); it != by_id.end()) {
            count(it->second, -1);
            by_id.erase(it);
        }
        if (!mark) return;
        count(*mark, +1);
        by_id.emplace(id, std::move(*mark));
    }
    void count(const render::MatterMark& m, int k) {
        if (m.cell.empty() || m.cell_state == render::CellState::none) return;
        auto& c = cells[m.cell];
        c[static_cast<std::size_t>(m.cell_state)] += k;
    }
    [[nodiscard]] render::RenderStatus status(loop::LocalTime at) const {
        render::RenderStatus s;
        s.at = loop::format_time(at);
        for (const auto& [code, n] : cells)
            for (std::size_t k = n.size(); k-- > 1;)
                if (n[k] > 0) {
                    s.cells.emplace(code, static_cast<render::CellState>(k));
                    break;
                }
        s.pins.reserve(by_id.size());
        for (const auto& [id, m] : by_id)
            if (m.pin) s.pins.push_back(*m.pin);
        return s;
    }
};

namespace {

// The file's journal mode, after setting it to `mode` when one is given, on a short-lived
// connection of its own ("" when the file cannot be opened for writing). In WAL mode a reader
// (the server rebuilding its snapshot) never blocks a writer (a report through the API or the
// command line), which a rollback journal does for as long as the read lasts. Failure only
// costs that concurrency, so it is not an error.
std::string journal_mode(const std::string& path, const std::string& mode = "") {
    try {
        const store::sqlite::Connection db(path, false);
        auto st = db.prepare(mode.empty() ? "PRAGMA journal_mode" : "PRAGMA journal_mode=" + mode);
        return st.step() ? st.text(0) : std::string();
    } catch (const StoreError&) {
        return {};
    }
}

// Switches the file to WAL and keeps it (null when it did not switch: in rollback mode a held
// SHARED lock would stop every other writer from committing).
std::unique_ptr<store::sqlite::WalKeeper> keep_wal(const std::string& path) {
    if (journal_mode(path, "wal") != "wal") return nullptr;
    return std::make_unique<store::sqlite::WalKeeper>(path);
}

} // namespace

Live::Live(const std::string& workspace, ServerClock clock, int interval_ms)
    : m_path(workspace), m_journal_mode(journal_mode(workspace)), m_wal_keeper(keep_wal(workspace)),
      m_clock(clock), m_interval_ms(interval_ms), m_session(loop::Session::open(workspace)),
      m_workspace(std::make_unique<store::Workspace>(store::Workspace::open(workspace))),
      m_watch(std::make_unique<Watch>()), m_marks(std::make_unique<Marks>()) {
    if (m_session->grid().cells.empty())
        throw DataError("the workspace has no grid: import one first", {.file = workspace});
    m_grid = &m_session->grid();
    m_grid_version = m_session->grid_version();
    (void)m_session->locator(); // built now, not on the first request
    m_watch->db = store::sqlite::Connection(workspace, true);
    m_snapshot = build(1);
}

Live::~Live() {
    stop();
    // Leave the file in the rollback-journal mode GeoPackage readers expect, once our own
    // connections are closed.
    m_session.reset();
    m_workspace.reset();
    m_watch.reset();
    m_wal_keeper.reset();
    if (!m_journal_mode.empty()) (void)journal_mode(m_path, m_journal_mode);
}

std::int64_t Live::data_version() const {
    auto st = m_watch->db.prepare("PRAGMA data_version");
    return st.step() ? st.integer(0) : -1;
}

render::RenderStatus Live::status_at(loop::LocalTime t) const {
    // The renderer's status hook: cell colours and pins by the loop's one rule for a matter
    // at T (loop/state_at.hpp), exactly as `wangge render` and `wangge tiles` draw them.
    std::lock_guard lock(m_workspace_mutex);
    return render::status_from_workspace(*m_workspace, loop::format_time(t));
}

int Live::version_at(loop::LocalTime t) const {
    std::lock_guard lock(m_workspace_mutex);
    try {
        return m_workspace->version_at(loop::format_time(t));
    } catch (const InputError&) { // before every recorded effective time
        return m_grid_version;
    }
}

const grid::Grid& Live::grid_of(int version) const {
    if (version == m_grid_version) return *m_grid;
    std::lock_guard past(m_past_mutex);
    auto& g = m_past_grids[version];
    if (!g) {
        std::lock_guard lock(m_workspace_mutex);
        g = std::make_unique<const grid::Grid>(m_workspace->grid(version));
    }
    return *g;
}

std::shared_ptr<const render::MapData> Live::map_data(int version) const {
    std::lock_guard past(m_past_mutex);
    auto& d = m_past_data[version];
    if (!d) {
        std::lock_guard lock(m_workspace_mutex);
        d = render::MapData::load(*m_workspace, version);
    }
    return d;
}

grid::Location Live::locate(geo::Point lonlat, int version) {
    if (version == m_grid_version)
        return with_session(
            [&](loop::Session& s) { return s.locator().locate_with_distance(lonlat); });
    const auto& grid = grid_of(version); // takes m_past_mutex itself
    const grid::Locator* locator = nullptr;
    {
        std::lock_guard past(m_past_mutex);
        auto& l = m_past_locators[version];
        if (!l) l = std::make_unique<const grid::Locator>(grid);
        locator = l.get(); // kept as long as the Live; queries are const
    }
    return locator->locate_with_distance(lonlat);
}

std::int64_t Live::journal_since(std::int64_t after, std::set<std::int64_t>* incidents) const {
    std::int64_t last = after;
    if (!m_watch->db.has_table("loop_journal")) return last; // no loop tables yet
    auto st = m_watch->db.prepare("SELECT fid, incident FROM loop_journal WHERE fid > ?");
    st.bind(1, after);
    while (st.step()) {
        last = std::max(last, st.integer(0));
        if (incidents) incidents->insert(st.integer(1));
    }
    return last;
}

std::vector<std::int64_t> Live::incident_ids() const {
    std::vector<std::int64_t> out;
    if (!m_watch->db.has_table("loop_incidents")) return out;
    auto st = m_watch->db.prepare("SELECT fid FROM loop_incidents ORDER BY fid");
    while (st.step())
        out.push_back(st.integer(0));
    return out;
}

render::RenderStatus Live::mark(const std::vector<loop::IncidentRecord>& records,
                                const std::set<std::int64_t>* ids, loop::LocalTime at) {
    const auto filter = render::map_filter(at);
    const auto mark_one = [&](const loop::IncidentRecord& r) {
        const auto id = r.incident.report.id;
        if (r.incident.report.reported_at > at) return m_marks->set(id, std::nullopt);
        std::optional<loop::MatterAt> m;
        if (r.incident.updated_at > at) // changed after `at`: its journal up to `at` decides
            m = with_session(
                [&](loop::Session& s) { return loop::matter_at(s.store(), s.loop(), id, at); });
        else
            m = loop::MatterAt{r, loop().status(r.incident, at), false};
        if (!m || !loop::matches(*m, filter)) return m_marks->set(id, std::nullopt);
        m_marks->set(id, render::matter_mark(*m));
    };
    if (!ids) {
        *m_marks = Marks{};
        for (const auto& r : records)
            mark_one(r);
    } else {
        for (const auto id : *ids) {
            const auto it = std::lower_bound(records.begin(), records.end(), id,
                                             [](const loop::IncidentRecord& r, std::int64_t v) {
                                                 return r.incident.report.id < v;
                                             });
            if (it != records.end() && it->incident.report.id == id)
                mark_one(*it);
            else
                m_marks->set(id, std::nullopt); // gone
        }
    }
    return m_marks->status(at);
}

std::shared_ptr<const Snapshot> Live::build(std::uint64_t version) {
    auto s = std::make_shared<Snapshot>();
    s->version = version;
    s->at = now();
    s->grid_version = version_at(s->at);
    m_journal_seen = journal_since(0, nullptr);
    with_session([&s](loop::Session& session) {
        s->records = session.store().incidents();
        s->settled = loop::settled_since(session.store());
    });
    for (std::size_t i = 0; i < s->records.size(); ++i)
        s->by_id[s->records[i].incident.report.id] = i;
    s->status = std::make_shared<const render::RenderStatus>(mark(s->records, nullptr, s->at));
    return s;
}

std::shared_ptr<const Snapshot> Live::update(const std::shared_ptr<const Snapshot>& before,
                                             bool committed) {
    std::set<std::int64_t> changed;
    std::vector<std::int64_t> gone;
    if (committed) {
        // One read transaction on the watch connection: the journal and the ids agree.
        std::int64_t journal = 0;
        std::vector<std::int64_t> ids;
        {
            const store::sqlite::ReadTransaction read(m_watch->db);
            journal = journal_since(m_journal_seen, &changed);
            ids = incident_ids();
        }
        std::unordered_set<std::int64_t> now_ids(ids.begin(), ids.end());
        for (const auto& [id, i] : before->by_id)
            if (!now_ids.contains(id)) gone.push_back(id);
        for (const auto id : ids)
            if (!before->by_id.contains(id)) changed.insert(id);
        // Not (only) matters, or too many to read one by one: read everything.
        if ((changed.empty() && gone.empty()) || changed.size() + gone.size() > 1000)
            return nullptr;
        m_journal_seen = journal;
    }

    auto s = std::make_shared<Snapshot>();
    s->version = before->version + 1;
    s->at = now();
    s->grid_version = version_at(s->at);
    auto fresh = with_session([&](loop::Session& session) {
        std::vector<loop::IncidentRecord> out;
        for (const auto id : changed)
            if (auto r = session.store().incident(id)) out.push_back(std::move(*r));
        s->settled = loop::settled_since(session.store());
        return out;
    });
    // The records in id order: the old ones but those changed or gone, plus the fresh ones.
    std::set<std::int64_t> drop(changed.begin(), changed.end());
    drop.insert(gone.begin(), gone.end());
    s->records.reserve(before->records.size() + fresh.size());
    for (const auto& r : before->records)
        if (!drop.contains(r.incident.report.id)) s->records.push_back(r);
    const auto old_end = static_cast<std::ptrdiff_t>(s->records.size());
    for (auto& r : fresh)
        s->records.push_back(std::move(r));
    std::inplace_merge(s->records.begin(), s->records.begin() + old_end, s->records.end(),
                       [](const loop::IncidentRecord& a, const loop::IncidentRecord& b) {
                           return a.incident.report.id < b.incident.report.id;
                       });
    for (std::size_t i = 0; i < s->records.size(); ++i)
        s->by_id[s->records[i].incident.report.id] = i;
    // A new minute ages every matter; otherwise only the changed ones move.
    s->status = std::make_shared<const render::RenderStatus>(
        mark(s->records, s->at == before->at ? &drop : nullptr, s->at));
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
            const auto seen_before = seen;
            seen = v;
            minute = t;
            auto before = snapshot();
            const auto t0 = std::chrono::steady_clock::now();
            auto after = update(before, v != seen_before);
            if (!after) after = build(before->version + 1);
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
