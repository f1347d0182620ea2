#include "wangge/geo/gdal.hpp"

#include "wangge/base/busy.hpp"

#include <algorithm>
#include <cctype>
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <filesystem>
#include <gdal.h>
#include <mutex>
#include <ogr_api.h>
#include <ogr_srs_api.h>

namespace wangge::geo {

void gdal_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        GDALAllRegister();
        // Hermetic: no network access for remote files or PROJ grids.
        CPLSetConfigOption("GDAL_HTTP_TIMEOUT", "1");
        CPLSetConfigOption("OSM_USE_CUSTOM_INDEXING", "YES");
        // GDAL's own SQLite connections wait for another writer as long as ours do (5 s
        // otherwise, then "database is locked").
        CPLSetConfigOption("SQLITE_BUSY_TIMEOUT", std::to_string(base::busy_timeout_ms()).c_str());
    });
}

// ---- error capture -------------------------------------------------------------------

namespace {
thread_local std::string t_last_error;

void CPL_STDCALL capture_handler(CPLErr cls, CPLErrorNum, const char* msg) {
    if (cls >= CE_Failure && msg) t_last_error = msg;
}
} // namespace

GdalErrorCapture::GdalErrorCapture() {
    t_last_error.clear();
    CPLPushErrorHandler(capture_handler);
}

GdalErrorCapture::~GdalErrorCapture() {
    CPLPopErrorHandler();
}

std::string GdalErrorCapture::last() const {
    return t_last_error;
}

// ---- spatial references --------------------------------------------------------------

SpatialRef::SpatialRef() = default;

SpatialRef::~SpatialRef() {
    if (m_h) OSRRelease(m_h);
}

SpatialRef& SpatialRef::operator=(SpatialRef&& o) noexcept {
    if (this != &o) {
        if (m_h) OSRRelease(m_h);
        m_h = o.m_h;
        o.m_h = nullptr;
    }
    return *this;
}

