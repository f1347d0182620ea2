#include "test_support.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/calendar.hpp"

#include <fstream>
#include <gtest/gtest.h>
#include <iterator>

using namespace wangge;
using loop::Calendar;
using loop::LocalTime;
using loop::parse_time;

namespace {

std::string catalogue(const std::string& name) {
    return std::string(WANGGE_CATALOGUE_DIR) + "/" + name;
}

const Calendar& cal2026() {
    static const Calendar cal = Calendar::load(catalogue("calendar-2026.json"));
    return cal;
}

LocalTime t(const char* text) {
    return parse_time(text);
}
std::string s(LocalTime time) {
    return loop::format_time(time);
}

} // namespace

TEST(Calendar, ParsesAndPrintsIsoTimes) {
    EXPECT_EQ(s(t("2026-03-02T09:15")), "2026-03-02T09:15");
    EXPECT_EQ(t("2026-03-02T09:15+08:00"), t("2026-03-02T09:15"));
    EXPECT_EQ(t("2026-03-02 09:15:00"), t("2026-03-02T09:15"));
    EXPECT_EQ(t("2026-03-02T01:15Z"), t("2026-03-02T09:15"));
    EXPECT_EQ(t("2026-03-01T20:15-05:00"), t("2026-03-02T09:15"));
    EXPECT_EQ(s(t("1969-12-31T23:59")), "1969-12-31T23:59");
    EXPECT_EQ(t("2026-03-02T09:15").minutes - t("2026-03-01T09:15").minutes, 24 * 60);
    for (const char* bad :
         {"", "2026-03-02", "2026-02-30T09:00", "2026-03-02T24:00", "2026-03-02T09:60",
          "2026-03-02T09:15+8", "2026-03-02T09:15 x", "26-03-02T09:15"})
        EXPECT_THROW((void)parse_time(bad), InputError) << bad;
    EXPECT_THROW((void)loop::time_unit_from("hours"), InputError);
    EXPECT_EQ(loop::time_unit_from("working_days"), loop::TimeUnit::working_days);
}

TEST(Calendar, LoadsTheSample2026File) {
    const auto& cal = cal2026();
    EXPECT_FALSE(cal.spec().notice.empty());
    EXPECT_EQ(cal.minutes_per_day(), 420);
    using std::chrono::year_month_day;
    EXPECT_TRUE(cal.is_working_day(loop::parse_date("2026-03-02")));  // Monday
    EXPECT_FALSE(cal.is_working_day(loop::parse_date("2026-03-07"))); // Saturday
    EXPECT_FALSE(cal.is_working_day(loop::parse_date("2026-02-17"))); // Spring Festival
    EXPECT_TRUE(cal.is_working_day(loop::parse_date("2026-02-14")));  // make-up Saturday
    EXPECT_TRUE(cal.is_working_day(loop::parse_date("2026-01-04")));  // make-up Sunday
    EXPECT_FALSE(cal.is_working_day(loop::parse_date("2026-10-07")));
    EXPECT_TRUE(cal.is_working_time(t("2026-03-02T08:30")));
    EXPECT_FALSE(cal.is_working_time(t("2026-03-02T12:00")));
    EXPECT_FALSE(cal.is_working_time(t("2026-03-02T13:00")));
}

TEST(Calendar, WorkingHoursSkipLunchEveningsAndWeekends) {
    const auto& cal = cal2026();
    // Street cleaning, 5 working hours: three before lunch, two after.
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-02T09:00"), 5)), "2026-03-02T16:30");
    // Used up exactly at the lunch break: the deadline is 12:00, not 14:30.
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-02T09:00"), 3)), "2026-03-02T12:00");
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-02T16:00"), 2)), "2026-03-02T18:00");
    // Across the evening and the weekend.
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-06T17:00"), 2)), "2026-03-09T09:30");
    // Starting outside office hours: lunch, evening, Saturday, before opening.
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-02T12:30"), 1)), "2026-03-02T15:30");
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-02T20:00"), 1)), "2026-03-03T09:30");
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-07T10:00"), 1)), "2026-03-09T09:30");
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-03T06:00"), 0.5)), "2026-03-03T09:00");
    EXPECT_EQ(s(cal.add_working_hours(t("2026-03-02T09:00"), 0)), "2026-03-02T09:00");
    EXPECT_THROW((void)cal.add_working_minutes(t("2026-03-02T09:00"), -1), InputError);
}

