// Tile plans (which tiles to draw for an area) and expiry (which overlay tiles change when
// statuses change). No Mapnik; pure functions over render::MapData, safe from any thread.
//
// A plan holds only the tiles that touch the area's polygons grown by a margin, not every
// tile of its bounding box: a township's plan skips the tiles of its neighbours' corners.
#pragma once

#include "wangge/render/renderer.hpp"
#include "wangge/tiles/tile.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace wangge::tiles {

// Margins in pixels at the tile's zoom. The plan margin keeps a little context around an
// area; the expiry margins cover what is drawn outside a changed cell or around a pin
// (halo of the boundary, the cell label, the pin marker). Sized for styles/overlay.xml.
inline constexpr int plan_margin_px = 16;
inline constexpr int label_margin_px = 96;
inline constexpr int pin_margin_px = 32;

struct Plan {
    std::vector<TileId> tiles; // sorted by z, then x, then y; no duplicates
    ZoomRange zoom;
    geo::Box lonlat; // the area's bounds (for MBTiles "bounds")
    [[nodiscard]] std::map<int, std::size_t> per_zoom() const;
    [[nodiscard]] bool empty() const noexcept { return tiles.empty(); }
};

// What to cover, in EPSG:3857 (render::MapData keeps the grid projected).
struct PlanArea {
    std::vector<const geo::MultiPolygon*> polygons; // non-owning; live while planning
    std::vector<geo::Box> boxes;                    // whole boxes (a --bbox; a pin)
};

// The whole grid; a township or village (9 or 12 digits); one cell; a lon/lat box. Throws
// InputError naming the code for an unknown township or cell. The MapData must outlive the
// PlanArea.
[[nodiscard]] PlanArea area_all(const render::MapData& data);
[[nodiscard]] PlanArea area_unit(const render::MapData& data, const std::string& code);
[[nodiscard]] PlanArea area_cell(const render::MapData& data, const std::string& code);
[[nodiscard]] PlanArea area_bbox(const geo::Box& lonlat);

// The tiles of zooms `zoom` whose bounds grown by margin_px pixels touch the area.
[[nodiscard]] Plan make_plan(const PlanArea& area, ZoomRange zoom, int margin_px = plan_margin_px);

// The metatiles (n x n) holding the plan's tiles, in plan order, each with its planned tiles.
struct MetaWork {
    MetaId meta;
    std::vector<TileId> tiles;
};
[[nodiscard]] std::vector<MetaWork> metatiles_of(const Plan& plan, int n);

// ---- Expiry --------------------------------------------------------------------------------

// What differs between two statuses: cells whose state changed, and pins added, removed,
// moved or restyled (a pin is matched by id, or by position when it has no id).
struct StatusChange {
    std::set<std::string> cells;
    std::vector<geo::Point> pins_lonlat; // old and new positions of changed pins
    [[nodiscard]] bool empty() const noexcept { return cells.empty() && pins_lonlat.empty(); }
};
[[nodiscard]] StatusChange diff_status(const render::RenderStatus& before,
                                       const render::RenderStatus& after);

// The overlay (and composite) tiles of zooms `zoom` to re-render for a change: tiles touching
// a changed cell grown by label_margin_px, and tiles within pin_margin_px of a changed pin.
// Imagery tiles never expire. Unknown cell codes are ignored (a matter may name a cell of an
// older grid version). Sorted, no duplicates.
[[nodiscard]] std::vector<TileId> expired_tiles(const render::MapData& data,
                                                const StatusChange& change, ZoomRange zoom);
// The tiles of `plan` in the n x n metatiles that hold any of `tiles` (those not in the plan
// are ignored). Re-rendering only some tiles of a metatile draws a smaller block with another
// origin, and Mapnik's antialiasing, pattern phase and label placement then move by a fraction
// of a pixel; drawing the metatile's whole planned block again gives a full export's bytes.
[[nodiscard]] std::vector<TileId> whole_metatiles(const Plan& plan,
                                                  const std::vector<TileId>& tiles, int n);
// The same for a set of changed cell codes alone (the live server's refetch list).
[[nodiscard]] std::vector<TileId>
tiles_for_cells(const render::MapData& data, const std::set<std::string>& cells, ZoomRange zoom);

} // namespace wangge::tiles
