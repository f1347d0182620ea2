// The shared pieces of the base stage and geo's orientation predicate.
#include "test_support.hpp"
#include "wangge/base/csv.hpp"
#include "wangge/base/enum_names.hpp"
#include "wangge/base/output_file.hpp"
#include "wangge/base/random.hpp"
#include "wangge/geo/orientation.hpp"

#include <climits>
#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <map>

using namespace wangge;

namespace {

std::vector<std::vector<std::string>> rows_of(const base::CsvTable& t) {
    std::vector<std::vector<std::string>> out{t.header()};
    for (const auto& r : t.rows())
        out.push_back(r.fields);
    return out;
}

using Rows = std::vector<std::vector<std::string>>;

// The error a parse throws, as "line: message".
std::string parse_error(std::string_view text) {
    try {
        (void)base::CsvTable::parse(text, "t.csv");
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().file, "t.csv");
        return std::to_string(e.context().line.value_or(0)) + ": " + e.message();
    }
    return "no error";
}

} // namespace

TEST(Csv, QuotesDoubledQuotesCommasAndLineBreaks) {
    const auto t = base::CsvTable::parse("a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                                         "plain,,\"\"\n",
                                         "t.csv");
    EXPECT_EQ(rows_of(t),
              (Rows{{"a", "b", "c"}, {"x, y", "say \"hi\"", "two\nlines"}, {"plain", "", ""}}));
    EXPECT_EQ(t.rows()[0].line, 2);
    EXPECT_EQ(t.rows()[1].line, 4); // the quoted line break moved it down
}

TEST(Csv, BomCrlfBlankAndCommentLines) {
    const auto t = base::CsvTable::parse(
        "\xEF\xBB\xBFid,name\r\n# a comment\r\n\r\n 1 , Jishan \r\n", "t.csv");
    EXPECT_EQ(rows_of(t), (Rows{{"id", "name"}, {"1", "Jishan"}}));
    EXPECT_EQ(t.rows()[0].line, 4);
    EXPECT_EQ(t.column("name"), 1u);
}

TEST(Csv, QuotedFieldsKeepTheirSpacesAndStrayQuotesInUnquotedFieldsStay) {
    const auto t = base::CsvTable::parse("a,b\n\" x \",5\" pipe\n", "t.csv");
    EXPECT_EQ(rows_of(t), (Rows{{"a", "b"}, {" x ", "5\" pipe"}}));
}

TEST(Csv, TextAfterAClosingQuoteIsAnErrorNamingTheLine) {
    EXPECT_EQ(parse_error("a,b\n1,2\n\"abc\"def,3\n"),
              "3: text after a closing quote (quote the whole field, doubling its quotes)");
}

TEST(Csv, UnclosedQuoteNamesTheLineTheRecordBegan) {
    EXPECT_EQ(parse_error("a,b\n1,2\n3,\"open\n\n\n"),
              "3: a quote is not closed before the end of the file");
}

TEST(Csv, MoreFieldsThanTheHeaderAndMissingColumns) {
    EXPECT_EQ(parse_error("a,b\n1,2,3\n"), "2: row has 3 fields, the header 2");
    EXPECT_EQ(parse_error(""), "0: empty file: no header row");
    const auto t = base::CsvTable::parse("a,b\n1\n", "t.csv");
    EXPECT_EQ(t.field(t.rows()[0], 1), "");
    EXPECT_FALSE(t.optional_column("c"));
    EXPECT_THROW((void)t.column("c"), InputError);
}

TEST(Csv, RecordsSplitAcrossBuffersKeepTheirLines) {
    const std::string text = "x,y\n1,\"a\nb\"\n2,3";
    std::vector<base::CsvRecordSpan> spans;
    std::int64_t line = 1;
    // Not at the end: the last record (no newline yet) is left for the next buffer.
    const auto used = base::find_csv_records(text.data(), text.size(), false, line, spans);
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(used, text.size() - 3);
    EXPECT_EQ(line, 4);
    base::find_csv_records(text.data() + used, text.size() - used, true, line, spans);
    ASSERT_EQ(spans.size(), 3u);
    EXPECT_EQ(spans[2].line, 4);
    EXPECT_EQ(base::split_csv_record(
                  std::string_view(text).substr(spans[1].begin, spans[1].end - spans[1].begin)),
              (std::vector<std::string>{"1", "a\nb"}));
}

