// RAII over the SQLite C API for the stages that write SQLite tables of their own (the loop's
// tables and redraw's journal in the workspace, MBTiles files): a connection, prepared
// statements and a transaction guard. Copy is deleted, move transfers ownership. Errors become
// StoreError naming the file. A connection and its statements belong to one thread at a time: it is
// opened without SQLite's per-connection mutex.
#pragma once

#include "wangge/error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <sqlite3.h>
#include <string>
#include <string_view>
#include <utility>

namespace wangge::store::sqlite {

class Statement;

// What the busy handler of a connection knows: the file, how long to wait (base/busy.hpp)
// and whether it has told the user it waits.
struct BusyWait;
struct BusyWaitDelete {
    void operator()(BusyWait* w) const noexcept;
};

// A connection waits for another writer of the file up to base::busy_timeout_ms(), saying on
// stderr after a second that it waits; then an operation fails with StoreError "the workspace
// is busy ...".
class Connection {
  public:
    Connection() = default;
    // Opens an existing file (read-write unless read_only). Throws StoreError.
    Connection(const std::string& path, bool read_only);
    ~Connection() {
        if (m_db) sqlite3_close_v2(m_db);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    // The busy handler's state lives on the heap, so moving keeps its address.
    Connection(Connection&& other) noexcept
        : m_db(std::exchange(other.m_db, nullptr)), m_path(std::move(other.m_path)),
          m_busy(std::move(other.m_busy)) {}
    Connection& operator=(Connection&& other) noexcept {
        if (this != &other) {
            if (m_db) sqlite3_close_v2(m_db);
            m_db = std::exchange(other.m_db, nullptr);
            m_path = std::move(other.m_path);
            m_busy = std::move(other.m_busy);
        }
        return *this;
    }

    [[nodiscard]] sqlite3* get() const noexcept { return m_db; }
    [[nodiscard]] const std::string& path() const noexcept { return m_path; }
    void exec(const std::string& sql) const;
    [[nodiscard]] Statement prepare(std::string_view sql) const;
    [[nodiscard]] bool has_table(const std::string& name) const;
    [[nodiscard]] bool has_index(const std::string& name) const;
    [[nodiscard]] bool has_column(const std::string& table, const std::string& column) const;
    [[noreturn]] void fail(const std::string& what) const;
    // The last error, in words; a lock held past the timeout says so and what to do.
    [[nodiscard]] std::string last_error() const;

  private:
    sqlite3* m_db = nullptr;
    std::string m_path;
    std::unique_ptr<BusyWait, BusyWaitDelete> m_busy;
};

class Statement {
  public:
    Statement(const Connection& db, std::string_view sql);
    ~Statement() {
        if (m_stmt) sqlite3_finalize(m_stmt);
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&& other) noexcept
        : m_db(other.m_db), m_stmt(std::exchange(other.m_stmt, nullptr)) {}
    Statement& operator=(Statement&&) = delete;

    // Binds by 1-based index.
    Statement& bind(int i, std::int64_t v);
    Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
    Statement& bind(int i, double v);
    Statement& bind(int i, std::string_view v); // copied by SQLite
    // Not copied: the text must stay alive and unchanged until the statement is reset.
    Statement& bind_static(int i, std::string_view v);
    Statement& bind_blob(int i, const void* data, int size);
    Statement& bind_null(int i);
    template <class T> Statement& bind(int i, const std::optional<T>& v) {
        if (v) return bind(i, *v);
        return bind_null(i);
    }
    // Steps once: true when a row is available, false when done.
    bool step();
    // Steps to the end (for statements without results) and resets for reuse.
    void run();
    void reset();

    [[nodiscard]] bool is_null(int col) const {
        return sqlite3_column_type(m_stmt, col) == SQLITE_NULL;
    }
    [[nodiscard]] std::int64_t integer(int col) const { return sqlite3_column_int64(m_stmt, col); }
    [[nodiscard]] double real(int col) const { return sqlite3_column_double(m_stmt, col); }
    [[nodiscard]] std::string text(int col) const;
    // The text without a copy; valid until the next step, reset or column call on it.
    [[nodiscard]] std::string_view view(int col) const {
        const auto* p = sqlite3_column_text(m_stmt, col);
        if (!p) return {};
        return {reinterpret_cast<const char*>(p),
                static_cast<std::size_t>(sqlite3_column_bytes(m_stmt, col))};
    }
    [[nodiscard]] const void* blob(int col) const { return sqlite3_column_blob(m_stmt, col); }
    [[nodiscard]] int bytes(int col) const { return sqlite3_column_bytes(m_stmt, col); }

  private:
    const Connection* m_db;
    sqlite3_stmt* m_stmt = nullptr;
};

// BEGIN IMMEDIATE on construction, ROLLBACK on destruction unless commit() was called.
// Open no GDAL dataset on the same file while one is open: GDAL's open reads the file with a
// descriptor of its own and closes it, which drops this process's POSIX locks on the file
// (see WalKeeper), the write lock included. Read through GDAL first, then write (as
// redraw::publish does).
class Transaction {
  public:
    explicit Transaction(const Connection& db) : m_db(&db) { db.exec("BEGIN IMMEDIATE"); }
    ~Transaction() {
        if (m_db) sqlite3_exec(m_db->get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        m_db->exec("COMMIT");
        m_db = nullptr;
    }

  private:
    const Connection* m_db;
};

// One read snapshot over several statements: BEGIN on construction, COMMIT on destruction.
// Every statement in between sees the same data, and SQLite takes its file lock once instead
// of once per statement (a million-matter replay runs thousands). Inside a transaction
// already open on the connection it does nothing.
class ReadTransaction {
  public:
    explicit ReadTransaction(const Connection& db)
        : m_db(sqlite3_get_autocommit(db.get()) ? &db : nullptr) {
        if (m_db) db.exec("BEGIN");
    }
    ~ReadTransaction() {
        if (m_db) sqlite3_exec(m_db->get(), "COMMIT", nullptr, nullptr, nullptr);
    }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

  private:
    const Connection* m_db;
};

// Keeps the WAL of a database file from being deleted under this process's connections, for as
// long as it lives (a long-running process: the server). Why: POSIX record locks belong to the
// process, and close() of any descriptor of the file drops all of them. GDAL opens, reads and
// closes the file on every open (GDALOpenInfo), which silently drops the SHARED lock each SQLite
// connection in WAL mode holds on it. Another process closing its last connection then takes
// EXCLUSIVE, believes it is alone, and deletes the WAL and its index under our connections: from
// then on neither side sees what the other writes. This holds a read lock on SQLite's SHARED
// range through an open file description of its own (Linux F_OFD_SETLK), which no other close()
// drops and which conflicts with other processes' locks as SQLite's own does. Release it (destroy
// it) before this process changes the journal mode back. Throws StoreError when the file cannot
// be opened or stays locked exclusively longer than base::busy_timeout_ms().
class WalKeeper {
  public:
    explicit WalKeeper(const std::string& path);
    ~WalKeeper();
    WalKeeper(const WalKeeper&) = delete;
    WalKeeper& operator=(const WalKeeper&) = delete;

  private:
    int m_fd = -1;
};

} // namespace wangge::store::sqlite
