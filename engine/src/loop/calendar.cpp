#include "wangge/loop/calendar.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

namespace wangge::loop {

namespace chr = std::chrono;

namespace {

constexpr std::int64_t minutes_per_natural_day = 24 * 60;

std::int64_t days_since_epoch(chr::year_month_day date) {
    return chr::sys_days(date).time_since_epoch().count();
}

chr::year_month_day date_from_days(std::int64_t days) {
    return chr::year_month_day(chr::sys_days(chr::days(days)));
}

// Floor division, so times before 1970 still map to the right day.
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

// Reads exactly `width` digits at text[pos]; -1 when they are not digits.
int digits(std::string_view text, std::size_t pos, std::size_t width) {
    if (pos + width > text.size()) return -1;
    int value = 0;
    for (std::size_t i = pos; i < pos + width; ++i) {
        if (text[i] < '0' || text[i] > '9') return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

[[noreturn]] void bad_time(std::string_view text, const char* why) {
    throw InputError("bad time '" + std::string(text) + "': " + why +
                     " (expected e.g. 2026-03-02T09:15 or 2026-03-02T09:15+08:00)");
}

chr::year_month_day date_prefix(std::string_view text, bool& ok) {
    ok = false;
    const int y = digits(text, 0, 4);
    const int m = digits(text, 5, 2);
    const int d = digits(text, 8, 2);
    if (y < 0 || m < 0 || d < 0 || text.size() < 10 || text[4] != '-' || text[7] != '-') return {};
    const chr::year_month_day date{chr::year(y), chr::month(static_cast<unsigned>(m)),
                                   chr::day(static_cast<unsigned>(d))};
    ok = date.ok();
    return date;
}

// "HH:MM" to minutes of the day; 24:00 allowed as an end.
int parse_clock(std::string_view text) {
    const int h = digits(text, 0, 2);
    const int m = digits(text, 3, 2);
    if (text.size() != 5 || h < 0 || m < 0 || text[2] != ':' || m > 59 || h > 24 ||
        (h == 24 && m != 0))
        throw InputError("bad clock time '" + std::string(text) + "' (expected HH:MM)");
    return h * 60 + m;
}

} // namespace

LocalTime now_local() {
    const auto now = chr::floor<chr::minutes>(chr::system_clock::now());
    return {now.time_since_epoch().count() + local_utc_offset_minutes};
}

LocalTime make_time(chr::year_month_day date, int hour, int minute) {
    return {days_since_epoch(date) * minutes_per_natural_day + hour * 60 + minute};
}

chr::year_month_day date_of(LocalTime t) {
    return date_from_days(floor_div(t.minutes, minutes_per_natural_day));
}

int minute_of_day(LocalTime t) {
    return static_cast<int>(t.minutes - floor_div(t.minutes, minutes_per_natural_day) *
                                            minutes_per_natural_day);
}

LocalTime parse_time(std::string_view text) {
    bool ok = false;
    const auto date = date_prefix(text, ok);
    if (!ok) bad_time(text, "no valid date");
    if (text.size() < 16 || (text[10] != 'T' && text[10] != ' ')) bad_time(text, "no time");
    const int h = digits(text, 11, 2);
    const int m = digits(text, 14, 2);
    if (h < 0 || m < 0 || text[13] != ':' || h > 23 || m > 59) bad_time(text, "bad hour or minute");
    std::size_t pos = 16;
    if (pos < text.size() && text[pos] == ':') {
        const int s = digits(text, pos + 1, 2);
        if (s < 0 || s > 59) bad_time(text, "bad seconds");
        pos += 3;
    }
    LocalTime t = make_time(date, h, m);
    if (pos == text.size()) return t;
    const std::string_view zone = text.substr(pos);
    int offset = 0;
    if (zone == "Z") {
        offset = 0;
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
        const int oh = digits(zone, 1, 2);
        const int om = digits(zone, 4, 2);
        if (oh < 0 || om < 0 || oh > 14 || om > 59) bad_time(text, "bad UTC offset");
        offset = (zone[0] == '-' ? -1 : 1) * (oh * 60 + om);
    } else {
        bad_time(text, "unexpected text after the time");
    }
    // Convert the given offset to local time.
    t.minutes += local_utc_offset_minutes - offset;
    return t;
}

namespace {
// Writes `width` digits of v at out (no snprintf: bulk imports format millions of times).
void put_digits(char* out, int v, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
}
} // namespace

std::string format_time(LocalTime t) {
    const auto date = date_of(t);
    const int mod = minute_of_day(t);
    std::string out = "0000-00-00T00:00";
    put_digits(out.data(), static_cast<int>(date.year()), 4);
    put_digits(out.data() + 5, static_cast<int>(static_cast<unsigned>(date.month())), 2);
    put_digits(out.data() + 8, static_cast<int>(static_cast<unsigned>(date.day())), 2);
    put_digits(out.data() + 11, mod / 60, 2);
    put_digits(out.data() + 14, mod % 60, 2);
    return out;
}

chr::year_month_day parse_date(std::string_view text) {
    bool ok = false;
    const auto date = date_prefix(text, ok);
    if (!ok || text.size() != 10)
        throw InputError("bad date '" + std::string(text) + "' (expected YYYY-MM-DD)");
    return date;
}

std::string format_date(chr::year_month_day date) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(date.year()),
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
    return buf;
}

std::string_view to_string(TimeUnit unit) {
    switch (unit) {
    case TimeUnit::working_hours:
        return "working_hours";
    case TimeUnit::working_days:
        return "working_days";
    case TimeUnit::natural_hours:
        return "natural_hours";
    case TimeUnit::natural_minutes:
        return "natural_minutes";
    }
    return "?";
}

TimeUnit time_unit_from(std::string_view text) {
    for (auto u : {TimeUnit::working_hours, TimeUnit::working_days, TimeUnit::natural_hours,
                   TimeUnit::natural_minutes})
        if (text == to_string(u)) return u;
    throw InputError("unknown time unit '" + std::string(text) +
                     "' (expected working_hours, working_days, natural_hours or "
                     "natural_minutes)");
}

Calendar::Calendar() : Calendar(CalendarSpec{}) {}

Calendar::Calendar(CalendarSpec spec) : m_spec(std::move(spec)) {
    if (m_spec.office_hours.empty()) throw InputError("calendar: no office hours");
    int previous_end = 0;
    for (const auto& p : m_spec.office_hours) {
        if (p.begin < previous_end || p.end <= p.begin || p.end > 24 * 60)
            throw InputError("calendar: office hours must be ordered, non-empty, "
                             "non-overlapping periods within 00:00-24:00");
        previous_end = p.end;
        m_day_minutes += p.end - p.begin;
    }
    const auto first = chr::year_month_day{chr::year(first_year), chr::January, chr::day(1)};
    const auto end = chr::year_month_day{chr::year(last_year + 1), chr::January, chr::day(1)};
    m_first_day = days_since_epoch(first);
    const auto count = static_cast<std::size_t>(days_since_epoch(end) - m_first_day);
    m_working.assign(count, false);
    for (std::size_t i = 0; i < count; ++i) {
        const chr::weekday wd{chr::sys_days(chr::days(m_first_day + static_cast<int>(i)))};
        m_working[i] = wd != chr::Saturday && wd != chr::Sunday;
    }
    auto index = [&](chr::year_month_day d) {
        const std::int64_t i = days_since_epoch(d) - m_first_day;
        if (!d.ok() || i < 0 || i >= static_cast<std::int64_t>(count))
            throw InputError("calendar: date " + format_date(d) + " outside " +
                             std::to_string(first_year) + "-" + std::to_string(last_year));
        return static_cast<std::size_t>(i);
    };
    for (const auto& d : m_spec.holidays)
        m_working[index(d)] = false;
    for (const auto& d : m_spec.make_up_days) {
        if (std::find(m_spec.holidays.begin(), m_spec.holidays.end(), d) != m_spec.holidays.end())
            throw InputError("calendar: " + format_date(d) +
                             " is both a holiday and a make-up working day");
        m_working[index(d)] = true;
    }
    std::sort(m_spec.years.begin(), m_spec.years.end());
    if (std::adjacent_find(m_spec.years.begin(), m_spec.years.end()) != m_spec.years.end())
        throw InputError("calendar: a year is listed twice (or covered by two calendars)");
    for (const int y : m_spec.years)
        if (y < first_year || y > last_year)
            throw InputError("calendar: year " + std::to_string(y) + " outside " +
                             std::to_string(first_year) + "-" + std::to_string(last_year));
    m_cumulative.assign(count + 1, 0);
    for (std::size_t i = 0; i < count; ++i)
        m_cumulative[i + 1] = m_cumulative[i] + (m_working[i] ? m_day_minutes : 0);
}

Calendar Calendar::load(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw InputError("cannot open calendar file", {.file = path});
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return parse(text, path);
}

namespace {
// One calendar object of a file into spec; `where` names the entry being read.
void read_calendar_object(const nlohmann::json& doc, CalendarSpec& spec, bool first,
                          const std::string& prefix, std::string& where) {
    where = prefix + "name";
    const std::string name = doc.value("name", "");
    spec.name = first ? name : spec.name + "; " + name;
    where = prefix + "notice";
    const std::string notice = doc.value("notice", "");
    spec.notice =
        first || notice.empty() ? (first ? notice : spec.notice) : spec.notice + " " + notice;
    std::vector<OfficePeriod> hours = CalendarSpec{}.office_hours;
    if (doc.contains("office_hours")) {
        hours.clear();
        std::size_t i = 0;
        for (const auto& p : doc.at("office_hours")) {
            where = prefix + "office_hours[" + std::to_string(i++) + "]";
            if (!p.is_array() || p.size() != 2) throw InputError("expected [\"HH:MM\", \"HH:MM\"]");
            hours.push_back(
                {parse_clock(p[0].get<std::string>()), parse_clock(p[1].get<std::string>())});
        }
    }
    where = prefix + "office_hours";
    if (first)
        spec.office_hours = hours;
    else if (hours != spec.office_hours)
        throw InputError("office hours differ from the first calendar's; combined calendars "
                         "must share them");
    std::vector<int> dated_years; // the years of its dates, for a file without "years"
    std::size_t i = 0;
    for (const auto& h : doc.value("holidays", nlohmann::json::array())) {
        where = prefix + "holidays[" + std::to_string(i++) + "]";
        const auto from = parse_date(h.at("from").get<std::string>());
        const auto to = parse_date(h.value("to", h.at("from").get<std::string>()));
        if (chr::sys_days(to) < chr::sys_days(from)) throw InputError("'to' is before 'from'");
        for (auto d = chr::sys_days(from); d <= chr::sys_days(to); d += chr::days(1)) {
            spec.holidays.emplace_back(d);
            dated_years.push_back(static_cast<int>(chr::year_month_day(d).year()));
        }
    }
    i = 0;
    for (const auto& m : doc.value("make_up_days", nlohmann::json::array())) {
        where = prefix + "make_up_days[" + std::to_string(i++) + "]";
        spec.make_up_days.push_back(parse_date(m.at("date").get<std::string>()));
        dated_years.push_back(static_cast<int>(spec.make_up_days.back().year()));
    }
    where = prefix + "years";
    if (doc.contains("years")) {
        const auto& years = doc.at("years");
        if (!years.is_array() || years.empty())
            throw InputError("expected a non-empty list of years, e.g. [2026]");
        for (const auto& y : years) {
            if (!y.is_number_integer()) throw InputError("expected a year such as 2026");
            spec.years.push_back(y.get<int>());
        }
    } else {
        // Written before files stated their years: the years its dates are in.
        if (dated_years.empty())
            throw InputError("the calendar does not say which years it covers (add \"years\": "
                             "[2026])");
        std::sort(dated_years.begin(), dated_years.end());
        dated_years.erase(std::unique(dated_years.begin(), dated_years.end()), dated_years.end());
        for (const int y : dated_years)
            if (std::find(spec.years.begin(), spec.years.end(), y) == spec.years.end())
                spec.years.push_back(y);
    }
    where.clear();
}
} // namespace

Calendar Calendar::parse(std::string_view text, const std::string& path) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw InputError(std::string("not valid JSON: ") + e.what(), {.file = path});
    }
    CalendarSpec spec;
    std::string where;
    try {
        if (doc.is_array()) {
            if (doc.empty()) throw InputError("an empty list of calendars");
            for (std::size_t i = 0; i < doc.size(); ++i) {
                std::string prefix = "[";
                prefix.append(std::to_string(i)).append("].");
                read_calendar_object(doc[i], spec, i == 0, prefix, where);
            }
        } else {
            read_calendar_object(doc, spec, true, "", where);
        }
        return Calendar(std::move(spec));
    } catch (const nlohmann::json::exception& e) {
        throw InputError(std::string("unexpected content: ") + e.what(),
                         {.file = path, .field = where});
    } catch (const InputError& e) {
        throw InputError(e.message(), {.file = path, .field = where});
    }
}

