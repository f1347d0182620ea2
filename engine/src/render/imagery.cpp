// Imagery import: GDALWarp to EPSG:3857 into a virtual raster, then one COG copy.
#include "wangge/render/imagery.hpp"

#include "wangge/base/output_file.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/grid/grid.hpp"
#include "wangge/store/workspace.hpp"

#include <atomic>
#include <cpl_string.h>
#include <cstdio>
#include <filesystem>
#include <gdal.h>
#include <gdal_utils.h>
#include <memory>
#include <optional>
#include <vector>

namespace wangge::render {

namespace fs = std::filesystem;

namespace {

struct DatasetCloser {
    void operator()(void* h) const noexcept {
        if (h) GDALClose(h);
    }
};
// Owned GDAL dataset (geo::Dataset cannot adopt a handle made by GDALWarp).
using DatasetPtr = std::unique_ptr<void, DatasetCloser>;

struct WarpOptionsFree {
    void operator()(GDALWarpAppOptions* o) const noexcept { GDALWarpAppOptionsFree(o); }
};

struct VsiMemFile {
    std::string path;
    ~VsiMemFile() { VSIUnlink(path.c_str()); }
};

DatasetPtr open_source(const std::string& source) {
    if (!fs::exists(source)) throw InputError("no such raster", {.file = source});
    geo::GdalErrorCapture capture;
    DatasetPtr ds{
        GDALOpenEx(source.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr, nullptr)};
    if (!ds) {
        const std::string why = capture.last();
        throw InputError("cannot read as a raster" + (why.empty() ? "" : ": " + why),
                         {.file = source});
    }
    if (GDALGetRasterCount(ds.get()) == 0)
        throw InputError("the file holds no raster bands", {.file = source});
    double gt[6];
    const bool has_transform = GDALGetGeoTransform(ds.get(), gt) == CE_None;
    const bool has_gcps = GDALGetGCPCount(ds.get()) > 0;
    const bool has_crs = GDALGetSpatialRef(ds.get()) != nullptr ||
                         (has_gcps && GDALGetGCPSpatialRef(ds.get()) != nullptr);
    if ((!has_transform && !has_gcps) || !has_crs)
        throw InputError("the raster has no georeference (no geotransform or CRS); add one with "
                         "gdal_translate -a_srs/-a_ullr or a world file",
                         {.file = source});
    return ds;
}

std::string describe(const geo::Box& b) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.0f,%.0f,%.0f,%.0f", b.minx, b.miny, b.maxx, b.maxy);
    return buf;
}

// Refuses a raster above the limit, naming its size.
void check_size(double width, double height, double max_megapixels, const std::string& what,
                const std::string& source) {
    const double mp = width * height / 1e6;
    if (max_megapixels > 0 && mp > max_megapixels)
        throw InputError(what + " is " + std::to_string(static_cast<long long>(width)) + " x " +
                             std::to_string(static_cast<long long>(height)) + " px (" +
                             std::to_string(static_cast<long long>(mp)) +
                             " megapixels), above the limit of " +
                             std::to_string(static_cast<long long>(max_megapixels)) +
                             "; give --max-megapixels 0 to import it anyway",
                         {.file = source});
}

// A VRT may name any file GDAL can open (or a /vsicurl/ URL): only rasters inside the VRT's
// own folder are taken, so an imported VRT cannot read files it was not shipped with.
void check_vrt_sources(GDALDatasetH ds, const std::string& source) {
    GDALDriverH drv = GDALGetDatasetDriver(ds);
    if (!drv || std::string(GDALGetDriverShortName(drv)) != "VRT") return;
    const fs::path self = fs::weakly_canonical(fs::absolute(source));
    const fs::path folder = self.parent_path();
    char** files = GDALGetFileList(ds);
    std::vector<std::string> list;
    for (char** f = files; f && *f; ++f)
        list.emplace_back(*f);
    CSLDestroy(files);
    for (const auto& name : list) {
        if (name.starts_with("/vsi"))
            throw InputError("the VRT references '" + name +
                                 "', not a file beside it; only rasters in its own folder are "
                                 "imported",
                             {.file = source});
        const fs::path p = fs::weakly_canonical(fs::absolute(name));
        if (p == self) continue;
        const auto rel = p.lexically_relative(folder);
        if (rel.empty() || *rel.begin() == "..")
            throw InputError("the VRT references '" + name +
                                 "', outside its folder; only rasters in its own folder are "
                                 "imported",
                             {.file = source});
        GDALDriverH d = GDALIdentifyDriver(p.c_str(), nullptr);
        if (!d || !GDALGetMetadataItem(d, GDAL_DCAP_RASTER, nullptr))
            throw InputError("the VRT references '" + name + "', which is not a raster",
                             {.file = source});
    }
}

} // namespace

