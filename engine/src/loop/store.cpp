#include "wangge/loop/store.hpp"

#include "loop/store_impl.hpp"
#include "wangge/error.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <unordered_map>

namespace wangge::loop {

using namespace detail;

namespace {

// Two indexes serve the time-travel rule (state_at.hpp) without reading every matter:
// loop_incidents_updated finds the matters changed after T (the only ones replayed), and the
// partial loop_incidents_open_due the open ones past their deadline (overdue now or at T).
const char* const schema = R"(
CREATE TABLE IF NOT EXISTS loop_departments (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS loop_functions (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, department TEXT NOT NULL,
  fallback BOOLEAN NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS loop_categories (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, function TEXT, urgency TEXT, dispatch TEXT,
  handle TEXT, verify_urban TEXT, verify_rural TEXT, filing_condition TEXT,
  closing_condition TEXT);
CREATE TABLE IF NOT EXISTS loop_duties (
  fid INTEGER PRIMARY KEY, function TEXT NOT NULL, level TEXT NOT NULL, unit TEXT NOT NULL,
  department TEXT NOT NULL, person TEXT, valid_from TEXT, valid_to TEXT);
CREATE TABLE IF NOT EXISTS loop_incidents (
  fid INTEGER PRIMARY KEY, geom POINT, category TEXT NOT NULL, reporter TEXT,
  urban BOOLEAN NOT NULL, reported_at TEXT NOT NULL, state TEXT NOT NULL,
  supervised BOOLEAN NOT NULL, updated_at TEXT NOT NULL, step_started TEXT, due TEXT,
  due_unit TEXT, late BOOLEAN NOT NULL, closed_at TEXT, department TEXT, person TEXT,
  returns MEDIUMINT NOT NULL, reworks MEDIUMINT NOT NULL, extensions MEDIUMINT NOT NULL,
  cell TEXT, village TEXT, township TEXT, grid_version MEDIUMINT,
  boundary_distance_m REAL, near_boundary BOOLEAN NOT NULL, route_department TEXT,
  route_person TEXT, route_fallback BOOLEAN NOT NULL, note TEXT);
CREATE INDEX IF NOT EXISTS loop_incidents_cell ON loop_incidents (cell);
CREATE INDEX IF NOT EXISTS loop_incidents_updated ON loop_incidents (updated_at, reported_at);
CREATE INDEX IF NOT EXISTS loop_incidents_open_due ON loop_incidents (due)
  WHERE state NOT IN ('closed', 'rejected');
CREATE TABLE IF NOT EXISTS loop_journal (
  fid INTEGER PRIMARY KEY, incident INTEGER NOT NULL, from_state TEXT NOT NULL,
  to_state TEXT NOT NULL, actor TEXT, at TEXT NOT NULL, note TEXT, department TEXT,
  person TEXT, deadline TEXT, approver TEXT, action TEXT);
CREATE INDEX IF NOT EXISTS loop_journal_incident ON loop_journal (incident, fid);
CREATE TABLE IF NOT EXISTS loop_steps (
  fid INTEGER PRIMARY KEY, incident INTEGER NOT NULL, seq INTEGER NOT NULL,
  clock TEXT NOT NULL, department TEXT, person TEXT, started_at TEXT NOT NULL, due TEXT,
  ended_at TEXT, outcome TEXT);
CREATE INDEX IF NOT EXISTS loop_steps_incident ON loop_steps (incident, seq);
CREATE TABLE IF NOT EXISTS loop_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)";

} // namespace

void check_report_time(const Report& report, LocalTime now, const Calendar& calendar,
                       bool allow_backdated) {
    const auto name = [&] {
        return "report " + (report.id > 0 ? std::to_string(report.id) + " " : std::string()) +
               "dated " + format_time(report.at);
    };
    if (report.at.minutes > now.minutes + report_clock_tolerance_minutes)
        throw InputError(name() + " is in the future (now " + format_time(now) +
                         "; reports may be at most " +
                         std::to_string(report_clock_tolerance_minutes) + " minutes ahead)");
    if (!allow_backdated &&
        static_cast<int>(date_of(report.at).year()) < calendar.first_covered_year())
        throw InputError(name() + " is before the calendar starts (the calendars cover " +
                         calendar.covered_years_text() +
                         "); --allow-backdated accepts it with deadlines counted Mon-Fri");
}

IncidentRecord make_record(const Report& report, const ImportContext& context) {
    check_report_time(report, context.options.now ? *context.options.now : now_local(),
                      context.loop.calendar(), context.options.allow_backdated);
    IncidentRecord r;
    r.lonlat = report.lonlat;
    r.grid_version = context.grid_version;
    const grid::Location loc = context.locator.locate_with_distance(report.lonlat);
    r.boundary_distance_m = loc.boundary_distance_m;
    r.near_boundary = loc.boundary_distance_m < context.options.near_boundary_m;
    const grid::Cell* cell = nullptr;
    if (loc.cell >= 0) {
        cell = &context.grid.cells.at(static_cast<std::size_t>(loc.cell));
        r.cell = cell->code;
        r.village = cell->village_code;
        r.township = cell->township_code;
    }
    const bool urban = context.loop.catalogue().urban_townships().count(r.township) > 0;
    try {
        r.incident = context.loop.open(
            {report.id, report.category, urban, report.at, report.reporter, report.note});
    } catch (const InputError& e) {
        // A deadline outside the calendar's years: name the report.
        throw InputError("report " + std::to_string(report.id) + ": " + e.message());
    }
    if (cell) {
        const auto& category = context.loop.catalogue().category_at(report.category);
        const Route route =
            context.duties.route(*cell, category, context.loop.catalogue(), date_of(report.at));
        if (route.duty) {
            r.route_department = route.duty->department;
            r.route_person = route.duty->person;
            r.route_fallback = route.fallback;
        }
    }
    return r;
}

LoopStore::LoopStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
LoopStore::~LoopStore() = default;
LoopStore::LoopStore(LoopStore&&) noexcept = default;
LoopStore& LoopStore::operator=(LoopStore&&) noexcept = default;

LoopStore LoopStore::open(const std::string& gpkg_path) {
    if (!std::filesystem::exists(gpkg_path))
        throw StoreError("no such workspace", {.file = gpkg_path});
    auto impl = std::make_unique<Impl>();
    impl->db = Connection(gpkg_path, false);
    // A bulk import writes tens of megabytes in one transaction; a larger page cache keeps
    // SQLite from spilling dirty pages to the file before the commit.
    impl->db.exec("PRAGMA cache_size = -65536");
    // Reading a million matters (statistics, maps) through memory-mapped pages saves a copy
    // of every page out of the OS cache.
    impl->db.exec("PRAGMA mmap_size = 1073741824");
    // Another writer (a long import, a second command) holding the file is waited for
    // (Connection's busy handler, WANGGE_BUSY_TIMEOUT).
    if (!impl->db.has_table("gpkg_contents"))
        throw StoreError("not a GeoPackage (no gpkg_contents)", {.file = gpkg_path});
    // Only a wangge workspace gets the loop's tables: any other GeoPackage is left untouched.
    if (!impl->db.has_table("wangge_meta"))
        throw StoreError("not a wangge workspace (no wangge_meta table); nothing was written",
                         {.file = gpkg_path});
    // Tables and columns that came later are added to older workspaces too.
    const bool had_incidents = impl->db.has_table("loop_incidents");
    const bool had_steps = impl->db.has_table("loop_steps");
    if (!had_incidents || !impl->db.has_table("loop_settings") || !had_steps ||
        !impl->db.has_column("loop_journal", "approver") ||
        !impl->db.has_index("loop_incidents_open_due")) {
        Transaction tx(impl->db);
        impl->db.exec(schema);
        if (!impl->db.has_column("loop_journal", "approver"))
            impl->db.exec("ALTER TABLE loop_journal ADD COLUMN approver TEXT; "
                          "ALTER TABLE loop_journal ADD COLUMN action TEXT;");
        // Listed in the GeoPackage so that GDAL and GIS tools see them: the incidents as
        // points in EPSG:4326, the rest as attribute tables.
        store::gpkg::register_points(impl->db, "loop_incidents", "geom", 4326);
        store::gpkg::register_attributes(impl->db, {"loop_departments", "loop_functions",
                                                    "loop_categories", "loop_duties",
                                                    "loop_journal", "loop_steps", "loop_settings"});
        tx.commit();
        impl->steps_missing = had_incidents && !had_steps;
    }
    return LoopStore(std::move(impl));
}

namespace {

// Replaces the catalogue tables' rows; the caller holds the transaction.
void write_catalogue(const Connection& db, const Catalogue& catalogue) {
    // A stored matter keeps its category: without it the matter could not advance, so a
    // catalogue that drops a category in use is refused whole.
    auto used = db.prepare("SELECT category, min(fid), count(*) FROM loop_incidents "
                           "GROUP BY category ORDER BY category");
    while (used.step()) {
        const std::string code = used.text(0);
        if (catalogue.category(code)) continue;
        const auto count = used.integer(2);
        throw DataError("the new catalogue has no category " + code + ", which " +
                            std::to_string(count) + " stored matter" + (count == 1 ? "" : "s") +
                            " use (incident " + std::to_string(used.integer(1)) +
                            (count > 1 ? " and others" : "") +
                            "); keep it in categories.csv. Nothing was changed",
                        {.file = db.path(), .layer = "loop_categories"});
    }
    db.exec("DELETE FROM loop_departments; DELETE FROM loop_functions; "
            "DELETE FROM loop_categories;");
    auto dep = db.prepare("INSERT INTO loop_departments (code, name, kind) VALUES (?, ?, ?)");
    for (const auto& d : catalogue.departments())
        dep.bind(1, std::string_view(d.code))
            .bind(2, std::string_view(d.name))
            .bind(3, std::string_view(d.kind))
            .run();
    auto fn = db.prepare(
        "INSERT INTO loop_functions (code, name, department, fallback) VALUES (?, ?, ?, ?)");
    for (const auto& f : catalogue.functions())
        fn.bind(1, std::string_view(f.code))
            .bind(2, std::string_view(f.name))
            .bind(3, std::string_view(f.department))
            .bind(4, f.fallback ? 1 : 0)
            .run();
    auto cat = db.prepare("INSERT INTO loop_categories (code, name, function, urgency, dispatch, "
                          "handle, verify_urban, verify_rural, filing_condition, "
                          "closing_condition) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& m : catalogue.majors())
        cat.bind(1, std::string_view(m.code)).bind(2, std::string_view(m.name)).run();
    for (const auto& c : catalogue.categories())
        cat.bind(1, std::string_view(c.code))
            .bind(2, std::string_view(c.name))
            .bind(3, std::string_view(c.function))
            .bind(4, to_string(c.urgency))
            .bind(5, std::string_view(format_limit(c.limits.dispatch)))
            .bind(6, std::string_view(format_limit(c.limits.handle)))
            .bind(7, std::string_view(format_limit(c.limits.verify_urban)))
            .bind(8, std::string_view(format_limit(c.limits.verify_rural)))
            .bind(9, std::string_view(c.filing_condition))
            .bind(10, std::string_view(c.closing_condition))
            .run();
}

void write_setting(const Connection& db, const std::string& key, const std::string& value) {
    db.prepare("INSERT OR REPLACE INTO loop_settings (key, value) VALUES (?, ?)")
        .bind(1, std::string_view(key))
        .bind(2, std::string_view(value))
        .run();
}

} // namespace

namespace {

// The catalogue's urban townships live in a setting, one code a line.
constexpr const char* urban_setting = "urban_townships";

void write_urban_townships(const Connection& db, const Catalogue& catalogue) {
    std::string codes;
    for (const auto& c : catalogue.urban_townships())
        codes += (codes.empty() ? "" : "\n") + c;
    write_setting(db, urban_setting, codes);
}

} // namespace

void LoopStore::save_catalogue(const Catalogue& catalogue) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    write_catalogue(db, catalogue);
    write_urban_townships(db, catalogue);
    tx.commit();
}

void LoopStore::save_catalogue(const Catalogue& catalogue, const std::string& calendar_json) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    write_catalogue(db, catalogue);
    write_urban_townships(db, catalogue);
    write_setting(db, "calendar", calendar_json);
    tx.commit();
}

Catalogue LoopStore::load_catalogue() const {
    const auto& db = m_impl->db;
    std::vector<Department> departments;
    std::vector<Function> functions;
    std::vector<MajorCategory> majors;
    std::vector<Category> categories;
    auto dep = db.prepare("SELECT code, name, kind FROM loop_departments ORDER BY code");
    while (dep.step())
        departments.push_back({dep.text(0), dep.text(1), dep.text(2)});
    auto fn =
        db.prepare("SELECT code, name, department, fallback FROM loop_functions ORDER BY code");
    while (fn.step())
        functions.push_back({fn.text(0), fn.text(1), fn.text(2), fn.integer(3) != 0});
    auto cat = db.prepare("SELECT code, name, function, urgency, dispatch, handle, verify_urban, "
                          "verify_rural, filing_condition, closing_condition "
                          "FROM loop_categories ORDER BY code");
    try {
        while (cat.step()) {
            if (cat.is_null(2)) {
                majors.push_back({cat.text(0), cat.text(1)});
                continue;
            }
            Category c;
            c.code = cat.text(0);
            c.name = cat.text(1);
            c.function = cat.text(2);
            c.urgency = urgency_from(cat.text(3));
            c.limits = {parse_limit(cat.text(4)), parse_limit(cat.text(5)),
                        parse_limit(cat.text(6)), parse_limit(cat.text(7))};
            c.filing_condition = cat.text(8);
            c.closing_condition = cat.text(9);
            categories.push_back(std::move(c));
        }
        Catalogue catalogue(std::move(departments), std::move(functions), std::move(majors),
                            std::move(categories));
        // A workspace whose catalogue was stored before the setting existed has none.
        if (const auto codes = setting(urban_setting)) {
            std::set<std::string> urban;
            std::string_view rest = *codes;
            while (!rest.empty()) {
                const auto end = std::min(rest.find('\n'), rest.size());
                urban.emplace(rest.substr(0, end));
                rest.remove_prefix(std::min(end + 1, rest.size()));
            }
            catalogue.set_urban_townships(std::move(urban));
        }
        return catalogue;
    } catch (const Error& e) {
        throw StoreError("stored catalogue is inconsistent: " + e.message(),
                         {.file = db.path(), .layer = "loop_categories"});
    }
}

void LoopStore::save_duties(const DutyTable& duties) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    db.exec("DELETE FROM loop_duties");
    auto st = db.prepare("INSERT INTO loop_duties (function, level, unit, department, person, "
                         "valid_from, valid_to) VALUES (?, ?, ?, ?, ?, ?, ?)");
    for (const auto& d : duties.duties()) {
        st.bind(1, std::string_view(d.function))
            .bind(2, to_string(d.level))
            .bind(3, std::string_view(d.unit))
            .bind(4, std::string_view(d.department))
            .bind(5, std::string_view(d.person));
        bind_text(st, 6, d.valid_from ? std::optional(format_date(*d.valid_from)) : std::nullopt);
        bind_text(st, 7, d.valid_to ? std::optional(format_date(*d.valid_to)) : std::nullopt);
        st.run();
    }
    tx.commit();
}

