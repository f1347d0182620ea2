#include "loop/sqlite.hpp"

namespace wangge::loop::detail {

Connection::Connection(const std::string& path, bool read_only) : m_path(path) {
    // No per-connection mutex: a connection is used by one thread at a time (see the
    // header), and the lock on every bind and column call costs about a tenth of an import.
    const int flags =
        (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        const std::string why = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc);
        if (m_db) sqlite3_close_v2(m_db);
        m_db = nullptr;
        throw StoreError("cannot open: " + why, {.file = path});
    }
    // Another process (or a GDAL handle) may hold the file briefly.
    sqlite3_busy_timeout(m_db, 5000);
}

void Connection::fail(const std::string& what) const {
    throw StoreError(what + ": " + sqlite3_errmsg(m_db), {.file = m_path});
}

void Connection::exec(const std::string& sql) const {
    char* message = nullptr;
    if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        const std::string why = message ? message : "unknown error";
        sqlite3_free(message);
        throw StoreError(why + " (in: " + sql.substr(0, 80) + ")", {.file = m_path});
    }
}

Statement Connection::prepare(std::string_view sql) const {
    return Statement(*this, sql);
}

bool Connection::has_table(const std::string& name) const {
    auto st = prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    st.bind(1, std::string_view(name));
    return st.step();
}

bool Connection::has_column(const std::string& table, const std::string& column) const {
    auto st = prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
    st.bind(1, std::string_view(table)).bind(2, std::string_view(column));
    return st.step();
}

Statement::Statement(const Connection& db, std::string_view sql) : m_db(&db) {
    if (sqlite3_prepare_v2(db.get(), sql.data(), static_cast<int>(sql.size()), &m_stmt, nullptr) !=
        SQLITE_OK)
        db.fail("cannot prepare '" + std::string(sql.substr(0, 60)) + "'");
}

Statement& Statement::bind(int i, std::int64_t v) {
    if (sqlite3_bind_int64(m_stmt, i, v) != SQLITE_OK) m_db->fail("bind");
    return *this;
}

Statement& Statement::bind(int i, double v) {
    if (sqlite3_bind_double(m_stmt, i, v) != SQLITE_OK) m_db->fail("bind");
    return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
    if (sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) !=
        SQLITE_OK)
        m_db->fail("bind");
    return *this;
}

Statement& Statement::bind_static(int i, std::string_view v) {
    if (sqlite3_bind_text(m_stmt, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC) !=
        SQLITE_OK)
        m_db->fail("bind");
    return *this;
}

Statement& Statement::bind_blob(int i, const void* data, int size) {
    if (sqlite3_bind_blob(m_stmt, i, data, size, SQLITE_TRANSIENT) != SQLITE_OK) m_db->fail("bind");
    return *this;
}

Statement& Statement::bind_null(int i) {
    if (sqlite3_bind_null(m_stmt, i) != SQLITE_OK) m_db->fail("bind");
    return *this;
}

bool Statement::step() {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // Reset so the statement can be reused after the caller handled the error.
    const std::string why = sqlite3_errmsg(m_db->get());
    sqlite3_reset(m_stmt);
    throw StoreError("step: " + why, {.file = m_db->path()});
}

void Statement::run() {
    while (step()) {
    }
    reset();
}

void Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

std::string Statement::text(int col) const {
    const auto* p = sqlite3_column_text(m_stmt, col);
    if (!p) return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col)));
}

} // namespace wangge::loop::detail
