// The Mapnik bridge: the only source file that includes Mapnik (its headers compile slowly).
// One mapnik::Map per Renderer (per thread); datasources built from MapData.
#include "imagery_draw.hpp"
#include "print.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/render/renderer.hpp"

#include <algorithm>
#include <cairo.h>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <gdal.h>
#include <iostream>
#include <mutex>
#include <numbers>
#include <regex>
#include <set>
#include <sstream>

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

#ifndef WANGGE_MAPNIK_PLUGINS
#define WANGGE_MAPNIK_PLUGINS "/usr/lib/mapnik/3.1/input"
#endif
#ifndef WANGGE_MAPNIK_FONTS
#define WANGGE_MAPNIK_FONTS "/usr/share/fonts"
#endif

namespace wangge::render {

namespace fs = std::filesystem;

namespace {

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
}

// Encodes and writes an image; returns the seconds it took.
double save_timed(const mapnik::image_rgba8& img, const std::string& path, const std::string& fmt) {
    const auto t0 = clock::now();
    try {
        mapnik::save_to_file(img, path, fmt);
    } catch (const std::exception& e) {
        throw InputError(std::string("cannot write the image: ") + e.what(), {.file = path});
    }
    return seconds_since(t0);
}

mapnik::value_unicode_string ustr(const std::string& s) {
    return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int>(s.size())));
}

