#include "wangge/grid/import.hpp"

#include "wangge/base/csv.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"

#include <cmath>
#include <geos_c.h>
#include <map>
#include <memory>
#include <numbers>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <set>

namespace wangge::grid {

namespace {

struct CtDeleter {
    void operator()(OGRCoordinateTransformationH ct) const noexcept {
        if (ct) OCTDestroyCoordinateTransformation(ct);
    }
};
using CtPtr = std::unique_ptr<std::remove_pointer_t<OGRCoordinateTransformationH>, CtDeleter>;

OGRLayerH pick_layer(const geo::Dataset& ds, const std::string& name) {
    if (!name.empty()) return ds.layer(name);
    if (ds.layer_count() == 0) throw InputError("the source has no layers", {.file = ds.path()});
    if (ds.layer_count() == 1) return ds.layer(0);
    for (int i = 0; i < ds.layer_count(); ++i) {
        OGRLayerH l = ds.layer(i);
        const auto t = wkbFlatten(OGR_L_GetGeomType(l));
        if (t == wkbPolygon || t == wkbMultiPolygon) return l;
    }
    std::string have;
    for (const auto& n : ds.layer_names())
        have += (have.empty() ? "" : ", ") + n;
    throw InputError(
        "several layers and none is polygonal; choose one with --layer (layers: " + have + ")",
        {.file = ds.path()});
}

int require_field(OGRLayerH layer, const std::string& name, const std::string& file,
                  const char* option) {
    const int idx = geo::field_index(layer, name);
    if (idx < 0) {
        std::string have;
        for (const auto& n : geo::field_names(layer))
            have += (have.empty() ? "" : ", ") + n;
        throw InputError(std::string("no such field (") + option +
                             "); fields: " + (have.empty() ? "none" : have),
                         {.file = file, .layer = geo::layer_name(layer), .field = name});
    }
    return idx;
}

int optional_field(OGRLayerH layer, const std::string& chosen, const char* fallback,
                   const std::string& file, const char* option) {
    if (!chosen.empty()) return require_field(layer, chosen, file, option);
    return geo::field_index(layer, fallback);
}

// What makes a ring unusable as read ("" when it is usable): GEOS cannot build a polygon
// from it, and said so without naming the feature.
std::string ring_problem(const geo::MultiPolygon& mp) {
    for (std::size_t p = 0; p < mp.polygons.size(); ++p)
        for (std::size_t r = 0; r < mp.polygons[p].rings.size(); ++r) {
            const auto& ring = mp.polygons[p].rings[r];
            const std::string which =
                (r == 0 ? "the outer ring" : "hole " + std::to_string(r)) +
                (mp.polygons.size() > 1 ? " of polygon " + std::to_string(p + 1) : std::string());
            for (const auto& pt : ring)
                if (!std::isfinite(pt.x) || !std::isfinite(pt.y))
                    return which + " has a coordinate that is not a number";
            if (ring.size() < 4)
                return which + " has " + std::to_string(ring.size()) +
                       " points; a ring needs at least 4 (3 corners and the first again)";
            if (!(ring.front() == ring.back())) return which + " is not closed";
        }
    return {};
}

// Cell codes are text (digits): a list, a boolean, a real number or a date in the code field
// is a mistake in the source, not a code.
std::string code_type_problem(OGRFieldDefnH field) {
    const auto type = OGR_Fld_GetType(field);
    const auto subtype = OGR_Fld_GetSubType(field);
    if (type == OFTString && subtype == OFSTNone) return {};
    if ((type == OFTInteger || type == OFTInteger64) && subtype == OFSTNone) return {};
    std::string name = subtype == OFSTBoolean ? "a boolean" : subtype == OFSTJSON ? "JSON" : "";
    if (name.empty()) name = std::string("of type ") + OGR_GetFieldTypeName(type);
    return "the code field holds " + name + " values; cell codes must be strings of digits";
}

} // namespace

Grid read_grid(const std::string& source, const ImportOptions& opt) {
    std::vector<FeatureProblem> problems;
    return read_grid(source, opt, problems);
}

Grid read_grid(const std::string& source, const ImportOptions& opt,
               std::vector<FeatureProblem>& problems) {
    // GDAL reads a GeoJSON "crs" that PROJ does not know as EPSG:4326 after an error
    // message; caught here, that is a refusal unless --src-crs says what the CRS is.
    std::string open_error;
    auto ds = [&] {
        geo::GdalErrorCapture capture;
        auto d = geo::Dataset::open_vector(source);
        open_error = capture.last();
        return d;
    }();
    OGRLayerH layer = [&] {
        geo::GdalErrorCapture capture;
        OGRLayerH l = pick_layer(ds, opt.layer);
        (void)OGR_L_GetSpatialRef(l);
        if (open_error.empty()) open_error = capture.last();
        return l;
    }();
    const std::string lname = geo::layer_name(layer);
    const ErrorContext where{.file = source, .layer = lname};
    if (opt.src_crs.empty() && (open_error.find("crs") != std::string::npos ||
                                open_error.find("CRS") != std::string::npos ||
                                open_error.find("PROJ") != std::string::npos))
        throw InputError("the layer's CRS cannot be read (" + open_error +
                             "); give the real CRS with --src-crs (e.g. EPSG:4546)",
                         where);
    // An empty GeoJSON FeatureCollection has no fields either: say so, not "no such field".
    // (Not forced: counting would read a whole OSM file.)
    if (OGR_L_GetFeatureCount(layer, FALSE) == 0)
        throw InputError("the layer has no features (an empty FeatureCollection?)", where);

    const int i_code = require_field(layer, opt.code_field, source, "--code-field");
    if (const auto why = code_type_problem(OGR_FD_GetFieldDefn(OGR_L_GetLayerDefn(layer), i_code));
        !why.empty())
        throw InputError(why, {.file = source, .layer = lname, .field = opt.code_field});
    const int i_name = optional_field(layer, opt.name_field, "name", source, "--name-field");
    const int i_parent = opt.parent_field.empty()
                             ? -1
                             : require_field(layer, opt.parent_field, source, "--parent-field");
    const int i_households =
        optional_field(layer, opt.households_field, "households", source, "--households-field");
    const int i_population =
        optional_field(layer, opt.population_field, "population", source, "--population-field");

    // The source CRS: --src-crs wins, else the layer's; none is an error, not a guess.
    geo::SpatialRef src = opt.src_crs.empty()
                              ? geo::SpatialRef::clone_of(OGR_L_GetSpatialRef(layer))
                              : geo::SpatialRef::from_user_input(opt.src_crs);
    if (src.empty())
        throw InputError("the layer has no CRS; give it with --src-crs (e.g. EPSG:4546)", where);
    const auto wgs84 = geo::SpatialRef::from_user_input("EPSG:4326");
    CtPtr ct;
    if (!src.is_same(wgs84)) {
        geo::GdalErrorCapture capture;
        ct.reset(OCTNewCoordinateTransformation(src.get(), wgs84.get()));
        if (!ct)
            throw InputError("no transformation from " + src.user_string() +
                                 " to EPSG:4326: " + capture.last(),
                             where);
    }

    if (!opt.where.empty()) {
        geo::GdalErrorCapture capture;
        if (OGR_L_SetAttributeFilter(layer, opt.where.c_str()) != OGRERR_NONE)
            throw InputError("bad --where filter '" + opt.where + "': " + capture.last(), where);
    }

    Grid grid;
    std::map<std::string, std::int64_t> seen; // code -> feature id
    // GDAL's warnings about features (an unclosed ring, say) are not printed: what matters
    // in them is reported by the validator.
    geo::GdalErrorCapture quiet;
    OGR_L_ResetReading(layer);
    while (geo::FeaturePtr feat{OGR_L_GetNextFeature(layer)}) {
        OGRFeatureH f = feat.get();
        const std::int64_t fid = OGR_F_GetFID(f);
        ErrorContext at = where;
        at.feature = fid;

        Cell cell;
        // Kept features are reported against this cell index.
        auto keep = [&](bool geometry, const std::string& message) {
            problems.push_back({grid.cells.size(), fid, geometry, message});
        };
        if (!OGR_F_IsFieldSetAndNotNull(f, i_code) ||
            std::string(OGR_F_GetFieldAsString(f, i_code)).empty()) {
            at.field = opt.code_field;
            if (!opt.keep_unusable_features) throw InputError("the cell code is missing", at);
            keep(false, "feature " + std::to_string(fid) + " has no cell code");
            at.field.clear();
        } else {
            cell.code = OGR_F_GetFieldAsString(f, i_code);
            // A GeoJSON column mixing strings and arrays or objects is read as text.
            if (cell.code.front() == '[' || cell.code.front() == '{') {
                at.field = opt.code_field;
                const std::string why = "the cell code is a JSON " +
                                        std::string(cell.code.front() == '[' ? "array" : "object") +
                                        "; cell codes must be strings of digits";
                if (!opt.keep_unusable_features) throw InputError(why, at);
                keep(false, "feature " + std::to_string(fid) + ": " + why);
                at.field.clear();
            }
        }
        if (auto [it, inserted] = seen.emplace(cell.code, fid);
            !inserted && !opt.allow_duplicate_codes && !cell.code.empty()) {
            at.field = opt.code_field;
            throw DataError("duplicate cell code '" + cell.code + "' (also feature " +
                                std::to_string(it->second) + ")",
                            at);
        }
        if (i_name >= 0) cell.name = OGR_F_GetFieldAsString(f, i_name);
        if (i_households >= 0) cell.households = OGR_F_GetFieldAsInteger64(f, i_households);
        if (i_population >= 0) cell.population = OGR_F_GetFieldAsInteger64(f, i_population);

        if (i_parent >= 0) {
            cell.village_code = OGR_F_GetFieldAsString(f, i_parent);
        } else if (auto parts = split_cell_code(cell.code)) {
            cell.village_code = parts->village;
        }
        if (cell.village_code.size() == 12) {
            cell.township_code = cell.village_code.substr(0, 9);
            cell.county_code = cell.village_code.substr(0, 6);
        }

        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        at.cell = cell.code;
        if (!g && opt.keep_unusable_features) {
            grid.cells.push_back(std::move(cell)); // an empty geometry, reported as such
            continue;
        }
        if (!g) throw InputError("the feature has no geometry", at);
        if (ct) {
            geo::GdalErrorCapture capture;
            if (OGR_G_Transform(g, ct.get()) != OGRERR_NONE) {
                const std::string why =
                    "coordinates cannot be transformed to EPSG:4326: " + capture.last();
                if (!opt.keep_unusable_features) throw InputError(why, at);
                keep(true, "feature " + std::to_string(fid) + ": " + why);
                grid.cells.push_back(std::move(cell));
                continue;
            }
        }
        try {
            cell.geometry = geo::to_multipolygon(g);
            if (const auto why = ring_problem(cell.geometry); !why.empty()) {
                // Strict reading refuses it; the validator reports it as invalid geometry.
                if (!opt.keep_unusable_features) throw InputError(why, at);
            }
        } catch (const InputError& e) {
            if (!opt.keep_unusable_features) throw InputError(e.message(), at);
            keep(true, "feature " + std::to_string(fid) + ": " + e.message());
        }
        grid.cells.push_back(std::move(cell));
    }
    if (grid.cells.empty())
        throw InputError(opt.where.empty() ? "the layer has no features"
                                           : "no feature matches --where " + opt.where,
                         where);
    return grid;
}

std::size_t snap_grid(Grid& grid, double tolerance_m) {
    if (!(tolerance_m > 0) || tolerance_m > 10)
        throw InputError("the snap tolerance must be above 0 and at most 10 m, not " +
                         std::to_string(tolerance_m));
    geo::Box all;
    std::vector<geo::Box> boxes(grid.cells.size());
    for (std::size_t i = 0; i < grid.cells.size(); ++i) {
        for (const auto& poly : grid.cells[i].geometry.polygons)
            for (const auto& ring : poly.rings)
                for (const auto& p : ring)
                    boxes[i].expand(p);
        if (boxes[i].valid()) all.expand(boxes[i]);
    }
    if (!all.valid()) return 0;
    // Degrees of longitude are the shorter ones away from the equator: the tolerance in
    // degrees is taken along them, so it is never less than asked for.
    const double lat = (all.miny + all.maxy) / 2 * std::numbers::pi / 180;
    const double tol = tolerance_m / (111320.0 * std::max(std::cos(lat), 0.01));
    geo::GeosContext ctx;
    std::size_t changed = 0;
    for (std::size_t i = 0; i < grid.cells.size(); ++i) {
        if (!boxes[i].valid()) continue;
        const geo::Box near{boxes[i].minx - tol, boxes[i].miny - tol, boxes[i].maxx + tol,
                            boxes[i].maxy + tol};
        // The neighbours' vertices (as they are now: cells snapped earlier count as moved).
        geo::MultiPolygon others;
        for (std::size_t j = 0; j < grid.cells.size(); ++j)
            if (j != i && boxes[j].valid() && boxes[j].intersects(near))
                others.polygons.insert(others.polygons.end(),
                                       grid.cells[j].geometry.polygons.begin(),
                                       grid.cells[j].geometry.polygons.end());
        if (others.empty()) continue;
        const auto mine = ctx.from(grid.cells[i].geometry);
        const auto ref = ctx.from(others);
        const auto snapped = ctx.check(GEOSSnap_r(ctx.get(), mine.get(), ref.get(), tol), "snap");
        auto mp = snapped.to_multipolygon();
        if (mp == grid.cells[i].geometry) continue;
        grid.cells[i].geometry = std::move(mp);
        ++changed;
    }
    return changed;
}

void derive_units(Grid& grid, const std::function<std::string(const std::string&)>& name_of) {
    std::map<std::string, std::vector<const geo::MultiPolygon*>> villages, townships, counties;
    for (const auto& c : grid.cells) {
        if (!c.village_code.empty()) villages[c.village_code].push_back(&c.geometry);
        if (!c.township_code.empty()) townships[c.township_code].push_back(&c.geometry);
        if (!c.county_code.empty()) counties[c.county_code].push_back(&c.geometry);
    }
    geo::GeosContext ctx;
    grid.units.clear();
    auto add = [&](UnitLevel level, const auto& groups, auto parent_of) {
        for (const auto& [code, parts] : groups)
            grid.units.push_back(
                {level, code, name_of(code), parent_of(code), geo::coverage_union(ctx, parts)});
    };
    add(UnitLevel::county, counties, [](const std::string&) { return std::string(); });
    add(UnitLevel::township, townships, [](const std::string& c) { return c.substr(0, 6); });
    add(UnitLevel::village, villages,
        [](const std::string& c) { return c.size() == 12 ? c.substr(0, 9) : std::string(); });
}

void read_unit_names(const std::string& csv_path, std::map<std::string, std::string>& names) {
    const auto t = base::CsvTable::read(csv_path);
    const std::size_t code_col = t.column("code"), name_col = t.column("name");
    for (const auto& row : t.rows()) {
        const std::string code = t.field(row, code_col);
        const std::string name = t.field(row, name_col);
        if (code.size() < 6 || code.size() > 12 ||
            code.find_first_not_of("0123456789") != std::string::npos)
            throw t.error(row, "'" + code + "' is not a division code (6 to 12 digits)", "code");
        if (name.empty()) throw t.error(row, "unit " + code + " has no name", "name");
        const auto [it, added] = names.emplace(code, name);
        if (!added && it->second != name)
            throw t.error(row,
                          "unit " + code + " is named '" + name + "' here but '" + it->second +
                              "' before",
                          "name");
    }
}

} // namespace wangge::grid