SpatialRef SpatialRef::from_user_input(const std::string& text) {
    gdal_init();
    GdalErrorCapture capture;
    OGRSpatialReferenceH h = OSRNewSpatialReference(nullptr);
    SpatialRef srs(h);
    if (OSRSetFromUserInput(h, text.c_str()) != OGRERR_NONE) {
        const auto why = capture.last();
        throw InputError("unknown CRS '" + text + "'" + (why.empty() ? "" : ": " + why));
    }
    OSRSetAxisMappingStrategy(h, OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

SpatialRef SpatialRef::clone_of(OGRSpatialReferenceH borrowed) {
    if (!borrowed) return {};
    OGRSpatialReferenceH h = OSRClone(borrowed);
    OSRSetAxisMappingStrategy(h, OAMS_TRADITIONAL_GIS_ORDER);
    return SpatialRef(h);
}

bool SpatialRef::is_geographic() const {
    return m_h && OSRIsGeographic(m_h);
}

bool SpatialRef::is_same(const SpatialRef& other) const {
    if (!m_h || !other.m_h) return false;
    const char* opts[] = {"IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", "CRITERION=EQUIVALENT",
                          nullptr};
    return OSRIsSameEx(m_h, other.m_h, opts) != 0;
}

std::string SpatialRef::user_string() const {
    if (!m_h) return {};
    // AutoIdentifyEPSG may modify, so work on a clone.
    SpatialRef copy = clone_of(m_h);
    OSRAutoIdentifyEPSG(copy.m_h);
    const char* auth = OSRGetAuthorityName(copy.m_h, nullptr);
    const char* code = OSRGetAuthorityCode(copy.m_h, nullptr);
    if (auth && code) return std::string(auth) + ":" + code;
    return wkt();
}

std::string SpatialRef::wkt() const {
    if (!m_h) return {};
    char* out = nullptr;
    const char* opts[] = {"FORMAT=WKT2_2019", nullptr};
    OSRExportToWktEx(m_h, &out, opts);
    std::string s = out ? out : "";
    CPLFree(out);
    return s;
}

// ---- geometries ----------------------------------------------------------------------

void GeometryDeleter::operator()(void* g) const noexcept {
    if (g) OGR_G_DestroyGeometry(static_cast<OGRGeometryH>(g));
}

void FeatureDeleter::operator()(void* f) const noexcept {
    if (f) OGR_F_Destroy(static_cast<OGRFeatureH>(f));
}

GeometryPtr to_ogr(const MultiPolygon& mp) {
    const auto wkb = to_wkb(mp);
    OGRGeometryH g = nullptr;
    if (OGR_G_CreateFromWkb(wkb.data(), nullptr, &g, static_cast<int>(wkb.size())) != OGRERR_NONE)
        throw LibraryError("OGR: cannot build a geometry from WKB");
    return GeometryPtr(g);
}

MultiPolygon to_multipolygon(OGRGeometryH g) {
    if (!g) throw InputError("geometry is missing");
    const auto flat = wkbFlatten(OGR_G_GetGeometryType(g));
    GeometryPtr linear;
    if (OGR_GT_IsNonLinear(flat)) {
        linear.reset(OGR_G_GetLinearGeometry(g, 0, nullptr));
        g = linear.get();
    }
    const auto type = wkbFlatten(OGR_G_GetGeometryType(g));
    if (type != wkbPolygon && type != wkbMultiPolygon)
        throw InputError(std::string("geometry is a ") + OGR_G_GetGeometryName(g) +
                         ", not a polygon or multipolygon");
    MultiPolygon mp;
    auto read_polygon = [](OGRGeometryH poly) {
        Polygon out;
        const int nrings = OGR_G_GetGeometryCount(poly);
        out.rings.resize(static_cast<std::size_t>(nrings));
        for (int r = 0; r < nrings; ++r) {
            OGRGeometryH ring = OGR_G_GetGeometryRef(poly, r);
            const int n = OGR_G_GetPointCount(ring);
            auto& pts = out.rings[static_cast<std::size_t>(r)];
            pts.resize(static_cast<std::size_t>(n));
            if (n > 0)
                OGR_G_GetPoints(ring, &pts[0].x, sizeof(Point), &pts[0].y, sizeof(Point), nullptr,
                                0);
        }
        return out;
    };
    if (type == wkbPolygon) {
        if (!OGR_G_IsEmpty(g)) mp.polygons.push_back(read_polygon(g));
    } else {
        const int n = OGR_G_GetGeometryCount(g);
        for (int i = 0; i < n; ++i) {
            OGRGeometryH part = OGR_G_GetGeometryRef(g, i);
            if (!OGR_G_IsEmpty(part)) mp.polygons.push_back(read_polygon(part));
        }
    }
    return mp;
}

// ---- datasets ------------------------------------------------------------------------

namespace {
GDALDatasetH open_ex(const std::string& path, unsigned flags) {
    gdal_init();
    GdalErrorCapture capture;
    GDALDatasetH h = GDALOpenEx(path.c_str(), flags, nullptr, nullptr, nullptr);
    if (!h) {
        std::string why = capture.last();
        if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2); // path is in context
        if (why.empty())
            why = std::filesystem::exists(path) ? "not a format GDAL can read"
                                                : "No such file or directory";
        if (why.find("database is locked") != std::string::npos)
            why += " (another command kept it locked for more than " +
                   std::to_string(base::busy_timeout_ms() / 1000) +
                   " s; WANGGE_BUSY_TIMEOUT sets the wait in seconds; try again)";
        throw InputError("cannot open: " + why, ErrorContext{.file = path});
    }
    return h;
}
} // namespace

Dataset Dataset::open_vector(const std::string& path, Mode mode) {
    unsigned flags = GDAL_OF_VECTOR | GDAL_OF_VERBOSE_ERROR;
    flags |= mode == Mode::update ? GDAL_OF_UPDATE : GDAL_OF_READONLY;
    return Dataset(open_ex(path, flags), path);
}

Dataset Dataset::open_raster(const std::string& path, Mode mode) {
    unsigned flags = GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR;
    flags |= mode == Mode::update ? GDAL_OF_UPDATE : GDAL_OF_READONLY;
    return Dataset(open_ex(path, flags), path);
}

namespace {
GDALDriverH find_driver(const std::string& driver) {
    gdal_init();
    GDALDriverH drv = GDALGetDriverByName(driver.c_str());
    if (!drv) throw LibraryError("GDAL has no driver '" + driver + "'");
    return drv;
}

CPLStringList to_options(const std::vector<std::string>& options) {
    CPLStringList opts;
    for (const auto& o : options)
        opts.AddString(o.c_str());
    return opts;
}
} // namespace

Dataset Dataset::create_vector(const std::string& path, const std::string& driver,
                               const std::vector<std::string>& options) {
    return create_raster(path, driver, 0, 0, 0, GDT_Unknown, options);
}

Dataset Dataset::create_raster(const std::string& path, const std::string& driver, int width,
                               int height, int bands, int type,
                               const std::vector<std::string>& options) {
    GDALDriverH drv = find_driver(driver);
    GdalErrorCapture capture;
    const CPLStringList opts = to_options(options);
    GDALDatasetH h = GDALCreate(drv, path.c_str(), width, height, bands,
                                static_cast<GDALDataType>(type), opts.List());
    if (!h)
        throw InputError("cannot create (" + driver + "): " + capture.last(),
                         ErrorContext{.file = path});
    return Dataset(h, path);
}

Dataset Dataset::create_copy(const std::string& path, const std::string& driver, const Dataset& src,
                             const std::vector<std::string>& options) {
    GDALDriverH drv = find_driver(driver);
    GdalErrorCapture capture;
    const CPLStringList opts = to_options(options);
    GDALDatasetH h =
        GDALCreateCopy(drv, path.c_str(), src.get(), FALSE, opts.List(), nullptr, nullptr);
    if (!h)
        throw InputError("cannot write (" + driver + "): " + capture.last(),
                         ErrorContext{.file = path});
    return Dataset(h, path);
}

std::string Dataset::vector_driver_for(const std::string& path) {
    gdal_init();
    std::string ext = std::filesystem::path(path).extension().string();
    if (!ext.empty() && ext[0] == '.') ext.erase(0, 1);
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext.empty())
        throw InputError("cannot tell the output format: no file extension",
                         ErrorContext{.file = path});
    // Preferred drivers first where several claim an extension.
    static const std::pair<const char*, const char*> preferred[] = {
        {"geojson", "GeoJSON"}, {"json", "GeoJSON"}, {"gpkg", "GPKG"}, {"shp", "ESRI Shapefile"},
        {"fgb", "FlatGeobuf"},  {"csv", "CSV"},      {"kml", "KML"},   {"gml", "GML"},
        {"sqlite", "SQLite"}};
    for (const auto& [e, d] : preferred)
        if (ext == e && GDALGetDriverByName(d)) return d;
    const int n = GDALGetDriverCount();
    for (int i = 0; i < n; ++i) {
        GDALDriverH drv = GDALGetDriver(i);
        const char* vec = GDALGetMetadataItem(drv, GDAL_DCAP_VECTOR, nullptr);
        const char* create = GDALGetMetadataItem(drv, GDAL_DCAP_CREATE, nullptr);
        const char* exts = GDALGetMetadataItem(drv, GDAL_DMD_EXTENSIONS, nullptr);
        if (!vec || !create || !exts) continue;
        const CPLStringList list(CSLTokenizeString(exts));
        for (int k = 0; k < list.size(); ++k)
            if (EQUAL(list[k], ext.c_str())) return GDALGetDriverShortName(drv);
    }
    throw InputError("no vector format writes '." + ext + "' files", ErrorContext{.file = path});
}

