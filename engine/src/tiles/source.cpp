// Metatiles: one render::Renderer per layer and thread draws the block of tiles plus its
// buffer; the tiles are cut as Mapnik image views (no copy) and encoded with save_to_string.
#include "wangge/tiles/source.hpp"

#include "wangge/error.hpp"
#include "wangge/tiles/png8.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <mapnik/image.hpp>
#include <mapnik/image_util.hpp>
#include <mapnik/image_view.hpp>
#pragma GCC diagnostic pop

namespace wangge::tiles {

namespace {

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
}

const char* style_name(Layer l) {
    switch (l) {
    case Layer::imagery:
        return "imagery";
    case Layer::overlay:
        return "overlay";
    case Layer::composite:
        return "satellite-overlay";
    }
    return "satellite-overlay";
}

// One tile of the drawn block. PNG: our median-cut palette encoder (png8.hpp), three times
// as fast as Mapnik's octree on composite tiles at the same error, and faster still than the
// hextree that the translucent overlay needed; JPEG and WebP through Mapnik.
std::string encode(const mapnik::image_rgba8& block, unsigned x, unsigned y, Format f) {
    if (f == Format::png)
        return encode_png8(reinterpret_cast<const std::uint8_t*>(block.get_row(y) + x), tile_px,
                           tile_px, block.row_size());
    const mapnik::image_view_rgba8 view(x, y, tile_px, tile_px, block);
    return mapnik::save_to_string(view, f == Format::jpeg ? "jpeg85" : "webp:quality=85");
}

} // namespace

std::string_view to_string(Layer l) {
    switch (l) {
    case Layer::imagery:
        return "imagery";
    case Layer::overlay:
        return "overlay";
    case Layer::composite:
        return "composite";
    }
    return "composite";
}

std::string_view to_string(Format f) {
    switch (f) {
    case Format::png:
        return "png";
    case Format::jpeg:
        return "jpeg";
    case Format::webp:
        return "webp";
    }
    return "png";
}

std::string_view extension(Format f) {
    return f == Format::jpeg ? "jpg" : to_string(f);
}

std::string_view mime_type(Format f) {
    switch (f) {
    case Format::png:
        return "image/png";
    case Format::jpeg:
        return "image/jpeg";
    case Format::webp:
        return "image/webp";
    }
    return "image/png";
}

Layer layer_from(std::string_view t) {
    if (t == "imagery") return Layer::imagery;
    if (t == "overlay") return Layer::overlay;
    if (t == "composite") return Layer::composite;
    throw InputError("unknown layer '" + std::string(t) + "' (composite, imagery, overlay)");
}

Format format_from(std::string_view t) {
    if (t == "png") return Format::png;
    if (t == "jpeg" || t == "jpg") return Format::jpeg;
    if (t == "webp") return Format::webp;
    throw InputError("unknown tile format '" + std::string(t) + "' (png, jpeg, webp)");
}

void check_layer_format(Layer l, Format f) {
    if (l == Layer::overlay && f == Format::jpeg)
        throw InputError("the overlay layer is transparent: use --format png or webp, not jpeg");
}

void check_options(const TileOptions& o) {
    if (o.metatile != 1 && o.metatile != 2 && o.metatile != 4 && o.metatile != 8 &&
        o.metatile != 16)
        throw InputError("--metatile must be 1, 2, 4, 8 or 16, not " + std::to_string(o.metatile));
    if (o.buffer_px < 0 || o.buffer_px > 512)
        throw InputError("the metatile buffer must be 0-512 px, not " +
                         std::to_string(o.buffer_px));
}

namespace {

// What a MetatileRenderer and a TileSource hold, the options checked.
struct Setup {
    Setup(std::shared_ptr<const render::MapData> d, TileOptions o)
        : data(std::move(d)), options(std::move(o)) {
        check_options(options);
    }
    std::shared_ptr<const render::MapData> data;
    TileOptions options;
};

void check_tile(const TileId& t) {
    if (t.z < 0 || t.z > max_zoom || t.x < 0 || t.y < 0 || t.x >= (1 << t.z) || t.y >= (1 << t.z))
        throw InputError("no such tile: " + to_string(t));
}

} // namespace

struct MetatileRenderer::Impl : Setup {
    using Setup::Setup;
    std::array<std::optional<render::Renderer>, 3> renderers; // by Layer
    // The block drawn last: its memory is drawn into again (a metatile is 21 MB).
    render::Image canvas;

    render::Renderer& renderer(Layer l) {
        auto& r = renderers[static_cast<std::size_t>(l)];
        if (!r)
            r.emplace(data, render::StyleChoice{.dir = options.style_dir, .name = style_name(l)});
        return *r;
    }
};

MetatileRenderer::MetatileRenderer(std::shared_ptr<const render::MapData> data, TileOptions options)
    : m_impl(std::make_unique<Impl>(std::move(data), std::move(options))) {}

MetatileRenderer::~MetatileRenderer() = default;
MetatileRenderer::MetatileRenderer(MetatileRenderer&&) noexcept = default;
MetatileRenderer& MetatileRenderer::operator=(MetatileRenderer&&) noexcept = default;

