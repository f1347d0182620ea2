// Drawing tiles: a metatile (N x N tiles plus a buffer, so labels and pins are not cut at
// tile edges) is drawn in one Mapnik render, cut into 256 px tiles and each tile encoded.
// Used by `wangge tiles export` and by the live map server (serve/), which serves
//   /tiles/imagery/{z}/{x}/{y}.jpg   -> TileSource::tile(z/x/y, Layer::imagery, Format::jpeg)
//   /tiles/overlay/{z}/{x}/{y}.png   -> TileSource::tile(z/x/y, Layer::overlay, Format::png)
// and caches the other tiles of the metatile it gets back.
//
// Threads:
// - MetatileRenderer owns Mapnik maps (one per layer, loaded lazily): use it from ONE thread.
// - TileSource is shared by any number of threads: each calling thread gets its own
//   MetatileRenderer (created on its first call, kept until the TileSource dies), so styles
//   are loaded once per thread, as renderd does. The MapData is shared, read-only.
// - The RenderStatus passed in is only read during the call; a server keeps a
//   shared_ptr<const RenderStatus> per data version and swaps it, never mutates it.
// Output is deterministic: the same MapData, status, options and tile give the same bytes.
#pragma once

#include "wangge/render/renderer.hpp"
#include "wangge/tiles/tile.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace wangge::tiles {

// imagery: the satellite base (never changes with status); overlay: cells coloured by
// status, boundaries, labels and pins on a transparent background; composite: both.
enum class Layer { imagery, overlay, composite };
// png: 8-bit palette PNG with alpha (median cut, zlib level 1: tiles/png8.hpp); jpeg: quality 85
// (no alpha: refused for the overlay); webp: quality 85 with alpha.
enum class Format { png, jpeg, webp };

[[nodiscard]] std::string_view to_string(Layer l);
[[nodiscard]] std::string_view to_string(Format f);
// File extension without the dot: png, jpg, webp.
[[nodiscard]] std::string_view extension(Format f);
// MIME type: image/png, image/jpeg, image/webp.
[[nodiscard]] std::string_view mime_type(Format f);
// Throw InputError listing the choices.
[[nodiscard]] Layer layer_from(std::string_view text);
[[nodiscard]] Format format_from(std::string_view text); // also "jpg"
// Throws InputError for a combination that cannot work (a JPEG overlay).
void check_layer_format(Layer l, Format f);

struct TileOptions {
    int metatile = 8;      // tiles per side of a metatile: 1, 2, 4, 8 or 16
    int buffer_px = 128;   // drawn around the metatile and thrown away
    std::string style_dir; // "" = render::default_style_dir()
};
// Throws InputError for a metatile size or buffer out of range.
void check_options(const TileOptions& o);

struct EncodedTile {
    TileId id;
    std::string bytes;
};

struct MetatileResult {
    MetaId meta;
    std::vector<EncodedTile> tiles; // sorted by x, then y
    double draw_s = 0;
    double encode_s = 0;
};

// One thread's renderer of metatiles.
class MetatileRenderer {
  public:
    // Loads nothing yet: the Mapnik map of a layer is loaded on its first use. Throws
    // InputError for bad options.
    MetatileRenderer(std::shared_ptr<const render::MapData> data, TileOptions options);
    ~MetatileRenderer();
    MetatileRenderer(const MetatileRenderer&) = delete;
    MetatileRenderer& operator=(const MetatileRenderer&) = delete;
    MetatileRenderer(MetatileRenderer&&) noexcept;
    MetatileRenderer& operator=(MetatileRenderer&&) noexcept;

    // Draws metatile `meta` and encodes its tiles: all of them, or only those listed in
    // `only` (tiles outside the metatile are ignored). Only the block of the tiles wanted is
    // drawn, with the buffer around it: one tile asked for costs a (256 + 2 x buffer) px
    // render. The status is ignored for imagery.
    [[nodiscard]] MetatileResult render(const MetaId& meta, Layer layer, Format format,
                                        const render::RenderStatus& status,
                                        const std::vector<TileId>* only = nullptr);
    // The metatile drawn but not cut: (size*256 + 2*buffer) px a side, straight RGBA. For
    // tests and for `tiles style` comparisons.
    [[nodiscard]] render::Image draw(const MetaId& meta, Layer layer,
                                     const render::RenderStatus& status, double* draw_s = nullptr);
    [[nodiscard]] const TileOptions& options() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// Shared by threads; see the header comment.
class TileSource {
  public:
    TileSource(std::shared_ptr<const render::MapData> data, TileOptions options);
    ~TileSource();
    TileSource(const TileSource&) = delete;
    TileSource& operator=(const TileSource&) = delete;

    // Renders the metatile containing `tile` on the calling thread's renderer and returns
    // every tile of it (the requested one among them).
    [[nodiscard]] MetatileResult metatile(const TileId& tile, Layer layer, Format format,
                                          const render::RenderStatus& status);
    // Just the one tile's bytes: the tile and the buffer around it are drawn, not its whole
    // metatile (a server that caches the neighbours should call metatile()).
    [[nodiscard]] std::string tile(const TileId& tile, Layer layer, Format format,
                                   const render::RenderStatus& status);
    [[nodiscard]] const TileOptions& options() const noexcept;
    [[nodiscard]] const std::shared_ptr<const render::MapData>& data() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace wangge::tiles
