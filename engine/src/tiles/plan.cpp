// Tile plans and expiry: which tiles touch an area. Zooms are refined from 0 down, testing
// only the children of tiles that touched at the zoom above (a child's grown box lies inside
// its parent's grown box, so nothing is missed).
#include "wangge/tiles/plan.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cmath>

namespace wangge::tiles {

namespace {

// Liang-Barsky: does segment a-b meet box b (edges included)?
bool segment_meets_box(geo::Point a, geo::Point b, const geo::Box& box) {
    double t0 = 0, t1 = 1;
    const double dx = b.x - a.x, dy = b.y - a.y;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {a.x - box.minx, box.maxx - a.x, a.y - box.miny, box.maxy - a.y};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0) {
            if (q[i] < 0) return false;
            continue;
        }
        const double r = q[i] / p[i];
        if (p[i] < 0)
            t0 = std::max(t0, r);
        else
            t1 = std::min(t1, r);
        if (t0 > t1) return false;
    }
    return true;
}

// Even-odd over every ring (holes included).
bool inside(const geo::Polygon& poly, geo::Point pt) {
    bool in = false;
    for (const auto& ring : poly.rings)
        for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
            const auto& a = ring[i];
            const auto& b = ring[j];
            if ((a.y > pt.y) != (b.y > pt.y) &&
                pt.x < (b.x - a.x) * (pt.y - a.y) / (b.y - a.y) + a.x)
                in = !in;
        }
    return in;
}

struct PreparedPolygon {
    const geo::Polygon* poly;
    geo::Box box;
};

class Toucher {
  public:
    explicit Toucher(const PlanArea& area) : m_boxes(area.boxes) {
        for (const auto* mp : area.polygons)
            for (const auto& p : mp->polygons) {
                if (p.rings.empty()) continue;
                m_polys.push_back({&p, geo::bounds(p.rings[0])});
                m_bounds.expand(m_polys.back().box);
            }
        for (const auto& b : m_boxes)
            m_bounds.expand(b);
    }
    [[nodiscard]] const geo::Box& bounds() const { return m_bounds; }

    [[nodiscard]] bool touches(const geo::Box& box) const {
        for (const auto& b : m_boxes)
            if (b.intersects(box)) return true;
        const geo::Point centre{(box.minx + box.maxx) / 2, (box.miny + box.maxy) / 2};
        for (const auto& pp : m_polys) {
            if (!pp.box.intersects(box)) continue;
            for (const auto& ring : pp.poly->rings)
                for (std::size_t i = 1; i < ring.size(); ++i)
                    if (segment_meets_box(ring[i - 1], ring[i], box)) return true;
            if (inside(*pp.poly, centre)) return true;
        }
        return false;
    }

  private:
    std::vector<geo::Box> m_boxes;
    std::vector<PreparedPolygon> m_polys;
    geo::Box m_bounds;
};

geo::Box grown(const TileId& t, int margin_px) {
    auto b = tile_bounds_3857(t);
    const double m = margin_px * resolution(t.z);
    return {b.minx - m, b.miny - m, b.maxx + m, b.maxy + m};
}

} // namespace

std::map<int, std::size_t> Plan::per_zoom() const {
    std::map<int, std::size_t> out;
    for (int z = zoom.min; z <= zoom.max; ++z)
        out[z] = 0;
    for (const auto& t : tiles)
        ++out[t.z];
    return out;
}

PlanArea area_all(const render::MapData& data) {
    PlanArea a;
    for (const auto& c : data.grid_3857().cells)
        a.polygons.push_back(&c.geometry);
    if (a.polygons.empty()) throw InputError("the grid has no cells to make tiles of");
    return a;
}

PlanArea area_unit(const render::MapData& data, const std::string& code) {
    const auto& g = data.grid_3857();
    const auto* u = g.find_unit(code);
    if (!u) throw InputError("unknown township or village code '" + code + "'");
    PlanArea a;
    if (!u->geometry.empty()) {
        a.polygons.push_back(&u->geometry);
    } else {
        for (const auto& c : g.cells)
            if (c.township_code == code || c.village_code == code)
                a.polygons.push_back(&c.geometry);
    }
    if (a.polygons.empty()) throw InputError("township or village '" + code + "' has no cells");
    return a;
}

PlanArea area_cell(const render::MapData& data, const std::string& code) {
    const auto* c = data.grid_3857().find_cell(code);
    if (!c) throw InputError("unknown cell code '" + code + "'", {.cell = code});
    PlanArea a;
    a.polygons.push_back(&c->geometry);
    return a;
}

PlanArea area_bbox(const geo::Box& ll) {
    const auto area = render::area_of_lonlat(ll); // checks the box
    PlanArea a;
    a.boxes.push_back(area.box_3857);
    return a;
}

