// The loop's JSON shapes. One JSON shape of a matter, shared by `wangge incidents show/list --json`
// and the server
// (/api/matters and Open311 GeoReport v2), so the two never drift apart.
//
// matter(): the loop's own terms (state, status, deadlines, holders, place) plus an "open311"
// object with what GeoReport v2 clients expect (open311()): status open/closed, status_notes,
// service_code/service_name (the category), agency_responsible (the department now holding
// it: dispatched, else routed), requested_datetime, updated_datetime and expected_datetime
// (the running step's deadline), with times as ISO 8601 with the +08:00 offset.
// "department"/"person" are the holder now: the dispatched one, else the routed one.
//
// The record is the matter as it is to be shown (state_at.hpp gives it as of T); `state` and
// `status` are its state and status at that time.
//
// Ownership and threading: a MatterJson keeps pointers to the catalogue and the grid (may be
// null: unit names are then empty), which must outlive it; const members are thread-safe.
#pragma once

#include "wangge/grid/grid.hpp"
#include "wangge/loop/catalogue.hpp"
#include "wangge/loop/incident.hpp"
#include "wangge/loop/store.hpp"

#include <nlohmann/json.hpp>
#include <span>

namespace wangge::loop {

class MatterJson {
  public:
    explicit MatterJson(const Catalogue& catalogue, const grid::Grid* grid = nullptr);

    [[nodiscard]] nlohmann::ordered_json matter(const IncidentRecord& record, State state,
                                                Status status) const;
    [[nodiscard]] nlohmann::ordered_json open311(const IncidentRecord& record, State state,
                                                 Status status) const;
    // The journal lines as JSON (from, to, at, actor, note, department, person, approver,
    // supervision put/lifted or null, deadline).
    [[nodiscard]] static nlohmann::ordered_json journal(std::span<const Event> journal);

  private:
    [[nodiscard]] std::string unit_name(const std::string& code) const;
    const Catalogue* m_catalogue;
    const grid::Grid* m_grid;
};

// The one JSON shape of `wangge stats --json` and the server's /api/stats: units of the
// hierarchy (cell, village, township) judged on whole matters (close_on_time_rate: 按期结案率),
// departments and persons on the handle steps they owned (step_on_time_rate: 按时办理率).
[[nodiscard]] nlohmann::ordered_json stats_json(const LoopStore& store, const Loop& loop,
                                                StatsBy by, LocalTime at);

// Open311's time format: "2026-03-02T09:15:00+08:00".
[[nodiscard]] std::string open311_time(LocalTime t);

} // namespace wangge::loop
