// Reproducible pseudo-random numbers: splitmix64 (Steele, Lea, Flood 2014). Generated data
// must be the same for a seed on every platform and standard library, which the <random>
// distributions do not promise (their algorithms are unspecified). Everything here is
// specified by plain integer arithmetic, except the Poisson draw's exp and log (see poisson).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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

// The full 128-bit product of two 64-bit numbers as {high, low}, from 32-bit halves so that
// it needs no compiler extension.
struct Product128 {
    std::uint64_t high;
    std::uint64_t low;
};
constexpr Product128 multiply128(std::uint64_t a, std::uint64_t b) noexcept {
    const std::uint64_t a_lo = a & 0xFFFFFFFFULL, a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xFFFFFFFFULL, b_hi = b >> 32;
    const std::uint64_t lo_lo = a_lo * b_lo;
    const std::uint64_t hi_lo = a_hi * b_lo;
    const std::uint64_t lo_hi = a_lo * b_hi;
    const std::uint64_t hi_hi = a_hi * b_hi;
    const std::uint64_t middle = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
    return {hi_hi + (hi_lo >> 32) + (middle >> 32), (middle << 32) | (lo_lo & 0xFFFFFFFFULL)};
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
    // True with probability p (p <= 0 never, p >= 1 always).
    constexpr bool chance(double p) noexcept { return uniform() < p; }
    // [0, n); the modulo bias (at most n / 2^64) is irrelevant for generated data. Kept as it
    // is because the sample grid's shape depends on its exact values; new code uses uniform_int.
    constexpr std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }
    // [lo, hi] (lo <= hi), exactly uniform: Lemire's multiply-and-reject ("Fast random integer
    // generation in an interval", 2019). Rejects with probability below (hi - lo + 1) / 2^64.
    constexpr std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) noexcept {
        // Two's complement arithmetic in uint64 gives the span even when hi - lo overflows.
        const std::uint64_t span =
            static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) + 1;
        if (span == 0) return static_cast<std::int64_t>(next()); // the whole int64 range
        Product128 m = multiply128(next(), span);
        if (m.low < span) {
            const std::uint64_t threshold = (0 - span) % span; // 2^64 mod span
            while (m.low < threshold)
                m = multiply128(next(), span);
        }
        return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + m.high);
    }

  private:
    std::uint64_t m_state;
};

// A weighted pick over a fixed table: index i with probability weights[i] / sum. One uniform
// per pick, located by binary search in the running sums (summed in order, so the table is
// the same everywhere). Weights must be finite and non-negative with a positive sum
// (InputError otherwise).
class WeightedPick {
  public:
    explicit WeightedPick(std::span<const double> weights);
    std::size_t operator()(SplitMix64& rng) const noexcept;
    std::size_t size() const noexcept { return m_cumulative.size(); }

  private:
    std::vector<double> m_cumulative;
    std::size_t m_last = 0; // the last index with a positive weight
};

// A Poisson draw with the given mean (finite, >= 0; InputError otherwise): inversion of one
// uniform, visiting the counts from the mode outwards in decreasing probability, so it takes
// about sqrt(mean) steps and nothing underflows at large means (Knuth's product of uniforms
// takes `mean` draws and exp(-mean) underflows past 745). Exact up to double rounding of the
// probabilities. Its only libm calls are exp and log, once per draw: the usual libms give
// them within an ulp, and a one-ulp difference changes a draw only when the uniform falls
// within about 1e-16 of a boundary, so draws agree across platforms in practice.
std::int64_t poisson(SplitMix64& rng, double mean);

} // namespace wangge::base