DutyTable LoopStore::load_duties(const Catalogue& catalogue) const {
    auto st = m_impl->db.prepare("SELECT function, level, unit, department, person, valid_from, "
                                 "valid_to FROM loop_duties ORDER BY fid");
    std::vector<Duty> duties;
    while (st.step()) {
        Duty d;
        d.function = st.text(0);
        d.level = duty_level_from(st.text(1));
        d.unit = st.text(2);
        d.department = st.text(3);
        d.person = st.text(4);
        if (!st.is_null(5)) d.valid_from = parse_date(st.text(5));
        if (!st.is_null(6)) d.valid_to = parse_date(st.text(6));
        duties.push_back(std::move(d));
    }
    return DutyTable(std::move(duties), catalogue);
}

ImportSummary LoopStore::import_reports(std::span<const Report> reports,
                                        const ImportContext& context, bool skip_stored) {
    const auto& db = m_impl->db;
    ImportSummary summary;
    Transaction tx(db);
    // The stored ids are read inside the write transaction: a second import of the same file
    // running at the same time waits for this one and then skips what it wrote.
    std::vector<Report> fresh;
    if (skip_stored) {
        const auto stored = incident_ids();
        if (!stored.empty()) {
            fresh.reserve(reports.size());
            for (const auto& r : reports) {
                if (std::binary_search(stored.begin(), stored.end(), r.id))
                    ++summary.already;
                else
                    fresh.push_back(r);
            }
            reports = fresh;
        }
    }
    auto st = db.prepare(insert_incident_sql());
    auto steps = db.prepare(insert_step_sql);
    // Locating, routing and deadlines of the next chunk run on a second thread while this
    // one writes the current chunk: the two halves cost about the same. Everything the
    // worker touches (locator, loop, duties) is immutable and thread-safe.
    constexpr std::size_t chunk = 16384;
    const auto make_chunk = [&reports, &context](std::size_t begin) {
        const std::size_t end = std::min(reports.size(), begin + chunk);
        std::vector<IncidentRecord> out;
        out.reserve(end - begin);
        for (std::size_t i = begin; i < end; ++i)
            out.push_back(make_record(reports[i], context));
        return out;
    };
    std::future<std::vector<IncidentRecord>> next;
    if (!reports.empty()) next = std::async(std::launch::async, make_chunk, std::size_t{0});
    for (std::size_t begin = 0; begin < reports.size(); begin += chunk) {
        const std::vector<IncidentRecord> records = next.get();
        if (begin + chunk < reports.size())
            next = std::async(std::launch::async, make_chunk, begin + chunk);
        for (const auto& r : records) {
            try {
                bind_record(st, r);
                st.run();
            } catch (const StoreError& e) {
                throw StoreError("incident " + std::to_string(r.incident.report.id) + ": " +
                                     e.message(),
                                 {.file = db.path(), .layer = "loop_incidents"});
            }
            // The first step, the centre's filing and dispatching, runs from the report.
            append_step(steps, Step{.incident = r.incident.report.id,
                                    .clock = Clock::dispatch,
                                    .started = r.incident.report.reported_at,
                                    .due = r.incident.due});
            ++summary.imported;
            if (r.cell.empty()) ++summary.outside_grid;
            if (r.near_boundary) ++summary.near_boundary;
            if (!r.cell.empty() && r.route_department.empty()) ++summary.unrouted;
        }
    }
    tx.commit();
    return summary;
}

