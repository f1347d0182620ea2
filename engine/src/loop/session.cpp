#include "wangge/loop/session.hpp"

#include "wangge/error.hpp"
#include "wangge/store/workspace.hpp"

#include <algorithm>

namespace wangge::loop {

Session::Session(std::string path, LoopStore store)
    : m_path(std::move(path)), m_store(std::move(store)) {}

Session::~Session() = default;

std::unique_ptr<Session> Session::open(const std::string& workspace) {
    std::unique_ptr<Session> s(new Session(workspace, LoopStore::open(workspace)));
    s->reload();
    return s;
}

void Session::load_grid() const {
    if (m_grid) return;
    grid::Grid g;
    int version = 0;
    {
        // GDAL's connection closes at the end of this block, before the store writes.
        const auto ws = store::Workspace::open(m_path);
        if (const auto v = ws.current_version()) {
            version = *v;
            g = ws.grid(version);
        }
    }
    m_grid = std::move(g);
    m_grid_version = version;
    if (!m_grid->cells.empty()) m_locator = std::make_unique<grid::Locator>(*m_grid);
}

const grid::Grid& Session::grid() const {
    load_grid();
    return *m_grid;
}

int Session::grid_version() const {
    load_grid();
    return m_grid_version;
}

void Session::reload() {
    m_loop.reset();
    m_catalogue = m_store.load_catalogue();
    if (const auto text = m_store.setting(calendar_setting))
        m_calendar = Calendar::parse(*text, m_path + " (stored calendar)");
    else
        m_calendar = Calendar();
    m_duties = m_store.load_duties(m_catalogue);
    m_loop = std::make_unique<Loop>(m_catalogue, m_calendar);
    if (m_store.steps_missing()) m_store.rebuild_steps(*m_loop);
}

const grid::Locator& Session::locator() const {
    load_grid();
    if (!m_locator)
        throw DataError("the workspace has no grid: import one first (wangge grid import)",
                        {.file = m_path});
    return *m_locator;
}

ImportContext Session::context() const {
    const grid::Locator& loc = locator();
    return {.grid = *m_grid,
            .grid_version = m_grid_version,
            .locator = loc,
            .loop = *m_loop,
            .duties = m_duties};
}

const grid::Cell* Session::cell(const std::string& code) const {
    const auto& cells = grid().cells;
    const auto it = std::find_if(cells.begin(), cells.end(),
                                 [&](const grid::Cell& c) { return c.code == code; });
    return it == cells.end() ? nullptr : &*it;
}

void Session::save_catalogue(const Catalogue& catalogue,
                             const std::optional<std::string>& calendar_json) {
    // Refuse before writing: a bad calendar, or stored duties the new catalogue cannot hold.
    if (calendar_json) (void)Calendar::parse(*calendar_json, "calendar");
    (void)m_store.load_duties(catalogue);
    if (calendar_json)
        m_store.save_catalogue(catalogue, *calendar_json);
    else
        m_store.save_catalogue(catalogue);
    reload();
}

void Session::save_duties(const DutyTable& duties) {
    m_store.save_duties(duties);
    reload();
}

} // namespace wangge::loop
