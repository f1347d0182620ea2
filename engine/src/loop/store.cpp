#include "wangge/loop/store.hpp"

#include "loop/sqlite.hpp"
#include "wangge/error.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <unordered_map>

namespace wangge::loop {

using detail::Connection;
using detail::Statement;
using detail::Transaction;

namespace {

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
CREATE TABLE IF NOT EXISTS loop_journal (
  fid INTEGER PRIMARY KEY, incident INTEGER NOT NULL, from_state TEXT NOT NULL,
  to_state TEXT NOT NULL, actor TEXT, at TEXT NOT NULL, note TEXT, department TEXT,
  person TEXT, deadline TEXT);
CREATE INDEX IF NOT EXISTS loop_journal_incident ON loop_journal (incident, fid);
CREATE TABLE IF NOT EXISTS loop_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)";

// Registers the tables in gpkg_contents so that GDAL and GIS tools list them: the
// incidents as point features in EPSG:4326, the rest as attribute tables.
const char* const registration = R"(
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, srs_id)
  VALUES ('loop_incidents', 'features', 'loop_incidents', 4326);
INSERT OR IGNORE INTO gpkg_geometry_columns
  (table_name, column_name, geometry_type_name, srs_id, z, m)
  VALUES ('loop_incidents', 'geom', 'POINT', 4326, 0, 0);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier)
  VALUES ('loop_departments', 'attributes', 'loop_departments'),
         ('loop_functions', 'attributes', 'loop_functions'),
         ('loop_categories', 'attributes', 'loop_categories'),
         ('loop_duties', 'attributes', 'loop_duties'),
         ('loop_journal', 'attributes', 'loop_journal'),
         ('loop_settings', 'attributes', 'loop_settings');
)";

constexpr const char* incident_columns =
    "fid, geom, category, reporter, urban, reported_at, state, supervised, updated_at, "
    "step_started, due, due_unit, late, closed_at, department, person, returns, reworks, "
    "extensions, cell, village, township, grid_version, boundary_distance_m, near_boundary, "
    "route_department, route_person, route_fallback, note";

// A GeoPackage geometry blob of a point: "GP", version 0, flags (little endian, no
// envelope), srs_id, then the WKB point.
std::array<unsigned char, 29> point_blob(geo::Point p) {
    std::array<unsigned char, 29> b{};
    b[0] = 'G';
    b[1] = 'P';
    b[2] = 0;
    b[3] = 0x01;
    const std::int32_t srs = 4326;
    std::memcpy(&b[4], &srs, 4);
    b[8] = 1; // WKB little endian
    const std::uint32_t type = 1;
    std::memcpy(&b[9], &type, 4);
    std::memcpy(&b[13], &p.x, 8);
    std::memcpy(&b[21], &p.y, 8);
    return b;
}

geo::Point point_from_blob(const void* data, int size) {
    const auto* b = static_cast<const unsigned char*>(data);
    if (size < 8 || b[0] != 'G' || b[1] != 'P') return {};
    static constexpr int envelope_bytes[] = {0, 32, 48, 48, 64, 0, 0, 0};
    const int offset = 8 + envelope_bytes[(b[3] >> 1) & 0x07];
    if (size < offset + 21) return {};
    geo::Point p;
    std::memcpy(&p.x, b + offset + 5, 8);
    std::memcpy(&p.y, b + offset + 13, 8);
    return p;
}

std::optional<std::string> time_text(const std::optional<LocalTime>& t) {
    if (!t) return std::nullopt;
    return format_time(*t);
}

// Times are stored as format_time() writes them, "YYYY-MM-DDTHH:MM". Reading that one
// shape by hand is several times cheaper than parse_time(), which accepts every ISO 8601
// variant; statistics over a million matters parse three times a row. Anything else
// (a file edited by hand) goes through parse_time().
LocalTime stored_time(std::string_view s) {
    const auto digit = [&s](std::size_t i) { return static_cast<unsigned>(s[i] - '0') <= 9; };
    if (s.size() != 16 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        !(digit(0) && digit(1) && digit(2) && digit(3) && digit(5) && digit(6) && digit(8) &&
          digit(9) && digit(11) && digit(12) && digit(14) && digit(15)))
        return parse_time(s);
    const auto num = [&s](std::size_t i, std::size_t n) {
        int v = 0;
        for (std::size_t k = i; k < i + n; ++k)
            v = v * 10 + (s[k] - '0');
        return v;
    };
    const int y = num(0, 4), m = num(5, 2), d = num(8, 2), hh = num(11, 2), mm = num(14, 2);
    if (m < 1 || m > 12 || d < 1 || d > 31 || hh > 23 || mm > 59) return parse_time(s);
    // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    const int yy = y - (m <= 2 ? 1 : 0);
    const int era = (yy >= 0 ? yy : yy - 399) / 400;
    const int yoe = yy - era * 400;
    const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
    return LocalTime{days * 24 * 60 + hh * 60 + mm};
}

