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

struct Furniture {
    std::string title;
    std::string subtitle;
    std::vector<std::string> attribution;
    std::map<std::string, std::string> params; // styles/params.ent
    double metres_per_point = 0;               // ground metres per point at the map's centre
};

void draw_furniture(cairo_t* cr, const PrintLayout& layout, const Furniture& furniture);

} // namespace wangge::render::detail
