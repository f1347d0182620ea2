// The in-memory datasources the Renderer attaches to the style's layers; see mapnik_bridge.hpp.
#include "mapnik_bridge.hpp"

#include <algorithm>

namespace wangge::render {

namespace {

// Twice the area of a ring, positive when counter-clockwise.
double signed_area2(const geo::Ring& ring) {
    double a = 0;
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++)
        a += (ring[j].x - ring[i].x) * (ring[j].y + ring[i].y);
    return a;
}

} // namespace

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

} // namespace wangge::render
