// wangge tiles export|expire|style: map tiles for reports and web maps. Thin over tiles/.
#include "command.hpp"
#include "wangge/error.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/store/workspace.hpp"
#include "wangge/tiles/export.hpp"
#include "wangge/tiles/plan.hpp"
#include "wangge/tiles/source.hpp"
#include "wangge/tiles/style.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

namespace wangge::app {

namespace {

namespace fs = std::filesystem;

struct TilesArgs {
    std::string workspace;
    std::string out;
    std::string zoom = "8-18";
    std::string township;
    std::string cell;
    std::vector<double> bbox;
    std::string layer = "composite";
    std::string format;
    std::string at;
    std::string since;
    int threads = 0;
    int metatile = 8;
    int buffer = 128;
    bool resume = false;
    bool json = false;
    std::string style_dir;
};

std::string now_local_minutes() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M", &tm);
    return buf;
}

tiles::PlanArea area_of(const TilesArgs& a, const render::MapData& data, std::string* label) {
    if (!a.bbox.empty()) {
        if (a.bbox.size() != 4) throw InputError("--bbox takes minlon,minlat,maxlon,maxlat");
        std::ostringstream s;
        s.precision(9);
        s << "bbox=" << a.bbox[0] << "," << a.bbox[1] << "," << a.bbox[2] << "," << a.bbox[3];
        *label = s.str();
        return tiles::area_bbox({a.bbox[0], a.bbox[1], a.bbox[2], a.bbox[3]});
    }
    if (!a.township.empty()) {
        *label = "township=" + a.township;
        return tiles::area_unit(data, a.township);
    }
    if (!a.cell.empty()) {
        *label = "cell=" + a.cell;
        return tiles::area_cell(data, a.cell);
    }
    *label = "all";
    return tiles::area_all(data);
}

// The status time of an existing output (so `--resume` without --at continues the same job).
std::string stored_status_at(const std::string& out) {
    try {
        std::string json;
        if (fs::path(out).extension() == ".mbtiles") {
            if (!fs::exists(out) || fs::file_size(out) == 0) return {};
            json = tiles::read_mbtiles_metadata(out)["json"];
        } else {
            std::ifstream in(fs::path(out) / "metadata.json");
            if (!in) return {};
            json = nlohmann::json::parse(in).value("json", "");
        }
        return nlohmann::json::parse(json).at("wangge").value("status_at", "");
    } catch (const std::exception&) {
        return {};
    }
}

nlohmann::ordered_json per_zoom_json(const std::map<int, std::size_t>& m) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [z, n] : m)
        j[std::to_string(z)] = n;
    return j;
}

std::string per_zoom_text(const std::map<int, std::size_t>& m) {
    std::string s;
    for (const auto& [z, n] : m)
        s += (s.empty() ? "" : ", ") + std::string("z") + std::to_string(z) + " " +
             std::to_string(n);
    return s;
}

std::string duration(double s) {
    const auto t = static_cast<long>(s + 0.5);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    return buf;
}

// Progress: one rewritten line on a terminal, plain lines (every 2 s and per zoom) otherwise.
class ProgressPrinter {
  public:
    explicit ProgressPrinter(bool quiet) : m_quiet(quiet), m_tty(::isatty(STDOUT_FILENO) == 1) {}
    void operator()(const tiles::ExportProgress& p) {
        if (m_quiet) return;
        const bool zoom_finished =
            p.per_zoom.count(p.zoom) && p.per_zoom.at(p.zoom).first == p.per_zoom.at(p.zoom).second;
        const double since = p.elapsed_s - m_last;
        if (!(zoom_finished && p.zoom != m_last_zoom_done) && since < (m_tty ? 0.2 : 2.0) &&
            p.tiles_done + p.tiles_skipped < p.tiles_total)
            return;
        if (zoom_finished) m_last_zoom_done = p.zoom;
        m_last = p.elapsed_s;
        const double rate = p.elapsed_s > 0 ? p.tiles_done / p.elapsed_s : 0;
        const std::size_t left = p.tiles_total - p.tiles_done - p.tiles_skipped;
        const auto& [zd, zt] = p.per_zoom.at(p.zoom);
        std::ostringstream line;
        line << "tiles " << p.tiles_done + p.tiles_skipped << "/" << p.tiles_total << " ("
             << fixed(100.0 * (p.tiles_done + p.tiles_skipped) /
                          std::max<std::size_t>(1, p.tiles_total),
                      1)
             << "%), z" << p.zoom << " " << zd << "/" << zt << ", " << fixed(rate, 1)
             << " tiles/s, ETA " << (rate > 0 ? duration(left / rate) : std::string("?"));
        if (m_tty)
            std::cout << "\r\033[K" << line.str() << std::flush;
        else
            std::cout << line.str() << "\n" << std::flush;
    }
    void end() {
        if (!m_quiet && m_tty) std::cout << "\n";
    }

