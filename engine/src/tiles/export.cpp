// Tile export: worker threads draw and encode metatiles, the calling thread writes them. See
// the header for the output formats, resume and locking.
#include "wangge/tiles/export.hpp"

#include "wangge/error.hpp"
#include "wangge/store/sqlite.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/file.h>
#include <thread>
#include <unistd.h>

namespace wangge::tiles {

namespace fs = std::filesystem;
using store::sqlite::Connection;
using store::sqlite::Statement;
using store::sqlite::Transaction;

namespace {

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
}

// An exclusive, non-blocking flock held for the writer's life. For MBTiles the file itself
// is locked: flock and SQLite's fcntl locks do not interact, and this descriptor is closed
// only after SQLite's connection (members are destroyed in reverse order).
class ExportLock {
  public:
    ExportLock(const std::string& path, bool directory) {
        m_fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
        if (m_fd < 0)
            throw InputError(std::string("cannot open the output: ") + std::strerror(errno),
                             {.file = path});
        if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
            ::close(m_fd);
            throw InputError("another export is writing this output; wait for it to finish",
                             {.file = path});
        }
    }
    ~ExportLock() {
        if (m_fd >= 0) ::close(m_fd);
    }
    ExportLock(const ExportLock&) = delete;
    ExportLock& operator=(const ExportLock&) = delete;

  private:
    int m_fd = -1;
};

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

// FNV-1a 64 and the length name an image; a clash of different bytes is resolved on insert.
std::string image_id(const std::string& bytes) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return hex64(h) + "-" + std::to_string(bytes.size());
}

struct JobMeta {
    std::map<std::string, std::string> entries;
};

JobMeta metadata_of(const ExportJob& job) {
    JobMeta m;
    const auto& b = job.plan.lonlat;
    std::ostringstream bounds, center;
    bounds.precision(9);
    center.precision(9);
    bounds << b.minx << "," << b.miny << "," << b.maxx << "," << b.maxy;
    center << (b.minx + b.maxx) / 2 << "," << (b.miny + b.maxy) / 2 << ","
           << (job.plan.zoom.min + job.plan.zoom.max) / 2;
    m.entries["name"] = job.name;
    m.entries["format"] = std::string(extension(job.format));
    m.entries["bounds"] = bounds.str();
    m.entries["center"] = center.str();
    m.entries["minzoom"] = std::to_string(job.plan.zoom.min);
    m.entries["maxzoom"] = std::to_string(job.plan.zoom.max);
    m.entries["attribution"] = job.attribution;
    m.entries["description"] = job.description;
    m.entries["type"] = job.layer == Layer::overlay ? "overlay" : "baselayer";
    m.entries["version"] = "1.0";
    nlohmann::json j;
    j["wangge"] = {{"layer", std::string(to_string(job.layer))},
                   {"format", std::string(to_string(job.format))},
                   {"metatile", job.tile.metatile},
                   {"buffer_px", job.tile.buffer_px},
                   {"status_at", job.status.at}};
    nlohmann::json layers = nlohmann::json::array();
    if (job.layer != Layer::overlay)
        layers.push_back({{"id", "imagery"}, {"description", "satellite imagery"}});
    if (job.layer != Layer::imagery)
        layers.push_back({{"id", "overlay"},
                          {"description", "cells coloured by the state of their open matters, "
                                          "boundaries, labels and incident pins"}});
    j["layers"] = layers;
    m.entries["json"] = j.dump();
    return m;
}

class Writer {
  public:
    virtual ~Writer() = default;
    // Metatiles recorded as done under the job key.
    virtual std::set<MetaId> done(const std::string& job_key) = 0;
    // Writes the tiles and records the metatile, atomically. Returns images newly stored.
    virtual std::size_t write(const MetatileResult& r, const std::string& job_key) = 0;
    virtual void finish() = 0;
};

// ---- MBTiles -------------------------------------------------------------------------------

