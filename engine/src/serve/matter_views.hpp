// The matters as the API shows them at a time T, through the loop's one rule for T
// (loop/state_at.hpp): from the live snapshot's rows when they are the matters' state at T
// (now, the common case), else rebuilt by the loop (replayed journals, and the cells a
// redraw moved them from). And the one way the server reports a matter.
#pragma once

#include "api_support.hpp"
#include "live.hpp"
#include "wangge/loop/state_at.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wangge::serve {

// A matter at T: its record as at T (state, deadline, lateness, cell) and status at T.
// Ownership: a row of the snapshot is borrowed (the caller keeps the snapshot alive while it
// uses the view); a row the loop rebuilt is owned (shared, so views copy cheaply).
class MatterView {
  public:
    static MatterView borrowed(const loop::IncidentRecord& row, loop::Status status) {
        return MatterView(&row, nullptr, status);
    }
    static MatterView owned(loop::IncidentRecord record, loop::Status status) {
        auto p = std::make_shared<const loop::IncidentRecord>(std::move(record));
        const auto* row = p.get();
        return MatterView(row, std::move(p), status);
    }
    [[nodiscard]] const loop::IncidentRecord& record() const noexcept { return *m_record; }
    [[nodiscard]] const loop::Incident& incident() const noexcept { return m_record->incident; }
    [[nodiscard]] loop::State state() const noexcept { return m_record->incident.state; }
    [[nodiscard]] loop::Status status() const noexcept { return m_status; }

  private:
    MatterView(const loop::IncidentRecord* record,
               std::shared_ptr<const loop::IncidentRecord> owner, loop::Status status)
        : m_record(record), m_owner(std::move(owner)), m_status(status) {}
    const loop::IncidentRecord* m_record;
    std::shared_ptr<const loop::IncidentRecord> m_owner;
    loop::Status m_status;
};

// The filters of `wangge incidents list` (loop::MatterFilter) plus department (the holder at
// T: dispatched, else routed).
struct MatterFilter {
    loop::MatterFilter loop;
    std::string department;
};
// ?cell=&township=&department=&status= (status as loop::set_status_filter reads it);
// InputError when bad.
[[nodiscard]] MatterFilter filter_of(const Request& req);

// Every matter that exists at `at` and passes the filter, in id order. Views of snapshot
// rows point into `snap`.
[[nodiscard]] std::vector<MatterView> matters(Live& live, const Snapshot& snap,
                                              const MatterFilter& filter, loop::LocalTime at);

// The loop's one matter encoder (loop/matter_json.hpp), shared with the command line; unit
// names from the grid version the matter is placed in at T.
[[nodiscard]] json matter_properties(const Live& live, const MatterView& view);
[[nodiscard]] json matter_feature(const Live& live, const MatterView& view);
[[nodiscard]] json journal_json(const std::vector<loop::Event>& journal);

// Reports a matter: the same library calls and rules as `wangge incidents report`. Id 0
// takes the next free one. Throws DataError (unknown category, outside every cell),
// StoreError (the id exists).
[[nodiscard]] loop::IncidentRecord report_matter(Live& live, std::int64_t id,
                                                 const std::string& category, geo::Point lonlat,
                                                 const std::string& reporter,
                                                 const std::string& note, loop::LocalTime at);

} // namespace wangge::serve