Plan make_plan(const PlanArea& area, ZoomRange zoom, int margin_px) {
    if (zoom.min < 0 || zoom.max > max_zoom || zoom.min > zoom.max)
        throw InputError("zoom range must lie within 0-22 with min <= max");
    Plan plan;
    plan.zoom = zoom;
    const Toucher toucher(area);
    if (toucher.bounds().valid()) {
        const auto sw = render::mercator_to_lonlat({toucher.bounds().minx, toucher.bounds().miny});
        const auto ne = render::mercator_to_lonlat({toucher.bounds().maxx, toucher.bounds().maxy});
        plan.lonlat = {sw.x, sw.y, ne.x, ne.y};
    } else {
        return plan;
    }
    std::vector<TileId> level{{0, 0, 0}};
    for (int z = 0; z <= zoom.max && !level.empty(); ++z) {
        std::vector<TileId> kept;
        for (const auto& t : level)
            if (toucher.touches(grown(t, margin_px))) kept.push_back(t);
        if (z >= zoom.min) plan.tiles.insert(plan.tiles.end(), kept.begin(), kept.end());
        if (z == zoom.max) break;
        level.clear();
        level.reserve(kept.size() * 4);
        for (const auto& t : kept)
            for (int dx = 0; dx < 2; ++dx)
                for (int dy = 0; dy < 2; ++dy)
                    level.push_back({z + 1, t.x * 2 + dx, t.y * 2 + dy});
    }
    std::sort(plan.tiles.begin(), plan.tiles.end());
    return plan;
}

std::vector<MetaWork> metatiles_of(const Plan& plan, int n) {
    std::map<MetaId, std::vector<TileId>> by_meta;
    for (const auto& t : plan.tiles)
        by_meta[metatile_of(t, n)].push_back(t);
    std::vector<MetaWork> out;
    out.reserve(by_meta.size());
    for (auto& [m, tiles] : by_meta)
        out.push_back({m, std::move(tiles)});
    return out;
}

std::vector<TileId> whole_metatiles(const Plan& plan, const std::vector<TileId>& tiles, int n) {
    std::set<MetaId> metas;
    for (const auto& t : tiles)
        if (std::binary_search(plan.tiles.begin(), plan.tiles.end(), t))
            metas.insert(metatile_of(t, n));
    std::vector<TileId> out;
    for (const auto& t : plan.tiles)
        if (metas.count(metatile_of(t, n))) out.push_back(t);
    return out;
}

StatusChange diff_status(const render::RenderStatus& before, const render::RenderStatus& after) {
    StatusChange ch;
    const auto state = [](const render::RenderStatus& s, const std::string& code) {
        const auto it = s.cells.find(code);
        return it == s.cells.end() ? render::CellState::none : it->second;
    };
    for (const auto& [code, st] : before.cells)
        if (state(after, code) != st) ch.cells.insert(code);
    for (const auto& [code, st] : after.cells)
        if (state(before, code) != st) ch.cells.insert(code);

    // Pins keyed by id (or by position when they have none); a pin whose key, position or
    // state differs is changed at its old and its new place.
    const auto key = [](const render::Pin& p) {
        if (!p.id.empty()) return "id:" + p.id;
        return "at:" + std::to_string(p.lon) + "," + std::to_string(p.lat) + "," + p.state;
    };
    std::map<std::string, const render::Pin*> old_pins, new_pins;
    for (const auto& p : before.pins)
        old_pins[key(p)] = &p;
    for (const auto& p : after.pins)
        new_pins[key(p)] = &p;
    for (const auto& [k, p] : old_pins) {
        const auto it = new_pins.find(k);
        if (it == new_pins.end() || it->second->lon != p->lon || it->second->lat != p->lat ||
            it->second->state != p->state) {
            ch.pins_lonlat.push_back({p->lon, p->lat});
            if (it != new_pins.end()) ch.pins_lonlat.push_back({it->second->lon, it->second->lat});
        }
    }
    for (const auto& [k, p] : new_pins)
        if (!old_pins.count(k)) ch.pins_lonlat.push_back({p->lon, p->lat});
    return ch;
}

std::vector<TileId> tiles_for_cells(const render::MapData& data, const std::set<std::string>& cells,
                                    ZoomRange zoom) {
    PlanArea a;
    for (const auto& code : cells)
        if (const auto* c = data.grid_3857().find_cell(code)) a.polygons.push_back(&c->geometry);
    return make_plan(a, zoom, label_margin_px).tiles;
}

std::vector<TileId> expired_tiles(const render::MapData& data, const StatusChange& change,
                                  ZoomRange zoom) {
    auto out = tiles_for_cells(data, change.cells, zoom);
    PlanArea pins;
    for (const auto& ll : change.pins_lonlat) {
        const auto xy = render::lonlat_to_3857(ll);
        pins.boxes.push_back({xy.x, xy.y, xy.x, xy.y});
    }
    const auto pin_tiles = make_plan(pins, zoom, pin_margin_px).tiles;
    out.insert(out.end(), pin_tiles.begin(), pin_tiles.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

} // namespace wangge::tiles