std::optional<IncidentRecord> LoopStore::incident(std::int64_t id) const {
    auto st = m_impl->db.prepare(std::string("SELECT ") + incident_columns +
                                 " FROM loop_incidents WHERE fid = ?");
    st.bind(1, id);
    if (!st.step()) return std::nullopt;
    return read_record(st);
}

std::vector<IncidentRecord> LoopStore::incidents() const {
    auto st = m_impl->db.prepare(std::string("SELECT ") + incident_columns +
                                 " FROM loop_incidents ORDER BY fid");
    std::vector<IncidentRecord> out;
    while (st.step())
        out.push_back(read_record(st));
    return out;
}

std::size_t LoopStore::incident_count() const {
    auto st = m_impl->db.prepare("SELECT count(*) FROM loop_incidents");
    st.step();
    return static_cast<std::size_t>(st.integer(0));
}

std::int64_t LoopStore::largest_incident_id() const {
    auto last = m_impl->db.prepare("SELECT max(fid) FROM loop_incidents");
    last.step();
    return last.is_null(0) ? 0 : last.integer(0);
}

std::vector<std::int64_t> LoopStore::incident_ids() const {
    auto st = m_impl->db.prepare("SELECT fid FROM loop_incidents ORDER BY fid");
    std::vector<std::int64_t> out;
    while (st.step())
        out.push_back(st.integer(0));
    return out;
}