std::optional<LocalTime> time_from(const Statement& st, int col) {
    if (st.is_null(col)) return std::nullopt;
    return stored_time(st.view(col));
}

void bind_text(Statement& st, int i, const std::optional<std::string>& v) {
    if (v)
        st.bind(i, std::string_view(*v));
    else
        st.bind_null(i);
}

// Binds every column; the record's own strings are bound without copying, so the record
// must outlive the statement's next run().
void bind_record(Statement& st, const IncidentRecord& r) {
    const auto& inc = r.incident;
    const auto blob = point_blob(r.lonlat);
    st.bind(1, inc.report.id);
    st.bind_blob(2, blob.data(), static_cast<int>(blob.size()));
    st.bind_static(3, inc.report.category);
    st.bind_static(4, inc.report.reporter);
    st.bind(5, inc.report.urban ? 1 : 0);
    st.bind(6, std::string_view(format_time(inc.report.reported_at)));
    st.bind_static(7, to_string(inc.state));
    st.bind(8, inc.supervised ? 1 : 0);
    st.bind(9, std::string_view(format_time(inc.updated_at)));
    bind_text(st, 10, time_text(inc.step_started));
    bind_text(st, 11, time_text(inc.due));
    st.bind_static(12, to_string(inc.due_unit));
    st.bind(13, inc.late ? 1 : 0);
    bind_text(st, 14, time_text(inc.closed_at));
    st.bind_static(15, inc.department);
    st.bind_static(16, inc.person);
    st.bind(17, inc.returns);
    st.bind(18, inc.reworks);
    st.bind(19, inc.extensions);
    st.bind_static(20, r.cell);
    st.bind_static(21, r.village);
    st.bind_static(22, r.township);
    st.bind(23, r.grid_version);
    st.bind(24, r.boundary_distance_m);
    st.bind(25, r.near_boundary ? 1 : 0);
    st.bind_static(26, r.route_department);
    st.bind_static(27, r.route_person);
    st.bind(28, r.route_fallback ? 1 : 0);
    st.bind_static(29, inc.report.note);
}

IncidentRecord read_record(const Statement& st) {
    IncidentRecord r;
    auto& inc = r.incident;
    inc.report.id = st.integer(0);
    if (!st.is_null(1)) r.lonlat = point_from_blob(st.blob(1), st.bytes(1));
    inc.report.category = st.text(2);
    inc.report.reporter = st.text(3);
    inc.report.urban = st.integer(4) != 0;
    inc.report.reported_at = stored_time(st.view(5));
    inc.state = state_from(st.view(6));
    inc.supervised = st.integer(7) != 0;
    inc.updated_at = stored_time(st.view(8));
    inc.step_started = time_from(st, 9);
    inc.due = time_from(st, 10);
    inc.due_unit = time_unit_from(st.view(11));
    inc.late = st.integer(12) != 0;
    inc.closed_at = time_from(st, 13);
    inc.department = st.text(14);
    inc.person = st.text(15);
    inc.returns = static_cast<int>(st.integer(16));
    inc.reworks = static_cast<int>(st.integer(17));
    inc.extensions = static_cast<int>(st.integer(18));
    r.cell = st.text(19);
    r.village = st.text(20);
    r.township = st.text(21);
    r.grid_version = static_cast<int>(st.integer(22));
    r.boundary_distance_m = st.real(23);
    r.near_boundary = st.integer(24) != 0;
    r.route_department = st.text(25);
    r.route_person = st.text(26);
    r.route_fallback = st.integer(27) != 0;
    inc.report.note = st.text(28);
    return r;
}

} // namespace

