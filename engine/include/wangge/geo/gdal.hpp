// GDAL/OGR behind RAII. Ownership: every class here owns its handle exclusively (copy
// deleted, move defined); raw handles returned by get() are non-owning and live as long as
// their owner. A Dataset must be used by one thread at a time (GDAL is re-entrant, not
// thread-safe per dataset).
#pragma once

#include "wangge/error.hpp"
#include "wangge/geo/geometry.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

// Opaque GDAL handles, declared here so this header does not pull in gdal.h.
using GDALDatasetH = void*;
using OGRSpatialReferenceH = void*;
using OGRGeometryH = void*;
using OGRFeatureH = void*;
using OGRLayerH = void*;

namespace wangge::geo {

// Registers GDAL drivers once per process (thread-safe).
void gdal_init();

// While alive, captures GDAL/CPL errors raised on this thread instead of printing them, so
// they can be put into exception messages. Nests.
class GdalErrorCapture {
  public:
    GdalErrorCapture();
    ~GdalErrorCapture();
    GdalErrorCapture(const GdalErrorCapture&) = delete;
    GdalErrorCapture& operator=(const GdalErrorCapture&) = delete;
    // The last error message captured, or "" when none.
    [[nodiscard]] std::string last() const;
};

class SpatialRef {
  public:
    SpatialRef(); // empty
    // "EPSG:4546", a WKT, a PROJ string, anything OSRSetFromUserInput takes. Throws
    // InputError naming the text when it is not a CRS.
    static SpatialRef from_user_input(const std::string& text);
    // Takes a clone of a handle owned elsewhere (e.g. a layer's), or empty for nullptr.
    static SpatialRef clone_of(OGRSpatialReferenceH borrowed);
    ~SpatialRef();
    SpatialRef(const SpatialRef&) = delete;
    SpatialRef& operator=(const SpatialRef&) = delete;
    SpatialRef(SpatialRef&& o) noexcept : m_h(o.m_h) { o.m_h = nullptr; }
    SpatialRef& operator=(SpatialRef&& o) noexcept;

    [[nodiscard]] bool empty() const noexcept { return m_h == nullptr; }
    [[nodiscard]] OGRSpatialReferenceH get() const noexcept { return m_h; }
    [[nodiscard]] bool is_geographic() const;
    [[nodiscard]] bool is_same(const SpatialRef& other) const;
    // "EPSG:4326" when the CRS has an authority code, else its WKT.
    [[nodiscard]] std::string user_string() const;
    [[nodiscard]] std::string wkt() const;

  private:
    explicit SpatialRef(OGRSpatialReferenceH h) : m_h(h) {}
    OGRSpatialReferenceH m_h = nullptr;
};

struct GeometryDeleter {
    void operator()(void* g) const noexcept;
};
// An owned OGR geometry.
using GeometryPtr = std::unique_ptr<void, GeometryDeleter>;

struct FeatureDeleter {
    void operator()(void* f) const noexcept;
};
// An owned OGR feature.
using FeaturePtr = std::unique_ptr<void, FeatureDeleter>;

// OGR geometry <-> our values. to_multipolygon throws InputError for non-polygonal input
// (curves are linearised first).
[[nodiscard]] GeometryPtr to_ogr(const MultiPolygon& mp);
[[nodiscard]] MultiPolygon to_multipolygon(OGRGeometryH g);

class Dataset {
  public:
    enum class Mode { read, update };
    // Opens a vector source (file, directory, "PG:..." string). Throws InputError naming the
    // path when it cannot be opened.
    static Dataset open_vector(const std::string& path, Mode mode = Mode::read);
    static Dataset open_raster(const std::string& path, Mode mode = Mode::read);
    // Creates a vector dataset with the named driver ("GPKG", "GeoJSON", ...).
    static Dataset create_vector(const std::string& path, const std::string& driver,
                                 const std::vector<std::string>& options = {});
    // Creates a raster dataset ("MEM", "GTiff", ...) of width x height x bands; type is a
    // GDALDataType value (1 = Byte).
    static Dataset create_raster(const std::string& path, const std::string& driver, int width,
                                 int height, int bands, int type,
                                 const std::vector<std::string>& options = {});
    // Copies src into a new file with the named driver (e.g. "COG" with COMPRESS=JPEG).
    static Dataset create_copy(const std::string& path, const std::string& driver,
                               const Dataset& src, const std::vector<std::string>& options = {});
    // The OGR driver that writes files with this extension (".geojson" -> "GeoJSON").
    static std::string vector_driver_for(const std::string& path);

    Dataset() = default;
    ~Dataset();
    Dataset(const Dataset&) = delete;
    Dataset& operator=(const Dataset&) = delete;
    Dataset(Dataset&& o) noexcept : m_h(o.m_h), m_path(std::move(o.m_path)) { o.m_h = nullptr; }
    Dataset& operator=(Dataset&& o) noexcept;

    [[nodiscard]] GDALDatasetH get() const noexcept { return m_h; }
    [[nodiscard]] const std::string& path() const noexcept { return m_path; }
    // Closes now, reporting a failure to flush as StoreError (the destructor cannot).
    void close();

    // Layer by name; throws InputError listing the layers there are.
    [[nodiscard]] OGRLayerH layer(const std::string& name) const;
    [[nodiscard]] OGRLayerH layer(int index) const;
    [[nodiscard]] int layer_count() const;
    [[nodiscard]] std::vector<std::string> layer_names() const;

  private:
    Dataset(GDALDatasetH h, std::string path) : m_h(h), m_path(std::move(path)) {}
    GDALDatasetH m_h = nullptr;
    std::string m_path;
};

// A transaction on a dataset: rolled back on destruction unless commit() was called.
class Transaction {
  public:
    explicit Transaction(const Dataset& ds);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

  private:
    GDALDatasetH m_ds;
    bool m_open = false;
};

// Field helpers on a layer's definition.
[[nodiscard]] int field_index(OGRLayerH layer, const std::string& name);
[[nodiscard]] std::vector<std::string> field_names(OGRLayerH layer);
[[nodiscard]] std::string layer_name(OGRLayerH layer);

} // namespace wangge::geo