void LoopStore::save_setting(const std::string& key, const std::string& value) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    write_setting(db, key, value);
    tx.commit();
}

std::optional<std::string> LoopStore::setting(const std::string& key) const {
    auto st = m_impl->db.prepare("SELECT value FROM loop_settings WHERE key = ?");
    st.bind(1, std::string_view(key));
    if (!st.step()) return std::nullopt;
    return st.text(0);
}

LoopStore::Consistency LoopStore::check_consistency() const {
    const auto& db = m_impl->db;
    Consistency c;
    auto integrity = db.prepare("PRAGMA integrity_check");
    while (integrity.step())
        c.integrity += (c.integrity.empty() ? "" : "; ") + integrity.text(0);
    c.incidents = incident_count();
    auto events = db.prepare("SELECT count(*) FROM loop_journal");
    events.step();
    c.events = static_cast<std::size_t>(events.integer(0));
    auto orphans = db.prepare("SELECT count(*) FROM loop_journal j WHERE NOT EXISTS "
                              "(SELECT 1 FROM loop_incidents i WHERE i.fid = j.incident)");
    orphans.step();
    c.orphaned_events = static_cast<std::size_t>(orphans.integer(0));
    return c;
}

std::vector<Event> LoopStore::journal(std::int64_t incident) const {
    auto st = m_impl->db.prepare(std::string("SELECT ") + event_columns +
                                 " FROM loop_journal WHERE incident = ? ORDER BY fid");
    st.bind(1, incident);
    std::vector<Event> out;
    while (st.step())
        out.push_back(read_event(st));
    return out;
}