bool Calendar::covers(LocalTime t) const {
    const int y = static_cast<int>(date_of(t).year());
    if (m_spec.years.empty()) return y >= first_year && y <= last_year;
    return std::binary_search(m_spec.years.begin(), m_spec.years.end(), y);
}

int Calendar::first_covered_year() const {
    return m_spec.years.empty() ? first_year : m_spec.years.front();
}

int Calendar::last_covered_year() const {
    return m_spec.years.empty() ? last_year : m_spec.years.back();
}

std::string Calendar::covered_years_text() const {
    if (m_spec.years.empty())
        return std::to_string(first_year) + "-" + std::to_string(last_year) +
               " (Mon-Fri, no holidays: no calendar file imported)";
    const auto& y = m_spec.years;
    if (y.back() - y.front() + 1 == static_cast<int>(y.size()))
        return y.size() == 1 ? std::to_string(y.front())
                             : std::to_string(y.front()) + "-" + std::to_string(y.back());
    std::string out;
    for (const int v : y)
        out += (out.empty() ? "" : ", ") + std::to_string(v);
    return out;
}

void Calendar::require_covered(LocalTime t, std::string_view what) const {
    if (covers(t)) return;
    const int y = static_cast<int>(date_of(t).year());
    throw InputError(std::string(what) + " " + format_time(t) + " falls in " + std::to_string(y) +
                     ", which no calendar covers (the calendars cover " + covered_years_text() +
                     "); import a calendar for " + std::to_string(y) +
                     " (wangge catalogue import WORKSPACE DIR --calendar FILE)");
}