TEST(Calendar, WorkingDaysKeepTheTimeOfDay) {
    const auto& cal = cal2026();
    // Exposed rubbish, 1 working day.
    EXPECT_EQ(s(cal.add_working_days(t("2026-03-02T10:00"), 1)), "2026-03-03T10:00");
    EXPECT_EQ(s(cal.add_working_days(t("2026-03-06T10:00"), 1)), "2026-03-09T10:00");
    EXPECT_EQ(s(cal.add_working_days(t("2026-03-02T20:00"), 1)), "2026-03-03T18:00");
    EXPECT_EQ(s(cal.add_working_days(t("2026-03-06T19:00"), 1)), "2026-03-09T18:00");
    // Illegal building, 15 working days: three plain weeks.
    EXPECT_EQ(s(cal.add_working_days(t("2026-03-02T09:00"), 15)), "2026-03-23T09:00");
    EXPECT_EQ(s(cal.add_working_days(t("2026-03-02T09:00"), 0.5)), "2026-03-02T15:00");
}

TEST(Calendar, HolidayWeeksAndMakeUpDays) {
    const auto& cal = cal2026();
    // Spring Festival 2026: Sat 14 Feb is a working day, 15-23 Feb are off.
    EXPECT_EQ(s(cal.add_working_hours(t("2026-02-13T17:00"), 2)), "2026-02-14T09:30");
    EXPECT_EQ(s(cal.add_working_hours(t("2026-02-14T17:00"), 2)), "2026-02-24T09:30");
    EXPECT_EQ(s(cal.add_working_days(t("2026-02-14T16:00"), 1)), "2026-02-24T16:00");
    EXPECT_EQ(s(cal.add_working_hours(t("2026-02-17T10:00"), 1)), "2026-02-24T09:30");
    // Sat 28 Feb is a make-up working day too.
    EXPECT_EQ(s(cal.add_working_days(t("2026-02-27T10:00"), 1)), "2026-02-28T10:00");
    // New Year: 1-3 Jan off, Sunday 4 Jan worked.
    EXPECT_EQ(s(cal.add_working_hours(t("2025-12-31T17:00"), 2)), "2026-01-04T09:30");
    EXPECT_EQ(s(cal.add_working_hours(t("2026-01-03T10:00"), 1)), "2026-01-04T09:30");
    // National Day: 1-7 Oct off, Sat 10 Oct worked; 15 working days from 30 Sep.
    EXPECT_EQ(s(cal.add_working_days(t("2026-09-30T10:00"), 15)), "2026-10-27T10:00");
    // The same span read back.
    EXPECT_EQ(cal.working_minutes(t("2026-02-13T17:00"), t("2026-02-24T09:30")), 60 + 420 + 60);
    EXPECT_EQ(cal.working_minutes(t("2026-02-24T09:30"), t("2026-02-13T17:00")), -540);
    EXPECT_EQ(cal.working_minutes(t("2026-02-15T00:00"), t("2026-02-23T23:59")), 0);
}

TEST(Calendar, NaturalHoursIgnoreTheCalendar) {
    const auto& cal = cal2026();
    EXPECT_EQ(s(cal.add_natural_hours(t("2026-02-14T22:30"), 2)), "2026-02-15T00:30");
    EXPECT_EQ(s(cal.add(t("2026-02-17T10:00"), {10, loop::TimeUnit::natural_minutes})),
              "2026-02-17T10:10");
    EXPECT_EQ(
        cal.elapsed(t("2026-02-17T10:00"), t("2026-02-17T12:00"), loop::TimeUnit::natural_hours),
        120);
    EXPECT_EQ(
        cal.elapsed(t("2026-02-17T10:00"), t("2026-02-17T12:00"), loop::TimeUnit::working_hours),
        0);
}

TEST(Calendar, ElapsedWorkingTimeIsTheInverseOfAdding) {
    const auto& cal = cal2026();
    const LocalTime start = t("2026-01-28T00:00");
    for (std::int64_t m = 0; m < 45 * 24 * 60; m += 37) {
        const LocalTime from{start.minutes + m};
        for (std::int64_t n : {1, 59, 210, 211, 420, 1000, 6300}) {
            const LocalTime due = cal.add_working_minutes(from, n);
            ASSERT_EQ(cal.working_minutes(from, due), n) << s(from) << " + " << n;
            // The deadline is the earliest such time: one minute less is not enough.
            ASSERT_EQ(cal.working_minutes(from, LocalTime{due.minutes - 1}), n - 1);
        }
        const LocalTime later{from.minutes + 3001};
        EXPECT_LE(cal.add_working_minutes(from, cal.working_minutes(from, later)), later);
    }
}

TEST(Calendar, BadFilesNameTheFileAndEntry) {
    const auto dir = test::temp_dir();
    auto write = [&](const std::string& name, const std::string& text) {
        const auto path = (dir / name).string();
        std::ofstream(path) << text;
        return path;
    };
    const auto bad_date = write("bad_date.json", R"({"holidays": [{"from": "2026-02-30"}]})");
    try {
        (void)Calendar::load(bad_date);
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().file, bad_date);
        EXPECT_EQ(e.context().field, "holidays[0]");
        EXPECT_NE(std::string(e.what()).find("2026-02-30"), std::string::npos);
    }
    EXPECT_THROW((void)Calendar::load(write("overlap.json",
                                            R"({"office_hours": [["08:00","12:00"],
                                                                  ["11:00","13:00"]]})")),
                 InputError);
    EXPECT_THROW((void)Calendar::load(write("json.json", "{")), InputError);
    EXPECT_THROW((void)Calendar::load((dir / "missing.json").string()), InputError);
    EXPECT_THROW((void)Calendar::load(write("both.json",
                                            R"({"holidays": [{"from": "2026-02-14"}],
                                                "make_up_days": [{"date": "2026-02-14"}]})")),
                 InputError);
    // Outside the supported range.
    EXPECT_THROW((void)cal2026().add_working_hours(t("2100-01-01T09:00"), 1), InputError);
}