IncidentRecord make_record(const Report& report, const ImportContext& context) {
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
    const bool urban = context.options.urban_townships.count(r.township) > 0;
    r.incident = context.loop.open(
        {report.id, report.category, urban, report.at, report.reporter, report.note});
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

struct LoopStore::Impl {
    Connection db;
};

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
    if (!impl->db.has_table("gpkg_contents"))
        throw StoreError("not a GeoPackage (no gpkg_contents)", {.file = gpkg_path});
    // loop_settings came later than the other tables: add it to older workspaces too.
    if (!impl->db.has_table("loop_incidents") || !impl->db.has_table("loop_settings")) {
        Transaction tx(impl->db);
        impl->db.exec(schema);
        impl->db.exec(registration);
        tx.commit();
    }
    return LoopStore(std::move(impl));
}

namespace {

// Replaces the catalogue tables' rows; the caller holds the transaction.
void write_catalogue(const Connection& db, const Catalogue& catalogue) {
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

void LoopStore::save_catalogue(const Catalogue& catalogue) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    write_catalogue(db, catalogue);
    tx.commit();
}

void LoopStore::save_catalogue(const Catalogue& catalogue, const std::string& calendar_json) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    write_catalogue(db, catalogue);
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
        return Catalogue(std::move(departments), std::move(functions), std::move(majors),
                         std::move(categories));
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
                                        const ImportContext& context) {
    const auto& db = m_impl->db;
    ImportSummary summary;
    Transaction tx(db);
    auto st = db.prepare(std::string("INSERT INTO loop_incidents (") + incident_columns +
                         ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
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
    auto st = m_impl->db.prepare("SELECT incident, from_state, to_state, actor, at, note, "
                                 "department, person, deadline FROM loop_journal "
                                 "WHERE incident = ? ORDER BY fid");
    st.bind(1, incident);
    std::vector<Event> out;
    while (st.step()) {
        Event e;
        e.incident = st.integer(0);
        e.from = state_from(st.view(1));
        e.to = state_from(st.view(2));
        e.actor = st.text(3);
        e.at = parse_time(st.view(4));
        e.note = st.text(5);
        e.department = st.text(6);
        e.person = st.text(7);
        e.deadline = time_from(st, 8);
        out.push_back(std::move(e));
    }
    return out;
}

namespace {

void append_event(Statement& st, const Event& e) {
    st.bind(1, e.incident)
        .bind(2, to_string(e.from))
        .bind(3, to_string(e.to))
        .bind(4, std::string_view(e.actor))
        .bind(5, std::string_view(format_time(e.at)))
        .bind(6, std::string_view(e.note))
        .bind(7, std::string_view(e.department))
        .bind(8, std::string_view(e.person));
    bind_text(st, 9, time_text(e.deadline));
    st.run();
}

constexpr const char* insert_event = "INSERT INTO loop_journal (incident, from_state, to_state, "
                                     "actor, at, note, department, person, deadline) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

void update_incident(Statement& st, const Incident& inc) {
    st.bind(1, to_string(inc.state))
        .bind(2, inc.supervised ? 1 : 0)
        .bind(3, std::string_view(format_time(inc.updated_at)));
    bind_text(st, 4, time_text(inc.step_started));
    bind_text(st, 5, time_text(inc.due));
    st.bind(6, to_string(inc.due_unit)).bind(7, inc.late ? 1 : 0);
    bind_text(st, 8, time_text(inc.closed_at));
    st.bind(9, std::string_view(inc.department))
        .bind(10, std::string_view(inc.person))
        .bind(11, inc.returns)
        .bind(12, inc.reworks)
        .bind(13, inc.extensions)
        .bind(14, inc.report.id);
    st.run();
}

constexpr const char* update_sql =
    "UPDATE loop_incidents SET state = ?, supervised = ?, updated_at = ?, step_started = ?, "
    "due = ?, due_unit = ?, late = ?, closed_at = ?, department = ?, person = ?, returns = ?, "
    "reworks = ?, extensions = ? WHERE fid = ?";

} // namespace

void LoopStore::insert(std::span<const IncidentRecord> records, std::span<const Event> journal) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    auto st = db.prepare(std::string("INSERT INTO loop_incidents (") + incident_columns +
                         ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
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
    auto events = db.prepare(insert_event);
    for (const auto& e : journal)
        append_event(events, e);
    tx.commit();
}

void LoopStore::apply(std::span<const Change> changes, const Loop& loop) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    auto events = db.prepare(insert_event);
    auto update = db.prepare(update_sql);
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
        append_event(events, loop.advance(it->second, change.transition));
    }
    for (const auto& [id, inc] : touched)
        update_incident(update, inc);
    tx.commit();
}