std::int64_t Calendar::day_index(LocalTime t) const {
    const std::int64_t i = floor_div(t.minutes, minutes_per_natural_day) - m_first_day;
    if (i < 0 || i >= static_cast<std::int64_t>(m_working.size()))
        throw InputError("time " + format_time(t) + " outside the calendar's range " +
                         std::to_string(first_year) + "-" + std::to_string(last_year));
    return i;
}

bool Calendar::is_working_day(chr::year_month_day date) const {
    return m_working[static_cast<std::size_t>(day_index(make_time(date)))];
}

bool Calendar::is_working_time(LocalTime t) const {
    if (!m_working[static_cast<std::size_t>(day_index(t))]) return false;
    const int mod = minute_of_day(t);
    return std::any_of(m_spec.office_hours.begin(), m_spec.office_hours.end(),
                       [mod](const OfficePeriod& p) { return mod >= p.begin && mod < p.end; });
}

std::int64_t Calendar::position(LocalTime t) const {
    const auto i = static_cast<std::size_t>(day_index(t));
    std::int64_t pos = m_cumulative[i];
    if (!m_working[i]) return pos;
    const int mod = minute_of_day(t);
    for (const auto& p : m_spec.office_hours) {
        if (mod <= p.begin) break;
        pos += std::min(mod, p.end) - p.begin;
    }
    return pos;
}

