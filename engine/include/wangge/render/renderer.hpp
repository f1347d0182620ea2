// Rendering status maps with Mapnik: the grid of a workspace over its satellite image, cells
// coloured by the state of their open matters at a time T, incidents as pins; PNG for
// screens, PDF and SVG print maps with title, legend, scale bar, north arrow and attribution.
//
// Threads: MapData is immutable once loaded and may be shared by any number of threads. A
// Renderer owns one mapnik::Map and its datasources (the gdal datasource reads one
// GDALDataset, which is not thread-safe): give each thread its own Renderer over the same
// MapData, as renderd does. This header does not include Mapnik (it compiles slowly).
#pragma once

#include "wangge/geo/geometry.hpp"
#include "wangge/grid/grid.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wangge::store {
class Workspace;
}

namespace wangge::render {

// ---- Status input --------------------------------------------------------------------------

// The state of a cell's open matters at a time: none open, all within their time limit, one
// nearing its deadline, one overdue.
enum class CellState { none, on_time, warning, overdue };

[[nodiscard]] std::string_view to_string(CellState state);
// "none", "on_time", "warning", "overdue" (also "on-time"); throws InputError otherwise.
[[nodiscard]] CellState cell_state_from(std::string_view text);

// An incident on the map. state is the loop step it is in: reported, dispatched, in_progress,
// overdue, closed (any other value is drawn as a neutral pin).
struct Pin {
    double lon = 0;
    double lat = 0;
    std::string state;
    std::string id;
};

struct RenderStatus {
    std::map<std::string, CellState> cells; // by cell code; a missing cell is `none`
    std::vector<Pin> pins;
    std::string at; // the time the statuses hold at, as shown in titles ("" = not given)
};

// LOOP HOOK: the statuses of every cell and matter of the workspace at time `at`. Until the
// closed loop (table `incidents`) lands this returns every cell `none` and no pins; the loop
// engineer replaces the body in engine/src/render/status.cpp.
[[nodiscard]] RenderStatus status_from_workspace(const store::Workspace& ws, const std::string& at);

// Statuses from files, for tests and demos. cells_csv: `cell_code,state` a line (a header line
// is allowed); pins_csv (optional, "" for none): `lon,lat,state,id`. Throws InputError naming
// the file and line.
[[nodiscard]] RenderStatus read_status_files(const std::string& cells_csv,
                                             const std::string& pins_csv, const std::string& at);

// ---- What is drawn -------------------------------------------------------------------------

struct ImageryLayer {
    std::string path; // absolute, or relative to the current directory
    std::string attribution;
    bool generated = false;
};

// The grid and imagery of a workspace ready to draw: geometry projected to EPSG:3857 once.
// Immutable; share it between threads.
class MapData {
  public:
    // The current grid version (or `version`) and the first registered imagery (by name
    // `imagery_name` when given). Throws InputError for a registered raster that is missing.
    static std::shared_ptr<const MapData> load(const store::Workspace& ws,
                                               std::optional<int> version = std::nullopt,
                                               const std::string& imagery_name = "");
    // From values (tests, benchmarks): grid in lon/lat.
    static std::shared_ptr<const MapData> from_grid(grid::Grid grid,
                                                    std::optional<ImageryLayer> imagery,
                                                    std::string generated_notice = "");

    [[nodiscard]] const grid::Grid& grid_3857() const noexcept { return m_grid; }
    [[nodiscard]] const std::optional<ImageryLayer>& imagery() const noexcept { return m_imagery; }
    // The workspace's "generated" notice ("" for real data).
    [[nodiscard]] const std::string& generated_notice() const noexcept { return m_generated; }
    // Name of the county (or the top unit) for titles.
    [[nodiscard]] std::string area_name() const;

