// The Mapnik bridge, private to render/: the Mapnik headers (they compile slowly, so only
// these files include them), the helpers the bridge's files share, and Renderer::Impl.
//   mapnik_renderer.cpp     styles, the Renderer, drawing to images
//   mapnik_datasources.cpp  the in-memory datasources built from MapData and a status
//   mapnik_legend.cpp       legends read from the style's rules
//   mapnik_print.cpp        print maps (PDF, SVG) and PNGs with a legend
// One mapnik::Map per Renderer (per thread).
#pragma once

#include "imagery_draw.hpp"
#include "wangge/error.hpp"
#include "wangge/render/renderer.hpp"

#include <cairo.h>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <mapnik/agg_renderer.hpp>
#include <mapnik/cairo/cairo_renderer.hpp>
#include <mapnik/datasource_cache.hpp>
#include <mapnik/expression_evaluator.hpp>
#include <mapnik/expression_string.hpp>
#include <mapnik/feature.hpp>
#include <mapnik/feature_factory.hpp>
#include <mapnik/feature_type_style.hpp>
#include <mapnik/font_engine_freetype.hpp>
#include <mapnik/geometry.hpp>
#include <mapnik/image.hpp>
#include <mapnik/image_reader.hpp>
#include <mapnik/image_scaling.hpp>
#include <mapnik/image_util.hpp>
#include <mapnik/layer.hpp>
#include <mapnik/load_map.hpp>
#include <mapnik/map.hpp>
#include <mapnik/memory_datasource.hpp>
#include <mapnik/rule.hpp>
#include <mapnik/save_map.hpp>
#include <mapnik/scale_denominator.hpp>
#include <mapnik/symbolizer.hpp>
#include <mapnik/text/placements/base.hpp>
#include <mapnik/unicode.hpp>
#pragma GCC diagnostic pop

namespace wangge::render {

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point t0);
// Encodes and writes an image; returns the seconds it took.
double save_timed(const mapnik::image_rgba8& img, const std::string& path, const std::string& fmt);
// Mapnik's image format for a path ("png32", "jpeg85", ...), by extension when format is "".
std::string format_for(const std::string& path, const std::string& format);

// ---- Datasources (mapnik_datasources.cpp) --------------------------------------------------
mapnik::value_unicode_string ustr(const std::string& s);
std::shared_ptr<mapnik::memory_datasource> new_memory_datasource();
// Villages, townships or the county: code, name, level.
std::shared_ptr<mapnik::memory_datasource> units_datasource(const grid::Grid& g,
                                                            grid::UnitLevel level);
// Cells with their status at the time rendered. Built anew per status: a memory_datasource
// must never change while another render reads it.
std::shared_ptr<mapnik::memory_datasource> cells_datasource(const grid::Grid& g,
                                                            const RenderStatus& status);
std::shared_ptr<mapnik::memory_datasource> pins_datasource(const RenderStatus& status);
// The focus of a township or cell map: the unit itself (outlined).
mapnik::datasource_ptr focus_datasource(const geo::MultiPolygon& unit, const std::string& code);
// Everything but the unit (dimmed), for the view drawn.
mapnik::datasource_ptr mask_datasource(const std::vector<geo::Ring>& unit, const geo::Box& view);
mapnik::layer* find_layer(mapnik::Map& map, const std::string& name);

struct Renderer::Impl {
    std::shared_ptr<const MapData> data;
    std::string style_file;
    std::string style_dir;
    mapnik::Map map;
    double imagery_res = 0;       // the imagery's metres (EPSG:3857) per pixel, 0 = unknown
    double max_magnification = 0; // imagery_max_magnification of the style, 0 = no limit
    // imagery_max_magnification_screen: the limit for pictures seen on screens (PNGs, tiles,
    // the web map), where enlarged pixels show as smears sooner than on paper.
    double max_magnification_screen = 0;
    bool imagery_hidden = false; // the last draw left the imagery out (over-zoom)
    // Draws the imagery when enlarged, instead of Mapnik (null: Mapnik draws it).
    std::unique_ptr<detail::EnlargedImagery> own_imagery;
    std::string focus;                  // set_focus()
    std::vector<geo::Ring> focus_rings; // its outer rings, for the print's locator inset

    void attach(std::string_view layer, const mapnik::datasource_ptr& ds) {
        if (auto* l = find_layer(map, std::string(layer))) l->set_datasource(ds);
    }
    // The status datasources of the last draw, kept while the status stays the same: a
    // server or an export draws many tiles from one status, and building the features of
    // every cell and pin cost more than drawing a small tile. A datasource is only ever
    // read by this Renderer's own (single) thread, so replacing it between draws is safe.
    std::map<std::string, CellState> attached_cells;
    std::vector<Pin> attached_pins;
    bool attached = false;

