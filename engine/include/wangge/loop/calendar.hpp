// Local time and the working-time calendar that deadlines are counted in.
//
// Times are local wall-clock times of one zone without daylight saving (Asia/Shanghai,
// UTC+8), kept as whole minutes since 1970-01-01T00:00 local time: comparisons and natural
// durations are plain integer arithmetic and nothing depends on the machine's time zone.
//
// A working day is Monday to Friday, minus public holidays, plus make-up working days
// (调休, usually a Saturday or Sunday). Every working day has the same office hours, one or
// more periods of the day (08:30-12:00 and 14:30-18:00 by default: the lunch break is not
// working time). Holidays and make-up days come from a file per year (see load()).
//
// Coverage: a calendar file states the years it covers ("years": [2026]); several files
// can be combined (a JSON array of them, e.g. 2025 and 2026). Deadlines (add()) are only
// computed inside covered years: one that starts or ends in a year no calendar covers is
// refused (InputError naming the time and the covered years), because outside them the
// holidays are unknown and a weekday-only count would be silently wrong (a 1-working-day
// matter dispatched on 2026-12-31 would be due on New Year's Day). Reading the past (elapsed
// time, working_minutes) never refuses: outside covered years it counts Mon-Fri. The default
// calendar (no file) covers every year with Mon-Fri and no holidays, and says so.
//
// Counting rules (documented because deadlines depend on them):
// - Adding N working minutes walks forward through office hours only; when the last minute
//   is used up exactly at the end of a period the deadline is that end (12:00, not 14:30).
//   Starting outside office hours counts from the next period's start.
// - One working day is the working minutes of a full day (7 h by default), so "1 working
//   day" from Monday 10:00 is Tuesday 10:00 and from Friday 19:00 is Monday 18:00.
// - Natural hours and minutes ignore the calendar.
// - working_minutes(a, b) counts office minutes in [a, b); it is the inverse of adding:
//   working_minutes(t, add_working_minutes(t, n)) == n.
//
// Thread safety: a Calendar is immutable after construction; all const members may be
// called from any number of threads.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wangge::loop {

// A local time, minutes since 1970-01-01T00:00 local (UTC+8).
struct LocalTime {
    std::int64_t minutes = 0;
    friend auto operator<=>(const LocalTime&, const LocalTime&) = default;
};

// The UTC offset of local time in minutes (Asia/Shanghai, no DST).
inline constexpr int local_utc_offset_minutes = 8 * 60;

// The machine's clock as local time, to the minute.
[[nodiscard]] LocalTime now_local();

[[nodiscard]] LocalTime make_time(std::chrono::year_month_day date, int hour = 0, int minute = 0);
[[nodiscard]] std::chrono::year_month_day date_of(LocalTime t);
[[nodiscard]] int minute_of_day(LocalTime t);

// Parses "2026-03-02T09:15", "2026-03-02T09:15:00", "2026-03-02 09:15", each optionally
// followed by "+08:00", another offset (converted to local time) or "Z". Seconds must be 0
// or are truncated. Throws InputError naming the text.
[[nodiscard]] LocalTime parse_time(std::string_view text);
// "2026-03-02T09:15" (local, no offset).
[[nodiscard]] std::string format_time(LocalTime t);
// "2026-03-02"; throws InputError.
[[nodiscard]] std::chrono::year_month_day parse_date(std::string_view text);
[[nodiscard]] std::string format_date(std::chrono::year_month_day date);

// How a time limit is counted.
enum class TimeUnit { working_hours, working_days, natural_hours, natural_minutes };

[[nodiscard]] std::string_view to_string(TimeUnit unit);
// "working_hours", "working_days", "natural_hours", "natural_minutes"; throws InputError.
[[nodiscard]] TimeUnit time_unit_from(std::string_view text);
[[nodiscard]] inline bool is_working_time(TimeUnit unit) {
    return unit == TimeUnit::working_hours || unit == TimeUnit::working_days;
}

struct TimeLimit {
    double value = 0; // may be fractional ("0.5 working days")
    TimeUnit unit = TimeUnit::working_hours;
    friend bool operator==(const TimeLimit&, const TimeLimit&) = default;
};

// One period of office hours, minutes of the day, [begin, end).
struct OfficePeriod {
    int begin = 0;
    int end = 0;
    friend bool operator==(const OfficePeriod&, const OfficePeriod&) = default;
};

