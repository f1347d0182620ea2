// Private to the Jishan sample: the seeded random numbers, noise and landscape features
// (the Fen River) that the grid generator and the image writer must agree on.
// Everything here is plain integer/double arithmetic on purpose: no <random> distributions
// (their output differs between standard libraries) and no hashed containers.
#pragma once

#include "wangge/base/random.hpp"
#include "wangge/geo/geometry.hpp"
#include "wangge/geo/proj.hpp"

#include <cmath>
#include <cstdint>

namespace wangge::sample::detail {

// Jifeng, the county seat, and the metric CRS everything is generated in.
constexpr double jifeng_lon = 110.96;
constexpr double jifeng_lat = 35.61;
constexpr const char* metric_crs = "EPSG:4546"; // CGCS2000 / 3-degree GK CM 111E
// The generation lattice: local coordinates are metres east/north of the origin, which is
// Jifeng in EPSG:4546 snapped to this spacing so lattice corners are whole metres.
constexpr double lattice_m = 50.0;

// The sample's random numbers: splitmix64, the same on every platform.
using base::mix64;
using base::substream;
using Rng = base::SplitMix64;

// A hash of an integer lattice point, uniform in [0, 1).
inline double hash01(std::uint64_t seed, std::int64_t a, std::int64_t b) noexcept {
    const std::uint64_t h =
        mix64(seed ^ mix64(static_cast<std::uint64_t>(a) * 0xD1B54A32D192ED03ULL +
                           static_cast<std::uint64_t>(b) * 0xABC98388FB8FAC03ULL));
    return static_cast<double>(h >> 11) * 0x1.0p-53;
}

inline std::uint64_t hash64(std::uint64_t seed, std::int64_t a, std::int64_t b) noexcept {
    return mix64(seed ^ mix64(static_cast<std::uint64_t>(a) * 0xD1B54A32D192ED03ULL +
                              static_cast<std::uint64_t>(b) * 0xABC98388FB8FAC03ULL));
}

// Smooth value noise in [-1, 1], one lattice step per unit of x and y.
inline double value_noise(std::uint64_t seed, double x, double y) noexcept {
    const double fx = std::floor(x), fy = std::floor(y);
    const auto ix = static_cast<std::int64_t>(fx), iy = static_cast<std::int64_t>(fy);
    double tx = x - fx, ty = y - fy;
    tx = tx * tx * (3.0 - 2.0 * tx);
    ty = ty * ty * (3.0 - 2.0 * ty);
    const double a = hash01(seed, ix, iy), b = hash01(seed, ix + 1, iy);
    const double c = hash01(seed, ix, iy + 1), d = hash01(seed, ix + 1, iy + 1);
    const double top = a + (b - a) * tx, bottom = c + (d - c) * tx;
    return 2.0 * (top + (bottom - top) * ty) - 1.0;
}

// Fractal sum of value noise (octaves halve in scale and amplitude), about [-1, 1].
inline double fbm(std::uint64_t seed, double x, double y, int octaves) noexcept {
    double sum = 0.0, amp = 1.0, norm = 0.0;
    for (int o = 0; o < octaves; ++o) {
        // Offsets decorrelate the octaves' lattices.
        sum += amp * value_noise(seed + static_cast<std::uint64_t>(o) * 0x9E37ULL, x + 17.3 * o,
                                 y - 11.9 * o);
        norm += amp;
        amp *= 0.5;
        x *= 2.03;
        y *= 2.03;
    }
    return sum / norm;
}

// The Fen River: its centre line as a northing (local metres) for every local easting.
// The county's southern boundary follows it; the image paints it.
class FenRiver {
  public:
    explicit FenRiver(std::uint64_t seed) noexcept {
        Rng rng(substream(seed, 0xF3E1));
        static constexpr double wavelengths[terms] = {21000.0, 9300.0, 4700.0, 2300.0};
        static constexpr double amplitudes[terms] = {700.0, 420.0, 210.0, 70.0};
        for (int k = 0; k < terms; ++k) {
            m_freq[k] = 2.0 * pi / (wavelengths[k] * rng.range(0.85, 1.15));
            m_amp[k] = amplitudes[k] * rng.range(0.8, 1.2);
            m_phase[k] = rng.range(0.0, 2.0 * pi);
        }
        m_offset = -2400.0 - raw(0.0); // the river passes 2.4 km south of Jifeng
    }
    // Local northing of the centre line at local easting u.
    [[nodiscard]] double centre(double u) const noexcept { return m_offset + raw(u); }
    // Water width in metres (varies gently along the river).
    [[nodiscard]] double width(double u) const noexcept {
        return 95.0 + 30.0 * std::sin(u * 0.00041 + m_phase[0]);
    }

  private:
    static constexpr int terms = 4;
    static constexpr double pi = 3.14159265358979323846;
    [[nodiscard]] double raw(double u) const noexcept {
        double v = -0.035 * u; // a slight overall slant of the valley
        for (int k = 0; k < terms; ++k)
            v += m_amp[k] * std::sin(m_freq[k] * u + m_phase[k]);
        return v;
    }
    double m_freq[terms]{}, m_amp[terms]{}, m_phase[terms]{};
    double m_offset = 0.0;
};

// Jifeng in EPSG:4546, snapped to the lattice: the origin of the local coordinates.
// lonlat_to_metric: EPSG:4326 -> EPSG:4546 (PROJ transformers are slow to create, so the
// caller's is reused).
inline geo::Point local_origin(const geo::Transformer& lonlat_to_metric) {
    const geo::Point p = lonlat_to_metric.forward(geo::Point{jifeng_lon, jifeng_lat});
    return {std::round(p.x / lattice_m) * lattice_m, std::round(p.y / lattice_m) * lattice_m};
}

} // namespace wangge::sample::detail
