// Print maps (PDF, SVG) and PNGs with a legend; see mapnik_bridge.hpp.
#include "mapnik_bridge.hpp"
#include "print.hpp"

#include <algorithm>
#include <cairo.h>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <optional>

namespace wangge::render {

namespace fs = std::filesystem;

// The imagery layer alone over `ext`, at the imagery's own resolution (at most max_w x
// max_h), JPEG-encoded. Leaves the map at max_w x max_h over ext, imagery layer as it was.
JpegImage draw_imagery_jpeg(Renderer::Impl& d, const mapnik::box2d<double>& ext, unsigned max_w,
                            unsigned max_h) {
    const double native_w = ext.width() / d.imagery_res;
    const double k = std::min(1.0, native_w / max_w);
    const auto w = static_cast<unsigned>(std::max(1L, std::lround(max_w * k)));
    const auto h = static_cast<unsigned>(std::max(1L, std::lround(max_h * k)));
    std::vector<std::pair<mapnik::layer*, bool>> saved;
    for (auto& l : d.map.layers()) {
        saved.emplace_back(&l, l.active());
        l.set_active(l.name() == "imagery");
    }
    d.map.resize(w, h);
    d.map.zoom_to_box(ext);
    // At its own resolution the image is neither enlarged nor reduced (within rounding).
    if (auto* l = find_layer(d.map, "imagery"); l && d.map.styles().count("imagery-enlarged"))
        l->styles() = {k < 1 ? "imagery-reduced" : "imagery-enlarged"};
    mapnik::image_rgba8 img(w, h);
    {
        mapnik::agg_renderer<mapnik::image_rgba8> ren(d.map, img);
        ren.apply();
    }
    for (auto& [l, active] : saved)
        l->set_active(active);
    d.map.resize(max_w, max_h);
    d.map.zoom_to_box(ext);

    JpegImage out;
    out.width = static_cast<int>(w);
    out.height = static_cast<int>(h);
    out.surface.reset(cairo_image_surface_create(CAIRO_FORMAT_RGB24, out.width, out.height));
    auto* surface = out.surface.get();
    const int stride = cairo_image_surface_get_stride(surface);
    unsigned char* px = cairo_image_surface_get_data(surface);
    cairo_surface_flush(surface);
    for (unsigned y = 0; y < h; ++y)
        for (unsigned x = 0; x < w; ++x) {
            const std::uint32_t v = img(x, y); // 0xAABBGGRR -> 0x00RRGGBB
            *reinterpret_cast<std::uint32_t*>(px + y * static_cast<unsigned>(stride) + x * 4) =
                (v & 0x0000ff00u) | ((v & 0xffu) << 16) | ((v >> 16) & 0xffu);
        }
    cairo_surface_mark_dirty(surface);
    auto* jpeg = new std::string(mapnik::save_to_string(img, "jpeg85"));
    cairo_surface_set_mime_data(
        surface, CAIRO_MIME_TYPE_JPEG, reinterpret_cast<const unsigned char*>(jpeg->data()),
        jpeg->size(), [](void* p) { delete static_cast<std::string*>(p); }, jpeg);
    return out;
}

void Renderer::render_print(const Area& area, const Paper& paper, const RenderStatus& status,
                            const std::string& path) {
    if (paper.dpi < 36 || paper.dpi > 1200) throw InputError("--dpi must be 36-1200");
    const detail::PrintLayout lay = detail::layout_for(paper);
    auto& d = *m_impl;
    set_focus(area.focus);
    d.attach_status(status);
    // The map is drawn at the print resolution (so imagery keeps its detail) and scaled back
    // to points; scale_factor keeps symbol sizes and scale-dependent rules as on screen
    // (Mapnik's standard pixel is 0.28 mm).
    const double px_per_pt = paper.dpi / 72.0;
    const auto map_w = static_cast<unsigned>(std::lround(lay.map_w * px_per_pt));
    const auto map_h = static_cast<unsigned>(std::lround(lay.map_h * px_per_pt));
    d.map.resize(map_w, map_h);
    d.map.zoom_to_box(
        {area.box_3857.minx, area.box_3857.miny, area.box_3857.maxx, area.box_3857.maxy});
    d.attach_mask();
    const auto ext = d.map.get_current_extent();
    const double scale_factor = paper.dpi * 0.00028 / 0.0254;
    const double scale_denominator = mapnik::scale_denominator(d.map.scale(), false) * scale_factor;
    d.choose_imagery(d.map.scale() * scale_factor, d.max_magnification);
    // The imagery goes into the PDF as one JPEG at the resolution it really has (at most the
    // print's): cairo would embed it losslessly at the print's dpi, blown up or not.
    std::optional<JpegImage> imagery;
    if (auto* il = find_layer(d.map, "imagery"); il && il->active() && d.imagery_res > 0) {
        imagery = draw_imagery_jpeg(d, ext, map_w, map_h);
        il->set_active(false);
    }

    [[maybe_unused]] const bool searchable = detail::searchable_pdf_text();
    detail::CairoPage page(path, lay.page_w, lay.page_h);
    cairo_t* cr = page.context();
    cairo_save(cr);
    cairo_rectangle(cr, lay.map_x, lay.map_y, lay.map_w, lay.map_h);
    cairo_clip(cr);
    cairo_translate(cr, lay.map_x, lay.map_y);
    if (imagery) {
        cairo_save(cr);
        cairo_scale(cr, lay.map_w / imagery->width, lay.map_h / imagery->height);
        cairo_set_source_surface(cr, imagery->surface.get(), 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_paint(cr);
        cairo_restore(cr);
    }
    cairo_scale(cr, 1.0 / px_per_pt, 1.0 / px_per_pt);
    {
        // Mapnik holds its own reference to our context while it draws. With the imagery
        // already down, the map's background must not cover it.
        const auto background = d.map.background();
        if (imagery) d.map.set_background(mapnik::color(0, 0, 0, 0));
        mapnik::cairo_ptr shared(cairo_reference(cr), [](cairo_t* c) { cairo_destroy(c); });
        mapnik::cairo_renderer<mapnik::cairo_ptr> ren(d.map, shared, scale_factor);
        ren.apply();
        if (imagery && background) d.map.set_background(*background);
    }
    if (auto* il = find_layer(d.map, "imagery"); il && imagery) il->set_active(true);
    cairo_restore(cr);

    const geo::Box view{ext.minx(), ext.miny(), ext.maxx(), ext.maxy()};
    detail::Furniture f;
    f.title = (area.name.empty() ? std::string() : area.name + " ") + "网格状态图";
    f.subtitle = "Grid status map · 状态时间 Status at " +
                 (status.at.empty() ? std::string("not given") : status.at);
    const auto centre = mercator_to_lonlat({ext.center().x, ext.center().y});
    f.metres_per_point = ext.width() / lay.map_w * std::cos(centre.y * std::numbers::pi / 180.0);
    if (const auto& im = d.data->imagery())
        f.attribution.push_back(
            "影像 Imagery: " + im->attribution +
            (d.imagery_hidden
                 ? " — 放大超过限度，未绘制 (not drawn: enlarged beyond its resolution)"
                 : ""));
    else
        f.attribution.push_back("影像 Imagery: none");
    if (!d.data->generated_notice().empty()) f.attribution.push_back(d.data->generated_notice());
    f.attribution.push_back("Drawn by wangge with Mapnik; Web Mercator (EPSG:3857); style " +
                            fs::path(d.style_file).filename().string());
    f.legend = legend(view, scale_denominator, status);
    f.maker = paper.maker;
    f.date = paper.date.empty() ? detail::today() : paper.date;
    for (const auto& u : d.data->grid_3857().units)
        if (u.level == grid::UnitLevel::township)
            for (const auto& p : u.geometry.polygons)
                if (!p.rings.empty()) f.inset.townships.push_back(p.rings[0]);
    for (const auto& c : d.data->grid_3857().cells)
        f.inset.all.expand(geo::bounds(c.geometry));
    f.inset.view = view;
    f.inset.focus = d.focus_rings;
    detail::draw_furniture(cr, lay, f);
    page.finish();
}

Timing Renderer::render_to_file_with_legend(const geo::Box& box, int width, int height,
                                            const RenderStatus& status, const std::string& path,
                                            const std::string& title, const std::string& format) {
    const std::string fmt = format_for(path, format);
    Timing t;
    const auto t0 = clock::now();
    auto& d = *m_impl;
    mapnik::image_rgba8 img = d.draw(box, width, height, status);
    const auto ext = d.map.get_current_extent();
    const geo::Box view{ext.minx(), ext.miny(), ext.maxx(), ext.maxy()};
    const auto entries = legend(view, mapnik::scale_denominator(d.map.scale(), false), status);
    // cairo draws on a copy in its own pixel order (premultiplied BGRA on little-endian).
    if (!img.get_premultiplied()) mapnik::premultiply_alpha(img);
    const std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> owned(
        cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height), &cairo_surface_destroy);
    cairo_surface_t* surface = owned.get();
    const int stride = cairo_image_surface_get_stride(surface);
    unsigned char* px = cairo_image_surface_get_data(surface);
    cairo_surface_flush(surface);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const std::uint32_t v = img(static_cast<std::size_t>(x), static_cast<std::size_t>(y));
            // mapnik: 0xAABBGGRR; cairo: 0xAARRGGBB.
            *reinterpret_cast<std::uint32_t*>(px + y * stride + x * 4) =
                (v & 0xff00ff00u) | ((v & 0xffu) << 16) | ((v >> 16) & 0xffu);
        }
    cairo_surface_mark_dirty(surface);
    const std::unique_ptr<cairo_t, decltype(&cairo_destroy)> ctx(cairo_create(surface),
                                                                 &cairo_destroy);
    cairo_t* cr = ctx.get();
    std::string credit;
    if (const auto& im = d.data->imagery()) credit = "影像 " + im->attribution + " · ";
    credit += "wangge / Mapnik";
    detail::draw_screen_legend(cr, width, height, title, status.at, entries, credit);
    cairo_surface_flush(surface);
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const std::uint32_t v = *reinterpret_cast<std::uint32_t*>(px + y * stride + x * 4);
            img(static_cast<std::size_t>(x), static_cast<std::size_t>(y)) =
                (v & 0xff00ff00u) | ((v & 0xffu) << 16) | ((v >> 16) & 0xffu);
        }
    t.draw_s = seconds_since(t0);
    t.encode_s = save_timed(img, path, fmt);
    return t;
}

} // namespace wangge::render
