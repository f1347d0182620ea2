// The draws of base/random.hpp that need more than a line.
#include "wangge/base/random.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace wangge::base {

WeightedPick::WeightedPick(std::span<const double> weights) {
    if (weights.empty()) throw InputError("a weighted pick needs at least one weight");
    m_cumulative.reserve(weights.size());
    double sum = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
        const double w = weights[i];
        if (!std::isfinite(w) || w < 0)
            throw InputError("weight " + std::to_string(i) + " of a weighted pick is " +
                             std::to_string(w) + " (must be finite and not negative)");
        sum += w;
        if (w > 0) m_last = i;
        m_cumulative.push_back(sum);
    }
    if (!(sum > 0) || !std::isfinite(sum))
        throw InputError("the weights of a weighted pick must have a positive, finite sum");
}

std::size_t WeightedPick::operator()(SplitMix64& rng) const noexcept {
    const double u = rng.uniform() * m_cumulative.back();
    // The first running sum above u: a zero weight repeats the previous sum and is never
    // first. u can round up to the total; that belongs to the last positive weight.
    const auto it = std::upper_bound(m_cumulative.begin(), m_cumulative.end(), u);
    return it == m_cumulative.end() ? m_last : static_cast<std::size_t>(it - m_cumulative.begin());
}

namespace {

// log(n!): the product itself up to 20! (factorials are exact doubles up to 22!), Stirling's
// series beyond, whose first omitted term, 1 / (1188 n^9), is below 2e-15 for n > 20.
double log_factorial(std::int64_t n) {
    if (n <= 20) {
        double f = 1;
        for (std::int64_t k = 2; k <= n; ++k)
            f *= static_cast<double>(k);
        return std::log(f);
    }
    const double x = static_cast<double>(n);
    const double r = 1 / x, r2 = r * r;
    return x * std::log(x) - x + 0.5 * std::log(2 * std::numbers::pi * x) +
           r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 / 1680)));
}

} // namespace

std::int64_t poisson(SplitMix64& rng, double mean) {
    if (!std::isfinite(mean) || mean < 0)
        throw InputError("a Poisson mean must be finite and not negative, not " +
                         std::to_string(mean));
    // Beyond 2^52 counts are no longer exact doubles; no generator here comes near that.
    if (mean > 0x1.0p52) throw InputError("a Poisson mean above 2^52 is not supported");
    if (mean == 0) return 0;
    const auto mode = static_cast<std::int64_t>(mean); // floor: the (first) most likely count
    const double p_mode =
        std::exp(static_cast<double>(mode) * std::log(mean) - mean - log_factorial(mode));
    for (;;) {
        // Subtract the probabilities of the counts, most likely first, until u runs out. The
        // pmf is unimodal, so the more likely of the two next counts beyond those visited is
        // always the most likely one left: the frontier only moves outwards.
        double u = rng.uniform() - p_mode;
        if (u < 0) return mode;
        std::int64_t lo = mode, hi = mode;
        double p_lo = p_mode, p_hi = p_mode;
        for (;;) {
            const double up = p_hi * mean / static_cast<double>(hi + 1);
            const double down = lo > 0 ? p_lo * static_cast<double>(lo) / mean : 0.0;
            // Both tails underflowed before u ran out: the computed probabilities summed to
            // a hair below 1. Draw again rather than return a wrong count.
            if (up == 0 && down == 0) break;
            if (up >= down) {
                p_hi = up;
                ++hi;
                u -= up;
                if (u < 0) return hi;
            } else {
                p_lo = down;
                --lo;
                u -= down;
                if (u < 0) return lo;
            }
        }
    }
}

} // namespace wangge::base