std::int64_t Calendar::working_minutes(LocalTime a, LocalTime b) const {
    return position(b) - position(a);
}

std::int64_t Calendar::elapsed(LocalTime a, LocalTime b, TimeUnit unit) const {
    return loop::is_working_time(unit) ? working_minutes(a, b) : b.minutes - a.minutes;
}

LocalTime Calendar::add_working_minutes(LocalTime t, std::int64_t n) const {
    if (n < 0) throw InputError("cannot add a negative working time");
    if (n == 0) return t;
    const std::int64_t target = position(t) + n;
    // The day whose working minutes reach the target: cumulative[d] < target <= [d + 1].
    const auto it = std::lower_bound(m_cumulative.begin(), m_cumulative.end(), target);
    if (it == m_cumulative.end())
        throw InputError("deadline beyond the calendar's range (" + std::to_string(last_year) +
                         ")");
    const auto day = static_cast<std::int64_t>(it - m_cumulative.begin()) - 1;
    std::int64_t rest = target - m_cumulative[static_cast<std::size_t>(day)];
    const std::int64_t day_start = (m_first_day + day) * minutes_per_natural_day;
    for (const auto& p : m_spec.office_hours) {
        if (rest <= p.end - p.begin) return {day_start + p.begin + rest};
        rest -= p.end - p.begin;
    }
    return {day_start + m_spec.office_hours.back().end}; // unreachable: rest <= day minutes
}

LocalTime Calendar::add_working_hours(LocalTime t, double hours) const {
    return add_working_minutes(t, std::llround(hours * 60));
}

LocalTime Calendar::add_working_days(LocalTime t, double days) const {
    return add_working_minutes(t, std::llround(days * m_day_minutes));
}

LocalTime Calendar::add_natural_hours(LocalTime t, double hours) {
    if (hours < 0) throw InputError("cannot add a negative time");
    return {t.minutes + std::llround(hours * 60)};
}

LocalTime Calendar::add(LocalTime t, const TimeLimit& limit, Uncovered uncovered) const {
    if (uncovered == Uncovered::refuse) {
        require_covered(t, "start of a deadline at");
        const LocalTime due = add(t, limit, Uncovered::weekdays);
        require_covered(due, "the deadline");
        return due;
    }
    switch (limit.unit) {
    case TimeUnit::working_hours:
        return add_working_hours(t, limit.value);
    case TimeUnit::working_days:
        return add_working_days(t, limit.value);
    case TimeUnit::natural_hours:
        return add_natural_hours(t, limit.value);
    case TimeUnit::natural_minutes:
        return add_natural_hours(t, limit.value / 60.0);
    }
    return t;
}

} // namespace wangge::loop