TEST(Csv, WriterQuotesExactlyWhatNeedsIt) {
    EXPECT_EQ(base::csv_field("plain"), "plain");
    EXPECT_EQ(base::csv_field("a,b"), "\"a,b\"");
    EXPECT_EQ(base::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(base::csv_field(" padded"), "\" padded\"");
    EXPECT_EQ(base::csv_field("two\nlines"), "\"two\nlines\"");
    const std::vector<std::string> rec{"a", "", "b,c"};
    EXPECT_EQ(base::csv_record(rec), "a,,\"b,c\"\n");
}

// Whatever the writer writes, the reader reads back unchanged: random fields drawn from the
// characters that matter (quote, comma, CR, LF, space, '#', multi-byte UTF-8).
TEST(Csv, WriteThenReadRoundTripsRandomFields) {
    const std::vector<std::string> alphabet = {"a", "\"", ",", "\r", "\n", " ", "#", "网", "1"};
    base::SplitMix64 rng(42);
    for (int round = 0; round < 200; ++round) {
        const std::size_t cols = 1 + rng.below(4);
        Rows rows;
        rows.push_back({});
        for (std::size_t c = 0; c < cols; ++c)
            rows.back().push_back(std::string(1, 'h').append(std::to_string(c)));
        for (std::size_t r = 0; r < 1 + rng.below(4); ++r) {
            rows.push_back({});
            for (std::size_t c = 0; c < cols; ++c) {
                std::string f;
                for (std::size_t k = rng.below(6); k > 0; --k)
                    f += alphabet[rng.below(alphabet.size())];
                rows.back().push_back(f);
            }
        }
        std::string text;
        for (const auto& r : rows)
            text += base::csv_record(r);
        // A row whose only field is empty, or whose first field starts with '#' unquoted,
        // has no record to read back (a blank line, a comment).
        Rows expected;
        for (const auto& r : rows)
            if (!(r.size() == 1 && r[0].empty()) && !base::csv_field(r[0]).starts_with('#'))
                expected.push_back(r);
        EXPECT_EQ(rows_of(base::CsvTable::parse(text, "t.csv")), expected) << text;
    }
}

TEST(OutputFile, AppearsOnlyOnCommit) {
    const auto dir = test::temp_dir();
    const auto target = dir / "out.txt";
    {
        auto out = base::OutputFile::file(target);
        std::ofstream(out.path()) << "new";
        EXPECT_FALSE(std::filesystem::exists(target));
        out.commit();
    }
    std::ifstream in(target);
    std::string text;
    in >> text;
    EXPECT_EQ(text, "new");
    EXPECT_FALSE(std::filesystem::exists(dir / "out.txt.partial"));
}

TEST(OutputFile, AnExceptionLeavesNothingBehind) {
    const auto dir = test::temp_dir();
    const auto target = dir / "out.gpkg";
    try {
        auto out = base::OutputFile::file(target, ".partial.gpkg");
        EXPECT_EQ(out.path(), dir / "out.gpkg.partial.gpkg");
        std::ofstream(out.path()) << "half";
        throw std::runtime_error("failed half way");
    } catch (const std::runtime_error&) {
    }
    EXPECT_FALSE(std::filesystem::exists(target));
    EXPECT_FALSE(std::filesystem::exists(dir / "out.gpkg.partial.gpkg"));
}

TEST(OutputFile, RefusesAnExistingTargetWhenAsked) {
    const auto dir = test::temp_dir();
    const auto target = dir / "out.csv";
    std::ofstream(target) << "old";
    EXPECT_THROW(
        (void)base::OutputFile::file(target, ".partial", base::OutputFile::Existing::refuse),
        InputError);
    EXPECT_THROW((void)base::OutputFile::files(target), InputError);
    auto replace = base::OutputFile::file(target);
    std::ofstream(replace.path()) << "new";
    replace.commit();
    EXPECT_EQ(std::filesystem::file_size(target), 3u);
}

TEST(OutputFile, SeveralFilesMoveTogetherAndRefuseToOverwriteAny) {
    const auto dir = test::temp_dir();
    {
        auto out = base::OutputFile::files(dir / "cells.shp");
        EXPECT_EQ(out.path(), dir / "cells.shp.partial.d" / "cells.shp");
        std::ofstream(out.path()) << "shp";
        std::ofstream(out.path().parent_path() / "cells.dbf") << "dbf";
        out.commit();
    }
    EXPECT_TRUE(std::filesystem::exists(dir / "cells.shp"));
    EXPECT_TRUE(std::filesystem::exists(dir / "cells.dbf"));
    EXPECT_FALSE(std::filesystem::exists(dir / "cells.shp.partial.d"));

    std::filesystem::remove(dir / "cells.shp");
    auto again = base::OutputFile::files(dir / "cells.shp");
    std::ofstream(again.path()) << "shp";
    std::ofstream(again.path().parent_path() / "cells.dbf") << "dbf";
    EXPECT_THROW(again.commit(), InputError); // cells.dbf is there
    EXPECT_FALSE(std::filesystem::exists(dir / "cells.shp"));
}

namespace {
enum class Colour { red, green };
constexpr base::EnumName<Colour> colour_names[] = {{Colour::red, "red"}, {Colour::green, "green"}};
} // namespace

TEST(EnumNames, BothWaysFromOneTable) {
    EXPECT_EQ(base::enum_name(colour_names, Colour::green), "green");
    EXPECT_EQ(base::enum_name(colour_names, static_cast<Colour>(7)), "unknown");
    EXPECT_EQ(base::parse_enum(colour_names, "red", "colour"), Colour::red);
    EXPECT_EQ(base::find_enum(colour_names, "blue"), std::nullopt);
    try {
        (void)base::parse_enum(colour_names, "blue", "colour");
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_STREQ(e.what(), "unknown colour 'blue' (use red, green)");
    }
}

TEST(Random, SplitMix64MatchesTheReferenceSequence) {
    // The first outputs of Vigna's splitmix64.c for seed 1234567.
    base::SplitMix64 rng(1234567);
    EXPECT_EQ(rng.next(), 6457827717110365317ULL);
    EXPECT_EQ(rng.next(), 3203168211198807973ULL);
    EXPECT_EQ(rng.next(), 9817491932198370423ULL);
    EXPECT_EQ(rng.next(), 4593380528125082431ULL);
    EXPECT_EQ(rng.next(), 16408922859458223821ULL);
}

TEST(Random, Multiply128GivesTheFullProduct) {
    const std::uint64_t max = ~std::uint64_t{0};
    EXPECT_EQ(base::multiply128(max, max).high, max - 1);
    EXPECT_EQ(base::multiply128(max, max).low, 1u);
    EXPECT_EQ(base::multiply128(1ULL << 32, 1ULL << 32).high, 1u);
    EXPECT_EQ(base::multiply128(1ULL << 32, 1ULL << 32).low, 0u);
#ifdef __SIZEOF_INT128__
    // Against the compiler's own 128-bit type where there is one (an extension, hence the
    // keyword that keeps -Wpedantic quiet).
    __extension__ using u128 = unsigned __int128;
    base::SplitMix64 rng(3);
    for (int i = 0; i < 100000; ++i) {
        const std::uint64_t a = rng.next(), b = rng.next() >> (i % 64);
        const u128 wide = static_cast<u128>(a) * b;
        const auto p = base::multiply128(a, b);
        ASSERT_EQ(p.high, static_cast<std::uint64_t>(wide >> 64));
        ASSERT_EQ(p.low, static_cast<std::uint64_t>(wide));
    }
#endif
}

// The golden values of the draws below were computed by a separate Python implementation of
// the same arithmetic (big integers, IEEE doubles), not by this code: equal output on every
// platform is the point of these draws.
TEST(Random, UniformIntGoldenValuesAndBounds) {
    base::SplitMix64 dice(2026);
    std::vector<std::int64_t> rolls;
    for (int i = 0; i < 10; ++i)
        rolls.push_back(dice.uniform_int(1, 6));
    EXPECT_EQ(rolls, (std::vector<std::int64_t>{6, 3, 5, 3, 5, 5, 6, 5, 3, 2}));
    base::SplitMix64 signed_rng(2026);
    rolls.clear();
    for (int i = 0; i < 10; ++i)
        rolls.push_back(signed_rng.uniform_int(-5, 5));
    EXPECT_EQ(rolls, (std::vector<std::int64_t>{4, 0, 2, -1, 3, 2, 5, 3, -2, -3}));
    base::SplitMix64 full(2026);
    EXPECT_EQ(full.uniform_int(INT64_MIN, INT64_MAX), -2622126769270649565LL);
    EXPECT_EQ(full.uniform_int(INT64_MIN, INT64_MAX), 8699989649721214301LL);

    base::SplitMix64 rng(5);
    EXPECT_EQ(rng.uniform_int(7, 7), 7);
    // Every value of [3, 9] about equally often: n = 700,000, so one standard deviation of a
    // frequency is 0.0004; 0.003 is more than 7 of them.
    std::vector<int> seen(7, 0);
    const int n = 700000;
    for (int i = 0; i < n; ++i) {
        const auto v = rng.uniform_int(3, 9);
        ASSERT_GE(v, 3);
        ASSERT_LE(v, 9);
        ++seen[static_cast<std::size_t>(v - 3)];
    }
    for (int count : seen)
        EXPECT_NEAR(count / double(n), 1.0 / 7, 0.003);
}

// A span of 3 * 2^62 is where a plain next() % span is most biased: it gives the first 2^62
// values half the time instead of a third.
TEST(Random, UniformIntIsUnbiasedForHugeSpans) {
    base::SplitMix64 rng(9);
    const std::int64_t quarter = std::int64_t{1} << 62;
    const int n = 300000;
    int low = 0;
    for (int i = 0; i < n; ++i) {
        // [-2^63, 2^62): 3 * 2^62 values.
        const auto v = rng.uniform_int(INT64_MIN, quarter - 1);
        ASSERT_LT(v, quarter);
        low += v < INT64_MIN + quarter;
    }
    EXPECT_NEAR(low / double(n), 1.0 / 3, 0.005); // sd 0.0009
}

TEST(Random, ChanceGoldenValuesAndFrequency) {
    base::SplitMix64 rng(2026);
    std::string flips;
    for (int i = 0; i < 16; ++i)
        flips += rng.chance(0.3) ? '1' : '0';
    EXPECT_EQ(flips, "0000000001000101");
    int yes = 0;
    for (int i = 0; i < 1000000; ++i)
        yes += rng.chance(0.3);
    EXPECT_NEAR(yes / 1e6, 0.3, 0.003); // sd 0.0005
    EXPECT_FALSE(rng.chance(0.0));
    EXPECT_TRUE(rng.chance(1.0));
}

TEST(Random, WeightedPickGoldenValuesFrequenciesAndRefusals) {
    const std::vector<double> weights{5, 0, 2, 0.3, 1};
    const base::WeightedPick pick(weights);
    base::SplitMix64 rng(2026);
    std::vector<std::size_t> picks;
    for (int i = 0; i < 16; ++i)
        picks.push_back(pick(rng));
    EXPECT_EQ(picks, (std::vector<std::size_t>{3, 0, 2, 0, 2, 2, 4, 2, 0, 0, 0, 4, 0, 0, 2, 0}));
    // Frequencies over 1,000,000 picks: one standard deviation is at most 0.0005.
    std::vector<int> seen(weights.size(), 0);
    const int n = 1000000;
    for (int i = 0; i < n; ++i)
        ++seen[pick(rng)];
    EXPECT_EQ(seen[1], 0); // a zero weight is never picked
    for (std::size_t i = 0; i < weights.size(); ++i)
        EXPECT_NEAR(seen[i] / double(n), weights[i] / 8.3, 0.003) << i;
    // Zero weights first and last, and a single weight.
    const base::WeightedPick edges(std::vector<double>{0, 1, 0});
    for (int i = 0; i < 1000; ++i)
        ASSERT_EQ(edges(rng), 1u);
    EXPECT_EQ(base::WeightedPick(std::vector<double>{0.25})(rng), 0u);

    EXPECT_THROW(base::WeightedPick(std::vector<double>{}), InputError);
    EXPECT_THROW(base::WeightedPick(std::vector<double>{0, 0}), InputError);
    EXPECT_THROW(base::WeightedPick(std::vector<double>{1, -1}), InputError);
    EXPECT_THROW(base::WeightedPick(std::vector<double>{1, std::nan("")}), InputError);
    EXPECT_THROW(base::WeightedPick(std::vector<double>{1, HUGE_VAL}), InputError);
}

TEST(Random, PoissonGoldenValues) {
    const std::vector<std::pair<double, std::vector<std::int64_t>>> golden{
        {0.5, {1, 0, 1, 0, 1, 1, 2, 1, 0, 0}},
        {4, {1, 5, 2, 3, 6, 6, 8, 1, 3, 3}},
        {69, {81, 74, 77, 73, 79, 78, 53, 58, 65, 71}},
        {1000, {1046, 980, 969, 984, 960, 965, 1063, 959, 986, 1009}},
        {1e6, {998532, 1000630, 999031, 999497, 998742, 998905, 998014, 998705, 999567, 1000292}}};
    for (const auto& [mean, expected] : golden) {
        base::SplitMix64 rng(2026);
        std::vector<std::int64_t> draws;
        for (std::size_t i = 0; i < expected.size(); ++i)
            draws.push_back(base::poisson(rng, mean));
        EXPECT_EQ(draws, expected) << "mean " << mean;
    }
    base::SplitMix64 rng(1);
    EXPECT_EQ(base::poisson(rng, 0), 0);
    EXPECT_THROW((void)base::poisson(rng, -1), InputError);
    EXPECT_THROW((void)base::poisson(rng, std::nan("")), InputError);
    EXPECT_THROW((void)base::poisson(rng, HUGE_VAL), InputError);
}

// The sample mean and variance over a large fixed-seed sample, and the frequencies of single
// counts against the exact probabilities. Tolerances are about 5 standard deviations: the
// mean's is sqrt(mean / n), the variance's about mean * sqrt(2 / n) (plus mean / n).
TEST(Random, PoissonMeanVarianceAndProbabilities) {
    for (const double mean : {0.5, 4.0, 36.0, 69.0, 1000.0, 1e6}) {
        const int n = mean > 10000 ? 20000 : 200000;
        base::SplitMix64 rng(base::substream(77, static_cast<std::uint64_t>(mean * 2)));
        std::map<std::int64_t, int> counts;
        double sum = 0, sum2 = 0;
        for (int i = 0; i < n; ++i) {
            const auto k = base::poisson(rng, mean);
            ASSERT_GE(k, 0);
            ++counts[k];
            sum += static_cast<double>(k);
            sum2 += static_cast<double>(k) * static_cast<double>(k);
        }
        const double m = sum / n, var = sum2 / n - m * m;
        EXPECT_NEAR(m, mean, 5 * std::sqrt(mean / n)) << "mean " << mean;
        EXPECT_NEAR(var, mean, 5 * mean * std::sqrt(2.0 / n) + 5 * std::sqrt(mean / n))
            << "mean " << mean;
        // P(K = k) for the counts around the mean, from the log-pmf.
        for (auto k = static_cast<std::int64_t>(mean - std::sqrt(mean));
             k <= static_cast<std::int64_t>(mean + std::sqrt(mean)); ++k) {
            if (k < 0) continue;
            const double kd = static_cast<double>(k);
            const double p = std::exp(kd * std::log(mean) - mean - std::lgamma(kd + 1));
            EXPECT_NEAR(counts[k] / double(n), p, 5 * std::sqrt(p * (1 - p) / n) + 1e-9)
                << "mean " << mean << ", k " << k;
        }
    }
}

TEST(Orientation, SignsAndExactCollinearity) {
    EXPECT_EQ(geo::orientation({0, 0}, {1, 0}, {0, 1}), 1);
    EXPECT_EQ(geo::orientation({0, 0}, {1, 0}, {0, -1}), -1);
    EXPECT_EQ(geo::orientation({0, 0}, {1, 1}, {3, 3}), 0);
    // Collinear only exactly: 0.5 + k * 2^-52 steps along y = x.
    const double e = 0x1.0p-52;
    EXPECT_EQ(geo::orientation({0.5, 0.5}, {12, 12}, {24, 24}), 0);
    EXPECT_EQ(geo::orientation({0.5, 0.5}, {12, 12}, {0.5 + e, 0.5}), -1);
    EXPECT_EQ(geo::orientation({0.5, 0.5}, {12, 12}, {0.5, 0.5 + e}), 1);
}

// The naive determinant gives different signs for the same three points in another order
// when they are nearly collinear; the exact predicate never does.
TEST(Orientation, ConsistentUnderPermutationNearCollinearity) {
    base::SplitMix64 rng(7);
    const double e = 0x1.0p-52;
    for (int i = 0; i < 20000; ++i) {
        const geo::Point a{0.5 + rng.below(16) * e, 0.5 + rng.below(16) * e};
        const geo::Point b{12.0 + rng.below(16) * 8 * e, 12.0 + rng.below(16) * 8 * e};
        const geo::Point c{24.0 + rng.below(16) * 16 * e, 24.0 + rng.below(16) * 16 * e};
        const int o = geo::orientation(a, b, c);
        ASSERT_EQ(geo::orientation(b, c, a), o);
        ASSERT_EQ(geo::orientation(c, a, b), o);
        ASSERT_EQ(geo::orientation(b, a, c), -o);
    }
}