mapnik::geometry::multi_polygon<double> to_mapnik(const geo::MultiPolygon& mp) {
    mapnik::geometry::multi_polygon<double> out;
    out.reserve(mp.polygons.size());
    for (const auto& poly : mp.polygons) {
        if (poly.rings.empty()) continue;
        mapnik::geometry::polygon<double> p;
        for (std::size_t i = 0; i < poly.rings.size(); ++i) {
            mapnik::geometry::linear_ring<double> ring;
            ring.reserve(poly.rings[i].size());
            for (const auto& pt : poly.rings[i])
                ring.add_coord(pt.x, pt.y);
            if (i == 0)
                p.set_exterior_ring(std::move(ring));
            else
                p.add_hole(std::move(ring));
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::shared_ptr<mapnik::memory_datasource> new_memory_datasource() {
    mapnik::parameters params;
    params["type"] = "memory";
    return std::make_shared<mapnik::memory_datasource>(params);
}

// Villages, townships or the county: code, name, level.
std::shared_ptr<mapnik::memory_datasource> units_datasource(const grid::Grid& g,
                                                            grid::UnitLevel level) {
    auto ds = new_memory_datasource();
    auto ctx = std::make_shared<mapnik::context_type>();
    ctx->push("code");
    ctx->push("name");
    ctx->push("level");
    mapnik::value_integer id = 1;
    for (const auto& u : g.units) {
        if (u.level != level || u.geometry.empty()) continue;
        mapnik::feature_ptr f(mapnik::feature_factory::create(ctx, id++));
        f->put("code", ustr(u.code));
        f->put("name", ustr(u.name));
        f->put("level", ustr(std::string(grid::to_string(u.level))));
        f->set_geometry(to_mapnik(u.geometry));
        ds->push(f);
    }
    return ds;
}

// Cells with their status at the time rendered. Built anew per render: a memory_datasource
// must never change while another render reads it.
std::shared_ptr<mapnik::memory_datasource> cells_datasource(const grid::Grid& g,
                                                            const RenderStatus& status) {
    auto ds = new_memory_datasource();
    auto ctx = std::make_shared<mapnik::context_type>();
    ctx->push("code");
    ctx->push("name");
    ctx->push("status");
    ctx->push("level");
    mapnik::value_integer id = 1;
    for (const auto& c : g.cells) {
        mapnik::feature_ptr f(mapnik::feature_factory::create(ctx, id++));
        const auto it = status.cells.find(c.code);
        const CellState s = it == status.cells.end() ? CellState::none : it->second;
        f->put("code", ustr(c.code));
        f->put("name", ustr(c.name));
        f->put("status", ustr(std::string(to_string(s))));
        f->put("level", ustr("cell"));
        f->set_geometry(to_mapnik(c.geometry));
        ds->push(f);
    }
    return ds;
}

std::shared_ptr<mapnik::memory_datasource> pins_datasource(const RenderStatus& status) {
    auto ds = new_memory_datasource();
    auto ctx = std::make_shared<mapnik::context_type>();
    ctx->push("id");
    ctx->push("state");
    mapnik::value_integer id = 1;
    for (const auto& p : status.pins) {
        mapnik::feature_ptr f(mapnik::feature_factory::create(ctx, id++));
        f->put("id", ustr(p.id));
        f->put("state", ustr(p.state));
        const auto xy = lonlat_to_3857({p.lon, p.lat});
        f->set_geometry(mapnik::geometry::point<double>(xy.x, xy.y));
        ds->push(f);
    }
    return ds;
}

mapnik::layer* find_layer(mapnik::Map& map, const std::string& name) {
    for (auto& l : map.layers())
        if (l.name() == name) return &l;
    return nullptr;
}

// Twice the area of a ring, positive when counter-clockwise.
double signed_area2(const geo::Ring& ring) {
    double a = 0;
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++)
        a += (ring[j].x - ring[i].x) * (ring[j].y + ring[i].y);
    return a;
}

// The focus of a township or cell map: the unit itself (outlined).
mapnik::datasource_ptr focus_datasource(const geo::MultiPolygon& unit, const std::string& code) {
    auto ctx = std::make_shared<mapnik::context_type>();
    ctx->push("code");
    auto ds = new_memory_datasource();
    mapnik::feature_ptr f(mapnik::feature_factory::create(ctx, 1));
    f->put("code", ustr(code));
    f->set_geometry(to_mapnik(unit));
    ds->push(f);
    return ds;
}

// Everything but the unit, as one polygon with the unit's outer rings as holes (dimmed):
// the box drawn, grown by a half, counter-clockwise, the holes clockwise. Built per view,
// not once for the world: cairo's fixed-point coordinates overflow (and fill the hole
// instead) for rings millions of pixels away.
mapnik::datasource_ptr mask_datasource(const std::vector<geo::Ring>& unit, const geo::Box& view) {
    const double mx = (view.maxx - view.minx) / 2, my = (view.maxy - view.miny) / 2;
    geo::Box b{view.minx - mx, view.miny - my, view.maxx + mx, view.maxy + my};
    for (const auto& r : unit)
        for (const auto& p : r)
            b.expand(p);
    geo::Polygon mask;
    mask.rings.push_back(
        {{b.minx, b.miny}, {b.maxx, b.miny}, {b.maxx, b.maxy}, {b.minx, b.maxy}, {b.minx, b.miny}});
    for (const auto& r : unit) {
        geo::Ring hole = r;
        if (signed_area2(hole) > 0) std::reverse(hole.begin(), hole.end());
        mask.rings.push_back(std::move(hole));
    }
    geo::MultiPolygon mp;
    mp.polygons.push_back(std::move(mask));
    auto ctx = std::make_shared<mapnik::context_type>();
    auto ds = new_memory_datasource();
    mapnik::feature_ptr m(mapnik::feature_factory::create(ctx, 1));
    m->set_geometry(to_mapnik(mp));
    ds->push(m);
    return ds;
}

bool rule_matches(const mapnik::rule& r, const mapnik::feature_impl& f) {
    const auto& filter = r.get_filter();
    if (!filter) return true;
    const mapnik::attributes vars;
    return mapnik::util::apply_visitor(
               mapnik::evaluate<mapnik::feature_impl, mapnik::value_type, mapnik::attributes>(f,
                                                                                              vars),
               *filter)
        .to_bool();
}

// The legend key of a rule: the first value its filter compares with ("overdue" for
// "[status] = 'overdue'"), "other" for a negated filter, "" for none.
std::string rule_key(const mapnik::rule& r) {
    const auto& filter = r.get_filter();
    if (!filter || r.has_else_filter()) return r.has_else_filter() ? "other" : "";
    const std::string text = mapnik::to_expression_string(*filter);
    if (text.rfind("not", 0) == 0 || text.rfind("(not", 0) == 0 || text.rfind("!", 0) == 0)
        return "other";
    static const std::regex quoted("'([^']*)'");
    std::smatch m;
    return std::regex_search(text, m, quoted) ? m[1].str() : "";
}

std::string hex(const mapnik::color& c) {
    std::string h = c.to_hex_string();
    return h.size() > 7 ? h.substr(0, 7) : h;
}

// Fonts named by the style that Mapnik cannot find: checked before rendering because Mapnik
// otherwise draws no label at all and says nothing.
void check_fonts(const mapnik::Map& map, const std::string& style_file) {
    const auto faces = mapnik::freetype_engine::face_names();
    const std::set<std::string> known(faces.begin(), faces.end());
    auto check = [&](const std::string& face) {
        if (!face.empty() && !known.count(face))
            throw InputError("font '" + face +
                                 "' is not installed (Debian: fonts-noto-cjk provides "
                                 "'Noto Sans CJK SC Regular'; see 'fc-list')",
                             {.file = style_file});
    };
    for (const auto& [name, fs_] : map.fontsets())
        for (const auto& face : fs_.get_face_names())
            check(face);
    for (const auto& [name, style] : map.styles())
        for (const auto& rule : style.get_rules())
            for (const auto& sym : rule.get_symbolizers()) {
                if (!sym.is<mapnik::text_symbolizer>()) continue;
                const auto& ts = mapnik::util::get<mapnik::text_symbolizer>(sym);
                const auto placements =
                    mapnik::get<mapnik::text_placements_ptr>(ts, mapnik::keys::text_placements_);
                if (!placements) continue;
                const auto& fmt = placements->defaults.format_defaults;
                check(fmt.face_name);
                if (fmt.fontset)
                    for (const auto& face : fmt.fontset->get_face_names())
                        check(face);
            }
}

Image to_image(const mapnik::image_rgba8& img) {
    Image out;
    out.width = static_cast<int>(img.width());
    out.height = static_cast<int>(img.height());
    const auto* bytes = img.bytes();
    out.rgba.assign(bytes, bytes + img.size());
    return out;
}

std::string format_for(const std::string& path, const std::string& format) {
    std::string f = format;
    if (f.empty()) {
        std::string ext = fs::path(path).extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (ext == ".png")
            f = "png";
        else if (ext == ".jpg" || ext == ".jpeg")
            f = "jpeg";
        else if (ext == ".webp")
            f = "webp";
        else
            throw InputError("cannot tell the image format from the extension (.png, .jpg, "
                             ".webp; .pdf and .svg are print maps)",
                             {.file = path});
    }
    if (f == "png") return "png32";
    if (f == "png8") return "png8:m=h";
    if (f == "jpeg" || f == "jpg") return "jpeg85";
    return f;
}

// True when the style draws enlarged imagery exactly as detail::EnlargedImagery does: the
// layer "imagery" first, its style "imagery-enlarged" one unconditional rule with one plain
// bilinear RasterSymbolizer (opacity 1, no compositing, colorizer or filters).
bool plain_enlarged_imagery(const mapnik::Map& map) {
    if (map.layers().empty() || map.layers().front().name() != "imagery") return false;
    const auto it = map.styles().find("imagery-enlarged");
    if (it == map.styles().end()) return false;
    const auto& st = it->second;
    if (st.get_opacity() != 1.0F || st.comp_op() || !st.image_filters().empty() ||
        !st.direct_image_filters().empty() || st.get_rules().size() != 1)
        return false;
    const auto& r = st.get_rules().front();
    if (r.get_symbolizers().size() != 1 || r.has_else_filter() || r.has_also_filter() ||
        (r.get_filter() && mapnik::to_expression_string(*r.get_filter()) != "true") ||
        !r.get_symbolizers().front().is<mapnik::raster_symbolizer>())
        return false;
    const auto& sym = mapnik::util::get<mapnik::raster_symbolizer>(r.get_symbolizers().front());
    const auto& props = sym.properties;
    for (const auto k :
         {mapnik::keys::comp_op, mapnik::keys::colorizer, mapnik::keys::premultiplied,
          mapnik::keys::filter_factor, mapnik::keys::mesh_size})
        if (props.count(k)) return false;
    return mapnik::get<mapnik::scaling_method_e>(
               sym, mapnik::keys::scaling, mapnik::SCALING_NEAR) == mapnik::SCALING_BILINEAR &&
           mapnik::get<double>(sym, mapnik::keys::opacity, 1.0) == 1.0;
}

} // namespace

void init_mapnik() {
    static std::once_flag once;
    std::call_once(once, [] {
        mapnik::datasource_cache::instance().register_datasources(WANGGE_MAPNIK_PLUGINS);
        mapnik::freetype_engine::register_fonts(WANGGE_MAPNIK_FONTS, true);
    });
}

std::vector<std::string> font_faces() {
    init_mapnik();
    return mapnik::freetype_engine::face_names();
}

const std::vector<StyleLayer>& style_layers() {
    static const std::vector<StyleLayer> layers{{"imagery", LayerData::imagery},
                                                {"cells", LayerData::cells},
                                                {"cells-overdue", LayerData::cells},
                                                {"cell-labels", LayerData::cells},
                                                {"pins", LayerData::pins},
                                                {"villages", LayerData::villages},
                                                {"village-labels", LayerData::villages},
                                                {"townships", LayerData::townships},
                                                {"township-labels", LayerData::townships},
                                                {"county", LayerData::county}};
    return layers;
}

void write_image(const Image& image, const std::string& path, const std::string& format) {
    mapnik::image_rgba8 img(image.width, image.height);
    std::copy(image.rgba.begin(), image.rgba.end(), img.bytes());
    try {
        mapnik::save_to_file(img, path, format_for(path, format));
    } catch (const std::exception& e) {
        throw InputError(std::string("cannot write the image: ") + e.what(), {.file = path});
    }
}

Image read_image(const std::string& path) {
    if (!fs::exists(path)) throw InputError("no such image", {.file = path});
    try {
        std::unique_ptr<mapnik::image_reader> reader(mapnik::get_image_reader(path));
        if (!reader) throw InputError("not a readable image", {.file = path});
        const auto w = reader->width();
        const auto h = reader->height();
        mapnik::image_any any = reader->read(0, 0, w, h);
        if (!any.is<mapnik::image_rgba8>())
            throw InputError("not an 8-bit RGB(A) image", {.file = path});
        auto& img = mapnik::util::get<mapnik::image_rgba8>(any);
        if (img.get_premultiplied()) mapnik::demultiply_alpha(img);
        return to_image(img);
    } catch (const InputError&) {
        throw;
    } catch (const std::exception& e) {
        throw InputError(std::string("cannot read the image: ") + e.what(), {.file = path});
    }
}

namespace {

// Loads style `name` of `dir` into `map` (Mapnik set up first): the one place a style is read,
// for the Renderer and for standalone_style_xml(). Throws InputError naming the file and line
// of a broken style, a font that is not installed, or a layer in another srs. Returns the
// style file's path.
std::string load_style(mapnik::Map& map, const std::string& dir, const std::string& name) {
    init_mapnik();
    const std::string file = (fs::path(dir) / (name + ".xml")).string();
    if (!fs::exists(file))
        throw InputError("no such style (imagery, overlay, satellite-overlay)", {.file = file});
    {
        // Mapnik logs a missing font to std::clog and then throws a message without its
        // name; the log is captured to name it. std::clog is global, hence the lock.
        static std::mutex clog_mutex;
        std::lock_guard lock(clog_mutex);
        std::ostringstream log;
        auto* old = std::clog.rdbuf(log.rdbuf());
        try {
            mapnik::load_map(map, file, false, dir);
            std::clog.rdbuf(old);
        } catch (const std::exception& e) {
            std::clog.rdbuf(old);
            static const std::regex missing_face("unable to find face-name '([^']*)'");
            std::smatch m;
            const std::string logged = log.str();
            if (std::regex_search(logged, m, missing_face))
                throw InputError("font '" + m[1].str() + "' is not installed (Debian: " +
                                     "fonts-noto-cjk provides 'Noto Sans CJK SC Regular'; see " +
                                     "'fc-list'): " + e.what(),
                                 {.file = file});
            // Mapnik's message carries the line ("... at line 12 of 'file'"); for an element
            // that came from an included .inc entity the line counts within that file.
            std::string what = e.what();
            if (what.find(" line ") != std::string::npos)
                what += " (a line inside an included .inc file counts from that file's start)";
            throw InputError("broken style: " + what, {.file = file});
        }
    }
    check_fonts(map, file);
    for (const auto& l : map.layers())
        if (l.srs() != map.srs())
            throw InputError("layer '" + l.name() + "' has srs '" + l.srs() + "', the map '" +
                                 map.srs() + "': set srs=\"epsg:3857\" on every layer",
                             {.file = file});
    return file;
}

// The folder of the style's label font: Mapnik reads a map's font-directory without looking
// into subfolders, so the system's font root would register nothing.
std::string font_directory(const mapnik::Map& map) {
    const auto& files = mapnik::freetype_engine::get_mapping();
    for (const auto& [name, set] : map.fontsets())
        for (const auto& face : set.get_face_names())
            if (const auto it = files.find(face); it != files.end())
                return fs::path(it->second.second).parent_path().string();
    return WANGGE_MAPNIK_FONTS;
}

} // namespace

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

namespace {

// An image surface for cairo that carries its JPEG encoding, which PDF surfaces embed as is.
struct JpegImage {
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface{
        nullptr, &cairo_surface_destroy};
    int width = 0;
    int height = 0;
};

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

} // namespace

Renderer::Renderer(std::shared_ptr<const MapData> data, const StyleChoice& style)
    : m_impl(std::make_unique<Impl>()) {
    auto& d = *m_impl;
    d.data = std::move(data);
    d.style_dir = style.dir.empty() ? default_style_dir() : style.dir;
    d.style_file = load_style(d.map, d.style_dir, style.name);
    [[maybe_unused]] const bool shared_faces = detail::shared_shaping_faces();

    const auto& g = d.data->grid_3857();
    const auto villages = units_datasource(g, grid::UnitLevel::village);
    const auto townships = units_datasource(g, grid::UnitLevel::township);
    const auto county = units_datasource(g, grid::UnitLevel::county);
    for (const auto& l : style_layers())
        switch (l.data) {
        case LayerData::villages:
            d.attach(l.layer, villages);
            break;
        case LayerData::townships:
            d.attach(l.layer, townships);
            break;
        case LayerData::county:
            d.attach(l.layer, county);
            break;
        default: // cells and pins per draw (attach_status), imagery below
            break;
        }
    if (const auto& im = d.data->imagery(); im && find_layer(d.map, "imagery")) {
        mapnik::parameters p;
        p["type"] = "gdal";
        p["file"] = im->path;
        try {
            d.attach("imagery", mapnik::datasource_cache::instance().create(p));
        } catch (const std::exception& e) {
            throw InputError(std::string("cannot open the imagery: ") + e.what(),
                             {.file = im->path});
        }
        const auto ds = geo::Dataset::open_raster(im->path);
        double gt[6] = {};
        if (GDALGetGeoTransform(ds.get(), gt) == CE_None) d.imagery_res = std::abs(gt[1]);
        if (auto own = std::make_unique<detail::EnlargedImagery>(im->path);
            own->usable() && plain_enlarged_imagery(d.map))
            d.own_imagery = std::move(own);
        const auto params = read_style_params(d.style_dir);
        if (const auto it = params.find("imagery_max_magnification"); it != params.end())
            d.max_magnification = std::stod(it->second);
        if (const auto it = params.find("imagery_max_magnification_screen"); it != params.end())
            d.max_magnification_screen = std::stod(it->second);
    }
}

Renderer::~Renderer() = default;
Renderer::Renderer(Renderer&&) noexcept = default;
Renderer& Renderer::operator=(Renderer&&) noexcept = default;

std::string standalone_style_xml(const std::string& style_dir, const std::string& name,
                                 const geo::Box& maximum_extent) {
    mapnik::Map map;
    load_style(map, style_dir.empty() ? default_style_dir() : style_dir, name);
    map.set_font_directory(font_directory(map));
    map.set_maximum_extent(
        {maximum_extent.minx, maximum_extent.miny, maximum_extent.maxx, maximum_extent.maxy});
    return mapnik::save_map_to_string(map, false);
}

const std::string& Renderer::style_file() const noexcept {
    return m_impl->style_file;
}

void Renderer::set_focus(const std::string& code) {
    auto& d = *m_impl;
    if (code.empty()) {
        d.focus.clear();
        d.focus_rings.clear();
        d.attach("focus", new_memory_datasource());
        d.attach("focus-mask", new_memory_datasource());
        return;
    }
    const auto& g = d.data->grid_3857();
    const geo::MultiPolygon* geom = nullptr;
    geo::MultiPolygon cells_of_unit;
    if (const auto* c = g.find_cell(code)) {
        geom = &c->geometry;
    } else if (const auto* u = g.find_unit(code)) {
        geom = &u->geometry;
        if (geom->empty()) {
            for (const auto& c2 : g.cells)
                if (c2.township_code == code || c2.village_code == code)
                    for (const auto& p : c2.geometry.polygons)
                        cells_of_unit.polygons.push_back(p);
            geom = &cells_of_unit;
        }
    } else {
        throw InputError("unknown unit or cell code '" + code + "'", {.cell = code});
    }
    d.focus = code;
    d.focus_rings.clear();
    for (const auto& p : geom->polygons)
        if (!p.rings.empty()) d.focus_rings.push_back(p.rings[0]);
    d.attach("focus", focus_datasource(*geom, code));
}

std::vector<LegendEntry> Renderer::legend(const geo::Box& box, double scale,
                                          const RenderStatus& status) const {
    const auto& d = *m_impl;
    const mapnik::attributes vars;
    auto ctx = std::make_shared<mapnik::context_type>();
    ctx->push("status");
    ctx->push("state");
    const mapnik::feature_ptr probe(mapnik::feature_factory::create(ctx, 1));
    const auto colour = [&](const mapnik::symbolizer_base& sym, mapnik::keys k) {
        return hex(mapnik::get<mapnik::color>(sym, k, *probe, vars, mapnik::color(128, 128, 128)));
    };
    const auto number = [&](const mapnik::symbolizer_base& sym, mapnik::keys k, double def) {
        return mapnik::get<mapnik::value_double>(sym, k, *probe, vars, def);
    };
    const auto text = [&](const mapnik::symbolizer_base& sym, mapnik::keys k) {
        return mapnik::get<std::string>(sym, k, *probe, vars, std::string());
    };
    const auto style = [&](const std::string& name) -> const mapnik::feature_type_style* {
        const auto it = d.map.styles().find(name);
        return it == d.map.styles().end() ? nullptr : &it->second;
    };
    // Only styles a layer of this map uses, so a legend never shows what cannot be drawn.
    std::set<std::string> used;
    for (const auto& l : d.map.layers())
        for (const auto& n : l.styles())
            used.insert(n);

    std::vector<LegendEntry> out;
    // Cells: one entry per fill rule, plus "none" (nothing drawn).
    std::vector<const mapnik::rule*> cell_rules;
    if (const auto* st = style("cell-status"); st && used.count("cell-status"))
        for (const auto& r : st->get_rules()) {
            if (!r.active(scale)) continue;
            LegendEntry e{.group = "cell", .key = rule_key(r)};
            for (const auto& sym : r.get_symbolizers()) {
                if (sym.is<mapnik::polygon_symbolizer>()) {
                    const auto& p = mapnik::util::get<mapnik::polygon_symbolizer>(sym);
                    e.colour = colour(p, mapnik::keys::fill);
                    e.opacity = number(p, mapnik::keys::fill_opacity, 1.0);
                } else if (sym.is<mapnik::polygon_pattern_symbolizer>()) {
                    e.pattern = text(mapnik::util::get<mapnik::polygon_pattern_symbolizer>(sym),
                                     mapnik::keys::file);
                }
            }
            out.push_back(e);
            cell_rules.push_back(&r);
        }
    if (const auto* st = style("cell-overdue-outline"); st && used.count("cell-overdue-outline"))
        for (const auto& r : st->get_rules())
            for (const auto& sym : r.get_symbolizers())
                if (r.active(scale) && sym.is<mapnik::line_symbolizer>())
                    for (auto& e : out)
                        if (e.group == "cell" && e.key == rule_key(r)) {
                            const auto& l = mapnik::util::get<mapnik::line_symbolizer>(sym);
                            e.outline = colour(l, mapnik::keys::stroke);
                            e.outline_width = number(l, mapnik::keys::stroke_width, 1.0);
                        }
    if (!cell_rules.empty()) {
        std::size_t none = 0;
        for (const auto& c : d.data->grid_3857().cells) {
            if (!geo::bounds(c.geometry).intersects(box)) continue;
            const auto it = status.cells.find(c.code);
            const CellState cs = it == status.cells.end() ? CellState::none : it->second;
            probe->put("status", ustr(std::string(to_string(cs))));
            bool drawn = false;
            for (std::size_t i = 0; i < cell_rules.size(); ++i)
                if (rule_matches(*cell_rules[i], *probe)) {
                    ++out[out.size() - cell_rules.size() + i].count;
                    drawn = true;
                }
            if (!drawn) ++none;
        }
        out.push_back({.group = "cell", .key = "none", .count = none});
    }
    // Pins: one entry per rule active at this scale.
    if (const auto* st = style("pins"); st && used.count("pins")) {
        const std::size_t first = out.size();
        std::vector<const mapnik::rule*> rules;
        for (const auto& r : st->get_rules()) {
            if (!r.active(scale)) continue;
            for (const auto& sym : r.get_symbolizers()) {
                if (!sym.is<mapnik::markers_symbolizer>()) continue;
                const auto& m = mapnik::util::get<mapnik::markers_symbolizer>(sym);
                out.push_back({.group = "pin",
                               .key = rule_key(r),
                               .colour = colour(m, mapnik::keys::fill),
                               .opacity = number(m, mapnik::keys::opacity, 1.0),
                               .outline = colour(m, mapnik::keys::stroke),
                               .outline_width = number(m, mapnik::keys::stroke_width, 1.0),
                               .marker = text(m, mapnik::keys::file),
                               .size = number(m, mapnik::keys::width, 10.0)});
                rules.push_back(&r);
                break;
            }
        }
        for (const auto& p : status.pins) {
            const auto xy = lonlat_to_3857({p.lon, p.lat});
            if (!box.contains(xy)) continue;
            probe->put("state", ustr(p.state));
            for (std::size_t i = 0; i < rules.size(); ++i)
                if (rule_matches(*rules[i], *probe)) ++out[first + i].count;
        }
    }
    // Boundaries: the last line of each rule, the first as its casing when there are two.
    const std::pair<const char*, const char*> lines[] = {{"cell-outline", "cell"},
                                                         {"village-boundary", "village"},
                                                         {"township-boundary", "township"},
                                                         {"county-boundary", "county"},
                                                         {"focus", "focus"}};
    for (const auto& [name, key] : lines) {
        const auto* st = style(name);
        if (!st || !used.count(name)) continue;
        if (std::string(key) == "focus" && d.focus.empty()) continue;
        for (const auto& r : st->get_rules()) {
            if (!r.active(scale)) continue;
            std::vector<const mapnik::line_symbolizer*> ls;
            for (const auto& sym : r.get_symbolizers())
                if (sym.is<mapnik::line_symbolizer>())
                    ls.push_back(&mapnik::util::get<mapnik::line_symbolizer>(sym));
            if (ls.empty()) continue;
            LegendEntry e{.group = "line", .key = key};
            const auto& l = *ls.back();
            e.colour = colour(l, mapnik::keys::stroke);
            e.opacity = number(l, mapnik::keys::stroke_opacity, 1.0);
            e.size = number(l, mapnik::keys::stroke_width, 1.0);
            for (const auto& [on, off] :
                 mapnik::get<mapnik::dash_array>(l, mapnik::keys::stroke_dasharray)) {
                e.dash.push_back(on);
                e.dash.push_back(off);
            }
            if (ls.size() > 1) {
                e.casing = colour(*ls.front(), mapnik::keys::stroke);
                e.casing_width = number(*ls.front(), mapnik::keys::stroke_width, 1.0);
                e.casing_opacity = number(*ls.front(), mapnik::keys::stroke_opacity, 1.0);
            }
            out.push_back(e);
            break;
        }
    }
    return out;
}

Image Renderer::render(const geo::Box& box, int width, int height, const RenderStatus& status,
                       Timing* timing) {
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
        throw InputError("image size must be 1-16384 px a side");
    Image out;
    render_into(box, width, height, status, out, timing);
    return out;
}

void Renderer::render_into(const geo::Box& box, int width, int height, const RenderStatus& status,
                           Image& out, Timing* timing) {
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
        throw InputError("image size must be 1-16384 px a side");
    const auto t0 = clock::now();
    out.width = width;
    out.height = height;
    // Within its capacity the vector keeps its pages: no fresh zeroed memory per call.
    out.rgba.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4);
    // A view of out's pixels, not a copy.
    mapnik::image_rgba8 img(width, height, out.rgba.data(), false);
    m_impl->draw_into(box, width, height, status, img);
    if (img.get_premultiplied()) mapnik::demultiply_alpha(img);
    if (timing) timing->draw_s = seconds_since(t0);
}

Timing Renderer::render_to_file(const geo::Box& box, int width, int height,
                                const RenderStatus& status, const std::string& path,
                                const std::string& format) {
    const std::string fmt = format_for(path, format);
    Timing t;
    const auto t0 = clock::now();
    mapnik::image_rgba8 img = m_impl->draw(box, width, height, status);
    t.draw_s = seconds_since(t0);
    t.encode_s = save_timed(img, path, fmt);
    return t;
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
