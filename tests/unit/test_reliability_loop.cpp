// Issue 10 (reliability), the loop's writes: text that is not UTF-8 refused (or converted on
// request), ids in 1..2^53-1, automatic ids chosen inside the write transaction (concurrent
// writer processes), a busy workspace waited for and then refused clearly, a GeoPackage that
// is not a workspace left untouched, and catalogues that keep the categories stored matters
// use. Every refusal is checked byte for byte: a command that fails has written nothing.
#include "test_process.hpp"
#include "test_support.hpp"
#include "wangge/base/text.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/session.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_api.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace wangge;
namespace fs = std::filesystem;
using test::run_wangge;
using test::slurp;
using test::spawn_wangge;
using test::write_file;

namespace {

// The tiny grid with the sample catalogue and duties: a workspace matters can be reported in.
std::string loop_workspace(const fs::path& dir) {
    const std::string ws = (dir / "ws.gpkg").string();
    const auto log = dir / "setup.txt";
    EXPECT_EQ(run_wangge({"grid", "import", test::data("tiny_grid.geojson"), "-w", ws}, log), 0)
        << slurp(log);
    EXPECT_EQ(run_wangge({"catalogue", "import", ws, WANGGE_CATALOGUE_DIR}, log), 0) << slurp(log);
    EXPECT_EQ(run_wangge({"duties", "import", ws,
                          std::string(WANGGE_CATALOGUE_DIR) + "/duties-jishan-sample.csv"},
                         log),
              0)
        << slurp(log);
    return ws;
}

// `incidents report` at a point inside the tiny grid's first cell, plus `extra` arguments.
std::vector<std::string> report_args(const std::string& ws, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"incidents",       "report", ws,      "--category", "0101",
                                  "--lon",           "110.96", "--lat", "35.615",     "--at",
                                  "2026-03-02T09:00"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

const std::string gbk_wanggeyuan = "\xcd\xf8\xb8\xf1\xd4\xb1"; // 网格员 in GBK

} // namespace

// ---- item 3: text is UTF-8, or converted from the encoding the user names ------------------

TEST(Utf8, FirstInvalidByte) {
    EXPECT_EQ(base::first_invalid_utf8("网格 abc"), std::nullopt);
    EXPECT_EQ(base::first_invalid_utf8("ab\xcd\xf8"), 2u);       // GBK
    EXPECT_EQ(base::first_invalid_utf8("\xc0\xaf"), 0u);         // overlong '/'
    EXPECT_EQ(base::first_invalid_utf8("x\xed\xa0\x80"), 1u);    // a UTF-16 surrogate
    EXPECT_EQ(base::first_invalid_utf8("\xf4\x90\x80\x80"), 0u); // above U+10FFFF
    EXPECT_EQ(base::first_invalid_utf8("ok\xe7\xbd"), 2u);       // cut off
    EXPECT_EQ(base::to_utf8(gbk_wanggeyuan, "GBK", "x"), "网格员");
    EXPECT_THROW((void)base::to_utf8("\x81\x20", "GBK", "x"), InputError);
    EXPECT_THROW((void)base::to_utf8("a", "NO-SUCH-ENCODING", "x"), InputError);
}

TEST(Utf8, GbkCsvIsRefusedNamingLineAndByteOrConvertedWithEncoding) {
    const auto dir = test::temp_dir();
    const auto ws = loop_workspace(dir);
    const auto log = dir / "log.txt";
    const auto csv = dir / "gbk.csv";
    write_file(csv, "id,category,lon,lat,reported_at,reporter\n"
                    "10,0101,110.96,35.615,2026-03-02T09:00,worker\n"
                    "11,0101,110.96,35.615,2026-03-02T09:00," +
                        gbk_wanggeyuan + "\n");
    const std::string before = slurp(ws);
    const std::vector<std::string> import{"incidents",  "import", ws,
                                          csv.string(), "--at",   "2026-03-03T00:00"};
    EXPECT_EQ(run_wangge(import, log), 2);
    const auto msg = slurp(log);
    EXPECT_NE(msg.find(csv.string() + ": line 3: not valid UTF-8 at byte offset 126 (bytes CD F8"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("--encoding GBK"), std::string::npos) << msg;
    EXPECT_EQ(slurp(ws), before) << "a refused import must not touch the workspace";

    auto with_encoding = import;
    with_encoding.insert(with_encoding.end(), {"--encoding", "GBK"});
    ASSERT_EQ(run_wangge(with_encoding, log), 0) << slurp(log);
    const auto session = loop::Session::open(ws);
    EXPECT_EQ(session->store().incident(11)->incident.report.reporter, "网格员");
    EXPECT_EQ(session->store().incident(10)->incident.report.reporter, "worker");
}

TEST(Utf8, GbkOptionTextIsRefusedAndListingsKeepWorking) {
    const auto dir = test::temp_dir();
    const auto ws = loop_workspace(dir);
    const auto log = dir / "log.txt";
    ASSERT_EQ(run_wangge(report_args(ws), log), 0) << slurp(log);
    const std::string before = slurp(ws);
    for (const char* option : {"--note", "--reporter"}) {
        EXPECT_EQ(run_wangge(report_args(ws, {option, gbk_wanggeyuan}), log), 2);
        EXPECT_NE(slurp(log).find(std::string(option) +
                                  " is not valid UTF-8 at byte offset 0 (bytes CD F8 B8 F1)"),
                  std::string::npos)
            << slurp(log);
        EXPECT_EQ(slurp(ws), before);
    }
    EXPECT_EQ(run_wangge({"incidents", "advance", ws, "1", "--to", "filed", "--note",
                          gbk_wanggeyuan, "--at", "2026-03-02T09:05"},
                         log),
              2);
    EXPECT_NE(slurp(log).find("incident 1: the note is not valid UTF-8"), std::string::npos)
        << slurp(log);
    EXPECT_EQ(slurp(ws), before);
    // The library refuses it too, whoever calls it (the server, a script).
    {
        const auto s = loop::Session::open(ws);
        loop::Report r{.id = 0, .category = "0101", .lonlat = {110.96, 35.615}};
        r.at = loop::parse_time("2026-03-02T09:00");
        r.note = "\xff";
        auto record = loop::make_record(r, s->context());
        EXPECT_THROW(s->store().insert_report(record, s->loop()), InputError);
    }
    EXPECT_EQ(slurp(ws), before);
    ASSERT_EQ(run_wangge({"incidents", "list", ws, "--json", "--at", "2026-03-03T00:00"}, log), 0)
        << slurp(log);
}

// ---- item 5: ids from 1 to 2^53 - 1 ---------------------------------------------------------

TEST(Ids, OutOfRangeIdsAreRefusedAndTheLastAutomaticIdSaysSo) {
    const auto dir = test::temp_dir();
    const auto ws = loop_workspace(dir);
    const auto log = dir / "log.txt";
    const std::string before = slurp(ws);
    for (const char* id : {"-7", "0", "9007199254740992", "9223372036854775807"}) {
        EXPECT_EQ(run_wangge(report_args(ws, {"--id", id}), log), 2) << id;
        EXPECT_NE(slurp(log).find("an incident id is a whole number from 1 to 9007199254740991"),
                  std::string::npos)
            << id << ": " << slurp(log);
        EXPECT_EQ(slurp(ws), before) << id;
    }
    const auto csv = dir / "big_id.csv";
    write_file(csv, "id,category,lon,lat,reported_at\n9007199254740992,0101,110.96,35.615,"
                    "2026-03-02T09:00\n");
    EXPECT_EQ(
        run_wangge({"incidents", "import", ws, csv.string(), "--at", "2026-03-03T00:00"}, log), 2);
    EXPECT_NE(slurp(log).find("line 2: field 'id': bad id '9007199254740992'"), std::string::npos)
        << slurp(log);
    EXPECT_EQ(slurp(ws), before);

    ASSERT_EQ(run_wangge(report_args(ws, {"--id", "9007199254740991"}), log), 0) << slurp(log);
    const std::string full = slurp(ws);
    EXPECT_EQ(run_wangge(report_args(ws), log), 2); // no automatic id above 2^53 - 1
    EXPECT_NE(slurp(log).find("no automatic incident id left"), std::string::npos) << slurp(log);
    EXPECT_EQ(slurp(ws), full);
    ASSERT_EQ(run_wangge(report_args(ws, {"--id", "5"}), log), 0) << slurp(log);
}

// ---- item 4: concurrent writers ------------------------------------------------------------

// Four writer processes report 500 matters each without ids, through the library call the
// command and the server use: every report lands, ids are 1..2000 without a gap, and every
// matter has its first step.
TEST(ConcurrentWriters, FourProcessesTimesFiveHundredReportsAllLandWithDenseIds) {
    const auto dir = test::temp_dir();
    const auto ws = loop_workspace(dir);
    constexpr int writers = 4, each = 500;
    std::vector<pid_t> pids;
    for (int w = 0; w < writers; ++w) {
        const pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int code = 0;
            try {
                const auto s = loop::Session::open(ws);
                for (int i = 0; i < each; ++i) {
                    loop::Report r{.id = 0, .category = "0101", .lonlat = {110.96, 35.615}};
                    r.at = loop::parse_time("2026-03-02T09:00");
                    r.reporter = "writer " + std::to_string(w);
                    auto record = loop::make_record(r, s->context());
                    s->store().insert_report(record, s->loop());
                }
            } catch (const std::exception& e) {
                std::fprintf(stderr, "writer %d: %s\n", w, e.what());
                code = 1;
            }
            _exit(code);
        }
        pids.push_back(pid);
    }
    for (const pid_t pid : pids) {
        int status = 0;
        waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a writer failed";
    }
    const auto s = loop::Session::open(ws);
    const auto c = s->store().check_consistency();
    EXPECT_TRUE(c.ok()) << c.integrity;
    const auto ids = s->store().incident_ids();
    ASSERT_EQ(ids.size(), static_cast<std::size_t>(writers * each));
    for (std::size_t i = 0; i < ids.size(); ++i)
        ASSERT_EQ(ids[i], static_cast<std::int64_t>(i + 1));
    std::map<std::string, int> by_writer;
    for (const auto& r : s->store().incidents())
        ++by_writer[r.incident.report.reporter];
    for (int w = 0; w < writers; ++w)
        EXPECT_EQ(by_writer["writer " + std::to_string(w)], each);
    for (const auto id : {ids.front(), ids.back()})
        EXPECT_EQ(s->store().steps(id).size(), 1u) << id;
}

// The command itself: parallel `incidents report` loops without --id, and two imports of one
// file at once (the second skips what the first stored instead of failing on UNIQUE).
TEST(ConcurrentWriters, ParallelReportCommandsAndIdenticalImports) {
    const auto dir = test::temp_dir();
    const auto ws = loop_workspace(dir);
    constexpr int loops = 3, each = 8;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int l = 0; l < loops; ++l)
        threads.emplace_back([&, l] {
            const auto log = dir / ("loop" + std::to_string(l) + ".txt");
            for (int i = 0; i < each; ++i)
                if (run_wangge(report_args(ws), log) != 0) {
                    ++failures;
                    std::fprintf(stderr, "%s\n", slurp(log).c_str());
                }
        });
    for (auto& t : threads)
        t.join();
    EXPECT_EQ(failures.load(), 0);
    {
        const auto ids = loop::Session::open(ws)->store().incident_ids();
        ASSERT_EQ(ids.size(), static_cast<std::size_t>(loops * each));
        EXPECT_EQ(ids.back(), loops * each);
    }