constexpr const char* mbtiles_schema = R"sql(
CREATE TABLE IF NOT EXISTS metadata (name TEXT, value TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS metadata_name ON metadata (name);
CREATE TABLE IF NOT EXISTS map (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,
                                tile_id TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS map_index ON map (zoom_level, tile_column, tile_row);
CREATE TABLE IF NOT EXISTS images (tile_data BLOB, tile_id TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS images_id ON images (tile_id);
CREATE VIEW IF NOT EXISTS tiles AS
  SELECT map.zoom_level AS zoom_level, map.tile_column AS tile_column,
         map.tile_row AS tile_row, images.tile_data AS tile_data
  FROM map JOIN images ON images.tile_id = map.tile_id;
CREATE TABLE IF NOT EXISTS wangge_progress (job TEXT, z INTEGER, x0 INTEGER, y0 INTEGER,
                                            size INTEGER, tiles INTEGER,
                                            PRIMARY KEY (job, z, x0, y0)) WITHOUT ROWID;
)sql";

class MbtilesWriter final : public Writer {
  public:
    MbtilesWriter(const ExportJob& job, const JobMeta& meta) : m_path(job.out) {
        const bool existed = fs::exists(m_path);
        if (existed && !job.resume)
            throw InputError("the output exists; use --resume to continue an export into it, "
                             "or remove it",
                             {.file = m_path});
        if (!existed) {
            // An empty file is an empty SQLite database; O_EXCL so two starts cannot share it.
            const int fd = ::open(m_path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
            if (fd < 0)
                throw InputError(std::string("cannot create the output: ") + std::strerror(errno),
                                 {.file = m_path});
            ::close(fd);
        }
        m_lock = std::make_unique<ExportLock>(m_path, false);
        m_db = std::make_unique<Connection>(m_path, false);
        m_db->exec("PRAGMA journal_mode=WAL");
        m_db->exec("PRAGMA synchronous=NORMAL");
        {
            Transaction tx(*m_db);
            m_db->exec(mbtiles_schema);
            auto get = m_db->prepare("SELECT value FROM metadata WHERE name = ?");
            get.bind(1, std::string_view("format"));
            if (get.step()) {
                const std::string have = get.text(0);
                if (have != meta.entries.at("format"))
                    throw InputError("the output holds " + have + " tiles, not " +
                                         meta.entries.at("format"),
                                     {.file = m_path});
            }
            get.reset();
            std::map<std::string, std::string> entries = meta.entries;
            // A resumed or expiry run keeps the widest zoom range.
            for (const char* k : {"minzoom", "maxzoom"}) {
                get.bind(1, std::string_view(k));
                if (get.step()) {
                    const int have = std::stoi(get.text(0));
                    const int want = std::stoi(entries[k]);
                    entries[k] = std::to_string(std::string(k) == "minzoom" ? std::min(have, want)
                                                                            : std::max(have, want));
                }
                get.reset();
            }
            auto put = m_db->prepare("INSERT OR REPLACE INTO metadata (name, value) VALUES (?, ?)");
            for (const auto& [k, v] : entries) {
                put.bind(1, std::string_view(k)).bind(2, std::string_view(v));
                put.run();
            }
            tx.commit();
        }
    }

    ~MbtilesWriter() override {
        // The connection closes before the lock's descriptor (see ExportLock).
        m_insert_map.reset();
        m_insert_image.reset();
        m_find_image.reset();
        m_mark.reset();
        m_db.reset();
    }

    std::set<MetaId> done(const std::string& job_key) override {
        std::set<MetaId> out;
        auto st = m_db->prepare("SELECT z, x0, y0, size FROM wangge_progress WHERE job = ?");
        st.bind(1, std::string_view(job_key));
        while (st.step())
            out.insert({static_cast<int>(st.integer(0)), static_cast<int>(st.integer(1)),
                        static_cast<int>(st.integer(2)), static_cast<int>(st.integer(3))});
        return out;
    }

    std::size_t write(const MetatileResult& r, const std::string& job_key) override {
        if (!m_insert_map) {
            m_insert_map = std::make_unique<Statement>(
                *m_db, "INSERT OR REPLACE INTO map (zoom_level, tile_column, tile_row, tile_id) "
                       "VALUES (?, ?, ?, ?)");
            m_insert_image = std::make_unique<Statement>(
                *m_db, "INSERT OR IGNORE INTO images (tile_data, tile_id) VALUES (?, ?)");
            m_find_image = std::make_unique<Statement>(
                *m_db, "SELECT tile_data FROM images WHERE tile_id = ?");
            m_mark = std::make_unique<Statement>(
                *m_db, "INSERT OR REPLACE INTO wangge_progress (job, z, x0, y0, size, tiles) "
                       "VALUES (?, ?, ?, ?, ?, ?)");
        }
        std::size_t added = 0;
        Transaction tx(*m_db);
        for (const auto& t : r.tiles) {
            std::string id = image_id(t.bytes);
            for (int clash = 0;; ++clash) {
                if (clash > 0) id = image_id(t.bytes) + "-" + std::to_string(clash);
                m_insert_image->bind_blob(1, t.bytes.data(), static_cast<int>(t.bytes.size()));
                m_insert_image->bind(2, std::string_view(id));
                m_insert_image->run();
                if (sqlite3_changes(m_db->get()) > 0) {
                    ++added;
                    break;
                }
                // Stored already: the same bytes (dedupe) or, vanishingly rarely, a clash.
                m_find_image->bind(1, std::string_view(id));
                bool same = false;
                if (m_find_image->step())
                    same = m_find_image->bytes(0) == static_cast<int>(t.bytes.size()) &&
                           std::memcmp(m_find_image->blob(0), t.bytes.data(), t.bytes.size()) == 0;
                m_find_image->reset();
                if (same) break;
            }
            m_insert_map->bind(1, t.id.z).bind(2, t.id.x).bind(3, tms_row(t.id));
            m_insert_map->bind(4, std::string_view(id));
            m_insert_map->run();
        }
        m_mark->bind(1, std::string_view(job_key))
            .bind(2, r.meta.z)
            .bind(3, r.meta.x0)
            .bind(4, r.meta.y0)
            .bind(5, r.meta.size)
            .bind(6, static_cast<std::int64_t>(r.tiles.size()));
        m_mark->run();
        tx.commit();
        return added;
    }

    void finish() override {
        // Images no longer referenced (replaced by an expiry run) are dropped.
        Transaction tx(*m_db);
        m_db->exec("DELETE FROM images WHERE tile_id NOT IN (SELECT tile_id FROM map)");
        tx.commit();
        m_db->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }

  private:
    std::string m_path;
    std::unique_ptr<ExportLock> m_lock;
    std::unique_ptr<Connection> m_db;
    std::unique_ptr<Statement> m_insert_map, m_insert_image, m_find_image, m_mark;
};

// ---- XYZ folder ----------------------------------------------------------------------------

class XyzWriter final : public Writer {
  public:
    XyzWriter(const ExportJob& job, const JobMeta& meta)
        : m_root(job.out), m_ext(extension(job.format)) {
        std::error_code ec;
        const bool existed = fs::exists(m_root);
        if (existed && !fs::is_directory(m_root))
            throw InputError("the output is a file; an XYZ export writes a folder (name the "
                             "output *.mbtiles for an MBTiles file)",
                             {.file = m_root});
        if (existed && !job.resume && !fs::is_empty(m_root))
            throw InputError("the output folder exists and is not empty; use --resume to "
                             "continue an export into it, or remove it",
                             {.file = m_root});
        fs::create_directories(m_root, ec);
        if (ec)
            throw InputError("cannot create the output folder: " + ec.message(), {.file = m_root});
        m_lock = std::make_unique<ExportLock>(m_root, true);
        const auto meta_path = fs::path(m_root) / "metadata.json";
        if (fs::exists(meta_path)) {
            std::ifstream in(meta_path);
            nlohmann::json have;
            try {
                in >> have;
            } catch (const std::exception&) {
                have = nlohmann::json::object();
            }
            if (have.contains("format") && have["format"] != meta.entries.at("format"))
                throw InputError("the output holds " + have["format"].get<std::string>() +
                                     " tiles, not " + meta.entries.at("format"),
                                 {.file = m_root});
        }
        nlohmann::json j(meta.entries);
        write_atomically(meta_path, j.dump(2) + "\n");
        m_progress_path = (fs::path(m_root) / ".wangge-progress").string();
    }

    std::set<MetaId> done(const std::string& job_key) override {
        std::set<MetaId> out;
        std::ifstream in(m_progress_path);
        std::string line;
        while (std::getline(in, line)) {
            // "key z x0 y0 size ok": a line cut by a crash lacks the final "ok" and is ignored.
            std::istringstream ss(line);
            std::string key, ok;
            MetaId m;
            if (ss >> key >> m.z >> m.x0 >> m.y0 >> m.size >> ok && ok == "ok" && key == job_key)
                out.insert(m);
        }
        return out;
    }

    std::size_t write(const MetatileResult& r, const std::string& job_key) override {
        for (const auto& t : r.tiles) {
            const auto dir = fs::path(m_root) / std::to_string(t.id.z) / std::to_string(t.id.x);
            if (m_dirs.insert(dir.string()).second) {
                std::error_code ec;
                fs::create_directories(dir, ec);
                if (ec)
                    throw InputError("cannot create a folder: " + ec.message(),
                                     {.file = dir.string()});
            }
            write_atomically(dir / (std::to_string(t.id.y) + "." + std::string(m_ext)), t.bytes);
        }
        std::ostringstream line;
        line << job_key << " " << r.meta.z << " " << r.meta.x0 << " " << r.meta.y0 << " "
             << r.meta.size << " ok\n";
        append(line.str());
        return r.tiles.size();
    }

    void finish() override {}

  private:
    static void write_all(int fd, const std::string& bytes, const std::string& path) {
        std::size_t off = 0;
        while (off < bytes.size()) {
            const auto n = ::write(fd, bytes.data() + off, bytes.size() - off);
            if (n < 0) {
                if (errno == EINTR) continue;
                const int e = errno;
                ::close(fd);
                throw InputError(std::string("cannot write: ") + std::strerror(e), {.file = path});
            }
            off += static_cast<std::size_t>(n);
        }
    }
    static void write_atomically(const fs::path& path, const std::string& bytes) {
        const std::string tmp = path.string() + ".part";
        const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            throw InputError(std::string("cannot write: ") + std::strerror(errno), {.file = tmp});
        try {
            write_all(fd, bytes, tmp);
        } catch (...) {
            ::unlink(tmp.c_str());
            throw;
        }
        ::close(fd);
        if (::rename(tmp.c_str(), path.c_str()) != 0) {
            const int e = errno;
            ::unlink(tmp.c_str());
            throw InputError(std::string("cannot rename: ") + std::strerror(e),
                             {.file = path.string()});
        }
    }
    void append(const std::string& line) {
        const int fd =
            ::open(m_progress_path.c_str(), O_CREAT | O_APPEND | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0)
            throw InputError(std::string("cannot write: ") + std::strerror(errno),
                             {.file = m_progress_path});
        write_all(fd, line, m_progress_path);
        ::close(fd);
    }

    std::string m_root;
    std::string_view m_ext;
    std::unique_ptr<ExportLock> m_lock;
    std::string m_progress_path;
    std::set<std::string> m_dirs;
};

bool is_mbtiles(const std::string& out) {
    std::string ext = fs::path(out).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".mbtiles";
}

// Results from the workers to the writer, bounded so that memory stays flat.
class ResultQueue {
  public:
    explicit ResultQueue(std::size_t capacity) : m_capacity(capacity) {}
    // False when the run was stopped.
    bool push(MetatileResult r) {
        std::unique_lock lock(m_mutex);
        m_space.wait(lock, [&] { return m_items.size() < m_capacity || m_stopped; });
        if (m_stopped) return false;
        m_items.push_back(std::move(r));
        m_ready.notify_one();
        return true;
    }
    // Empty optional when every worker is done and the queue is drained, or stopped.
    std::optional<MetatileResult> pop() {
        std::unique_lock lock(m_mutex);
        m_ready.wait(lock, [&] { return !m_items.empty() || m_workers == 0 || m_stopped; });
        if (m_stopped || m_items.empty()) return std::nullopt;
        auto r = std::move(m_items.front());
        m_items.pop_front();
        m_space.notify_one();
        return r;
    }
    void set_workers(int n) {
        std::lock_guard lock(m_mutex);
        m_workers = n;
    }
    void worker_done() {
        std::lock_guard lock(m_mutex);
        --m_workers;
        m_ready.notify_all();
    }
    void stop() {
        std::lock_guard lock(m_mutex);
        m_stopped = true;
        m_ready.notify_all();
        m_space.notify_all();
    }

  private:
    std::mutex m_mutex;
    std::condition_variable m_ready, m_space;
    std::deque<MetatileResult> m_items;
    std::size_t m_capacity;
    int m_workers = 0;
    bool m_stopped = false;
};

} // namespace

ExportSummary run_export(const ExportJob& job,
                         const std::function<void(const ExportProgress&)>& progress) {
    const auto t_start = clock::now();
    check_options(job.tile);
    check_layer_format(job.layer, job.format);
    if (job.plan.empty()) throw InputError("the tile plan is empty: nothing to export");
    if (job.out.empty()) throw InputError("no output given (--out)");

    const JobMeta meta = metadata_of(job);
    std::unique_ptr<Writer> writer;
    if (is_mbtiles(job.out))
        writer = std::make_unique<MbtilesWriter>(job, meta);
    else
        writer = std::make_unique<XyzWriter>(job, meta);

    const auto work = metatiles_of(job.plan, job.tile.metatile);
    const auto done = writer->done(job.job_key);
    std::vector<const MetaWork*> todo;
    ExportSummary sum;
    auto& p = sum.progress;
    p.tiles_total = job.plan.tiles.size();
    p.metatiles_total = work.size();
    for (const auto& [z, n] : job.plan.per_zoom())
        p.per_zoom[z] = {0, n};
    for (const auto& w : work) {
        if (done.count(w.meta)) {
            p.tiles_skipped += w.tiles.size();
            p.per_zoom[w.meta.z].first += w.tiles.size();
        } else {
            todo.push_back(&w);
        }
    }
    p.metatiles_done = work.size() - todo.size();
    // Largest blocks first (pixels drawn, see MetatileRenderer::render), so that the threads
    // finish together instead of one drawing a full z14 metatile while the others wait.
    const auto pixels = [&](const MetaWork* w) {
        int x0 = w->tiles.front().x, x1 = x0, y0 = w->tiles.front().y, y1 = y0;
        for (const auto& t : w->tiles) {
            x0 = std::min(x0, t.x), x1 = std::max(x1, t.x);
            y0 = std::min(y0, t.y), y1 = std::max(y1, t.y);
        }
        const auto side = [&](int n) {
            return static_cast<std::int64_t>(n * tile_px + 2 * job.tile.buffer_px);
        };
        return side(x1 - x0 + 1) * side(y1 - y0 + 1);
    };
    std::stable_sort(todo.begin(), todo.end(),
                     [&](const MetaWork* a, const MetaWork* b) { return pixels(a) > pixels(b); });

    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int threads = std::clamp(job.threads > 0 ? job.threads : hw, 1, 64);
    sum.threads = threads;
    ResultQueue queue(static_cast<std::size_t>(threads) * 2);
    std::atomic<std::size_t> next{0};
    std::mutex error_mutex;
    std::exception_ptr error;
    std::vector<std::thread> workers;
    const int n_workers =
        std::min<int>(threads, static_cast<int>(std::max<std::size_t>(1, todo.size())));
    queue.set_workers(n_workers);
    for (int i = 0; i < n_workers; ++i)
        workers.emplace_back([&] {
            try {
                MetatileRenderer renderer(job.data, job.tile);
                for (;;) {
                    const std::size_t k = next.fetch_add(1);
                    if (k >= todo.size()) break;
                    const auto& w = *todo[k];
                    const bool whole =
                        w.tiles.size() == static_cast<std::size_t>(w.meta.size * w.meta.size);
                    auto r = renderer.render(w.meta, job.layer, job.format, job.status,
                                             whole ? nullptr : &w.tiles);
                    if (!queue.push(std::move(r))) break;
                }
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
                queue.stop();
            }
            queue.worker_done();
        });

    std::exception_ptr write_error;
    try {
        while (auto r = queue.pop()) {
            const auto t0 = clock::now();
            sum.unique_images += writer->write(*r, job.job_key);
            sum.write_s += seconds_since(t0);
            sum.draw_s += r->draw_s;
            sum.encode_s += r->encode_s;
            for (const auto& t : r->tiles)
                sum.bytes += t.bytes.size();
            p.tiles_done += r->tiles.size();
            p.per_zoom[r->meta.z].first += r->tiles.size();
            ++p.metatiles_done;
            p.zoom = r->meta.z;
            p.elapsed_s = seconds_since(t_start);
            if (progress) progress(p);
        }
    } catch (...) {
        write_error = std::current_exception();
        queue.stop();
    }
    for (auto& t : workers)
        t.join();
    const auto failed = [&](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const Error& ex) {
            throw InputError(ex.message() + " (" + std::to_string(p.tiles_done + p.tiles_skipped) +
                                 " of " + std::to_string(p.tiles_total) +
                                 " tiles are stored; the output is valid and --resume continues)",
                             ex.context());
        }
    };
    if (write_error) failed(write_error);
    if (error) failed(error);
    try {
        writer->finish();
    } catch (const Error& ex) {
        failed(std::current_exception());
    }
    writer.reset();
    sum.wall_s = seconds_since(t_start);
    p.elapsed_s = sum.wall_s;
    return sum;
}

std::map<std::string, std::string> read_mbtiles_metadata(const std::string& path) {
    const Connection db(path, true);
    auto st = db.prepare("SELECT name, value FROM metadata");
    std::map<std::string, std::string> out;
    while (st.step())
        out[st.text(0)] = st.text(1);
    return out;
}

std::string read_mbtiles_tile(const std::string& path, const TileId& t) {
    const Connection db(path, true);
    auto st = db.prepare(
        "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?");
    st.bind(1, t.z).bind(2, t.x).bind(3, tms_row(t));
    if (!st.step()) return {};
    return {static_cast<const char*>(st.blob(0)), static_cast<std::size_t>(st.bytes(0))};
}

} // namespace wangge::tiles