struct CalendarSpec {
    std::string name;
    std::string notice; // e.g. "sample, verify against the official notice"
    std::vector<OfficePeriod> office_hours{{8 * 60 + 30, 12 * 60}, {14 * 60 + 30, 18 * 60}};
    std::vector<std::chrono::year_month_day> holidays;     // non-working days (any weekday)
    std::vector<std::chrono::year_month_day> make_up_days; // working days on a weekend
    // The years the calendar covers, ascending; empty: every year of the range (the
    // default Mon-Fri calendar).
    std::vector<int> years;
};

class Calendar {
  public:
    // The range of dates a calendar answers for; times outside it throw InputError.
    static constexpr int first_year = 2000;
    static constexpr int last_year = 2099;

    // Mon-Fri with the default office hours and no holidays.
    Calendar();
    // Throws InputError when office hours are empty, overlap, are out of order or outside
    // 00:00-24:00, or a date is outside the supported range.
    explicit Calendar(CalendarSpec spec);

    // Reads a JSON calendar file:
    // { "name": "...", "notice": "...", "office_hours": [["08:30","12:00"], ...],
    //   "holidays": [{"name": "春节", "from": "2026-02-15", "to": "2026-02-23"}, ...],
    //   "make_up_days": [{"name": "春节调休", "date": "2026-02-14"}, ...],
    //   "years": [2026] }
    // or a JSON array of such objects, one per year or group of years, combined (their
    // office hours must agree; a year may be covered by only one of them). A file without
    // "years" (written before it was required) covers the years of its holidays and
    // make-up days. Errors name the file and the offending entry.
    static Calendar load(const std::string& path);
    // The same from the file's text (e.g. as stored in a workspace); `path` names it in errors.
    static Calendar parse(std::string_view text, const std::string& path);

    [[nodiscard]] const CalendarSpec& spec() const noexcept { return m_spec; }
    [[nodiscard]] bool is_working_day(std::chrono::year_month_day date) const;
    [[nodiscard]] bool is_working_time(LocalTime t) const;
    // Working minutes in one full working day (420 by default).
    [[nodiscard]] int minutes_per_day() const noexcept { return m_day_minutes; }

    // Deadlines. n >= 0 (negative throws InputError).
    [[nodiscard]] LocalTime add_working_minutes(LocalTime t, std::int64_t n) const;
    [[nodiscard]] LocalTime add_working_hours(LocalTime t, double hours) const;
    [[nodiscard]] LocalTime add_working_days(LocalTime t, double days) const;
    [[nodiscard]] static LocalTime add_natural_hours(LocalTime t, double hours);
    // What add() does with a deadline outside the covered years.
    enum class Uncovered {
        refuse,  // InputError (new moves)
        weekdays // count Mon-Fri (replaying recorded moves, or when explicitly allowed)
    };
    // The deadline rule: t plus the limit (see Coverage above).
    [[nodiscard]] LocalTime add(LocalTime t, const TimeLimit& limit,
                                Uncovered uncovered = Uncovered::refuse) const;

    // Coverage. covers(): whether the year of t is covered. The first and last covered
    // year (first_year / last_year for the default calendar). "2026", "2025-2026" or
    // "2025, 2027".
    [[nodiscard]] bool covers(LocalTime t) const;
    [[nodiscard]] int first_covered_year() const;
    [[nodiscard]] int last_covered_year() const;
    [[nodiscard]] std::string covered_years_text() const;
    // Throws InputError "<what> <time> falls in <year>, which no calendar covers (...)"
    // unless covers(t).
    void require_covered(LocalTime t, std::string_view what) const;

    // Office minutes in [a, b); negative when b < a.
    [[nodiscard]] std::int64_t working_minutes(LocalTime a, LocalTime b) const;
    // The time spent between a and b in the limit's measure (working or natural minutes).
    [[nodiscard]] std::int64_t elapsed(LocalTime a, LocalTime b, TimeUnit unit) const;

  private:
    // Working minutes from the range start to t (a monotone, piecewise linear count).
    [[nodiscard]] std::int64_t position(LocalTime t) const;
    [[nodiscard]] std::int64_t day_index(LocalTime t) const;

    CalendarSpec m_spec;
    int m_day_minutes = 0;
    std::int64_t m_first_day = 0; // days since 1970-01-01 of the range start
    // m_cumulative[i]: working minutes before day i of the range (size = days + 1).
    std::vector<std::int64_t> m_cumulative;
    std::vector<bool> m_working; // per day of the range
};

} // namespace wangge::loop