const TileOptions& MetatileRenderer::options() const noexcept {
    return m_impl->options;
}

render::Image MetatileRenderer::draw(const MetaId& meta, Layer layer,
                                     const render::RenderStatus& status, double* draw_s) {
    const int buffer = m_impl->options.buffer_px;
    const int px = meta.size * tile_px + 2 * buffer;
    render::Timing t;
    // Imagery does not depend on the status: draw it with none, so its tiles never differ.
    static const render::RenderStatus no_status;
    auto img = m_impl->renderer(layer).render(metatile_bounds_3857(meta, buffer), px, px,
                                              layer == Layer::imagery ? no_status : status, &t);
    if (draw_s) *draw_s = t.draw_s;
    return img;
}

MetatileResult MetatileRenderer::render(const MetaId& meta, Layer layer, Format format,
                                        const render::RenderStatus& status,
                                        const std::vector<TileId>* only) {
    check_layer_format(layer, format);
    MetatileResult out;
    out.meta = meta;
    // Only the block of tiles wanted is drawn (plus the buffer), not the whole metatile: the
    // metatiles at a plan's edge hold few of its tiles (a third of the pixels of the Jishan
    // county's z8-14 metatiles are planned), and a server asks for one tile. The block's
    // origin lies on the same pixel grid as the metatile's, so a tile is drawn alike in either
    // up to a fraction of a pixel (byte-equal output draws the same block: whole_metatiles).
    std::vector<TileId> wanted;
    for (int dx = 0; dx < meta.size; ++dx)
        for (int dy = 0; dy < meta.size; ++dy) {
            const TileId id{meta.z, meta.x0 + dx, meta.y0 + dy};
            if (!only || std::find(only->begin(), only->end(), id) != only->end())
                wanted.push_back(id);
        }
    if (wanted.empty()) return out;
    int x0 = wanted.front().x, y0 = wanted.front().y, x1 = x0, y1 = y0;
    for (const auto& t : wanted) {
        x0 = std::min(x0, t.x);
        y0 = std::min(y0, t.y);
        x1 = std::max(x1, t.x);
        y1 = std::max(y1, t.y);
    }
    const int buffer = m_impl->options.buffer_px;
    const auto tl = tile_bounds_3857({meta.z, x0, y0});
    const auto br = tile_bounds_3857({meta.z, x1, y1});
    const double pad = buffer * resolution(meta.z);
    const geo::Box box{tl.minx - pad, br.miny - pad, br.maxx + pad, tl.maxy + pad};
    const int w = (x1 - x0 + 1) * tile_px + 2 * buffer;
    const int h = (y1 - y0 + 1) * tile_px + 2 * buffer;
    // Imagery does not depend on the status: draw it with none, so its tiles never differ.
    static const render::RenderStatus no_status;
    render::Timing timing;
    render::Image& img = m_impl->canvas;
    m_impl->renderer(layer).render_into(box, w, h, layer == Layer::imagery ? no_status : status,
                                        img, &timing);
    out.draw_s = timing.draw_s;
    const auto t0 = clock::now();
    // A view of our buffer, not a copy; straight (not premultiplied) alpha as drawn.
    mapnik::image_rgba8 whole(img.width, img.height, img.rgba.data(), false);
    for (const auto& id : wanted)
        out.tiles.push_back(
            {id, encode(whole, static_cast<unsigned>(buffer + (id.x - x0) * tile_px),
                        static_cast<unsigned>(buffer + (id.y - y0) * tile_px), format)});
    out.encode_s = seconds_since(t0);
    return out;
}

struct TileSource::Impl : Setup {
    using Setup::Setup;
    std::mutex mutex;
    std::map<std::thread::id, std::unique_ptr<MetatileRenderer>> per_thread;

    MetatileRenderer& mine() {
        std::lock_guard lock(mutex);
        auto& r = per_thread[std::this_thread::get_id()];
        if (!r) r = std::make_unique<MetatileRenderer>(data, options);
        return *r;
    }
};

TileSource::TileSource(std::shared_ptr<const render::MapData> data, TileOptions options)
    : m_impl(std::make_unique<Impl>(std::move(data), std::move(options))) {}

TileSource::~TileSource() = default;

MetatileResult TileSource::metatile(const TileId& tile, Layer layer, Format format,
                                    const render::RenderStatus& status) {
    check_tile(tile);
    // The map of this thread is used by this thread only: no lock while drawing.
    return m_impl->mine().render(metatile_of(tile, m_impl->options.metatile), layer, format,
                                 status);
}

std::string TileSource::tile(const TileId& tile, Layer layer, Format format,
                             const render::RenderStatus& status) {
    const std::vector<TileId> only{tile};
    check_tile(tile);
    auto r = m_impl->mine().render(metatile_of(tile, m_impl->options.metatile), layer, format,
                                   status, &only);
    return std::move(r.tiles.at(0).bytes);
}

const TileOptions& TileSource::options() const noexcept {
    return m_impl->options;
}

const std::shared_ptr<const render::MapData>& TileSource::data() const noexcept {
    return m_impl->data;
}

} // namespace wangge::tiles
