// wangge render: status maps as PNG for screens, PDF/SVG print maps. Thin over render/.
#include "command.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/calendar.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/store/workspace.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <tuple>

namespace wangge::app {

namespace {

struct RenderArgs {
    std::string workspace;
    std::string out;
    std::string bbox;
    std::string township;
    std::string cell;
    int width = 1024;
    int height = 1024;
    std::string paper;
    int dpi = 150;
    bool landscape = false;
    bool portrait = false;
    bool legend = false;
    bool width_given = false;
    bool height_given = false;
    std::string maker;
    std::string imagery;
    std::string at;
    std::string style_dir;
    std::string style = "satellite-overlay";
    std::string status_file;
    std::string pins_file;
    std::string format;
    int version = 0;
};

geo::Box parse_bbox(const std::string& text) {
    std::stringstream ss(text);
    std::string part;
    std::vector<double> v;
    while (std::getline(ss, part, ',')) {
        try {
            std::size_t used = 0;
            v.push_back(std::stod(part, &used));
            if (used != part.size()) throw std::invalid_argument(part);
        } catch (const std::exception&) {
            throw InputError("--bbox: not a number: '" + part + "'");
        }
    }
    if (v.size() != 4) throw InputError("--bbox takes minlon,minlat,maxlon,maxlat");
    return {v[0], v[1], v[2], v[3]};
}

std::string now_utc() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%MZ", &tm);
    return buf;
}

void run_render(const RenderArgs& a) {
    namespace fs = std::filesystem;
    if (static_cast<int>(!a.bbox.empty()) + static_cast<int>(!a.township.empty()) +
            static_cast<int>(!a.cell.empty()) >
        1)
        throw InputError("give at most one of --bbox, --township, --cell");
    const auto ws = store::Workspace::open(a.workspace);
    // At a past time the grid then in force: a redraw published with a later effective time
    // is not drawn yet (its matters are still in the old cells then, loop/state_at.hpp).
    const auto version =
        a.version > 0 ? std::optional<int>(a.version)
        : a.at.empty()
            ? std::nullopt
            : std::optional<int>(ws.version_at(loop::format_time(loop::parse_time(a.at))));
    const auto data = render::MapData::load(ws, version, a.imagery);
    const render::Area area = !a.bbox.empty()
                                  ? render::area_of_lonlat(parse_bbox(a.bbox), data.get())
                              : !a.township.empty() ? render::area_of_unit(*data, a.township)
                              : !a.cell.empty()     ? render::area_of_cell(*data, a.cell)
                                                    : render::area_of_all(*data);
    const std::string at = a.at.empty() ? now_utc() : a.at;
    const render::RenderStatus status =
        a.status_file.empty() && a.pins_file.empty()
            ? render::status_from_workspace(ws, at)
            : render::read_status_files(a.status_file, a.pins_file, at);
    render::Renderer renderer(data, {.dir = a.style_dir, .name = a.style});

    std::string ext = fs::path(a.out).extension().string();
    for (auto& c : ext)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // Drawn into a staged file beside the output (same extension, so the format is chosen the
    // same way) and renamed into place: a failed render never destroys an earlier output.
    struct Staged {
        fs::path path;
        ~Staged() {
            std::error_code ec;
            if (!path.empty()) fs::remove(path, ec);
        }
    } staged{fs::path(a.out).parent_path() / ("." + fs::path(a.out).stem().string() + ".partial" +
                                              fs::path(a.out).extension().string())};
    auto commit = [&] {
        fs::rename(staged.path, a.out);
        staged.path.clear();
    };
    if (ext == ".pdf" || ext == ".svg") {
        render::Paper paper{.size = a.paper.empty() ? "A4" : a.paper,
                            .landscape = a.landscape,
                            .dpi = a.dpi,
                            .maker = a.maker};
        // The orientation follows the area's shape unless given.
        if (!a.landscape && !a.portrait) paper.landscape = render::fits_landscape(area, paper);
        renderer.render_print(area, paper, status, staged.path.string());
        commit();
        std::cout << "wrote " << a.out << " (" << paper.size
                  << (paper.landscape ? " landscape" : "") << ", " << paper.dpi << " dpi, "
                  << area.name << ", status at " << at << ")\n";
        return;
    }
    if (!a.paper.empty()) throw InputError("--paper is for .pdf and .svg outputs");
    // The image follows the area's shape unless a size is given (the longer side 1024 px, or
    // the one side given).
    int width = a.width, height = a.height;
    const double aspect = (area.box_3857.maxx - area.box_3857.minx) /
                          std::max(1e-9, area.box_3857.maxy - area.box_3857.miny);
    if (!a.width_given && !a.height_given)
        std::tie(width, height) = render::fitted_size(area, 1024);
    else if (!a.height_given)
        height = std::clamp(static_cast<int>(std::lround(width / aspect)), 1, 16384);
    else if (!a.width_given)
        width = std::clamp(static_cast<int>(std::lround(height * aspect)), 1, 16384);
    renderer.set_focus(area.focus);
    const auto t = a.legend ? renderer.render_to_file_with_legend(area.box_3857, width, height,
                                                                  status, staged.path.string(),
                                                                  area.name + " 网格状态", a.format)
                            : renderer.render_to_file(area.box_3857, width, height, status,
                                                      staged.path.string(), a.format);
    commit();
    std::cout << "wrote " << a.out << " (" << width << " x " << height << " px, " << area.name
              << ", status at " << at << "; draw " << t.draw_s << " s, encode " << t.encode_s
              << " s)\n";
}

class RenderCommand final : public Command {
  public:
    RenderCommand()
        : Command("render", "Draw a status map: PNG for screens, PDF or SVG print maps with "
                            "legend") {}
    void declare(CLI::App& r) override {
        m_workspace.declare(r);
        r.add_option("--out,-o", m_a.out, "Output .png/.jpg/.webp, or .pdf/.svg for print")
            ->required();
        auto* bbox = r.add_option("--bbox", m_a.bbox, "minlon,minlat,maxlon,maxlat");
        auto* town = r.add_option("--township", m_a.township, "Township (or village) code");
        auto* cell = r.add_option("--cell", m_a.cell, "Cell code");
        bbox->excludes(town)->excludes(cell);
        town->excludes(cell);
        m_width = r.add_option("--width", m_a.width, "Image width in px")
                      ->capture_default_str()
                      ->check(CLI::Range(1, 16384));
        m_height = r.add_option("--height", m_a.height, "Image height in px")
                       ->capture_default_str()
                       ->check(CLI::Range(1, 16384));
        auto* paper = r.add_option("--paper", m_a.paper, "Paper for print maps: A4 or A3")
                          ->check(CLI::IsMember({"A4", "A3", "a4", "a3"}));
        paper->excludes(m_width)->excludes(m_height);
        r.add_option("--dpi", m_a.dpi, "Print resolution")
            ->capture_default_str()
            ->check(CLI::Range(36, 1200));
        auto* landscape = r.add_flag("--landscape", m_a.landscape, "Landscape paper");
        auto* portrait = r.add_flag("--portrait", m_a.portrait,
                                    "Portrait paper (default: the orientation the area fits)");
        landscape->excludes(portrait);
        r.add_option("--maker", m_a.maker, "制图单位 printed on print maps");
        r.add_flag("--legend", m_a.legend,
                   "PNG/JPEG: a small legend with counts, time and credits");
        r.add_option("--imagery", m_a.imagery,
                     "Registered imagery to draw (by name; default: the first registered)");
        m_at.declare(r, "Time the statuses hold at (default: now)");
        r.add_option("--style", m_a.style_dir, "Style folder (default: the styles/ of wangge)");
        r.add_option("--style-name", m_a.style, "imagery, overlay or satellite-overlay")
            ->capture_default_str();
        r.add_option("--status-file", m_a.status_file,
                     "CSV 'cell_code,state' (state: none, on_time, warning, overdue)");
        r.add_option("--pins-file", m_a.pins_file, "CSV 'lon,lat,state,id' of incidents");
        r.add_option("--format", m_a.format, "png, png8, jpeg, webp (default: by extension)");
        r.add_option("--version", m_a.version, "Grid version (default: current)");
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        // A side not given follows from the area's shape.
        m_a.width_given = m_width->count() > 0;
        m_a.height_given = m_height->count() > 0;
        run_render(m_a);
        return ok;
    }

  private:
    RenderArgs m_a;
    WorkspaceOption m_workspace;
    AtOption m_at;
    CLI::Option* m_width = nullptr;
    CLI::Option* m_height = nullptr;
};

} // namespace

void add_render_commands(CommandSet& set) {
    set.add<RenderCommand>(set.top());
}

} // namespace wangge::app
