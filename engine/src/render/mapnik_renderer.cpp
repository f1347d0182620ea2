// The Renderer: styles, Mapnik set-up and drawing to images; see mapnik_bridge.hpp.
#include "mapnik_bridge.hpp"
#include "print.hpp"
#include "wangge/geo/gdal.hpp"

#include <algorithm>
#include <filesystem>
#include <gdal.h>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#ifndef WANGGE_MAPNIK_PLUGINS
#define WANGGE_MAPNIK_PLUGINS "/usr/lib/mapnik/3.1/input"
#endif
#ifndef WANGGE_MAPNIK_FONTS
#define WANGGE_MAPNIK_FONTS "/usr/share/fonts"
#endif

namespace wangge::render {

namespace fs = std::filesystem;

double seconds_since(clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
}

double save_timed(const mapnik::image_rgba8& img, const std::string& path, const std::string& fmt) {
    const auto t0 = clock::now();
    try {
        mapnik::save_to_file(img, path, fmt);
    } catch (const std::exception& e) {
        throw InputError(std::string("cannot write the image: ") + e.what(), {.file = path});
    }
    return seconds_since(t0);
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

namespace {

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
        auto ds = geo::Dataset::open_raster(im->path);
        double gt[6] = {};
        if (GDALGetGeoTransform(ds.get(), gt) == CE_None) d.imagery_res = std::abs(gt[1]);
        if (auto own = std::make_unique<detail::EnlargedImagery>(std::move(ds));
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

} // namespace wangge::render
