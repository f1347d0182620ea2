#include "wangge/grid/import.hpp"

#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"

#include <map>
#include <memory>
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

} // namespace

Grid read_grid(const std::string& source, const ImportOptions& opt) {
    std::vector<FeatureProblem> problems;
    return read_grid(source, opt, problems);
}

Grid read_grid(const std::string& source, const ImportOptions& opt,
               std::vector<FeatureProblem>& problems) {
    auto ds = geo::Dataset::open_vector(source);
    OGRLayerH layer = pick_layer(ds, opt.layer);
    const std::string lname = geo::layer_name(layer);
    const ErrorContext where{.file = source, .layer = lname};

    const int i_code = require_field(layer, opt.code_field, source, "--code-field");
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

} // namespace wangge::grid