// A calendar covers the years it states; deadlines outside them are refused, not silently
// counted Mon-Fri (a 1-working-day matter dispatched on 2026-12-31 was due on New Year's Day).
TEST(Calendar, DeadlinesOutsideTheCoveredYearsAreRefused) {
    const auto& cal = cal2026();
    EXPECT_EQ(cal.spec().years, std::vector<int>{2026});
    EXPECT_EQ(cal.covered_years_text(), "2026");
    EXPECT_EQ(cal.first_covered_year(), 2026);
    EXPECT_TRUE(cal.covers(t("2026-12-31T23:59")));
    EXPECT_FALSE(cal.covers(t("2027-01-01T00:00")));
    EXPECT_FALSE(cal.covers(t("2025-12-31T23:59")));
    const loop::TimeLimit one_day{1, loop::TimeUnit::working_days};
    EXPECT_EQ(s(cal.add(t("2026-12-30T10:00"), one_day)), "2026-12-31T10:00");
    try {
        (void)cal.add(t("2026-12-31T10:00"), one_day);
        FAIL() << "no error";
    } catch (const InputError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("2027-01-01T10:00 falls in 2027, which no calendar covers"),
                  std::string::npos)
            << what;
        EXPECT_NE(what.find("cover 2026"), std::string::npos) << what;
    }
    // A start before the calendar, even with a natural-time limit.
    EXPECT_THROW((void)cal.add(t("2025-12-31T23:00"), {30, loop::TimeUnit::natural_minutes}),
                 InputError);
    // Replaying what was recorded counts Mon-Fri instead of refusing.
    EXPECT_EQ(s(cal.add(t("2026-12-31T10:00"), one_day, Calendar::Uncovered::weekdays)),
              "2027-01-01T10:00");
    // The default calendar (no file) covers the whole range, and says it has no holidays.
    const Calendar plain;
    EXPECT_TRUE(plain.covers(t("2027-01-01T00:00")));
    EXPECT_NE(plain.covered_years_text().find("no holidays"), std::string::npos);
}

TEST(Calendar, SeveralYearsCombineAndAYearIsCoveredOnce) {
    // Generated test calendars (not official notices).
    const std::string y2025 = R"({"name": "test 2025", "years": [2025],
        "holidays": [{"from": "2025-01-01"}]})";
    const std::string y2027 = R"({"name": "test 2027", "years": [2027],
        "holidays": [{"from": "2027-01-01", "to": "2027-01-03"}]})";
    std::ifstream in(catalogue("calendar-2026.json"));
    const std::string y2026{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto both = Calendar::parse("[" + y2026 + "," + y2027 + "]", "both.json");
    EXPECT_EQ(both.covered_years_text(), "2026-2027");
    EXPECT_FALSE(both.is_working_day(loop::parse_date("2027-01-01")));
    // Now the New Year case has an answer: 2027-01-04 (Monday) after the holiday.
    EXPECT_EQ(s(both.add(t("2026-12-31T10:00"), {1, loop::TimeUnit::working_days})),
              "2027-01-04T10:00");
    const auto gap = Calendar::parse("[" + y2025 + "," + y2027 + "]", "gap.json");
    EXPECT_EQ(gap.covered_years_text(), "2025, 2027");
    EXPECT_THROW((void)gap.add(t("2026-03-02T10:00"), {1, loop::TimeUnit::working_hours}),
                 InputError);
    // A year in two files, differing office hours, no stated years: refused, naming the entry.
    EXPECT_THROW((void)Calendar::parse("[" + y2026 + "," + y2026 + "]", "twice.json"), InputError);
    try {
        (void)Calendar::parse("[" + y2025 +
                                  R"(, {"years": [2027], "office_hours": [["09:00","17:00"]]}])",
                              "hours.json");
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().field, "[1].office_hours");
    }
    try {
        (void)Calendar::parse(R"({"name": "no years"})", "none.json");
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_EQ(e.context().field, "years");
    }
    // A file from before "years" was required covers the years of its dates.
    const auto legacy =
        Calendar::parse(R"({"holidays": [{"from": "2026-10-01", "to": "2026-10-07"}]})", "old");
    EXPECT_EQ(legacy.covered_years_text(), "2026");
}
