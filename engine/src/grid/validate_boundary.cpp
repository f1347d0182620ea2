// Reading a county boundary for the validator: the union of a polygon layer, in lon/lat.
#include "validate_support.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/grid/validate.hpp"

#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <set>

namespace wangge::grid {

using detail::unary_union;
using geo::MultiPolygon;

// ---- the county boundary ---------------------------------------------------------------

MultiPolygon read_boundary(const std::string& source, const std::string& layer_name) {
    return read_county(source, layer_name).geometry;
}

CountyBoundary read_county(const std::string& source, const std::string& layer_name,
                           const std::string& code_field) {
    auto ds = geo::Dataset::open_vector(source);
    OGRLayerH layer = nullptr;
    if (!layer_name.empty()) {
        layer = ds.layer(layer_name);
    } else {
        for (int i = 0; i < ds.layer_count() && !layer; ++i) {
            const auto t = wkbFlatten(OGR_L_GetGeomType(ds.layer(i)));
            if (t == wkbPolygon || t == wkbMultiPolygon || ds.layer_count() == 1)
                layer = ds.layer(i);
        }
        if (!layer && ds.layer_count() > 0) layer = ds.layer(0);
    }
    if (!layer) throw InputError("the boundary source has no layers", {.file = source});
    const ErrorContext where{.file = source, .layer = geo::layer_name(layer)};
    auto src = geo::SpatialRef::clone_of(OGR_L_GetSpatialRef(layer));
    if (src.empty()) throw InputError("the boundary layer has no CRS", where);
    const auto wgs84 = geo::SpatialRef::from_user_input("EPSG:4326");
    OGRCoordinateTransformationH ct = nullptr;
    if (!src.is_same(wgs84)) {
        ct = OCTNewCoordinateTransformation(src.get(), wgs84.get());
        if (!ct) throw InputError("no transformation from the boundary's CRS to EPSG:4326", where);
    }
    struct CtGuard {
        OGRCoordinateTransformationH h;
        ~CtGuard() {
            if (h) OCTDestroyCoordinateTransformation(h);
        }
    } guard{ct};

    MultiPolygon all;
    const int code_index = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), code_field.c_str());
    std::set<std::string> codes;
    OGR_L_ResetReading(layer);
    while (geo::FeaturePtr f{OGR_L_GetNextFeature(layer)}) {
        OGRGeometryH g = OGR_F_GetGeometryRef(f.get());
        if (!g) continue;
        if (code_index >= 0 && OGR_F_IsFieldSetAndNotNull(f.get(), code_index)) {
            const std::string c = OGR_F_GetFieldAsString(f.get(), code_index);
            if (c.size() >= 6 &&
                std::all_of(c.begin(), c.end(), [](char d) { return d >= '0' && d <= '9'; }))
                codes.insert(c.substr(0, 6));
            else
                codes.insert("");
        }
        const auto t = wkbFlatten(OGR_G_GetGeometryType(g));
        if (t != wkbPolygon && t != wkbMultiPolygon && !OGR_GT_IsNonLinear(t)) continue;
        if (ct && OGR_G_Transform(g, ct) != OGRERR_NONE)
            throw InputError("boundary coordinates cannot be transformed to EPSG:4326", where);
        try {
            auto mp = geo::to_multipolygon(g);
            all.polygons.insert(all.polygons.end(), mp.polygons.begin(), mp.polygons.end());
        } catch (const InputError&) {
            continue; // curves that are not surfaces
        }
    }
    if (all.empty()) throw InputError("the boundary source holds no polygon", where);
    geo::GeosContext ctx;
    std::vector<GEOSGeometry*> parts;
    for (const auto& p : all.polygons)
        parts.push_back(ctx.from(p).release());
    const auto coll =
        ctx.check(GEOSGeom_createCollection_r(ctx.get(), GEOS_GEOMETRYCOLLECTION, parts.data(),
                                              static_cast<unsigned>(parts.size())),
                  "cannot build a collection");
    return {unary_union(ctx, coll.get()).to_multipolygon(),
            codes.size() == 1 ? *codes.begin() : std::string()};
}

} // namespace wangge::grid