namespace {

// Replaces a matter's rows in loop_steps with the steps its journal gives.
void write_steps(const Connection& db, Statement& insert, const Loop& loop,
                 const NewIncident& report, std::span<const Event> journal, bool replace) {
    if (replace) db.prepare("DELETE FROM loop_steps WHERE incident = ?").bind(1, report.id).run();
    for (const auto& step : steps_of(loop, report, journal))
        append_step(insert, step);
}

} // namespace

void LoopStore::insert_report(IncidentRecord& record, const Loop& loop) {
    const auto& db = m_impl->db;
    // BEGIN IMMEDIATE takes the write lock first: the id read below stays free until commit.
    Transaction tx(db);
    auto& id = record.incident.report.id;
    if (id == 0) {
        const std::int64_t largest = largest_incident_id();
        if (largest >= max_incident_id)
            throw InputError("no automatic incident id left: the largest stored id is " +
                             std::to_string(largest) + " (2^53 - 1); give a free id explicitly");
        id = largest + 1;
    } else {
        require_incident_id(id);
        auto exists = db.prepare("SELECT 1 FROM loop_incidents WHERE fid = ?");
        exists.bind(1, id);
        if (exists.step())
            throw StoreError("incident " + std::to_string(id) + " exists already",
                             {.file = db.path(), .layer = "loop_incidents"});
    }
    auto st = db.prepare(insert_incident_sql());
    bind_record(st, record);
    st.run();
    auto steps = db.prepare(insert_step_sql);
    write_steps(db, steps, loop, record.incident.report, {}, false);
    tx.commit();
}

