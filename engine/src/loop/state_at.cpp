#include "wangge/loop/state_at.hpp"

#include "loop/store_impl.hpp"
#include "wangge/error.hpp"

#include <algorithm>

namespace wangge::loop {

using namespace detail;

namespace {} // namespace

// The events of one matter dated at or before `at`, in journal order.
class JournalReader {
  public:
    explicit JournalReader(const Connection& db)
        : m_st(db.prepare(std::string("SELECT ") + event_columns +
                          " FROM loop_journal WHERE incident = ? AND at <= ? ORDER BY fid")) {}

    std::vector<Event> upto(std::int64_t id, LocalTime at) {
        m_st.reset();
        m_st.bind(1, id).bind(2, std::string_view(format_time(at)));
        std::vector<Event> out;
        while (m_st.step())
            out.push_back(read_event(m_st));
        return out;
    }

  private:
    Statement m_st;
};

// The events up to T of many matters, read in one statement in id order (one index search
// per matter, no statement run per matter): `changed` is the condition on loop_incidents
// that selects them, with the parameters of the caller's main query (?1 = T).
class JournalsUpTo {
  public:
    JournalsUpTo(const Connection& db, const std::string& changed)
        : m_st(db.prepare(std::string("SELECT ") + event_columns +
                          " FROM loop_journal WHERE incident IN (SELECT fid FROM loop_incidents "
                          "WHERE " +
                          changed + ") AND at <= ?1 ORDER BY incident, fid")) {}

    Statement& statement() { return m_st; } // to bind the parameters before the first of()

    // The events of matter `id` up to T; ids are asked in increasing order.
    const std::vector<Event>& of(std::int64_t id) {
        m_events.clear();
        if (!m_started) {
            m_row = m_st.step();
            m_started = true;
        }
        while (m_row && m_st.integer(0) < id)
            m_row = m_st.step();
        for (; m_row && m_st.integer(0) == id; m_row = m_st.step())
            m_events.push_back(read_event(m_st));
        return m_events;
    }

  private:
    Statement m_st;
    std::vector<Event> m_events;
    bool m_started = false;
    bool m_row = false;
};

// Where a matter was at T. A publish of a redrawn grid (redraw/publish.hpp) moves open
// matters into the new cells from its effective time and journals each move in
// redraw_relocations; before that time the matter is where the first later move took it
// from. Without the table nothing was ever moved.
class PlaceAt {
  public:
    explicit PlaceAt(const Connection& db) {
        if (!db.has_table("redraw_relocations")) return;
        // Journals written before the village and township were recorded keep those stored.
        const bool units = db.has_column("redraw_relocations", "from_village");
        m_st.emplace(
            db.prepare(std::string("SELECT from_cell, from_version, ") +
                       (units ? "from_village, from_township" : "NULL, NULL") +
                       " FROM redraw_relocations WHERE incident = ? AND effective_from > ? "
                       "ORDER BY effective_from, fid LIMIT 1"));
    }

    // The stored record's place replaced by the one it had at `at`, if it moved later.
    void apply(IncidentRecord& r, LocalTime at) {
        if (!m_st) return;
        m_st->reset();
        m_st->bind(1, r.incident.report.id).bind(2, std::string_view(format_time(at)));
        if (!m_st->step()) return;
        r.cell = m_st->text(0);
        if (!m_st->is_null(1)) r.grid_version = static_cast<int>(m_st->integer(1));
        if (!m_st->is_null(2)) r.village = m_st->text(2);
        if (!m_st->is_null(3)) r.township = m_st->text(3);
    }

