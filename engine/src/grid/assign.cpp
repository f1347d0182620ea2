// Assigning points to cells (see assign.hpp). The CSV path is written for speed: blocks of
// 8 MiB are split into records by one sequential scan (a memchr fast path for lines without
// quotes, a small state machine for the rest), then threads each parse, locate and format
// their share of the block. While a block is processed, the next one is read and scanned
// and the previous one written, each on its own thread, so the cores stay busy.
#include "wangge/grid/assign.hpp"

#include "wangge/base/csv.hpp"
#include "wangge/base/output_file.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/proj.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cpl_string.h>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <future>
#include <gdal.h>
#include <memory>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

namespace wangge::grid {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t block_bytes = std::size_t{8} << 20;
constexpr const char* added_columns[] = {"cell_code", "village_code", "township_code",
                                         "boundary_distance_m", "near_boundary"};

struct FileCloser {
    void operator()(std::FILE* f) const noexcept {
        if (f) std::fclose(f);
    }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

std::optional<double> parse_number(std::string_view s) {
    s = base::trim_csv_field(s);
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
    // Fast path for plain decimals like -110.7215820: at most 15 digits and 22 decimals.
    // The digits as an integer (exact below 2^53) divided by an exact power of ten is one
    // correctly rounded operation, so the result is the one from_chars gives.
    {
        static constexpr double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                           1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                           1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        std::size_t i = 0;
        const bool negative = s[0] == '-';
        if (negative) ++i;
        std::uint64_t mantissa = 0;
        int digits = 0, decimals = -1;
        for (; i < s.size(); ++i) {
            const char c = s[i];
            if (c >= '0' && c <= '9') {
                mantissa = mantissa * 10 + static_cast<std::uint64_t>(c - '0');
                ++digits;
                if (decimals >= 0) ++decimals;
            } else if (c == '.' && decimals < 0) {
                decimals = 0;
            } else {
                break;
            }
        }
        if (i == s.size() && digits > 0 && digits <= 15 && decimals <= 22) {
            const double v = static_cast<double>(mantissa) / pow10[decimals < 0 ? 0 : decimals];
            return negative ? -v : v;
        }
    }
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

// The per-cell text of the added columns up to the distance: ",code,village,township,".
std::vector<std::string> cell_prefixes(const Grid& grid) {
    auto field = [](const std::string& v) { return base::csv_field(v); };
    std::vector<std::string> out;
    out.reserve(grid.cells.size());
    for (const auto& c : grid.cells)
        out.push_back("," + field(c.code) + "," + field(c.village_code) + "," +
                      field(c.township_code) + ",");
    return out;
}

struct BadRow {
    std::int64_t line;
    std::string message;
};

// One thread's share of a block.
struct Share {
    std::string text;
    std::vector<BadRow> bad;
    std::int64_t rows = 0, assigned = 0, near = 0, outside = 0;
    std::exception_ptr error;
};

class CsvAssigner {
  public:
    CsvAssigner(const Grid& grid, const Locator& locator, const AssignOptions& o)
        : m_locator(locator), m_o(o), m_prefix(cell_prefixes(grid)) {
        unsigned t =
            o.threads > 0 ? static_cast<unsigned>(o.threads) : std::thread::hardware_concurrency();
        m_threads = std::max(1u, t);
        if (!o.src_crs.empty())
            for (unsigned k = 0; k < m_threads; ++k)
                m_to_lonlat.push_back(std::make_unique<geo::Transformer>(o.src_crs, "EPSG:4326"));
    }

    AssignSummary run() {
        const std::string& src = m_o.source;
        FilePtr in(std::fopen(src.c_str(), "rb"));
        if (!in)
            throw InputError(std::string("cannot open: ") + std::strerror(errno), {.file = src});
        auto tmp = base::OutputFile::file(m_o.out, ".partial", base::OutputFile::Existing::refuse);
        FilePtr out(std::fopen(tmp.path().c_str(), "wb"));
        if (!out)
            throw InputError(std::string("cannot create: ") + std::strerror(errno),
                             {.file = tmp.path().string()});
        // Declared after `out`, so that on an exception the write still in flight ends before
        // the file is closed.
        struct AwaitWrite {
            std::future<void>& pending;
            ~AwaitWrite() {
                if (!pending.valid()) return;
                try {
                    pending.get();
                } catch (...) { // the first error is already on its way
                }
            }
        } await_write{m_writing};

        // Block k is processed while block k + 1 is read and split into records, and block
        // k - 1 is written.
        Block cur, next;
        load(in.get(), cur, nullptr, 0, 1);
        if (cur.records.empty())
            throw InputError("the file is empty; a header row naming the columns is needed",
                             {.file = src, .line = 1});
        header(cur.buf.data(), cur.records[0], out.get());
        AssignSummary sum;
        std::size_t first = 1;
        for (;;) {
            const bool more = !cur.eof;
            std::future<void> reading;
            if (more)
                reading = std::async(std::launch::async, [&] {
                    load(in.get(), next, cur.buf.data() + cur.used, cur.len - cur.used,
                         cur.line_after);
                });
            if (cur.records.size() > first) {
                auto& shares = m_shares[m_turn];
                m_turn ^= 1u;
                process(cur.buf.data(), cur.records, first, shares, sum);
                if (m_writing.valid()) m_writing.get();
                m_writing = std::async(std::launch::async, [this, &shares, f = out.get()] {
                    for (const auto& sh : shares)
                        write(f, sh.text);
                });
            }
            if (!more) break;
            reading.get();
            std::swap(cur, next);
            first = 0;
        }
        if (m_writing.valid()) m_writing.get();
        if (std::fflush(out.get()) != 0 || std::ferror(out.get()))
            throw InputError(std::string("write failed: ") + std::strerror(errno),
                             {.file = tmp.path().string()});
        std::FILE* raw = out.release();
        if (std::fclose(raw) != 0)
            throw InputError(std::string("write failed: ") + std::strerror(errno),
                             {.file = tmp.path().string()});
        tmp.commit();
        return sum;
    }

  private:
    // A block of the file: the unfinished record carried over from the previous block, then
    // as much as fits; the complete records in it, and where the unfinished rest begins.
    struct Block {
        std::vector<char> buf;
        std::size_t len = 0, used = 0;
        bool eof = false;
        std::vector<base::CsvRecordSpan> records;
        std::int64_t line_after = 1; // the line the unfinished rest starts on
    };

    // Fills b with `tail` (the previous block's unfinished record) and the next bytes of the
    // file, and splits it into records; grows the block if one record does not fit.
    void load(std::FILE* in, Block& b, const char* tail, std::size_t tail_len,
              std::int64_t line) const {
        if (b.buf.size() < std::max(block_bytes, 2 * tail_len))
            b.buf.resize(std::max(block_bytes, 2 * tail_len));
        if (tail_len > 0) std::memcpy(b.buf.data(), tail, tail_len);
        b.len = tail_len;
        for (;;) {
            const std::size_t n = std::fread(b.buf.data() + b.len, 1, b.buf.size() - b.len, in);
            if (std::ferror(in))
                throw InputError(std::string("read failed: ") + std::strerror(errno),
                                 {.file = m_o.source});
            b.len += n;
            b.eof = std::feof(in) != 0;
            b.records.clear();
            std::int64_t l = line;
            try {
                b.used = base::find_csv_records(b.buf.data(), b.len, b.eof, l, b.records);
            } catch (const InputError& e) { // an unclosed quote
                throw InputError(e.message(), {.file = m_o.source, .line = e.context().line});
            }
            b.line_after = l;
            if (!b.records.empty() || b.eof) return;
            b.buf.resize(b.buf.size() * 2); // a record longer than the block
        }
    }

    void header(const char* buf, const base::CsvRecordSpan& r, std::FILE* out) {
        const char* b = buf + r.begin;
        const char* e = buf + r.end;
        std::vector<std::string> names;
        base::CsvFieldReader cur(b, e);
        std::string_view text;
        std::string scratch;
        while (cur.next(text, scratch))
            names.emplace_back(base::trim_csv_field(text));
        if (!cur.error().empty())
            throw InputError(cur.error(), {.file = m_o.source, .line = r.line});
        for (const auto& n : names)
            for (const char* a : added_columns)
                if (lower(n) == a)
                    throw InputError("the input already has a column '" + n +
                                         "'; rename or drop it first",
                                     {.file = m_o.source, .line = r.line});
        auto find = [&](const std::string& wanted, std::initializer_list<const char*> fallback,
                        const char* role) -> int {
            if (!wanted.empty()) {
                for (std::size_t i = 0; i < names.size(); ++i)
                    if (names[i] == wanted) return static_cast<int>(i);
                for (std::size_t i = 0; i < names.size(); ++i)
                    if (lower(names[i]) == lower(wanted)) return static_cast<int>(i);
                throw InputError("no column '" + wanted + "' for the " + role +
                                     " (the columns are: " + join(names) + ")",
                                 {.file = m_o.source, .line = r.line});
            }
            for (const char* f : fallback)
                for (std::size_t i = 0; i < names.size(); ++i)
                    if (lower(names[i]) == f) return static_cast<int>(i);
            return -1;
        };
        const bool projected = !m_o.src_crs.empty();
        m_ix = find(m_o.lon_field,
                    projected ? std::initializer_list<const char*>{"x", "lon", "lng", "longitude"}
                              : std::initializer_list<const char*>{"lon", "lng", "longitude", "x"},
                    "longitude (x)");
        m_iy = find(m_o.lat_field,
                    projected ? std::initializer_list<const char*>{"y", "lat", "latitude"}
                              : std::initializer_list<const char*>{"lat", "latitude", "y"},
                    "latitude (y)");
        if (m_ix < 0 || m_iy < 0)
            throw InputError("no coordinate columns: expected lon and lat (or x and y), or name "
                             "them with --lon-field and --lat-field (the columns are: " +
                                 join(names) + ")",
                             {.file = m_o.source, .line = r.line});
        m_x_name = names[static_cast<std::size_t>(m_ix)];
        m_y_name = names[static_cast<std::size_t>(m_iy)];
        // A UTF-8 byte order mark (skipped by the reader) is kept in the output.
        std::string line =
            r.begin == 3 && std::memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? "\xEF\xBB\xBF" : "";
        line.append(b, e);
        line += ",cell_code,village_code,township_code,boundary_distance_m,near_boundary\n";
        write(out, line);
    }

    void write(std::FILE* out, const std::string& text) {
        if (std::fwrite(text.data(), 1, text.size(), out) != text.size())
            throw InputError(std::string("write failed: ") + std::strerror(errno),
                             {.file = m_o.out + ".partial"});
    }

    void process(const char* buf, const std::vector<base::CsvRecordSpan>& records,
                 std::size_t first, std::vector<Share>& shares, AssignSummary& sum) {
        const std::size_t n = records.size() - first;
        const unsigned t = static_cast<unsigned>(
            std::min<std::size_t>(m_threads, std::max<std::size_t>(1, n / 4096)));
        shares.resize(t);
        const std::size_t chunk = (n + t - 1) / t;
        auto work = [&](unsigned k) {
            Share& sh = shares[k];
            try {
                const std::size_t b = first + std::min(n, k * chunk);
                const std::size_t e = first + std::min(n, (k + 1) * chunk);
                do_share(buf, records, b, e, k, sh);
            } catch (...) {
                sh.error = std::current_exception();
            }
        };
        std::vector<std::thread> pool;
        for (unsigned k = 1; k < t; ++k)
            pool.emplace_back(work, k);
        work(0);
        for (auto& th : pool)
            th.join();
        for (auto& sh : shares) {
            if (sh.error) std::rethrow_exception(sh.error);
            for (const auto& bad : sh.bad) {
                InputError err(bad.message, {.file = m_o.source, .line = bad.line});
                if (m_o.on_bad_row == OnBadRow::fail) throw err;
                if (m_o.report_bad_row) m_o.report_bad_row(err);
                ++sum.skipped;
            }
            sum.read += sh.rows;
            sum.assigned += sh.assigned;
            sum.near_boundary += sh.near;
            sum.outside += sh.outside;
        }
    }

    void do_share(const char* buf, const std::vector<base::CsvRecordSpan>& records, std::size_t b,
                  std::size_t e, unsigned k, Share& sh) {
        sh.text.clear();
        sh.bad.clear();
        sh.rows = static_cast<std::int64_t>(e - b);
        sh.assigned = sh.near = sh.outside = 0;
        sh.error = nullptr;
        const std::size_t n = e - b;
        std::vector<geo::Point> pts(n);
        std::vector<std::uint8_t> ok(n, 1);
        const int want = std::max(m_ix, m_iy);
        std::string sx, sy, scratch;
        for (std::size_t r = 0; r < n; ++r) {
            const base::CsvRecordSpan& rec = records[b + r];
            const char* p = buf + rec.begin;
            const char* end = buf + rec.end;
            std::string_view fx, fy;
            bool got_x = false, got_y = false;
            auto bad = [&](std::string message) {
                ok[r] = 0;
                sh.bad.push_back({rec.line, std::move(message)});
            };
            base::CsvFieldReader cur(p, end);
            std::string_view f;
            for (int idx = 0; idx <= want && cur.next(f, scratch); ++idx) {
                // A quoted field points into scratch, which the next field overwrites.
                if (idx == m_ix) {
                    fx = cur.last_quoted() ? std::string_view(sx.assign(f)) : f;
                    got_x = true;
                }
                if (idx == m_iy) {
                    fy = cur.last_quoted() ? std::string_view(sy.assign(f)) : f;
                    got_y = true;
                }
            }
            if (!cur.error().empty()) {
                bad(cur.error());
                continue;
            }
            if (!got_x || !got_y) {
                bad("missing column '" + (got_x ? m_y_name : m_x_name) + "'");
                continue;
            }
            const auto x = parse_number(fx);
            const auto y = parse_number(fy);
            if (!x) {
                bad("cannot read '" + std::string(base::trim_csv_field(fx)) + "' in column '" +
                    m_x_name + "' as a number");
                continue;
            }
            if (!y) {
                bad("cannot read '" + std::string(base::trim_csv_field(fy)) + "' in column '" +
                    m_y_name + "' as a number");
                continue;
            }
            pts[r] = {*x, *y};
        }
        if (!m_to_lonlat.empty()) {
            // All at once (PROJ is much faster so); point by point only to find a failure.
            const geo::Transformer& tr = *m_to_lonlat[k];
            std::vector<geo::Point> batch;
            for (std::size_t r = 0; r < n; ++r)
                if (ok[r]) batch.push_back(pts[r]);
            bool all = true;
            try {
                tr.forward(std::span<geo::Point>(batch));
            } catch (const Error&) {
                all = false;
            }
            std::size_t q = 0;
            for (std::size_t r = 0; r < n; ++r) {
                if (!ok[r]) continue;
                if (all) {
                    pts[r] = batch[q++];
                    continue;
                }
                try {
                    pts[r] = tr.forward(pts[r]);
                } catch (const Error&) {
                    ok[r] = 0;
                    sh.bad.push_back({records[b + r].line,
                                      "cannot transform (" + std::to_string(pts[r].x) + ", " +
                                          std::to_string(pts[r].y) + ") from " + m_o.src_crs});
                }
            }
        } else {
            for (std::size_t r = 0; r < n; ++r)
                if (ok[r] && (std::abs(pts[r].x) > 180 || std::abs(pts[r].y) > 90)) {
                    ok[r] = 0;
                    sh.bad.push_back(
                        {records[b + r].line, "(" + std::to_string(pts[r].x) + ", " +
                                                  std::to_string(pts[r].y) +
                                                  ") is not a longitude and latitude (projected "
                                                  "coordinates need --src-crs)"});
                }
        }
        // Bad rows were found in two passes; report them in line order.
        std::sort(sh.bad.begin(), sh.bad.end(),
                  [](const BadRow& l, const BadRow& r) { return l.line < r.line; });
        if (!sh.bad.empty() && m_o.on_bad_row == OnBadRow::fail) return; // the run stops

        std::vector<geo::Point> good;
        good.reserve(n);
        for (std::size_t r = 0; r < n; ++r)
            if (ok[r]) good.push_back(pts[r]);
        std::vector<Location> locs(good.size());
        m_locator.locate_batch(good, locs, 1);

        std::size_t bytes = 0;
        for (std::size_t r = 0; r < n; ++r)
            bytes += records[b + r].end - records[b + r].begin;
        sh.text.reserve(bytes + n * 64);
        std::size_t g = 0;
        char num[64];
        for (std::size_t r = 0; r < n; ++r) {
            if (!ok[r]) continue;
            const base::CsvRecordSpan& rec = records[b + r];
            const Location& loc = locs[g++];
            sh.text.append(buf + rec.begin, rec.end - rec.begin);
            if (loc.cell >= 0) {
                sh.text += m_prefix[static_cast<std::size_t>(loc.cell)];
                ++sh.assigned;
            } else {
                sh.text += ",,,,";
                ++sh.outside;
            }
            const double d = loc.boundary_distance_m;
            if (std::isfinite(d)) {
                const auto res =
                    std::to_chars(num, num + sizeof num, d, std::chars_format::fixed, 2);
                sh.text.append(num, res.ptr);
            }
            const bool near = d <= m_o.near_boundary_m;
            sh.near += near ? 1 : 0;
            sh.text += near ? ",true\n" : ",false\n";
        }
    }

    const Locator& m_locator;
    const AssignOptions& m_o;
    std::vector<std::string> m_prefix;
    unsigned m_threads = 1;
    std::vector<std::unique_ptr<geo::Transformer>> m_to_lonlat; // one per thread
    int m_ix = -1, m_iy = -1;
    std::string m_x_name, m_y_name;
    std::vector<Share> m_shares[2];
    unsigned m_turn = 0;
    std::future<void> m_writing; // the previous block's write
};

// ---- any OGR point source ---------------------------------------------------------------

AssignSummary assign_ogr(const Grid& grid, const Locator& locator, const AssignOptions& o) {
    // Written in a private folder, moved into place file by file at the end (a Shapefile is
    // several files).
    auto output = base::OutputFile::files(o.out);
    const std::string driver = geo::Dataset::vector_driver_for(o.out);
    const auto src = geo::Dataset::open_vector(o.source);
    if (src.layer_count() < 1) throw InputError("no layers to read", {.file = o.source});
    OGRLayerH in_layer = src.layer(0);
    const std::string layer_name = geo::layer_name(in_layer);
    const ErrorContext where{.file = o.source, .layer = layer_name};

    // The CRS of the points and, unless it is lon/lat, a transformation to lon/lat.
    geo::SpatialRef layer_srs = geo::SpatialRef::clone_of(OGR_L_GetSpatialRef(in_layer));
    std::unique_ptr<geo::Transformer> to_lonlat;
    if (!o.src_crs.empty()) {
        to_lonlat = std::make_unique<geo::Transformer>(o.src_crs, "EPSG:4326");
    } else if (!layer_srs.empty() &&
               !layer_srs.is_same(geo::SpatialRef::from_user_input("EPSG:4326"))) {
        to_lonlat = std::make_unique<geo::Transformer>(layer_srs.user_string(), "EPSG:4326");
    }

    std::vector<std::string> names = geo::field_names(in_layer);
    for (const auto& n : names)
        for (const char* a : added_columns)
            if (lower(n) == a)
                throw InputError(
                    "the input already has a field '" + n + "'; rename or drop it first", where);

    const std::string tmp = output.path().string();
    auto dst = geo::Dataset::create_vector(tmp, driver);
    geo::GdalErrorCapture capture;
    geo::SpatialRef out_srs = layer_srs.empty() && o.src_crs.empty()
                                  ? geo::SpatialRef::from_user_input("EPSG:4326")
                              : !o.src_crs.empty() ? geo::SpatialRef::from_user_input(o.src_crs)
                                                   : geo::SpatialRef::clone_of(layer_srs.get());
    OGRLayerH out_layer = GDALDatasetCreateLayer(dst.get(), layer_name.c_str(), out_srs.get(),
                                                 OGR_L_GetGeomType(in_layer), nullptr);
    if (!out_layer)
        throw InputError("cannot create the output layer: " + capture.last(), {.file = o.out});
    OGRFeatureDefnH in_defn = OGR_L_GetLayerDefn(in_layer);
    std::vector<int> field_map(static_cast<std::size_t>(OGR_FD_GetFieldCount(in_defn)));
    for (int i = 0; i < OGR_FD_GetFieldCount(in_defn); ++i) {
        if (OGR_L_CreateField(out_layer, OGR_FD_GetFieldDefn(in_defn, i), TRUE) != OGRERR_NONE)
            throw InputError("cannot create field '" + names[static_cast<std::size_t>(i)] +
                                 "': " + capture.last(),
                             {.file = o.out});
        field_map[static_cast<std::size_t>(i)] =
            OGR_FD_GetFieldCount(OGR_L_GetLayerDefn(out_layer)) - 1;
    }
    // Drivers may shorten names (Shapefile: 10 characters), so remember indices.
    auto add_field = [&](const char* name, OGRFieldType type, bool boolean) {
        OGRFieldDefnH fd = OGR_Fld_Create(name, type);
        if (boolean) OGR_Fld_SetSubType(fd, OFSTBoolean);
        const OGRErr err = OGR_L_CreateField(out_layer, fd, TRUE);
        OGR_Fld_Destroy(fd);
        if (err != OGRERR_NONE)
            throw InputError(std::string("cannot create field '") + name + "': " + capture.last(),
                             {.file = o.out});
        return OGR_FD_GetFieldCount(OGR_L_GetLayerDefn(out_layer)) - 1;
    };
    const int f_cell = add_field("cell_code", OFTString, false);
    const int f_village = add_field("village_code", OFTString, false);
    const int f_township = add_field("township_code", OFTString, false);
    const int f_dist = add_field("boundary_distance_m", OFTReal, false);
    const int f_near = add_field("near_boundary", OFTInteger, true);
    OGRFeatureDefnH out_defn = OGR_L_GetLayerDefn(out_layer);
    const bool transactional = GDALDatasetTestCapability(dst.get(), ODsCTransactions) != 0;
    if (transactional) GDALDatasetStartTransaction(dst.get(), FALSE);

    AssignSummary sum;
    constexpr std::size_t batch_size = 65536;
    std::vector<geo::FeaturePtr> batch;
    std::vector<geo::Point> pts;
    std::vector<std::uint8_t> ok;
    std::vector<std::string> why;
    OGR_L_ResetReading(in_layer);
    for (;;) {
        batch.clear();
        while (batch.size() < batch_size) {
            OGRFeatureH f = OGR_L_GetNextFeature(in_layer);
            if (!f) break;
            batch.emplace_back(f);
        }
        if (batch.empty()) break;
        const std::size_t n = batch.size();
        pts.assign(n, {});
        ok.assign(n, 1);
        why.assign(n, {});
        for (std::size_t k = 0; k < n; ++k) {
            OGRGeometryH g = OGR_F_GetGeometryRef(static_cast<OGRFeatureH>(batch[k].get()));
            if (!g || OGR_G_IsEmpty(g)) {
                ok[k] = 0;
                why[k] = "the feature has no point";
            } else if (wkbFlatten(OGR_G_GetGeometryType(g)) != wkbPoint) {
                ok[k] = 0;
                why[k] =
                    std::string("the geometry is a ") + OGR_G_GetGeometryName(g) + ", not a point";
            } else {
                pts[k] = {OGR_G_GetX(g, 0), OGR_G_GetY(g, 0)};
                if (to_lonlat) {
                    try {
                        pts[k] = to_lonlat->forward(pts[k]);
                    } catch (const Error& e) {
                        ok[k] = 0;
                        why[k] = "cannot transform the point to lon/lat: " + e.message();
                    }
                } else if (std::abs(pts[k].x) > 180 || std::abs(pts[k].y) > 90) {
                    ok[k] = 0;
                    why[k] = "the point is not a longitude and latitude (give --src-crs)";
                }
            }
        }
        std::vector<geo::Point> good;
        for (std::size_t k = 0; k < n; ++k)
            if (ok[k]) good.push_back(pts[k]);
        std::vector<Location> locs(good.size());
        locator.locate_batch(good, locs, o.threads);
        std::size_t g = 0;
        for (std::size_t k = 0; k < n; ++k) {
            auto* in_f = static_cast<OGRFeatureH>(batch[k].get());
            ++sum.read;
            if (!ok[k]) {
                ErrorContext ctx = where;
                ctx.feature = OGR_F_GetFID(in_f);
                InputError err(why[k], ctx);
                if (o.on_bad_row == OnBadRow::fail) throw err;
                if (o.report_bad_row) o.report_bad_row(err);
                ++sum.skipped;
                continue;
            }
            const Location& loc = locs[g++];
            geo::FeaturePtr out_f{OGR_F_Create(out_defn)};
            auto* of = static_cast<OGRFeatureH>(out_f.get());
            OGR_F_SetFromWithMap(of, in_f, TRUE, field_map.data());
            if (loc.cell >= 0) {
                const Cell& c = grid.cells[static_cast<std::size_t>(loc.cell)];
                OGR_F_SetFieldString(of, f_cell, c.code.c_str());
                OGR_F_SetFieldString(of, f_village, c.village_code.c_str());
                OGR_F_SetFieldString(of, f_township, c.township_code.c_str());
                ++sum.assigned;
            } else {
                ++sum.outside;
            }
            const double d = loc.boundary_distance_m;
            if (std::isfinite(d)) OGR_F_SetFieldDouble(of, f_dist, std::round(d * 100) / 100);
            const bool near = d <= o.near_boundary_m;
            OGR_F_SetFieldInteger(of, f_near, near ? 1 : 0);
            sum.near_boundary += near ? 1 : 0;
            if (OGR_L_CreateFeature(out_layer, of) != OGRERR_NONE)
                throw InputError("cannot write a feature: " + capture.last(), {.file = o.out});
        }
    }
    if (transactional && GDALDatasetCommitTransaction(dst.get()) != OGRERR_NONE)
        throw InputError("cannot write: " + capture.last(), {.file = o.out});
    dst.close();
    output.commit();
    return sum;
}

bool is_csv(const std::string& path) {
    return lower(fs::path(path).extension().string()) == ".csv";
}

} // namespace

AssignSummary assign_points(const Grid& grid, const Locator& locator,
                            const AssignOptions& options) {
    if (locator.cell_count() != grid.cells.size())
        throw InputError("the locator was built for another grid (" +
                         std::to_string(locator.cell_count()) + " cells, the grid has " +
                         std::to_string(grid.cells.size()) + ")");
    const auto started = std::chrono::steady_clock::now();
    AssignSummary sum;
    if (is_csv(options.source)) {
        CsvAssigner a(grid, locator, options);
        sum = a.run();
    } else {
        sum = assign_ogr(grid, locator, options);
    }
    sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return sum;
}

} // namespace wangge::grid
