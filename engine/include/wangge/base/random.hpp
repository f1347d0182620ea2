// Reproducible pseudo-random numbers: splitmix64 (Steele, Lea, Flood 2014). Generated data
// must be the same for a seed on every platform and standard library, which the <random>
// distributions do not promise; everything here is plain integer arithmetic.
#pragma once

#include <cstdint>

namespace wangge::base {

// splitmix64's output function: a strong 64-bit mixer (also a good hash of an integer).
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// An independent seed for one purpose ("tag") of one seed.
constexpr std::uint64_t substream(std::uint64_t seed, std::uint64_t tag) noexcept {
    return mix64(seed * 0x9E3779B97F4A7C15ULL + mix64(tag + 0x632BE59BD9B4E019ULL));
}

class SplitMix64 {
  public:
    explicit constexpr SplitMix64(std::uint64_t seed) noexcept : m_state(seed) {}
    constexpr std::uint64_t next() noexcept {
        m_state += 0x9E3779B97F4A7C15ULL;
        return mix64(m_state);
    }
    // [0, 1) with 53 random bits.
    constexpr double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    // [lo, hi).
    constexpr double range(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
    // [0, n); the modulo bias (at most n / 2^64) is irrelevant for generated data.
    constexpr std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }

  private:
    std::uint64_t m_state;
};

} // namespace wangge::base