void LoopStore::supervise(std::int64_t id, LocalTime at, const std::string& actor,
                          const std::string& note, const Loop& loop) {
    const auto& db = m_impl->db;
    Transaction tx(db);
    auto record = incident(id);
    if (!record)
        throw DataError("no incident " + std::to_string(id),
                        {.file = db.path(), .layer = "loop_incidents"});
    auto events = db.prepare(insert_event);
    append_event(events, loop.supervise(record->incident, at, actor, note));
    auto update = db.prepare(update_sql);
    update_incident(update, record->incident);
    tx.commit();
}

std::string_view to_string(StatsBy by) {
    switch (by) {
    case StatsBy::cell:
        return "cell";
    case StatsBy::village:
        return "village";
    case StatsBy::township:
        return "township";
    case StatsBy::department:
        return "department";
    case StatsBy::person:
        return "person";
    }
    return "?";
}

StatsBy stats_by_from(std::string_view text) {
    for (auto by :
         {StatsBy::cell, StatsBy::village, StatsBy::township, StatsBy::department, StatsBy::person})
        if (to_string(by) == text) return by;
    throw InputError("unknown grouping '" + std::string(text) +
                     "' (expected cell, village, township, department or person)");
}

namespace {

// Sums matters per key; shared by compute_stats() and LoopStore::stats().
class StatsAccumulator {
  public:
    StatsAccumulator(LocalTime at, const Calendar& calendar) : m_at(at), m_calendar(calendar) {}

    void add(std::string_view key, State state, bool late, std::optional<LocalTime> due,
             LocalTime reported_at, std::optional<LocalTime> closed_at, int returns, int reworks) {
        if (state == State::rejected) return;
        auto it = m_index.find(key);
        if (it == m_index.end()) {
            m_groups.emplace_back();
            m_groups.back().row.key = std::string(key);
            // The map's key views the row's own copy, which never moves (deque).
            it = m_index.emplace(m_groups.back().row.key, m_groups.size() - 1).first;
        }
        Group& g = m_groups[it->second];
        StatsRow& row = g.row;
        ++row.total;
        row.returns += static_cast<std::size_t>(returns);
        row.reworks += static_cast<std::size_t>(reworks);
        if (state == State::closed) {
            ++row.closed;
            if (!late) ++row.closed_on_time;
            if (closed_at) g.minutes.push_back(m_calendar.working_minutes(reported_at, *closed_at));
        } else if (due && m_at > *due) {
            ++row.open_overdue;
        }
    }

    std::vector<StatsRow> finish() {
        std::vector<StatsRow> out;
        out.reserve(m_groups.size());
        for (auto& g : m_groups) {
            StatsRow& row = g.row;
            const auto ratio = [](std::size_t a, std::size_t b) {
                return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
            };
            row.close_rate = ratio(row.closed, row.total);
            row.on_time_rate = ratio(row.closed_on_time, row.closed + row.open_overdue);
            if (!g.minutes.empty()) {
                auto& m = g.minutes;
                const auto mid = m.begin() + static_cast<std::ptrdiff_t>(m.size() / 2);
                std::nth_element(m.begin(), mid, m.end());
                double median = static_cast<double>(*mid);
                if (m.size() % 2 == 0)
                    median = (median + static_cast<double>(*std::max_element(m.begin(), mid))) / 2;
                row.median_close_working_minutes = median;
            }
            out.push_back(std::move(row));
        }
        std::sort(out.begin(), out.end(),
                  [](const StatsRow& a, const StatsRow& b) { return a.key < b.key; });
        return out;
    }

