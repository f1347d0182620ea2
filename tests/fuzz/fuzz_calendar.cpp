// The working-time calendar JSON (holidays, make-up days, office hours): parse, then use
// the calendar the way deadlines do, from a fixed start.
#include "fuzz_support.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/calendar.hpp"

using namespace wangge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const auto calendar = loop::Calendar::parse(fuzz::as_text(data, size), "fuzz.json");
        const auto start = loop::make_time(std::chrono::year{2026} / 3 / 2, 9, 15);
        const auto end = calendar.add(start, {5, loop::TimeUnit::working_days});
        (void)calendar.working_minutes(start, end);
        (void)calendar.add(start, {7, loop::TimeUnit::working_hours});
    } catch (const Error&) {
    }
    return 0;
}