  private:
    bool m_quiet;
    bool m_tty;
    double m_last = -10;
    int m_last_zoom_done = -1;
};

void run_export(TilesArgs a) {
    // A file-size limit (ulimit -f) must fail the write, not kill the process mid-way.
    std::signal(SIGXFSZ, SIG_IGN);
    const auto zoom = tiles::parse_zoom_range(a.zoom);
    const tiles::Layer layer = tiles::layer_from(a.layer);
    const tiles::Format format = tiles::format_from(!a.format.empty()                ? a.format
                                                    : layer == tiles::Layer::imagery ? "jpeg"
                                                                                     : "png");
    tiles::check_layer_format(layer, format);
    const tiles::TileOptions topt{
        .metatile = a.metatile, .buffer_px = a.buffer, .style_dir = a.style_dir};
    tiles::check_options(topt);
    if (!a.since.empty() && layer == tiles::Layer::imagery)
        throw InputError("imagery tiles never expire: --only-expired-since is for the overlay "
                         "and composite layers");
    if (a.at.empty() && a.resume) a.at = stored_status_at(a.out);
    if (a.at.empty()) a.at = now_local_minutes();

    const auto ws = store::Workspace::open(a.workspace);
    // The grid in force at --at (a redraw effective later is not drawn yet).
    const auto data =
        render::MapData::load(ws, ws.version_at(loop::format_time(loop::parse_time(a.at))));
    std::string area_label;
    const auto area = area_of(a, *data, &area_label);

    tiles::ExportJob job;
    job.data = data;
    job.layer = layer;
    job.format = format;
    job.tile = topt;
    job.threads = a.threads;
    job.out = a.out;
    job.resume = a.resume;
    if (layer != tiles::Layer::imagery) job.status = render::status_from_workspace(ws, a.at);
    job.status.at = a.at;
    job.plan = tiles::make_plan(area, zoom);
    if (!a.since.empty()) {
        const auto before = render::status_from_workspace(ws, a.since);
        const auto expired =
            tiles::expired_tiles(*data, tiles::diff_status(before, job.status), zoom);
        // Whole metatiles, so that the tiles come out as a fresh export draws them.
        job.plan.tiles = tiles::whole_metatiles(job.plan, expired, a.metatile);
    }
    job.job_key = std::string(tiles::to_string(layer)) + "." +
                  std::string(tiles::to_string(format)) + ".m" + std::to_string(a.metatile) + ".b" +
                  std::to_string(a.buffer) + ".z" + a.zoom + "." + area_label + ".at=" + a.at +
                  (a.since.empty() ? "" : ".since=" + a.since);
    job.name = data->area_name() + " " + std::string(tiles::to_string(layer));
    job.description = "Grid status map, status at " + a.at +
                      (data->generated_notice().empty() ? "" : ". " + data->generated_notice());
    std::string attribution = "wangge, Mapnik";
    if (const auto& im = data->imagery(); im && layer != tiles::Layer::overlay)
        attribution = "Imagery: " + im->attribution + (im->generated ? " (generated sample)" : "") +
                      "; " + attribution;
    job.attribution = attribution;

    const auto per_zoom = job.plan.per_zoom();
    if (job.plan.empty() && !a.since.empty()) {
        if (a.json)
            std::cout << nlohmann::ordered_json{{"plan",
                                                 {{"tiles", 0},
                                                  {"per_zoom", per_zoom_json(per_zoom)}}},
                                                {"expired_since", a.since}}
                             .dump(2)
                      << "\n";
        else
            std::cout << "nothing changed between " << a.since << " and " << a.at << "\n";
        return;
    }
    if (!a.json)
        std::cout << "plan: " << job.plan.tiles.size() << " tiles (" << per_zoom_text(per_zoom)
                  << "), " << tiles::to_string(layer) << " " << tiles::to_string(format)
                  << ", status at " << a.at << (a.since.empty() ? "" : ", expired since " + a.since)
                  << " -> " << a.out << "\n"
                  << std::flush;
    ProgressPrinter printer(a.json);
    const auto sum = tiles::run_export(job, [&](const tiles::ExportProgress& p) { printer(p); });
    printer.end();
    const auto& p = sum.progress;
    const double rate = sum.wall_s > 0 ? p.tiles_done / sum.wall_s : 0;
    const std::size_t shared = p.tiles_done - std::min(p.tiles_done, sum.unique_images);
    if (a.json) {
        nlohmann::ordered_json j;
        j["out"] = a.out;
        j["layer"] = tiles::to_string(layer);
        j["format"] = tiles::to_string(format);
        j["status_at"] = a.at;
        if (!a.since.empty()) j["expired_since"] = a.since;
        j["plan"] = {{"tiles", p.tiles_total},
                     {"metatiles", p.metatiles_total},
                     {"per_zoom", per_zoom_json(per_zoom)}};
        j["tiles_written"] = p.tiles_done;
        j["tiles_resumed"] = p.tiles_skipped;
        j["tiles_shared"] = shared;
        j["bytes"] = sum.bytes;
        j["wall_s"] = sum.wall_s;
        j["tiles_per_s"] = rate;
        j["draw_s"] = sum.draw_s;
        j["encode_s"] = sum.encode_s;
        j["write_s"] = sum.write_s;
        j["threads"] = sum.threads;
        std::cout << j.dump(2) << "\n";
        return;
    }
    std::cout << "wrote " << p.tiles_done << " tiles";
    if (p.tiles_skipped) std::cout << " (" << p.tiles_skipped << " already done)";
    std::cout << ", " << shared << " identical tiles stored once, "
              << fixed(sum.bytes / 1048576.0, 2) << " MiB ("
              << (p.tiles_done ? sum.bytes / p.tiles_done : 0) << " bytes/tile), "
              << fixed(sum.wall_s, 2) << " s, " << fixed(rate, 1) << " tiles/s; draw "
              << fixed(sum.draw_s, 2) << " s, encode " << fixed(sum.encode_s, 2) << " s, write "
              << fixed(sum.write_s, 2) << " s on " << sum.threads << " threads\n";
}

