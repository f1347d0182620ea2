// THE rule for a matter at a time T (time travel). Every answer "as of T" goes through this
// header: `incidents show/list --at`, `stats --at`, the status map (render), tiles and the
// server. Nothing else decides a matter's state or status at T.
//
// The rule:
// - A matter exists at T when it was reported at or before T. A matter reported later does
//   not exist at T: it is neither listed, shown nor counted.
// - Its state at T is the state its journal reaches with the events dated at or before T,
//   replayed through Loop (so the step deadline is the one in force at T, an extension or a
//   supervision order given after T does not count yet, and lateness is what was known at T).
// - Its status at T is Loop::status() of that state at T.
// - Its place at T (cell, village, township, grid version) is the stored one unless a
//   published redraw moved it after T (redraw_relocations, redraw/publish.hpp): then it is
//   where the first move effective after T took it from.
// The stored row of a matter is the replay of its whole journal, so a matter whose last event
// is not after T is read as stored and only matters changed after T are replayed. Filters that
// the stored columns decide (existence at T, cell, township, state, status) run in SQL first;
// every matter handed out has passed the exact check in C++ as well.
//
// Threading: like LoopStore, use from one thread at a time per store.
#pragma once

#include "wangge/loop/incident.hpp"
#include "wangge/loop/store.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace wangge::loop {

// A matter as it was at T.
struct MatterAt {
    IncidentRecord record; // record.incident is the matter at T (state, deadline, holder)
    Status status = Status::on_time;
    bool replayed = false; // it changed after T and was rebuilt from its journal up to T
};

// Which matters to visit; empty fields do not filter.
struct MatterFilter {
    std::optional<std::int64_t> id;
    std::string cell;
    std::string township;
    std::optional<State> state;   // state at T
    std::optional<Status> status; // status at T
    bool open_only = false;       // neither closed nor rejected at T
    bool supervised_only = false; // under supervision (督办) at T
    // With open_only: keep matters closed at or after this time too (a map's fresh closes).
    std::optional<LocalTime> closed_since;
};

// Sets the filter's state, status, open_only or supervised_only from the one text users give
// (`incidents list --status`, the server's ?status=): a state (filed, ...), a status at T
// (overdue, ...), "open" or "supervised". "" filters nothing. InputError naming the choices.
void set_status_filter(MatterFilter& filter, const std::string& text);

// Whether a matter as it was at T passes the filter (the exact check behind the SQL one).
[[nodiscard]] bool matches(const MatterAt& matter, const MatterFilter& filter);
// The same for a record that is its matter at T, with its status at T.
[[nodiscard]] bool matches(const IncidentRecord& record, Status status, const MatterFilter& filter);

// Visits every matter that exists at `at` and passes the filter, in id order, all from one read
// snapshot of the store; `visit` must not write through the store.
void for_each_matter_at(const LoopStore& store, const Loop& loop, LocalTime at,
                        const MatterFilter& filter, const std::function<void(MatterAt&&)>& visit);
[[nodiscard]] std::vector<MatterAt> matters_at(const LoopStore& store, const Loop& loop,
                                               LocalTime at, const MatterFilter& filter = {});

// One matter at T; nullopt when there is no such matter or it was reported after T.
[[nodiscard]] std::optional<MatterAt> matter_at(const LoopStore& store, const Loop& loop,
                                                std::int64_t id, LocalTime at);

// The time from which every stored row is its matter's state and place: the latest of the
// matters' last events and of the redraw moves' effective times (nullopt for an empty store).
// At any T at or after it, the rule above is the stored rows with their status at T, so a
// caller holding the rows (the server's snapshot) needs no replay; before it, ask the rule.
[[nodiscard]] std::optional<LocalTime> settled_since(const LoopStore& store);

// The rule for one matter whose stored row and journal the caller holds already: the stored
// incident when its last event is not after `at`, else the journal's events up to `at`
// replayed. Precondition: the matter was reported at or before `at`.
[[nodiscard]] Incident incident_at(const Loop& loop, const Incident& stored,
                                   std::span<const Event> journal, LocalTime at);

} // namespace wangge::loop
