// Print-map furniture drawn with cairo (no Mapnik here): page layout, title, legend, scale
// bar, north arrow, attribution; and an RAII cairo page for PDF and SVG.
#pragma once

#include "wangge/render/renderer.hpp"

#include <map>
#include <string>
#include <vector>

using cairo_t = struct _cairo;
using cairo_surface_t = struct _cairo_surface;

namespace wangge::render::detail {

// All in PostScript points (1/72 in), origin top left.
struct PrintLayout {
    double page_w = 0;
    double page_h = 0;
    double map_x = 0;
    double map_y = 0;
    double map_w = 0;
    double map_h = 0;
    double legend_y = 0; // top of the legend band, below the map
};

[[nodiscard]] PrintLayout layout_for(const Paper& paper);

// A PDF or SVG page (by the file's extension) with its context; finish() writes it and
// reports failures (the destructor cannot).
class CairoPage {
  public:
    CairoPage(const std::string& path, double width_pt, double height_pt);
    ~CairoPage();
    CairoPage(const CairoPage&) = delete;
    CairoPage& operator=(const CairoPage&) = delete;
    [[nodiscard]] cairo_t* context() const noexcept { return m_cr; }
    void finish();

  private:
    std::string m_path;
    cairo_surface_t* m_surface = nullptr;
    cairo_t* m_cr = nullptr;
};

// The locator inset: the townships of the whole grid, the map's view and its focus, in
// EPSG:3857.
struct Inset {
    std::vector<geo::Ring> townships;
    std::vector<geo::Ring> focus;
    geo::Box all;
    geo::Box view;
};

struct Furniture {
    std::string title;
    std::string subtitle;
    std::vector<std::string> attribution;
    std::vector<LegendEntry> legend; // Renderer::legend at the map's scale
    double metres_per_point = 0;     // ground metres per point at the map's centre
    std::string maker;               // 制图单位
    std::string date;                // 制图日期
    Inset inset;                     // drawn when the view is smaller than the whole grid
};

void draw_furniture(cairo_t* cr, const PrintLayout& layout, const Furniture& furniture);

// The small legend of a screen image (--legend): a box in the lower left corner of a
// width x height image with the title, the time, the cell states and pins with their counts
// and the credits.
void draw_screen_legend(cairo_t* cr, double width, double height, const std::string& title,
                        const std::string& at, const std::vector<LegendEntry>& legend,
                        const std::string& credit);

// True when wangge's cairo_show_glyphs (pdf_text.cpp) is linked: map labels in PDFs
// extract as the characters drawn (网, not the radical ⽹).
bool searchable_pdf_text();

// True when wangge's hb_ft_font_create (text_shaping.cpp) is linked: label shaping reuses
// one HarfBuzz face, and its shape plans, per font face.
bool shared_shaping_faces();

// Today's date, YYYY-MM-DD (SOURCE_DATE_EPOCH when set, for reproducible prints).
[[nodiscard]] std::string today();

} // namespace wangge::render::detail