Dataset::~Dataset() {
    if (m_h) GDALClose(m_h);
}

Dataset& Dataset::operator=(Dataset&& o) noexcept {
    if (this != &o) {
        if (m_h) GDALClose(m_h);
        m_h = o.m_h;
        m_path = std::move(o.m_path);
        o.m_h = nullptr;
    }
    return *this;
}

void Dataset::close() {
    if (!m_h) return;
    GdalErrorCapture capture;
    GDALDatasetH h = m_h;
    m_h = nullptr;
    GDALClose(h);
    if (!capture.last().empty())
        throw StoreError("closing failed: " + capture.last(), ErrorContext{.file = m_path});
}

OGRLayerH Dataset::layer(const std::string& name) const {
    OGRLayerH l = GDALDatasetGetLayerByName(m_h, name.c_str());
    if (!l) {
        std::string have;
        for (const auto& n : layer_names())
            have += (have.empty() ? "" : ", ") + n;
        throw InputError("no layer '" + name + "' (layers: " + (have.empty() ? "none" : have) + ")",
                         ErrorContext{.file = m_path});
    }
    return l;
}

OGRLayerH Dataset::layer(int index) const {
    OGRLayerH l = GDALDatasetGetLayer(m_h, index);
    if (!l) throw InputError("no layer number " + std::to_string(index), {.file = m_path});
    return l;
}

int Dataset::layer_count() const {
    return GDALDatasetGetLayerCount(m_h);
}

std::vector<std::string> Dataset::layer_names() const {
    std::vector<std::string> out;
    for (int i = 0; i < layer_count(); ++i)
        out.emplace_back(OGR_L_GetName(GDALDatasetGetLayer(m_h, i)));
    return out;
}

// ---- transactions --------------------------------------------------------------------

Transaction::Transaction(const Dataset& ds) : m_ds(ds.get()) {
    GdalErrorCapture capture;
    if (GDALDatasetStartTransaction(m_ds, FALSE) != OGRERR_NONE)
        throw StoreError("cannot start a transaction: " + capture.last(), {.file = ds.path()});
    m_open = true;
}

Transaction::~Transaction() {
    if (m_open) GDALDatasetRollbackTransaction(m_ds);
}

void Transaction::commit() {
    GdalErrorCapture capture;
    m_open = false;
    if (GDALDatasetCommitTransaction(m_ds) != OGRERR_NONE)
        throw StoreError("commit failed: " + capture.last());
}

// ---- fields --------------------------------------------------------------------------

int field_index(OGRLayerH layer, const std::string& name) {
    return OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), name.c_str());
}

std::vector<std::string> field_names(OGRLayerH layer) {
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    std::vector<std::string> out;
    for (int i = 0; i < OGR_FD_GetFieldCount(defn); ++i)
        out.emplace_back(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)));
    return out;
}

std::string layer_name(OGRLayerH layer) {
    return OGR_L_GetName(layer);
}

} // namespace wangge::geo
