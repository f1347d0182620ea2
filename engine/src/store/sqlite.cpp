#include "wangge/store/sqlite.hpp"

#include "wangge/base/busy.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <iostream>
#include <thread>
#include <unistd.h>

namespace wangge::store::sqlite {

struct BusyWait {
    std::string path;
    int timeout_ms = 0;
    std::chrono::steady_clock::time_point since;
    bool told = false;
};

void BusyWaitDelete::operator()(BusyWait* w) const noexcept {
    delete w;
}

namespace {
// SQLite calls this while another connection holds the lock; `count` is 0 on the first call
// of each wait. Returns 0 to give up (the operation then fails with SQLITE_BUSY).
int wait_while_busy(void* context, int count) {
    auto* w = static_cast<BusyWait*>(context);
    const auto now = std::chrono::steady_clock::now();
    if (count == 0) w->since = now;
    const auto waited =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - w->since).count();
    if (waited >= w->timeout_ms) return 0;
    if (!w->told && waited >= 1000) {
        std::cerr << "wangge: " << w->path << " is busy (another command is writing it); waiting "
                  << "up to " << w->timeout_ms / 1000 << " s\n";
        w->told = true;
    }
    const auto step = std::min<long long>({1LL << std::min(count, 6), 50, w->timeout_ms - waited});
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max<long long>(step, 1)));
    return 1;
}
} // namespace

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
    // Another process (or a GDAL handle) may hold the file: wait for it, and say so.
    m_busy.reset(new BusyWait{path, base::busy_timeout_ms(), {}, false});
    sqlite3_busy_handler(m_db, wait_while_busy, m_busy.get());
}

std::string Connection::last_error() const {
    if ((sqlite3_extended_errcode(m_db) & 0xff) == SQLITE_BUSY)
        return "the workspace is busy: another command kept it locked for more than " +
               std::to_string(m_busy ? m_busy->timeout_ms / 1000 : 0) +
               " s (WANGGE_BUSY_TIMEOUT sets the wait in seconds); nothing was written, try "
               "again";
    return sqlite3_errmsg(m_db);
}

void Connection::fail(const std::string& what) const {
    throw StoreError(what + ": " + last_error(), {.file = m_path});
}

void Connection::exec(const std::string& sql) const {
    char* message = nullptr;
    if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        const bool busy = (sqlite3_extended_errcode(m_db) & 0xff) == SQLITE_BUSY;
        const std::string why = message ? message : "unknown error";
        sqlite3_free(message);
        if (busy) throw StoreError(last_error(), {.file = m_path});
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

bool Connection::has_index(const std::string& name) const {
    auto st = prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?");
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
    const std::string why = m_db->last_error();
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

WalKeeper::WalKeeper(const std::string& path) {
    m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (m_fd < 0)
        throw StoreError(std::string("cannot open to hold its WAL: ") + std::strerror(errno),
                         {.file = path});
    // SQLite's unix locking: SHARED is a read lock on the 510 bytes after PENDING_BYTE + 2
    // (1 GiB + 2), EXCLUSIVE a write lock on them.
    struct flock lock {};
    lock.l_type = F_RDLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = 0x40000000 + 2;
    lock.l_len = 510;
    lock.l_pid = 0; // required for OFD locks
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(base::busy_timeout_ms());
    // A writer in rollback mode holds EXCLUSIVE only while it commits: wait for it.
    while (::fcntl(m_fd, F_OFD_SETLK, &lock) != 0) {
        const int err = errno;
        if ((err != EAGAIN && err != EACCES) || std::chrono::steady_clock::now() > deadline) {
            ::close(m_fd);
            throw StoreError(std::string("cannot hold the file's WAL: ") + std::strerror(err),
                             {.file = path});
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

WalKeeper::~WalKeeper() {
    if (m_fd >= 0) ::close(m_fd); // closing the description releases its lock
}

} // namespace wangge::store::sqlite