    const auto csv = dir / "reports.csv";
    std::string text = "id,category,lon,lat,reported_at,reporter\n";
    constexpr int rows = 3000;
    for (int i = 1; i <= rows; ++i)
        text += std::to_string(1000 + i) + ",0101,110.96,35.615,2026-03-02T09:00,w\n";
    write_file(csv, text);
    const std::vector<std::string> import{"incidents",  "import", ws,
                                          csv.string(), "--at",   "2026-03-03T00:00"};
    const pid_t a = spawn_wangge(import, dir / "a.txt");
    const pid_t b = spawn_wangge(import, dir / "b.txt");
    for (const pid_t pid : {a, b}) {
        int status = 0;
        waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
            << slurp(dir / "a.txt") << slurp(dir / "b.txt");
    }
    const auto s = loop::Session::open(ws);
    EXPECT_EQ(s->store().incident_count(), static_cast<std::size_t>(loops * each + rows));
    EXPECT_TRUE(s->store().check_consistency().ok());
}

// ---- item 6: a busy workspace is waited for, then refused clearly --------------------------

namespace {
// Holds an exclusive lock on the file until release() (or destruction).
class Lock {
  public:
    explicit Lock(const std::string& path) {
        EXPECT_EQ(sqlite3_open(path.c_str(), &m_db), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(m_db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
    }
    ~Lock() { release(); }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    void release() {
        if (!m_db) return;
        sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_close(m_db);
        m_db = nullptr;
    }

  private:
    sqlite3* m_db = nullptr;
};

// Sets an environment variable for the commands this test starts, restoring it after.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : m_name(name) {
        if (const char* old = std::getenv(name)) m_old = old;
        setenv(name, value, 1);
    }
    ~ScopedEnv() {
        if (m_old)
            setenv(m_name, m_old->c_str(), 1);
        else
            unsetenv(m_name);
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* m_name;
    std::optional<std::string> m_old;
};
} // namespace

TEST(BusyWorkspace, AWriterWaitsForTheLockThenFailsClearlyAfterTheTimeout) {
    const auto dir = test::temp_dir();
    const auto ws = loop_workspace(dir);
    const auto log = dir / "log.txt";
    ASSERT_EQ(run_wangge(report_args(ws), log), 0) << slurp(log);
    const std::string before = slurp(ws);
    {
        // Held past a 1 s timeout: refused, naming the cause and the knob.
        const ScopedEnv timeout("WANGGE_BUSY_TIMEOUT", "1");
        const Lock lock(ws);
        EXPECT_EQ(run_wangge(report_args(ws), log), 2);
        EXPECT_NE(slurp(log).find("the workspace is busy: another command kept it locked for "
                                  "more than 1 s (WANGGE_BUSY_TIMEOUT"),
                  std::string::npos)
            << slurp(log);
    }
    EXPECT_EQ(slurp(ws), before);
    {
        // Held for a while, shorter than the timeout: the writer says it waits, then lands.
        const ScopedEnv timeout("WANGGE_BUSY_TIMEOUT", "60");
        Lock lock(ws);
        const pid_t pid = spawn_wangge(report_args(ws), log);
        // Released once the writer has said it waits: it really was blocked.
        for (int i = 0; i < 600 && slurp(log).find("is busy") == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        lock.release();
        int status = 0;
        waitpid(pid, &status, 0);
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(log);
        EXPECT_NE(slurp(log).find("is busy (another command is writing it); waiting up to 60 s"),
                  std::string::npos)
            << slurp(log);
        EXPECT_NE(slurp(log).find("reported incident 2"), std::string::npos) << slurp(log);
    }
}

// ---- item 6: a GeoPackage that is not a wangge workspace is left as it was ------------------

TEST(NotAWorkspace, LoopCommandsRefuseAPlainGeoPackageAndWriteNothing) {
    const auto dir = test::temp_dir();
    const auto log = dir / "log.txt";
    const std::string gpkg = (dir / "roads.gpkg").string();
    {
        GDALAllRegister();
        GDALDatasetH ds =
            GDALCreate(GDALGetDriverByName("GPKG"), gpkg.c_str(), 0, 0, 0, GDT_Unknown, nullptr);
        ASSERT_NE(ds, nullptr);
        ASSERT_NE(GDALDatasetCreateLayer(ds, "roads", nullptr, wkbLineString, nullptr), nullptr);
        GDALClose(ds);
    }
    const std::string before = slurp(gpkg);
    const auto csv = dir / "r.csv";
    write_file(csv, "id,category,lon,lat,reported_at\n1,0101,110.96,35.615,2026-03-02T09:00\n");
    const std::vector<std::vector<std::string>> commands{
        {"incidents", "import", gpkg, csv.string()},
        {"incidents", "list", gpkg},
        report_args(gpkg),
        {"catalogue", "import", gpkg, WANGGE_CATALOGUE_DIR},
        {"stats", gpkg, "--by", "township", "--at", "2026-03-03T00:00"}};
    for (const auto& args : commands) {
        EXPECT_EQ(run_wangge(args, log), 2) << args[0] << " " << args[1];
        EXPECT_NE(slurp(log).find("not a wangge workspace"), std::string::npos)
            << args[1] << ": " << slurp(log);
        EXPECT_EQ(slurp(gpkg), before) << args[0] << " " << args[1] << " wrote to the file";
    }
}

// ---- item 7: a catalogue import keeps every category stored matters use ---------------------

TEST(CatalogueImport, RefusesACatalogueWithoutACategoryInUse) {
    const auto dir = test::temp_dir();
    const auto ws = loop_workspace(dir);
    const auto log = dir / "log.txt";
    ASSERT_EQ(run_wangge(report_args(ws), log), 0) << slurp(log);
    ASSERT_EQ(run_wangge(report_args(ws), log), 0) << slurp(log);
    const auto catalogue = dir / "catalogue";
    fs::create_directories(catalogue);
    for (const auto& e : fs::directory_iterator(WANGGE_CATALOGUE_DIR))
        fs::copy(e.path(), catalogue / e.path().filename());
    // Without category 0101, which matters 1 and 2 use.
    std::ifstream in(catalogue / "categories.csv");
    std::string kept, line;
    while (std::getline(in, line))
        if (line.rfind("0101,", 0) != 0) kept += line + "\n";
    in.close();
    write_file(catalogue / "categories.csv", kept);
    const std::string before = slurp(ws);
    EXPECT_EQ(run_wangge({"catalogue", "import", ws, catalogue.string()}, log), 2);
    EXPECT_NE(slurp(log).find("the new catalogue has no category 0101, which 2 stored matters use "
                              "(incident 1 and others)"),
              std::string::npos)
        << slurp(log);
    EXPECT_EQ(slurp(ws), before);
    // The matters can still advance.
    EXPECT_EQ(
        run_wangge({"incidents", "advance", ws, "1", "--to", "filed", "--at", "2026-03-02T09:05"},
                   log),
        0)
        << slurp(log);
}