ImportedImagery warp_to_web_mercator(const std::string& source, const std::string& target,
                                     int jpeg_quality, double max_megapixels,
                                     const std::function<void(const geo::Box&)>& accept) {
    geo::gdal_init();
    DatasetPtr src = open_source(source);
    check_vrt_sources(src.get(), source);
    check_size(GDALGetRasterXSize(src.get()), GDALGetRasterYSize(src.get()), max_megapixels,
               "the raster", source);
    const int bands = GDALGetRasterCount(src.get());
    GDALRasterBandH b1 = GDALGetRasterBand(src.get(), 1);
    const bool rgb_byte = bands == 3 && GDALGetRasterDataType(b1) == GDT_Byte;
    int has_nodata = 0;
    GDALGetRasterNoDataValue(b1, &has_nodata);

    // Warp lazily into a VRT in memory; the COG driver then reads it once, tile by tile.
    static std::atomic<unsigned> counter{0};
    VsiMemFile vrt{"/vsimem/wangge-warp-" + std::to_string(counter++) + ".vrt"};
    std::vector<std::string> args = {"-t_srs", "EPSG:3857", "-r",    "bilinear",
                                     "-of",    "VRT",       "-multi"};
    // Nodata (or outside the source) becomes transparent: an alpha band, which the COG driver
    // turns into a mask next to JPEG.
    if (rgb_byte || has_nodata) args.push_back("-dstalpha");
    CPLStringList argv;
    for (const auto& a : args)
        argv.AddString(a.c_str());
    std::unique_ptr<GDALWarpAppOptions, WarpOptionsFree> options{
        GDALWarpAppOptionsNew(argv.List(), nullptr)};
    if (!options) throw LibraryError("cannot build GDALWarp options");
    geo::GdalErrorCapture capture;
    GDALDatasetH src_h = src.get();
    int usage_error = 0;
    DatasetPtr warped{GDALWarp(vrt.path.c_str(), nullptr, 1, &src_h, options.get(), &usage_error)};
    if (!warped || usage_error)
        throw InputError("cannot reproject to EPSG:3857: " + capture.last(), {.file = source});

    check_size(GDALGetRasterXSize(warped.get()), GDALGetRasterYSize(warped.get()), max_megapixels,
               "the reprojected raster", source);
    ImportedImagery info;
    info.path = target;
    info.width = GDALGetRasterXSize(warped.get());
    info.height = GDALGetRasterYSize(warped.get());
    double gt[6];
    GDALGetGeoTransform(warped.get(), gt);
    info.box_3857 = {gt[0], gt[3] + gt[5] * info.height, gt[0] + gt[1] * info.width, gt[3]};
    if (accept) accept(info.box_3857);

    GDALDriverH cog = GDALGetDriverByName("COG");
    if (!cog) throw LibraryError("GDAL has no COG driver");
    const std::string compression = rgb_byte ? "JPEG" : "DEFLATE";
    CPLStringList copts;
    copts.AddString(("COMPRESS=" + compression).c_str());
    if (rgb_byte) copts.AddString(("QUALITY=" + std::to_string(jpeg_quality)).c_str());
    copts.AddString("OVERVIEWS=AUTO");
    copts.AddString("RESAMPLING=AVERAGE");
    copts.AddString("BLOCKSIZE=256");
    auto output = base::OutputFile::file(target, ".partial.tif");
    {
        DatasetPtr out{GDALCreateCopy(cog, output.path().c_str(), warped.get(), FALSE, copts.List(),
                                      nullptr, nullptr)};
        if (!out)
            throw InputError("cannot write the reprojected raster: " + capture.last(),
                             {.file = target});
    }
    output.commit();
    info.compression = compression;
    return info;
}

ImportedImagery import_imagery(store::Workspace& ws, const std::string& source,
                               const ImageryImportOptions& options) {
    if (options.name.empty() || options.name.find_first_of("/\\ ") != std::string::npos)
        throw InputError("an imagery name must be a plain word, not '" + options.name + "'");
    const fs::path ws_path = fs::absolute(ws.path());
    const fs::path file = ws_path.stem().string() + "-" + options.name + ".tif";
    const fs::path target = ws_path.parent_path() / file;
    if (fs::exists(target) && fs::equivalent(target, source))
        throw InputError("the source is the file the import would write", {.file = source});
    // The current grid's extent in EPSG:3857, for the overlap check.
    std::optional<geo::Box> grid_box;
    if (!options.allow_outside && ws.current_version()) {
        geo::Box lonlat;
        for (const auto& cell : ws.grid().cells)
            for (const auto& poly : cell.geometry.polygons)
                for (const auto& ring : poly.rings)
                    for (const auto& p : ring)
                        lonlat.expand(p);
        if (lonlat.valid()) {
            const geo::Transformer to_3857("EPSG:4326", "EPSG:3857");
            geo::Box b;
            b.expand(to_3857.forward(geo::Point{lonlat.minx, lonlat.miny}));
            b.expand(to_3857.forward(geo::Point{lonlat.maxx, lonlat.maxy}));
            grid_box = b;
        }
    }
    auto accept = [&](const geo::Box& box) {
        if (grid_box && !box.intersects(*grid_box))
            throw InputError("the imagery does not overlap the workspace's grid (imagery "
                             "EPSG:3857 " +
                                 describe(box) + ", grid " + describe(*grid_box) +
                                 "); give --allow-outside to import it anyway",
                             {.file = source});
    };
    ImportedImagery info = warp_to_web_mercator(source, target.string(), options.jpeg_quality,
                                                options.max_megapixels, accept);
    std::string attribution = options.attribution;
    if (attribution.empty()) attribution = fs::path(source).filename().string();
    ws.register_imagery({.name = options.name,
                         .path = file.string(),
                         .attribution = attribution,
                         .generated = options.generated});
    return info;
}

} // namespace wangge::render
