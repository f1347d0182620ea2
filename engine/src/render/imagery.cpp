// Imagery import: GDALWarp to EPSG:3857 into a virtual raster, then one COG copy.
#include "wangge/render/imagery.hpp"

#include "wangge/base/output_file.hpp"
#include "wangge/error.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/store/workspace.hpp"

#include <atomic>
#include <cpl_string.h>
#include <filesystem>
#include <gdal.h>
#include <gdal_utils.h>
#include <memory>
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

} // namespace

ImportedImagery warp_to_web_mercator(const std::string& source, const std::string& target,
                                     int jpeg_quality) {
    geo::gdal_init();
    DatasetPtr src = open_source(source);
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

    ImportedImagery info;
    info.path = target;
    info.compression = compression;
    info.width = GDALGetRasterXSize(warped.get());
    info.height = GDALGetRasterYSize(warped.get());
    double gt[6];
    GDALGetGeoTransform(warped.get(), gt);
    info.box_3857 = {gt[0], gt[3] + gt[5] * info.height, gt[0] + gt[1] * info.width, gt[3]};
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
    ImportedImagery info = warp_to_web_mercator(source, target.string(), options.jpeg_quality);
    std::string attribution = options.attribution;
    if (attribution.empty()) attribution = fs::path(source).filename().string();
    ws.register_imagery({.name = options.name,
                         .path = file.string(),
                         .attribution = attribution,
                         .generated = options.generated});
    return info;
}

} // namespace wangge::render