void run_expire(const TilesArgs& a) {
    const auto zoom = tiles::parse_zoom_range(a.zoom);
    const auto ws = store::Workspace::open(a.workspace);
    const auto data = render::MapData::load(ws);
    const std::string at = a.at.empty() ? now_local_minutes() : a.at;
    const auto change = tiles::diff_status(render::status_from_workspace(ws, a.since),
                                           render::status_from_workspace(ws, at));
    const auto tiles = tiles::expired_tiles(*data, change, zoom);
    if (a.json) {
        nlohmann::ordered_json j;
        j["since"] = a.since;
        j["at"] = at;
        j["cells"] = change.cells;
        j["pins"] = change.pins_lonlat.size();
        std::map<int, std::size_t> per_zoom;
        for (int z = zoom.min; z <= zoom.max; ++z)
            per_zoom[z] = 0;
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        for (const auto& t : tiles) {
            ++per_zoom[t.z];
            list.push_back(tiles::to_string(t));
        }
        j["per_zoom"] = per_zoom_json(per_zoom);
        j["tiles"] = list;
        std::cout << j.dump(2) << "\n";
        return;
    }
    for (const auto& t : tiles)
        std::cout << tiles::to_string(t) << "\n";
}

void run_style(const TilesArgs& a) {
    const auto ws = store::Workspace::open(a.workspace);
    const auto data = render::MapData::load(ws);
    const std::string at = a.at.empty() ? now_local_minutes() : a.at;
    const auto status = render::status_from_workspace(ws, at);
    const auto files = tiles::write_style(*data, status, a.out, a.style_dir);
    std::cout << "wrote " << files.style_file << " (status at " << at << "; " << files.cells
              << " cells, " << files.pins << " pins, imagery "
              << (files.imagery.empty() ? std::string("none") : files.imagery) << ")\n";
}