  private:
    MapData() = default;
    grid::Grid m_grid;
    std::optional<ImageryLayer> m_imagery;
    std::string m_generated;
};

// A part of the map: its extent in EPSG:3857, a name for titles (Chinese, from the county
// down: "稷山县 翟店镇") and, for a township, village or cell, the unit's code: maps of it
// outline the unit and dim the rest.
struct Area {
    geo::Box box_3857;
    std::string name;
    std::string focus; // unit or cell code; "" = none
};

// The whole grid, a township (9 digits) or a cell, padded by `pad` of its size; or a lon/lat
// box. Throws InputError for an unknown code.
[[nodiscard]] Area area_of_all(const MapData& data, double pad = 0.04);
[[nodiscard]] Area area_of_unit(const MapData& data, const std::string& code, double pad = 0.08);
[[nodiscard]] Area area_of_cell(const MapData& data, const std::string& code, double pad = 0.25);
// A lon/lat box is named after what lies at its centre ("稷山县 翟店镇 翟东第1网格 附近").
[[nodiscard]] Area area_of_lonlat(const geo::Box& lonlat, const MapData* data = nullptr);

// The image size for an area when none is given: `long_side` px on the longer side, the
// other from the area's shape (so a wide county is not letterboxed).
[[nodiscard]] std::pair<int, int> fitted_size(const Area& area, int long_side = 1024);

// Spherical (web) Mercator, EPSG:3857, without PROJ.
[[nodiscard]] geo::Point lonlat_to_3857(geo::Point lonlat);
[[nodiscard]] geo::Point mercator_to_lonlat(geo::Point xy);

// ---- Images ------------------------------------------------------------------------------

// Straight (not premultiplied) RGBA, rows top to bottom.
struct Image {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> rgba;
    [[nodiscard]] const std::uint8_t* pixel(int x, int y) const {
        return rgba.data() + (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) +
                              static_cast<std::size_t>(x)) *
                                 4;
    }
};

// format: "png" (32-bit), "png8" (palette, smaller), "jpeg", "webp".
void write_image(const Image& image, const std::string& path, const std::string& format = "png");
// Reads a PNG (or JPEG/TIFF/WebP); throws InputError naming the file.
[[nodiscard]] Image read_image(const std::string& path);

// ---- Rendering -----------------------------------------------------------------------------

// Where the styles are: a folder with <name>.xml files (see styles/README.md). The default is
// $WANGGE_STYLE_DIR, else <prefix>/share/wangge/styles beside an installed binary, else the
// styles/ folder of the source tree (a build tree).
[[nodiscard]] std::string default_style_dir();

struct StyleChoice {
    std::string dir;                        // "" = default_style_dir()
    std::string name = "satellite-overlay"; // imagery | overlay | satellite-overlay
};

struct Timing {
    double draw_s = 0;
    double encode_s = 0;
};

struct Paper {
    std::string size = "A4"; // A4 | A3
    bool landscape = false;
    int dpi = 150;     // resolution of raster symbols on paper (imagery: its own, up to this)
    std::string maker; // 制图单位 on the print ("" = not stated)
    std::string date;  // 制图日期 (YYYY-MM-DD; "" = today)
};

// Landscape when the area is wider than the map frame of a portrait page is tall-shaped
// (the orientation that leaves less of the frame outside the area).
[[nodiscard]] bool fits_landscape(const Area& area, const Paper& paper);

// One symbol of the map as a legend shows it, read from the loaded style's rules (so the
// legend cannot drift from the map), with how many of its features are in view.
struct LegendEntry {
    std::string group;   // "cell" (fills), "pin", "line" (boundaries)
    std::string key;     // cell: on_time|warning|overdue; pin: the first state its rule names
                         // (reported, dispatched, in_progress, feedback, backlog, overdue,
                         // closed, other); line: cell|village|township|county|focus
    std::string colour;  // "#rrggbb": fill, marker fill or line colour
    double opacity = 1;  // of that colour
    std::string pattern; // a pattern fill over the colour (file path), cells only
    std::string outline; // a second outline colour (overdue cells) or the pin's stroke
    double outline_width = 0;
    std::string marker; // pin shape file (markers/*.svg)
    double size = 0;    // pin width, line width (px at 1:1 screen)
    std::vector<double> dash;
    std::string casing; // the dark line under a boundary
    double casing_width = 0;
    double casing_opacity = 0;
    std::size_t count = 0; // cells or pins in view drawn with this symbol
};

