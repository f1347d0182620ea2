#include "wangge/store/workspace.hpp"

#include "wangge/base/busy.hpp"
#include "wangge/base/clock.hpp"
#include "wangge/base/output_file.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/proj.hpp"

#include <algorithm>
#include <cpl_string.h>
#include <filesystem>
#include <gdal.h>
#include <map>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <sqlite3.h>

namespace wangge::store {

namespace fs = std::filesystem;

namespace {

constexpr const char* format_name = "wangge-workspace";
constexpr const char* format_version = "1";

// A field definition for creating layers.
struct FieldSpec {
    const char* name;
    OGRFieldType type;
};

OGRLayerH create_layer(const geo::Dataset& ds, const char* name, OGRwkbGeometryType geom,
                       const std::vector<FieldSpec>& fields) {
    geo::GdalErrorCapture capture;
    geo::SpatialRef wgs84;
    if (geom != wkbNone) wgs84 = geo::SpatialRef::from_user_input("EPSG:4326");
    const char* opts[] = {"GEOMETRY_NAME=geom", "FID=fid", nullptr};
    OGRLayerH layer =
        GDALDatasetCreateLayer(ds.get(), name, wgs84.get(), geom, const_cast<char**>(opts));
    if (!layer)
        throw StoreError(std::string("cannot create table '") + name + "': " + capture.last(),
                         {.file = ds.path()});
    for (const auto& f : fields) {
        OGRFieldDefnH fd = OGR_Fld_Create(f.name, f.type);
        const OGRErr err = OGR_L_CreateField(layer, fd, TRUE);
        OGR_Fld_Destroy(fd);
        if (err != OGRERR_NONE)
            throw StoreError(std::string("cannot create field '") + f.name + "'",
                             {.file = ds.path(), .layer = name});
    }
    return layer;
}

void exec_sql(const geo::Dataset& ds, const std::string& sql) {
    geo::GdalErrorCapture capture;
    OGRLayerH res = GDALDatasetExecuteSQL(ds.get(), sql.c_str(), nullptr, nullptr);
    if (res) GDALDatasetReleaseResultSet(ds.get(), res);
    if (!capture.last().empty())
        throw StoreError("SQL failed (" + sql + "): " + capture.last(), {.file = ds.path()});
}

std::string get_string(OGRFeatureH f, int idx) {
    if (idx < 0 || !OGR_F_IsFieldSetAndNotNull(f, idx)) return {};
    return OGR_F_GetFieldAsString(f, idx);
}

void set_string(OGRFeatureH f, OGRLayerH layer, const char* field, const std::string& value) {
    OGR_F_SetFieldString(f, geo::field_index(layer, field), value.c_str());
}

void create_feature(OGRLayerH layer, OGRFeatureH f, const std::string& path) {
    geo::GdalErrorCapture capture;
    if (OGR_L_CreateFeature(layer, f) != OGRERR_NONE)
        throw StoreError("cannot write a row: " + capture.last(),
                         {.file = path, .layer = geo::layer_name(layer)});
}

// Iterates the features of a layer under an attribute filter, resetting the filter after.
template <class F> void for_each_feature(OGRLayerH layer, const std::string& filter, F&& f) {
    OGR_L_SetAttributeFilter(layer, filter.empty() ? nullptr : filter.c_str());
    OGR_L_ResetReading(layer);
    while (geo::FeaturePtr feat{OGR_L_GetNextFeature(layer)})
        f(feat.get());
    OGR_L_SetAttributeFilter(layer, nullptr);
}

std::string quote_sql(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

// Appends rows of units and cells tagged with a version (inside the caller's transaction).
void write_unit_rows(const geo::Dataset& ds, const std::vector<AdminUnit>& units, int version) {
    OGRLayerH layer = ds.layer("admin_units");
    for (const auto& u : units) {
        geo::FeaturePtr f{OGR_F_Create(OGR_L_GetLayerDefn(layer))};
        OGR_F_SetFieldInteger(f.get(), geo::field_index(layer, "version"), version);
        set_string(f.get(), layer, "level", std::string(to_string(u.level)));
        set_string(f.get(), layer, "code", u.code);
        set_string(f.get(), layer, "name", u.name);
        set_string(f.get(), layer, "parent_code", u.parent_code);
        if (!u.geometry.empty())
            OGR_F_SetGeometryDirectly(f.get(), geo::to_ogr(u.geometry).release());
        create_feature(layer, f.get(), ds.path());
    }
}

void write_cell_rows(const geo::Dataset& ds, const std::vector<Cell>& cells, int version) {
    OGRLayerH layer = ds.layer("cells");
    const int i_version = geo::field_index(layer, "version");
    const int i_households = geo::field_index(layer, "households");
    const int i_population = geo::field_index(layer, "population");
    for (const auto& c : cells) {
        geo::FeaturePtr f{OGR_F_Create(OGR_L_GetLayerDefn(layer))};
        OGR_F_SetFieldInteger(f.get(), i_version, version);
        set_string(f.get(), layer, "code", c.code);
        set_string(f.get(), layer, "name", c.name);
        set_string(f.get(), layer, "village_code", c.village_code);
        set_string(f.get(), layer, "township_code", c.township_code);
        set_string(f.get(), layer, "county_code", c.county_code);
        OGR_F_SetFieldInteger64(f.get(), i_households, c.households);
        OGR_F_SetFieldInteger64(f.get(), i_population, c.population);
        OGR_F_SetGeometryDirectly(f.get(), geo::to_ogr(c.geometry).release());
        try {
            create_feature(layer, f.get(), ds.path());
        } catch (const StoreError& e) {
            throw StoreError(e.message(), {.file = ds.path(), .layer = "cells", .cell = c.code});
        }
    }
}

} // namespace

Workspace Workspace::create(const std::string& path) {
    if (fs::exists(path)) throw InputError("workspace already exists", ErrorContext{.file = path});
    Workspace ws(geo::Dataset::create_vector(path, "GPKG"));
    try {
        ws.create_schema();
    } catch (...) {
        ws.m_ds = geo::Dataset();
        fs::remove(path);
        throw;
    }
    return ws;
}

void Workspace::create_schema() {
    geo::Transaction tx(m_ds);
    create_layer(m_ds, "wangge_meta", wkbNone, {{"key", OFTString}, {"value", OFTString}});
    create_layer(m_ds, "grid_versions", wkbNone,
                 {{"version", OFTInteger},
                  {"created_at", OFTString},
                  {"note", OFTString},
                  {"source", OFTString},
                  {"parent", OFTInteger},
                  {"validation_report", OFTString},
                  {"state", OFTString},
                  {"effective_from", OFTString},
                  {"published_at", OFTString},
                  {"author", OFTString}});
    create_layer(m_ds, "admin_units", wkbMultiPolygon,
                 {{"version", OFTInteger},
                  {"level", OFTString},
                  {"code", OFTString},
                  {"name", OFTString},
                  {"parent_code", OFTString}});
    create_layer(m_ds, "cells", wkbMultiPolygon,
                 {{"version", OFTInteger},
                  {"code", OFTString},
                  {"name", OFTString},
                  {"village_code", OFTString},
                  {"township_code", OFTString},
                  {"county_code", OFTString},
                  {"households", OFTInteger64},
                  {"population", OFTInteger64}});
    create_layer(m_ds, "imagery", wkbNone,
                 {{"name", OFTString},
                  {"path", OFTString},
                  {"attribution", OFTString},
                  {"generated", OFTInteger}});
    tx.commit();
    exec_sql(m_ds, "CREATE UNIQUE INDEX cells_version_code ON cells(version, code)");
    exec_sql(m_ds, "CREATE INDEX admin_units_version ON admin_units(version, level)");
    set_meta("format", format_name);
    set_meta("format_version", format_version);
}

namespace {
// A write killed mid-transaction leaves a hot journal ("<path>-journal") that SQLite rolls back
// on the next open, which a read-only connection cannot do ("attempt to write a readonly
// database"). Roll it back here with a short read-write connection, or say what to run.
void roll_back_interrupted_write(const std::string& path) {
    std::error_code ec;
    if (fs::file_size(path + "-journal", ec) == 0 || ec) return;
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    if (rc == SQLITE_OK) {
        // A writer that is still alive finishes first.
        sqlite3_busy_timeout(db, base::busy_timeout_ms());
        rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    }
    const std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    if (rc != SQLITE_OK)
        throw StoreError("an interrupted write left " + path +
                             "-journal, and rolling it back failed (" + why + "); run 'sqlite3 " +
                             path + " \"PRAGMA integrity_check\"' as a user who may write the file",
                         ErrorContext{.file = path});
}
} // namespace

Workspace Workspace::open(const std::string& path, bool update) {
    if (!fs::exists(path))
        throw InputError("no such workspace (create one with 'wangge grid import' or "
                         "'wangge sample jishan')",
                         ErrorContext{.file = path});
    if (!update) roll_back_interrupted_write(path);
    Workspace ws(geo::Dataset::open_vector(path, update ? geo::Dataset::Mode::update
                                                        : geo::Dataset::Mode::read));
    if (!GDALDatasetGetLayerByName(ws.m_ds.get(), "wangge_meta") ||
        ws.meta("format") != std::optional<std::string>(format_name))
        throw InputError("not a wangge workspace", ErrorContext{.file = path});
    return ws;
}

std::optional<std::string> Workspace::meta(const std::string& key) const {
    OGRLayerH layer = m_ds.layer("wangge_meta");
    std::optional<std::string> out;
    for_each_feature(layer, "key = " + quote_sql(key),
                     [&](OGRFeatureH f) { out = get_string(f, geo::field_index(layer, "value")); });
    return out;
}

void Workspace::set_meta(const std::string& key, const std::string& value) {
    OGRLayerH layer = m_ds.layer("wangge_meta");
    geo::Transaction tx(m_ds);
    exec_sql(m_ds, "DELETE FROM wangge_meta WHERE key = " + quote_sql(key));
    geo::FeaturePtr f{OGR_F_Create(OGR_L_GetLayerDefn(layer))};
    set_string(f.get(), layer, "key", key);
    set_string(f.get(), layer, "value", value);
    create_feature(layer, f.get(), path());
    tx.commit();
}

std::optional<int> Workspace::current_version() const {
    const auto v = meta("current_version");
    if (!v || v->empty()) return std::nullopt;
    return std::stoi(*v);
}

std::vector<VersionInfo> Workspace::versions() const {
    OGRLayerH layer = m_ds.layer("grid_versions");
    const auto current = current_version();
    std::vector<VersionInfo> out;
    for_each_feature(layer, "", [&](OGRFeatureH f) {
        VersionInfo v;
        v.id = OGR_F_GetFieldAsInteger(f, geo::field_index(layer, "version"));
        v.created_at = get_string(f, geo::field_index(layer, "created_at"));
        v.note = get_string(f, geo::field_index(layer, "note"));
        v.source = get_string(f, geo::field_index(layer, "source"));
        const int pi = geo::field_index(layer, "parent");
        if (OGR_F_IsFieldSetAndNotNull(f, pi)) v.parent = OGR_F_GetFieldAsInteger(f, pi);
        v.validation_report = get_string(f, geo::field_index(layer, "validation_report"));
        v.current = current && *current == v.id;
        v.state = get_string(f, geo::field_index(layer, "state"));
        v.effective_from = get_string(f, geo::field_index(layer, "effective_from"));
        v.published_at = get_string(f, geo::field_index(layer, "published_at"));
        v.author = get_string(f, geo::field_index(layer, "author"));
        out.push_back(std::move(v));
    });
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

VersionInfo Workspace::version(int id) const {
    for (auto& v : versions())
        if (v.id == id) return v;
    throw InputError("no grid version " + std::to_string(id), {.file = path()});
}

int Workspace::resolve_version(std::optional<int> version) const {
    if (version) {
        (void)this->version(*version); // throws when missing
        return *version;
    }
    const auto cur = current_version();
    if (!cur) throw InputError("the workspace holds no grid yet", {.file = path()});
    return *cur;
}

int Workspace::add_version(const NewVersion& nv) {
    return insert_version(nv, current_version(), false);
}

int Workspace::add_draft(const NewVersion& nv, int parent) {
    (void)version(parent); // throws when missing
    ensure_version_fields();
    return insert_version(nv, parent, true);
}

void Workspace::ensure_version_fields() {
    OGRLayerH layer = m_ds.layer("grid_versions");
    for (const char* name : {"state", "effective_from", "published_at", "author"}) {
        if (geo::field_index(layer, name) >= 0) continue;
        OGRFieldDefnH fd = OGR_Fld_Create(name, OFTString);
        const OGRErr err = OGR_L_CreateField(layer, fd, TRUE);
        OGR_Fld_Destroy(fd);
        if (err != OGRERR_NONE)
            throw StoreError(std::string("cannot add field '") + name + "'",
                             {.file = path(), .layer = "grid_versions"});
    }
}

int Workspace::insert_version(const NewVersion& nv, std::optional<int> parent, bool draft) {
    if (nv.grid.cells.empty()) throw InputError("a grid version needs at least one cell");
    int id = 1;
    for (const auto& v : versions())
        id = std::max(id, v.id + 1);

    // Choose the metric CRS from the data the first time.
    if (!meta("metric_crs")) {
        const auto b = nv.grid.bounds();
        set_meta("metric_crs",
                 geo::suggest_metric_crs((b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2));
    }

    geo::Transaction tx(m_ds);
    {
        OGRLayerH layer = m_ds.layer("grid_versions");
        geo::FeaturePtr f{OGR_F_Create(OGR_L_GetLayerDefn(layer))};
        OGR_F_SetFieldInteger(f.get(), geo::field_index(layer, "version"), id);
        set_string(f.get(), layer, "created_at",
                   nv.created_at.empty() ? base::utc_now_text() : nv.created_at);
        set_string(f.get(), layer, "note", nv.note);
        set_string(f.get(), layer, "source", nv.source);
        if (parent) OGR_F_SetFieldInteger(f.get(), geo::field_index(layer, "parent"), *parent);
        if (!nv.validation_report.empty())
            set_string(f.get(), layer, "validation_report", nv.validation_report);
        if (draft) set_string(f.get(), layer, "state", "draft");
        if (!nv.author.empty() && geo::field_index(layer, "author") >= 0)
            set_string(f.get(), layer, "author", nv.author);
        create_feature(layer, f.get(), path());
    }
    write_unit_rows(m_ds, nv.grid.units, id);
    write_cell_rows(m_ds, nv.grid.cells, id);
    if (!draft) {
        exec_sql(m_ds, "DELETE FROM wangge_meta WHERE key = 'current_version'");
        OGRLayerH layer = m_ds.layer("wangge_meta");
        geo::FeaturePtr f{OGR_F_Create(OGR_L_GetLayerDefn(layer))};
        set_string(f.get(), layer, "key", "current_version");
        set_string(f.get(), layer, "value", std::to_string(id));
        create_feature(layer, f.get(), path());
    }
    tx.commit();
    return id;
}

void Workspace::update_draft(int id, const DraftUpdate& u) {
    if (!version(id).draft())
        throw InputError("grid version " + std::to_string(id) +
                             " is not a draft (published versions never change)",
                         {.file = path()});
    const auto in_list = [](const std::vector<std::string>& codes) {
        std::string list;
        for (const auto& c : codes) {
            if (!list.empty()) list += ',';
            list += quote_sql(c);
        }
        return list;
    };
    std::vector<std::string> cell_codes = u.removed_cells, unit_codes = u.removed_units;
    for (const auto& c : u.cells)
        cell_codes.push_back(c.code);
    for (const auto& x : u.units)
        unit_codes.push_back(x.code);
    const std::string v = std::to_string(id);
    geo::Transaction tx(m_ds);
    if (!cell_codes.empty())
        exec_sql(m_ds, "DELETE FROM cells WHERE version = " + v + " AND code IN (" +
                           in_list(cell_codes) + ")");
    if (!unit_codes.empty())
        exec_sql(m_ds, "DELETE FROM admin_units WHERE version = " + v + " AND code IN (" +
                           in_list(unit_codes) + ")");
    write_unit_rows(m_ds, u.units, id);
    write_cell_rows(m_ds, u.cells, id);
    exec_sql(m_ds, "UPDATE grid_versions SET validation_report = " +
                       quote_sql(u.validation_report) + " WHERE version = " + v);
    tx.commit();
}

std::optional<int> Workspace::latest_draft() const {
    std::optional<int> out;
    for (const auto& v : versions())
        if (v.draft()) out = v.id;
    return out;
}

int Workspace::version_at(const std::string& local_time) const {
    std::optional<VersionInfo> best;
    for (auto& v : versions()) {
        if (v.draft() || v.effective_from > local_time) continue;
        // ISO texts of one shape order like the times; "" (always) sorts first.
        if (!best || v.effective_from > best->effective_from ||
            (v.effective_from == best->effective_from && v.id > best->id))
            best = std::move(v);
    }
    if (!best) throw InputError("no grid version was in force at " + local_time, {.file = path()});
    return best->id;
}

void Workspace::set_current(int version) {
    (void)this->version(version);
    set_meta("current_version", std::to_string(version));
}

Grid Workspace::grid(std::optional<int> version) const {
    const int v = resolve_version(version);
    const std::string filter = "version = " + std::to_string(v);
    Grid g;
    {
        OGRLayerH layer = m_ds.layer("admin_units");
        const int i_level = geo::field_index(layer, "level"),
                  i_code = geo::field_index(layer, "code"),
                  i_name = geo::field_index(layer, "name"),
                  i_parent = geo::field_index(layer, "parent_code");
        for_each_feature(layer, filter, [&](OGRFeatureH f) {
            AdminUnit u;
            u.level = unit_level_from(get_string(f, i_level));
            u.code = get_string(f, i_code);
            u.name = get_string(f, i_name);
            u.parent_code = get_string(f, i_parent);
            if (OGRGeometryH geom = OGR_F_GetGeometryRef(f))
                u.geometry = geo::to_multipolygon(geom);
            g.units.push_back(std::move(u));
        });
    }
    {
        OGRLayerH layer = m_ds.layer("cells");
        const int i_code = geo::field_index(layer, "code"),
                  i_name = geo::field_index(layer, "name"),
                  i_village = geo::field_index(layer, "village_code"),
                  i_township = geo::field_index(layer, "township_code"),
                  i_county = geo::field_index(layer, "county_code"),
                  i_households = geo::field_index(layer, "households"),
                  i_population = geo::field_index(layer, "population");
        for_each_feature(layer, filter, [&](OGRFeatureH f) {
            Cell c;
            c.code = get_string(f, i_code);
            c.name = get_string(f, i_name);
            c.village_code = get_string(f, i_village);
            c.township_code = get_string(f, i_township);
            c.county_code = get_string(f, i_county);
            c.households = OGR_F_GetFieldAsInteger64(f, i_households);
            c.population = OGR_F_GetFieldAsInteger64(f, i_population);
            try {
                c.geometry = geo::to_multipolygon(OGR_F_GetGeometryRef(f));
            } catch (const InputError& e) {
                throw StoreError(e.message(), {.file = path(), .layer = "cells", .cell = c.code});
            }
            g.cells.push_back(std::move(c));
        });
    }
    return g;
}

std::map<std::string, std::string> Workspace::unit_names() const {
    OGRLayerH layer = m_ds.layer("admin_units");
    const int i_code = geo::field_index(layer, "code"), i_name = geo::field_index(layer, "name");
    const char* ignored[] = {"OGR_GEOMETRY", nullptr};
    OGR_L_SetIgnoredFields(layer, ignored);
    std::map<std::string, std::string> names;
    // Rows come in insertion order, so a later version's name replaces an earlier one.
    for_each_feature(layer, "", [&](OGRFeatureH f) {
        if (auto name = get_string(f, i_name); !name.empty()) names[get_string(f, i_code)] = name;
    });
    OGR_L_SetIgnoredFields(layer, nullptr);
    return names;
}

std::string Workspace::metric_crs() const {
    if (auto m = meta("metric_crs")) return *m;
    if (const auto cur = current_version()) {
        const auto b = grid(*cur).bounds();
        return geo::suggest_metric_crs((b.minx + b.maxx) / 2, (b.miny + b.maxy) / 2);
    }
    return "EPSG:3857";
}

void Workspace::register_imagery(const ImageryInfo& info) {
    OGRLayerH layer = m_ds.layer("imagery");
    geo::Transaction tx(m_ds);
    exec_sql(m_ds, "DELETE FROM imagery WHERE name = " + quote_sql(info.name));
    geo::FeaturePtr f{OGR_F_Create(OGR_L_GetLayerDefn(layer))};
    set_string(f.get(), layer, "name", info.name);
    set_string(f.get(), layer, "path", info.path);
    set_string(f.get(), layer, "attribution", info.attribution);
    OGR_F_SetFieldInteger(f.get(), geo::field_index(layer, "generated"), info.generated ? 1 : 0);
    create_feature(layer, f.get(), path());
    tx.commit();
}

std::vector<ImageryInfo> Workspace::imagery() const {
    OGRLayerH layer = m_ds.layer("imagery");
    std::vector<ImageryInfo> out;
    for_each_feature(layer, "", [&](OGRFeatureH f) {
        out.push_back({get_string(f, geo::field_index(layer, "name")),
                       get_string(f, geo::field_index(layer, "path")),
                       get_string(f, geo::field_index(layer, "attribution")),
                       OGR_F_GetFieldAsInteger(f, geo::field_index(layer, "generated")) != 0});
    });
    return out;
}

void export_grid(const Grid& g, const std::string& out_path, int version) {
    const std::string driver = geo::Dataset::vector_driver_for(out_path);
    // Written into a private folder first, then moved into place file by file (a Shapefile is
    // several files), so a failure never leaves a half-written output behind.
    auto output = base::OutputFile::files(out_path);
    const std::string tmp = output.path().string();
    std::vector<std::string> layer_opts;
    if (driver == "GeoJSON") layer_opts = {"SIGNIFICANT_FIGURES=17", "WRITE_NAME=NO"};
    {
        auto ds = geo::Dataset::create_vector(tmp, driver);
        geo::SpatialRef wgs84 = geo::SpatialRef::from_user_input("EPSG:4326");
        geo::GdalErrorCapture capture;
        CPLStringList opts;
        for (const auto& o : layer_opts)
            opts.AddString(o.c_str());
        OGRLayerH layer =
            GDALDatasetCreateLayer(ds.get(), "cells", wgs84.get(), wkbMultiPolygon, opts.List());
        if (!layer) throw StoreError("cannot create layer: " + capture.last(), {.file = out_path});
        const std::vector<FieldSpec> fields = {
            {"code", OFTString},          {"name", OFTString},         {"village_code", OFTString},
            {"township_code", OFTString}, {"county_code", OFTString},  {"households", OFTInteger64},
            {"population", OFTInteger64}, {"grid_version", OFTInteger}};
        for (const auto& fsp : fields) {
            OGRFieldDefnH fd = OGR_Fld_Create(fsp.name, fsp.type);
            OGR_L_CreateField(layer, fd, TRUE);
            OGR_Fld_Destroy(fd);
        }
        const bool transactional = GDALDatasetTestCapability(ds.get(), ODsCTransactions);
        if (transactional) GDALDatasetStartTransaction(ds.get(), FALSE);
        for (const auto& c : g.cells) {
            geo::FeaturePtr f{OGR_F_Create(OGR_L_GetLayerDefn(layer))};
            set_string(f.get(), layer, "code", c.code);
            set_string(f.get(), layer, "name", c.name);
            set_string(f.get(), layer, "village_code", c.village_code);
            set_string(f.get(), layer, "township_code", c.township_code);
            set_string(f.get(), layer, "county_code", c.county_code);
            OGR_F_SetFieldInteger64(f.get(), geo::field_index(layer, "households"), c.households);
            OGR_F_SetFieldInteger64(f.get(), geo::field_index(layer, "population"), c.population);
            OGR_F_SetFieldInteger(f.get(), geo::field_index(layer, "grid_version"), version);
            OGR_F_SetGeometryDirectly(f.get(), geo::to_ogr(c.geometry).release());
            create_feature(layer, f.get(), out_path);
        }
        if (transactional) GDALDatasetCommitTransaction(ds.get());
        ds.close();
    }
    output.commit();
}

} // namespace wangge::store
