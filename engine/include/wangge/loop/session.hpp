// Everything the loop needs from one workspace, loaded together: the current grid and a
// locator over it, the stored catalogue, calendar and duties, the Loop over them, and the
// store. Commands and the renderer open one of these instead of wiring the parts by hand.
//
// Ownership and threading: a Session owns all its parts; the Loop and the ImportContext
// refer into it, so it is neither copied nor moved (open() returns it on the heap). Use it
// from one thread at a time (the store is one SQLite connection).
#pragma once

#include "wangge/grid/grid.hpp"
#include "wangge/grid/locator.hpp"
#include "wangge/loop/calendar.hpp"
#include "wangge/loop/catalogue.hpp"
#include "wangge/loop/duties.hpp"
#include "wangge/loop/incident.hpp"
#include "wangge/loop/store.hpp"

#include <memory>
#include <optional>
#include <string>

namespace wangge::loop {

// The key of the calendar's JSON text in LoopStore::setting() (save_catalogue writes it).
inline constexpr const char* calendar_setting = "calendar";

class Session {
  public:
    // Opens the workspace's loop tables; the current grid is read (through GDAL, closed
    // again right after) when first needed. A workspace without a stored calendar uses the
    // default one (Mon-Fri, no holidays). Throws StoreError / DataError.
    static std::unique_ptr<Session> open(const std::string& workspace);

    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    Session(Session&&) = delete;
    Session& operator=(Session&&) = delete;
    ~Session();

    [[nodiscard]] const std::string& path() const noexcept { return m_path; }
    [[nodiscard]] LoopStore& store() noexcept { return m_store; }
    [[nodiscard]] const LoopStore& store() const noexcept { return m_store; }
    // The grid and its locator are read on first use: statistics and listings need neither.
    [[nodiscard]] const grid::Grid& grid() const;
    [[nodiscard]] int grid_version() const;
    // Throws DataError when the workspace has no grid yet (as does context()).
    [[nodiscard]] const grid::Locator& locator() const;
    [[nodiscard]] const Catalogue& catalogue() const noexcept { return m_catalogue; }
    [[nodiscard]] const Calendar& calendar() const noexcept { return m_calendar; }
    [[nodiscard]] const DutyTable& duties() const noexcept { return m_duties; }
    [[nodiscard]] const Loop& loop() const noexcept { return *m_loop; }
    [[nodiscard]] ImportContext context() const;
    // The cell with this code in the current grid, or nullptr.
    [[nodiscard]] const grid::Cell* cell(const std::string& code) const;

    // Replace the stored catalogue (and its calendar when given) or duties, and reload.
    void save_catalogue(const Catalogue& catalogue,
                        const std::optional<std::string>& calendar_json);
    void save_duties(const DutyTable& duties);

  private:
    Session(std::string path, LoopStore store);
    void reload();
    void load_grid() const;

    std::string m_path;
    LoopStore m_store;
    // Lazily loaded (load_grid()); logically const.
    mutable std::optional<grid::Grid> m_grid;
    mutable int m_grid_version = 0;
    mutable std::unique_ptr<grid::Locator> m_locator;
    Catalogue m_catalogue;
    Calendar m_calendar;
    DutyTable m_duties;
    std::unique_ptr<Loop> m_loop;
};

} // namespace wangge::loop