  private:
    std::optional<Statement> m_st;
};

std::string moved_ids_sql(const Connection& db) {
    return db.has_table("redraw_relocations")
               ? "SELECT incident FROM redraw_relocations WHERE effective_from > ?1"
               : "";
}

std::string moved_after_sql(const Connection& db) {
    const std::string ids = moved_ids_sql(db);
    return ids.empty() ? "" : "fid IN (" + ids + ")";
}

namespace {

// The conditions on a matter's id and place (?3 = cell, ?4 = township).
std::string place_condition(const MatterFilter& f, const std::string& moved) {
    std::string where;
    if (f.id) where += " AND fid = " + std::to_string(*f.id);
    const std::string or_moved = moved.empty() ? "" : " OR " + moved;
    if (!f.cell.empty()) where += " AND (cell = ?3" + or_moved + ")";
    if (!f.township.empty()) where += " AND (township = ?4" + or_moved + ")";
    return where;
}

// The matters that exist at T and changed after it, whose journals are replayed.
const char* const changed_after = "updated_at > ?1 AND reported_at <= ?1";

// The SQL condition on stored rows that keeps every matter the filter may pass at T (bound
// parameters: ?1 = T, ?2 = closed_since). A row changed after T is always kept: its state
// at T is only known after the replay.
// `moved`: moved_after_sql() (a matter moved by a redraw after T was elsewhere at T).
std::string sql_condition(const MatterFilter& f, const std::string& moved) {
    std::string where = "reported_at <= ?1" + place_condition(f, moved);
    std::vector<std::string> stored; // conditions on the stored (= at T) state
    if (f.state) stored.push_back("state = '" + std::string(to_string(*f.state)) + "'");
    if (f.open_only) {
        std::string open = "state NOT IN ('closed', 'rejected')";
        if (f.closed_since) open = "(" + open + " OR (state = 'closed' AND closed_at >= ?2))";
        stored.push_back(open);
    }
    if (f.supervised_only) stored.push_back("supervised <> 0");
    if (f.status) switch (*f.status) {
        case Status::overdue:
            stored.push_back("state NOT IN ('closed', 'rejected') AND due < ?1");
            break;
        case Status::on_time:
        case Status::warning:
            stored.push_back("state NOT IN ('closed', 'rejected') AND (due IS NULL OR due >= ?1)");
            break;
        case Status::closed_on_time:
            stored.push_back("state = 'closed' AND late = 0");
            break;
        case Status::closed_late:
            stored.push_back("state = 'closed' AND late <> 0");
            break;
        case Status::rejected:
            stored.push_back("state = 'rejected'");
            break;
        }
    if (stored.empty()) return where;
    std::string all;
    for (const auto& c : stored)
        all += (all.empty() ? "" : " AND ") + c;
    where += " AND (updated_at > ?1 OR (" + all + "))";
    // Open matters (and the overdue ones among them) are few next to all matters: the store's
    // indexes (loop_incidents_updated, loop_incidents_open_due) name the candidates, which are
    // then read by id in id order instead of scanning every matter. The condition above
    // stays the exact one; this only narrows where SQLite looks.
    const bool indexed = (f.open_only && !f.closed_since) || f.status == Status::overdue;
    if (indexed)
        where += std::string(" AND fid IN (SELECT fid FROM loop_incidents WHERE ") + changed_after +
                 " UNION ALL SELECT fid FROM loop_incidents WHERE " + all + ")";
    return where;
}

} // namespace

void set_status_filter(MatterFilter& f, const std::string& text) {
    if (text.empty()) return;
    if (text == "open") {
        f.open_only = true;
        return;
    }
    if (text == "supervised") {
        f.supervised_only = true;
        return;
    }
    for (auto st : all_statuses)
        if (to_string(st) == text) {
            f.status = st;
            return;
        }
    try {
        f.state = state_from(text);
    } catch (const InputError&) {
        throw InputError("status: '" + text +
                         "' is neither a state (reported, filed, ...), a status (on_time, "
                         "warning, overdue, closed_on_time, closed_late, rejected), 'open' nor "
                         "'supervised'");
    }
}

bool matches(const MatterAt& m, const MatterFilter& f) {
    return matches(m.record, m.status, f);
}

bool matches(const IncidentRecord& record, Status status, const MatterFilter& f) {
    const Incident& inc = record.incident;
    if (f.id && inc.report.id != *f.id) return false;
    if (!f.cell.empty() && record.cell != f.cell) return false;
    if (!f.township.empty() && record.township != f.township) return false;
    if (f.state && inc.state != *f.state) return false;
    if (f.open_only && is_final(inc.state)) {
        const bool fresh_close = f.closed_since && inc.state == State::closed && inc.closed_at &&
                                 *inc.closed_at >= *f.closed_since;
        if (!fresh_close) return false;
    }
    if (f.supervised_only && !inc.supervised) return false;
    if (f.status && status != *f.status) return false;
    return true;
}

Incident incident_at(const Loop& loop, const Incident& stored, std::span<const Event> journal,
                     LocalTime at) {
    if (stored.updated_at <= at) return stored;
    const auto upto =
        std::find_if(journal.begin(), journal.end(), [&](const Event& e) { return e.at > at; });
    return loop.rebuild(stored.report,
                        journal.subspan(0, static_cast<std::size_t>(upto - journal.begin())));
}

namespace {

// The rule applied to a stored row: `events(id)` gives its journal up to T when it changed
// later, `place` its cell at T.
template <class Events>
MatterAt at_time(IncidentRecord record, const Loop& loop, LocalTime at, Events&& events,
                 PlaceAt& place) {
    MatterAt m;
    place.apply(record, at);
    if (record.incident.updated_at > at) {
        try {
            record.incident =
                loop.rebuild(record.incident.report, events(record.incident.report.id));
        } catch (const Error& e) {
            throw DataError("cannot replay the journal up to " + format_time(at) + ": " +
                            e.message());
        }
        m.replayed = true;
    }
    m.status = loop.status(record.incident, at);
    m.record = std::move(record);
    return m;
}

// Visits in id order the matters that `where` selects (a condition on loop_incidents: ?1 = T,
// ?2 = closed_since, ?3 = cell, ?4 = township) as they were at T and pass the filter. The
// journals of those that changed after T, which `changed` selects with the same parameters,
// are read alongside in one statement.
void visit_at(const Connection& db, const Loop& loop, LocalTime at, const MatterFilter& filter,
              const std::string& where, const std::string& changed,
              const std::function<void(MatterAt&&)>& visit) {
    // One snapshot for the scan and the replays (and one file lock instead of one per query).
    const ReadTransaction snapshot(db);
    auto st = db.prepare(std::string("SELECT ") + incident_columns + " FROM loop_incidents WHERE " +
                         where + " ORDER BY fid");
    JournalsUpTo journals(db, changed);
    const std::string at_text = format_time(at);
    const std::string since_text = filter.closed_since ? format_time(*filter.closed_since) : "";
    for (Statement* s : {&st, &journals.statement()}) {
        s->bind(1, std::string_view(at_text));
        if (filter.closed_since && s == &st) s->bind(2, std::string_view(since_text));
        if (!filter.cell.empty()) s->bind(3, std::string_view(filter.cell));
        if (!filter.township.empty()) s->bind(4, std::string_view(filter.township));
    }
    PlaceAt place(db);
    const auto events = [&journals](std::int64_t id) -> const std::vector<Event>& {
        return journals.of(id);
    };
    while (st.step()) {
        MatterAt m = at_time(read_record(st), loop, at, events, place);
        if (matches(m, filter)) visit(std::move(m));
    }
}

} // namespace

void for_each_matter_at(const LoopStore& store, const Loop& loop, LocalTime at,
                        const MatterFilter& filter, const std::function<void(MatterAt&&)>& visit) {
    const Connection& db = StoreAccess::db(store);
    const std::string moved = moved_after_sql(db);
    visit_at(db, loop, at, filter, sql_condition(filter, moved),
             changed_after + place_condition(filter, moved), visit);
}

void for_each_changed_matter_at(const Connection& db, const Loop& loop, LocalTime at,
                                std::int64_t from, std::int64_t to,
                                const std::function<void(MatterAt&&)>& visit) {
    const std::string moved = moved_ids_sql(db);
    // The id range is checked on the index entries (unary +: not a rowid range to scan).
    const std::string changed = std::string(changed_after) +
                                " AND +fid >= " + std::to_string(from) + " AND +fid < " +
                                std::to_string(to);
    // Read by id from the index (ORDER BY fid alone would make SQLite scan every matter).
    visit_at(db, loop, at, {},
             "reported_at <= ?1 AND fid IN (SELECT fid FROM loop_incidents WHERE " + changed +
                 (moved.empty() ? ""
                                : " UNION SELECT * FROM (" + moved +
                                      ") WHERE incident >= " + std::to_string(from) +
                                      " AND incident < " + std::to_string(to)) +
                 ")",
             changed, visit);
}

std::vector<MatterAt> matters_at(const LoopStore& store, const Loop& loop, LocalTime at,
                                 const MatterFilter& filter) {
    std::vector<MatterAt> out;
    for_each_matter_at(store, loop, at, filter,
                       [&out](MatterAt&& m) { out.push_back(std::move(m)); });
    return out;
}

Replayer::Replayer(const LoopStore& store, const Loop& loop, LocalTime at)
    : m_loop(loop), m_at(at),
      m_incident(StoreAccess::db(store).prepare(std::string("SELECT ") + incident_columns +
                                                " FROM loop_incidents WHERE fid = ?")),
      m_journal(std::make_unique<JournalReader>(StoreAccess::db(store))),
      m_place(std::make_unique<PlaceAt>(StoreAccess::db(store))) {}

Replayer::~Replayer() = default;

std::optional<MatterAt> Replayer::matter(std::int64_t id) {
    m_incident.reset();
    m_incident.bind(1, id);
    if (!m_incident.step()) return std::nullopt;
    auto record = read_record(m_incident);
    if (record.incident.report.reported_at > m_at) return std::nullopt;
    return at_time(
        std::move(record), m_loop, m_at,
        [this](std::int64_t matter) { return m_journal->upto(matter, m_at); }, *m_place);
}

std::optional<LocalTime> settled_since(const LoopStore& store) {
    const Connection& db = StoreAccess::db(store);
    const ReadTransaction snapshot(db);
    // Times are fixed-width text, so the greatest text is the latest time (both indexed).
    std::string latest;
    const auto take = [&](const char* sql) {
        auto st = db.prepare(sql);
        if (st.step() && !st.is_null(0)) latest = std::max(latest, st.text(0));
    };
    take("SELECT max(updated_at) FROM loop_incidents");
    if (db.has_table("redraw_relocations"))
        take("SELECT max(effective_from) FROM redraw_relocations");
    if (latest.empty()) return std::nullopt;
    return parse_time(latest);
}

std::optional<MatterAt> matter_at(const LoopStore& store, const Loop& loop, std::int64_t id,
                                  LocalTime at) {
    return Replayer(store, loop, at).matter(id);
}

} // namespace wangge::loop