    void attach_status(const RenderStatus& status) {
        if (!attached || attached_cells != status.cells) {
            const auto cells = cells_datasource(data->grid_3857(), status);
            for (const auto& l : style_layers())
                if (l.data == LayerData::cells) attach(l.layer, cells);
            attached_cells = status.cells;
        }
        const auto same_pin = [](const Pin& a, const Pin& b) {
            return a.lon == b.lon && a.lat == b.lat && a.state == b.state && a.id == b.id;
        };
        if (!attached || !std::equal(attached_pins.begin(), attached_pins.end(),
                                     status.pins.begin(), status.pins.end(), same_pin)) {
            const auto pins = pins_datasource(status);
            for (const auto& l : style_layers())
                if (l.data == LayerData::pins) attach(l.layer, pins);
            attached_pins = status.pins;
        }
        attached = true;
    }
    // Imagery by magnification for `m_per_px` (the map's metres per standard 0.28 mm pixel):
    // smoothed when enlarged, overviews when reduced, left out beyond `limit` (the style's
    // imagery_max_magnification for print, its _screen variant for everything else).
    // Styles without the two imagery styles keep their own rules.
    void choose_imagery(double m_per_px, double limit) {
        auto* layer = find_layer(map, "imagery");
        imagery_hidden = false;
        if (!layer || imagery_res <= 0 || !map.styles().count("imagery-enlarged") ||
            !map.styles().count("imagery-reduced"))
            return;
        const double magnification = imagery_res / m_per_px;
        imagery_hidden = limit > 0 && magnification > limit;
        layer->set_active(!imagery_hidden);
        layer->styles() = {magnification > 1 ? "imagery-enlarged" : "imagery-reduced"};
    }
    // The focus mask for the view about to be drawn (map size and zoom already set).
    void attach_mask() {
        if (focus.empty()) return;
        const auto e = map.get_current_extent();
        attach("focus-mask",
               mask_datasource(focus_rings, {e.minx(), e.miny(), e.maxx(), e.maxy()}));
    }
    // Draws the map (AGG) for a box in EPSG:3857 at the given size.
    mapnik::image_rgba8 draw(const geo::Box& box, int width, int height,
                             const RenderStatus& status) {
        mapnik::image_rgba8 img(width, height);
        draw_into(box, width, height, status, img);
        return img;
    }
    // Draws into `img` (width x height, any content; left premultiplied).
    void draw_into(const geo::Box& box, int width, int height, const RenderStatus& status,
                   mapnik::image_rgba8& img) {
        // Mapnik paints the background only when the style has one (the overlay has none).
        if (!map.background()) mapnik::fill(img, 0);
        attach_status(status);
        map.resize(static_cast<unsigned>(width), static_cast<unsigned>(height));
        map.zoom_to_box({box.minx, box.miny, box.maxx, box.maxy});
        attach_mask();
        choose_imagery(map.scale(),
                       max_magnification_screen > 0 ? max_magnification_screen : max_magnification);
        auto* imagery = own_imagery ? find_layer(map, "imagery") : nullptr;
        const bool own = imagery && imagery->active() &&
                         imagery->styles() == std::vector<std::string>{"imagery-enlarged"} &&
                         imagery->visible(mapnik::scale_denominator(map.scale(), false));
        // The renderer fills the background when constructed; the imagery goes on top of it
        // and Mapnik draws the rest (the imagery layer switched off meanwhile).
        mapnik::agg_renderer<mapnik::image_rgba8> ren(map, img);
        if (own) {
            const auto e = map.get_current_extent();
            own_imagery->draw({e.minx(), e.miny(), e.maxx(), e.maxy()}, width, height, img.bytes(),
                              img.row_size());
            imagery->set_active(false);
        }
        try {
            ren.apply();
        } catch (...) {
            if (own) imagery->set_active(true);
            throw;
        }
        if (own) imagery->set_active(true);
    }
};

// An image surface for cairo that carries its JPEG encoding, which PDF surfaces embed as is.
struct JpegImage {
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface{
        nullptr, &cairo_surface_destroy};
    int width = 0;
    int height = 0;
};

// The imagery layer alone over `ext`, JPEG-encoded (mapnik_print.cpp).
JpegImage draw_imagery_jpeg(Renderer::Impl& d, const mapnik::box2d<double>& ext, unsigned max_w,
                            unsigned max_h);

} // namespace wangge::render
