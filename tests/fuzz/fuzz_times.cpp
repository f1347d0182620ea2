// Times, dates and time limits as they come from CSV files and the command line: parsing
// must either throw InputError or give a value that formats and parses back to itself.
#include "fuzz_support.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/calendar.hpp"
#include "wangge/loop/catalogue.hpp"

#include <cstdlib>

using namespace wangge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = fuzz::as_text(data, size);
    try {
        const auto t = loop::parse_time(text);
        if (loop::parse_time(loop::format_time(t)) != t) std::abort(); // round trip
    } catch (const InputError&) {
    }
    try {
        const auto d = loop::parse_date(text);
        if (loop::parse_date(loop::format_date(d)) != d) std::abort();
    } catch (const InputError&) {
    }
    try {
        const auto limit = loop::parse_limit(text);
        (void)loop::format_limit(limit);
    } catch (const InputError&) {
    }
    return 0;
}
