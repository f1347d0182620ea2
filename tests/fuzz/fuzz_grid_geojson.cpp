// A GeoJSON grid through the reader as `grid validate` uses it (keeping unusable features)
// and then the coverage validator, and through the strict reader as `grid import` uses it.
#include "fuzz_support.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/grid/validate.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>

using namespace wangge;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    GDALAllRegister();
    CPLSetConfigOption("CPL_LOG", "/dev/null"); // GDAL's own warnings are noise here
    CPLSetErrorHandler(CPLQuietErrorHandler);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) return 0; // a grid this size is the validator's bench, not a fuzz input
    const std::string path = "/vsimem/fuzz.geojson";
    // GDAL copies nothing: the buffer is the input, released by the unlink below.
    VSIFCloseL(VSIFileFromMemBuffer(path.c_str(), const_cast<GByte*>(data),
                                    static_cast<vsi_l_offset>(size), FALSE));
    try {
        grid::ImportOptions options;
        options.allow_duplicate_codes = true;
        options.keep_unusable_features = true;
        std::vector<grid::FeatureProblem> problems;
        auto g = grid::read_grid(path, options, problems);
        grid::ValidateOptions vo;
        vo.unusable = std::move(problems);
        const auto report = grid::validate(g, vo);
        (void)report.to_json();
        (void)report.to_geojson();
    } catch (const Error&) {
    }
    try {
        (void)grid::read_grid(path, grid::ImportOptions{});
    } catch (const Error&) {
    }
    VSIUnlink(path.c_str());
    return 0;
}
