// Enlarged imagery without Mapnik; see imagery_draw.hpp.
#include "imagery_draw.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cmath>
#include <gdal.h>
#include <utility>
#include <vector>

namespace wangge::render::detail {

namespace {

// Per output column (or row): the first of the two source samples, the step to the second
// (0 at the raster's edge) and the weight of the second, 0-256.
struct Tap {
    int first = 0;
    int step = 0;
    int weight = 0;
};

// Output pixels [begin, end) whose centres fall on the raster, and their taps into a window
// of the raster starting at `window_first`. `src(i)` is the output pixel centre i + 0.5 in
// source pixel units (pixel k spans [k, k + 1)).
template <typename F>
void taps(int n_out, int n_src, F src, int* begin, int* end, int* window_first, int* window_n,
          std::vector<Tap>* out) {
    *begin = 0;
    while (*begin < n_out && src(*begin) < 0)
        ++*begin;
    *end = n_out;
    while (*end > *begin && src(*end - 1) >= n_src)
        --*end;
    if (*begin >= *end) {
        *window_n = 0;
        return;
    }
    // Sample positions measured from pixel centres.
    const auto lo = static_cast<int>(std::floor(src(*begin) - 0.5));
    const auto hi = static_cast<int>(std::floor(src(*end - 1) - 0.5)) + 1;
    *window_first = std::clamp(lo, 0, n_src - 1);
    const int last = std::clamp(hi, 0, n_src - 1);
    *window_n = last - *window_first + 1;
    out->resize(static_cast<std::size_t>(*end - *begin));
    for (int i = *begin; i < *end; ++i) {
        const double s = src(i) - 0.5 - *window_first;
        const double f = std::floor(s);
        Tap t;
        t.first = static_cast<int>(f);
        t.weight = static_cast<int>(std::lround((s - f) * 256));
        if (t.weight == 256) ++t.first, t.weight = 0;
        if (t.first < 0) {
            t.first = 0, t.weight = 0;
        } else if (t.first >= *window_n - 1) {
            t.first = *window_n - 1, t.weight = 0;
        }
        t.step = t.weight > 0 ? 1 : 0;
        (*out)[static_cast<std::size_t>(i - *begin)] = t;
    }
}

} // namespace

EnlargedImagery::EnlargedImagery(geo::Dataset raster) : m_raster(std::move(raster)) {
    GDALDatasetH ds = m_raster.get();
    bool ok = ds && GDALGetRasterCount(ds) == 3 && GDALGetGeoTransform(ds, m_gt) == CE_None &&
              m_gt[1] > 0 && m_gt[5] < 0 && m_gt[2] == 0 && m_gt[4] == 0;
    const GDALColorInterp want[3] = {GCI_RedBand, GCI_GreenBand, GCI_BlueBand};
    for (int b = 1; ok && b <= 3; ++b) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        int has_nodata = 0;
        GDALGetRasterNoDataValue(band, &has_nodata);
        ok = GDALGetRasterDataType(band) == GDT_Byte &&
             GDALGetRasterColorInterpretation(band) == want[b - 1] && !has_nodata &&
             (GDALGetMaskFlags(band) & GMF_ALL_VALID);
    }
    if (!ok) return;
    m_usable = true;
    m_width = GDALGetRasterXSize(ds);
    m_height = GDALGetRasterYSize(ds);
}

void EnlargedImagery::draw(const geo::Box& view, int width, int height, std::uint8_t* rgba,
                           std::size_t stride) {
    if (!m_usable || width <= 0 || height <= 0) return;
    const double mx = (view.maxx - view.minx) / width;
    const double my = (view.maxy - view.miny) / height;
    int x0 = 0, x1 = 0, col0 = 0, cols = 0, y0 = 0, y1 = 0, row0 = 0, rows = 0;
    std::vector<Tap> xt, yt;
    taps(
        width, m_width, [&](int i) { return (view.minx + (i + 0.5) * mx - m_gt[0]) / m_gt[1]; },
        &x0, &x1, &col0, &cols, &xt);
    taps(
        height, m_height, [&](int j) { return (view.maxy - (j + 0.5) * my - m_gt[3]) / m_gt[5]; },
        &y0, &y1, &row0, &rows, &yt);
    if (cols <= 0 || rows <= 0) return;

    // The window, pixel-interleaved RGB.
    auto& src = m_window;
    src.resize(static_cast<std::size_t>(cols) * static_cast<std::size_t>(rows) * 3);
    int bands[3] = {1, 2, 3};
    if (GDALDatasetRasterIO(m_raster.get(), GF_Read, col0, row0, cols, rows, src.data(), cols, rows,
                            GDT_Byte, 3, bands, 3, static_cast<GSpacing>(cols) * 3, 1) != CE_None)
        throw LibraryError("GDAL could not read the imagery: " + std::string(CPLGetLastErrorMsg()));

    const std::size_t src_stride = static_cast<std::size_t>(cols) * 3;
    for (int j = y0; j < y1; ++j) {
        const Tap& ty = yt[static_cast<std::size_t>(j - y0)];
        const std::uint8_t* r0 = src.data() + static_cast<std::size_t>(ty.first) * src_stride;
        const std::uint8_t* r1 = r0 + static_cast<std::size_t>(ty.step) * src_stride;
        const int wy = ty.weight;
        std::uint8_t* out = rgba + static_cast<std::size_t>(j) * stride + x0 * 4;
        for (int i = x0; i < x1; ++i, out += 4) {
            const Tap& tx = xt[static_cast<std::size_t>(i - x0)];
            const std::size_t a = static_cast<std::size_t>(tx.first) * 3;
            const std::size_t b = a + static_cast<std::size_t>(tx.step) * 3;
            const int wx = tx.weight;
            for (int c = 0; c < 3; ++c) {
                const int top = r0[a + c] * (256 - wx) + r0[b + c] * wx;
                const int bottom = r1[a + c] * (256 - wx) + r1[b + c] * wx;
                out[c] = static_cast<std::uint8_t>((top * (256 - wy) + bottom * wy + 32768) >> 16);
            }
            out[3] = 255;
        }
    }
}

} // namespace wangge::render::detail
