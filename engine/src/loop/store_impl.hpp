// Private to loop/: the store's connection and the codec between stored rows and the
// loop's values (one place that knows the column order and the stored time format).
#pragma once

#include "wangge/loop/state_at.hpp"
#include "wangge/loop/steps.hpp"
#include "wangge/loop/store.hpp"
#include "wangge/store/gpkg.hpp"
#include "wangge/store/sqlite.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace wangge::loop {

namespace detail {
// The workspace's SQLite connection and GeoPackage encoding belong to store.
using store::gpkg::point_blob;
using store::gpkg::point_from_blob;
using store::sqlite::Connection;
using store::sqlite::ReadTransaction;
using store::sqlite::Statement;
using store::sqlite::Transaction;
} // namespace detail

struct LoopStore::Impl {
    detail::Connection db;
    bool steps_missing = false; // loop_steps was added to a workspace holding matters
};

namespace detail {

// The loop's own files (state_at.cpp, stats.cpp) read the store's connection through this.
struct StoreAccess {
    static const Connection& db(const LoopStore& store) { return store.m_impl->db; }
};

// The columns of loop_incidents in the order bind_record() and read_record() use.
extern const char* const incident_columns;
// "INSERT INTO loop_incidents (<incident_columns>) VALUES (?, ...)".
[[nodiscard]] std::string insert_incident_sql();

// Times are stored as format_time() writes them, "YYYY-MM-DDTHH:MM": text order is time
// order, so SQL compares them as text. stored_time() reads that shape fast (anything else
// goes through parse_time()).
[[nodiscard]] LocalTime stored_time(std::string_view s);
[[nodiscard]] std::optional<LocalTime> time_from(const Statement& st, int col);
[[nodiscard]] std::optional<std::string> time_text(const std::optional<LocalTime>& t);
void bind_text(Statement& st, int i, const std::optional<std::string>& v);

// A GeoPackage point blob (EPSG:4326, no envelope) and back.

// Throws InputError unless 1 <= id <= max_incident_id.
void require_incident_id(std::int64_t id);
// Binds every column; the record's own strings are bound without copying, so the record
// must outlive the statement's next run(). Throws InputError for an id out of range or text
// that is not UTF-8.
void bind_record(Statement& st, const IncidentRecord& r);
// Reads a row selected with incident_columns.
[[nodiscard]] IncidentRecord read_record(const Statement& st);

// The journal: "SELECT <event_columns> FROM loop_journal ..." rows read by read_event().
extern const char* const event_columns;
[[nodiscard]] Event read_event(const Statement& st);
extern const char* const insert_event_sql;
void append_event(Statement& st, const Event& e);

// loop_steps rows (steps.hpp).
extern const char* const insert_step_sql;
void append_step(Statement& st, const Step& s);

// The mutable columns of a matter (state, clocks, holders, counters).
extern const char* const update_incident_sql;
void update_incident(Statement& st, const Incident& inc);

} // namespace detail

class JournalReader;
class PlaceAt;

// The SQL condition (parameter ?1 = T) that holds for the matters a redraw moved to another
// cell after T: their stored cell is not their cell at T (state_at.cpp, PlaceAt).
// Empty when no redraw was ever published. moved_ids_sql(): the ids of those matters.
[[nodiscard]] std::string moved_after_sql(const detail::Connection& db);
[[nodiscard]] std::string moved_ids_sql(const detail::Connection& db);

// Visits in id order the matters with ids in [from, to) that exist at T and changed or were
// moved by a redraw after it, as they were at T (the rest of a statistics scan reads stored
// rows as they are), through `db`, which may be another connection to the store's file.
void for_each_changed_matter_at(const detail::Connection& db, const Loop& loop, LocalTime at,
                                std::int64_t from, std::int64_t to,
                                const std::function<void(MatterAt&&)>& visit);

// matter_at() for many matters at one time T, with its statements prepared once (the
// replay of the matters that changed after T in statistics).
class Replayer {
  public:
    Replayer(const LoopStore& store, const Loop& loop, LocalTime at);
    ~Replayer();
    Replayer(const Replayer&) = delete;
    Replayer& operator=(const Replayer&) = delete;
    [[nodiscard]] std::optional<MatterAt> matter(std::int64_t id);

  private:
    const Loop& m_loop;
    LocalTime m_at;
    detail::Statement m_incident;
    std::unique_ptr<JournalReader> m_journal;
    std::unique_ptr<PlaceAt> m_place;
};

} // namespace wangge::loop