void LoopStore::insert(std::span<const IncidentRecord> records, std::span<const Event> journal,
                       const Loop& loop) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    auto st = db.prepare(insert_incident_sql());
    for (const auto& r : records) {
        try {
            bind_record(st, r);
            st.run();
        } catch (const StoreError& e) {
            throw StoreError("incident " + std::to_string(r.incident.report.id) + ": " +
                                 e.message(),
                             {.file = db.path(), .layer = "loop_incidents"});
        }
    }
    auto events = db.prepare(insert_event_sql);
    std::unordered_map<std::int64_t, std::vector<Event>> by_incident;
    for (const auto& e : journal) {
        append_event(events, e);
        by_incident[e.incident].push_back(e);
    }
    auto steps = db.prepare(insert_step_sql);
    for (const auto& r : records) {
        const auto it = by_incident.find(r.incident.report.id);
        write_steps(db, steps, loop, r.incident.report,
                    it == by_incident.end() ? std::span<const Event>() : std::span(it->second),
                    false);
    }
    tx.commit();
}

void LoopStore::apply(std::span<const Change> changes, const Loop& loop) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    auto events = db.prepare(insert_event_sql);
    auto update = db.prepare(update_incident_sql);
    std::unordered_map<std::int64_t, Incident> touched;
    for (const auto& change : changes) {
        auto it = touched.find(change.incident);
        if (it == touched.end()) {
            auto record = incident(change.incident);
            if (!record)
                throw DataError("no incident " + std::to_string(change.incident),
                                {.file = db.path(), .layer = "loop_incidents"});
            it = touched.emplace(change.incident, std::move(record->incident)).first;
        }
        if (change.supervision == Change::Supervision::put)
            append_event(events, loop.supervise(it->second, change.transition.at,
                                                change.transition.actor, change.transition.note));
        else if (change.supervision == Change::Supervision::lift)
            append_event(events,
                         loop.lift_supervision(it->second, change.transition.at,
                                               change.transition.actor, change.transition.note));
        else
            append_event(events, loop.advance(it->second, change.transition));
    }
    auto steps = db.prepare(insert_step_sql);
    for (const auto& [id, inc] : touched) {
        update_incident(update, inc);
        write_steps(db, steps, loop, inc.report, journal(id), true);
    }
    tx.commit();
}

void LoopStore::rebuild_steps(const Loop& loop) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    db.exec("DELETE FROM loop_steps");
    auto steps = db.prepare(insert_step_sql);
    for (const auto& r : incidents())
        write_steps(db, steps, loop, r.incident.report, journal(r.incident.report.id), false);
    tx.commit();
    m_impl->steps_missing = false;
}

bool LoopStore::steps_missing() const noexcept {
    return m_impl->steps_missing;
}

std::vector<Step> LoopStore::steps(std::int64_t incident) const {
    auto st = m_impl->db.prepare("SELECT incident, seq, clock, department, person, started_at, "
                                 "due, ended_at, outcome FROM loop_steps WHERE incident = ? "
                                 "ORDER BY seq");
    st.bind(1, incident);
    std::vector<Step> out;
    while (st.step()) {
        Step s;
        s.incident = st.integer(0);
        s.seq = static_cast<int>(st.integer(1));
        s.clock = clock_from(st.view(2));
        s.department = st.text(3);
        s.person = st.text(4);
        s.started = stored_time(st.view(5));
        s.due = time_from(st, 6);
        s.ended = time_from(st, 7);
        if (!st.is_null(8)) s.outcome = state_from(st.view(8));
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace wangge::loop