  private:
    struct Group {
        StatsRow row;
        std::vector<std::int64_t> minutes;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    LocalTime m_at;
    const Calendar& m_calendar;
    std::deque<Group> m_groups;
    std::unordered_map<std::string_view, std::size_t, Hash, std::equal_to<>> m_index;
};

} // namespace

std::vector<StatsRow> compute_stats(std::span<const IncidentRecord> records, StatsBy by,
                                    LocalTime at, const Loop& loop) {
    StatsAccumulator acc(at, loop.calendar());
    for (const auto& r : records) {
        const Incident& inc = r.incident;
        std::string_view key;
        switch (by) {
        case StatsBy::cell:
            key = r.cell;
            break;
        case StatsBy::village:
            key = r.village;
            break;
        case StatsBy::township:
            key = r.township;
            break;
        case StatsBy::department:
            key = inc.department.empty() ? std::string_view(r.route_department)
                                         : std::string_view(inc.department);
            break;
        case StatsBy::person:
            key = inc.department.empty() ? std::string_view(r.route_person)
                                         : std::string_view(inc.person);
            break;
        }
        acc.add(key, inc.state, inc.late, inc.due, inc.report.reported_at, inc.closed_at,
                inc.returns, inc.reworks);
    }
    return acc.finish();
}

std::vector<StatsRow> LoopStore::stats(StatsBy by, LocalTime at, const Loop& loop) const {
    std::string key;
    switch (by) {
    case StatsBy::cell:
        key = "cell";
        break;
    case StatsBy::village:
        key = "village";
        break;
    case StatsBy::township:
        key = "township";
        break;
    case StatsBy::department:
        key = "CASE WHEN department <> '' THEN department ELSE route_department END";
        break;
    case StatsBy::person:
        key = "CASE WHEN department <> '' THEN person ELSE route_person END";
        break;
    }
    auto st = m_impl->db.prepare("SELECT " + key +
                                 ", state, late, due, reported_at, closed_at, returns, reworks "
                                 "FROM loop_incidents WHERE state <> 'rejected'");
    // One pass in two halves of about equal cost: this thread steps SQLite and copies the
    // columns of a chunk of rows into one flat buffer (no allocation per row); a second
    // thread parses the times and sums the chunk before, so a million matters take about
    // half the time of doing both in turn.
    struct Raw {
        std::uint32_t key = 0, key_len = 0;
        std::uint32_t due = 0, due_len = 0; // len 0: NULL
        std::uint32_t reported = 0, reported_len = 0;
        std::uint32_t closed = 0, closed_len = 0;
        State state = State::reported;
        bool late = false;
        int returns = 0;
        int reworks = 0;
    };
    struct Chunk {
        std::string text;
        std::vector<Raw> rows;
    };
    constexpr std::size_t chunk_rows = 32768;
    StatsAccumulator acc(at, loop.calendar());
    const auto consume = [&acc](const Chunk& c) {
        const std::string_view text(c.text);
        const auto time = [&text](std::uint32_t off,
                                  std::uint32_t len) -> std::optional<LocalTime> {
            if (len == 0) return std::nullopt;
            return stored_time(text.substr(off, len));
        };
        for (const Raw& r : c.rows)
            acc.add(text.substr(r.key, r.key_len), r.state, r.late, time(r.due, r.due_len),
                    stored_time(text.substr(r.reported, r.reported_len)),
                    time(r.closed, r.closed_len), r.returns, r.reworks);
    };
    const auto copy = [](Chunk& c, std::string_view v, std::uint32_t& off, std::uint32_t& len) {
        off = static_cast<std::uint32_t>(c.text.size());
        len = static_cast<std::uint32_t>(v.size());
        c.text.append(v);
    };
    std::array<Chunk, 2> chunks;
    std::size_t current = 0;
    // Declared after everything the worker uses: on an exception its destructor waits for
    // the worker before those go away.
    std::future<void> pending;
    bool more = true;
    while (more) {
        Chunk& c = chunks[current];
        c.text.clear();
        c.rows.clear();
        while (c.rows.size() < chunk_rows && (more = st.step())) {
            Raw r;
            copy(c, st.view(0), r.key, r.key_len);
            r.state = state_from(st.view(1));
            r.late = st.integer(2) != 0;
            if (!st.is_null(3)) copy(c, st.view(3), r.due, r.due_len);
            copy(c, st.view(4), r.reported, r.reported_len);
            if (!st.is_null(5)) copy(c, st.view(5), r.closed, r.closed_len);
            r.returns = static_cast<int>(st.integer(6));
            r.reworks = static_cast<int>(st.integer(7));
            c.rows.push_back(r);
        }
        if (pending.valid()) pending.get();
        if (!c.rows.empty())
            pending = std::async(std::launch::async, [&consume, &c] { consume(c); });
        current ^= 1;
    }
    if (pending.valid()) pending.get();
    return acc.finish();
}

} // namespace wangge::loop