// The tiles commands share their arguments and the options each of them declares.
class TilesCommand : public Command {
  public:
    using Command::Command;
    int run() final {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        m_a.json = m_json.on;
        work(m_a);
        return ok;
    }

  protected:
    virtual void work(const TilesArgs& a) = 0;
    TilesArgs m_a;
    WorkspaceOption m_workspace;
    AtOption m_at;
    JsonOption m_json;
};

class TilesExport final : public TilesCommand {
  public:
    TilesExport()
        : TilesCommand("export", "Export tiles of the county, a township, a cell or a bbox to an "
                                 "MBTiles file or an XYZ folder") {}
    void declare(CLI::App& ex) override {
        m_workspace.declare(ex);
        ex.add_option("--out,-o", m_a.out, "OUT.mbtiles, or a folder for z/x/y files")->required();
        ex.add_option("--zoom", m_a.zoom, "Zoom range MIN-MAX (0-22)")->capture_default_str();
        auto* town = ex.add_option("--township", m_a.township, "Township (or village) code");
        auto* cell = ex.add_option("--cell", m_a.cell, "Cell code");
        auto* bbox = ex.add_option("--bbox", m_a.bbox, "minlon,minlat,maxlon,maxlat")
                         ->delimiter(',')
                         ->expected(4);
        town->excludes(cell)->excludes(bbox);
        cell->excludes(bbox);
        ex.add_option("--layer", m_a.layer, "composite, imagery or overlay")->capture_default_str();
        ex.add_option("--format", m_a.format,
                      "png, jpeg or webp (default: jpeg for imagery, else png)");
        m_at.declare(ex, "Time the statuses hold at (default: now; on --resume, the time "
                         "stored in OUT)");
        ex.add_option("--threads", m_a.threads, "Render threads (default: the machine's cores)");
        ex.add_option("--metatile", m_a.metatile, "Tiles per metatile side: 1, 2, 4, 8 or 16")
            ->capture_default_str();
        ex.add_option("--buffer", m_a.buffer, "Pixels drawn around a metatile")
            ->capture_default_str();
        ex.add_flag("--resume", m_a.resume, "Continue a stopped export into OUT");
        ex.add_option("--only-expired-since", m_a.since,
                      "Only the metatiles whose overlay changed between this time and --at");
        m_json.declare(ex, "Print the plan and summary as JSON, no progress");
        ex.add_option("--style", m_a.style_dir, "Style folder (default: the styles/ of wangge)");
    }

  private:
    void work(const TilesArgs& a) override { run_export(a); }
};

class TilesExpire final : public TilesCommand {
  public:
    TilesExpire()
        : TilesCommand("expire", "List the tiles (z/x/y) whose overlay differs between two times") {
    }
    void declare(CLI::App& exp) override {
        m_workspace.declare(exp);
        exp.add_option("--since", m_a.since, "The earlier time T0")->required();
        m_at.declare(exp, "The later time T1 (default: now)");
        exp.add_option("--zoom", m_a.zoom, "Zoom range MIN-MAX (0-22)")->capture_default_str();
        m_json.declare(exp, "JSON with the changed cells and the tiles");
    }

  private:
    void work(const TilesArgs& a) override { run_expire(a); }
};

class TilesStyle final : public TilesCommand {
  public:
    TilesStyle()
        : TilesCommand("style",
                       "Write a self-contained Mapnik XML with its data, for mapnik-render, "
                       "renderd or MapProxy") {}
    void declare(CLI::App& st) override {
        m_workspace.declare(st);
        st.add_option("--out,-o", m_a.out, "Folder to write")->required();
        m_at.declare(st, "Time the statuses hold at (default: now)");
        st.add_option("--style", m_a.style_dir, "Style folder (default: the styles/ of wangge)");
    }

  private:
    void work(const TilesArgs& a) override { run_style(a); }
};

} // namespace

void add_tiles_commands(CommandSet& set) {
    auto& tiles = set.group("tiles", "Map tiles: export to MBTiles or XYZ, expiry lists, a "
                                     "Mapnik style for other tools");
    set.add<TilesExport>(tiles);
    set.add<TilesExpire>(tiles);
    set.add<TilesStyle>(tiles);
}

} // namespace wangge::app
