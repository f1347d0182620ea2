// The shared pieces of the base stage and geo's orientation predicate.
#include "test_support.hpp"
#include "wangge/base/csv.hpp"
#include "wangge/base/enum_names.hpp"
#include "wangge/base/output_file.hpp"
#include "wangge/base/random.hpp"
#include "wangge/geo/orientation.hpp"

#include <fstream>
#include <gtest/gtest.h>

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