// Process-wide Mapnik set-up (input plugins, fonts); runs once, thread-safe. Renderer calls it.
void init_mapnik();
// Font faces Mapnik knows (after init_mapnik()).
[[nodiscard]] std::vector<std::string> font_faces();

// What each named data layer of the styles draws (styles/README.md). The Renderer attaches its
// datasources by this table and `tiles style` writes its files by it, so they cannot drift.
enum class LayerData { imagery, cells, pins, villages, townships, county };
struct StyleLayer {
    std::string_view layer;
    LayerData data;
};
[[nodiscard]] const std::vector<StyleLayer>& style_layers();

// Style `name` of `style_dir` ("" = default_style_dir()) loaded as a Renderer loads it (the same
// errors for a broken style or a missing font) and saved back as one Mapnik XML: entities and
// includes resolved, font-directory set to the label font's folder, maximum-extent set to
// `maximum_extent` (EPSG:3857); the data layers have no datasource yet (see style_layers()).
[[nodiscard]] std::string standalone_style_xml(const std::string& style_dir,
                                               const std::string& name,
                                               const geo::Box& maximum_extent);

// One mapnik::Map loaded from a style, with datasources over MapData. Use from one thread.
class Renderer {
  public:
    // Loads the style: throws InputError naming the file and line for a broken style, and
    // naming the font for a font that is not installed.
    Renderer(std::shared_ptr<const MapData> data, const StyleChoice& style);
    ~Renderer();
    Renderer(const Renderer&) = delete;
    Renderer& operator=(const Renderer&) = delete;
    Renderer(Renderer&&) noexcept;
    Renderer& operator=(Renderer&&) noexcept;

    // Draws `box` (EPSG:3857; grown to the image's aspect) into a width x height image.
    [[nodiscard]] Image render(const geo::Box& box_3857, int width, int height,
                               const RenderStatus& status, Timing* timing = nullptr);
    // As render(), into `out`, whose memory is reused: a caller drawing many images (tiles)
    // keeps one Image instead of faulting in fresh pages for every picture.
    void render_into(const geo::Box& box_3857, int width, int height, const RenderStatus& status,
                     Image& out, Timing* timing = nullptr);
    // Draws and encodes to a file ("png", "png8", "jpeg", by extension when format is "").
    Timing render_to_file(const geo::Box& box_3857, int width, int height,
                          const RenderStatus& status, const std::string& path,
                          const std::string& format = "");
    // A print map (PDF or SVG by extension): title with the area name and time, legend of
    // every colour and pin, scale bar, north arrow and attribution.
    void render_print(const Area& area, const Paper& paper, const RenderStatus& status,
                      const std::string& path);

    // The style file in use.
    [[nodiscard]] const std::string& style_file() const noexcept;

    // Outline the unit or cell `code` and dim everything outside it ("" = none). Throws
    // InputError for an unknown code.
    void set_focus(const std::string& code);

    // What the map shows at `scale_denominator` (1:N, Mapnik's 0.28 mm pixel), symbol by
    // symbol, in legend order, counting the cells and pins of `status` inside `box_3857`.
    [[nodiscard]] std::vector<LegendEntry>
    legend(const geo::Box& box_3857, double scale_denominator, const RenderStatus& status) const;

    // Draws a PNG/JPEG with a small legend, the time and the credits in a corner.
    Timing render_to_file_with_legend(const geo::Box& box_3857, int width, int height,
                                      const RenderStatus& status, const std::string& path,
                                      const std::string& title, const std::string& format = "");

    struct Impl; // public so that helpers in the implementation file can take it

  private:
    std::unique_ptr<Impl> m_impl;
};

// Colours and opacities of the style (styles/params.ent), by entity name, for legends.
[[nodiscard]] std::map<std::string, std::string> read_style_params(const std::string& style_dir);

} // namespace wangge::render
