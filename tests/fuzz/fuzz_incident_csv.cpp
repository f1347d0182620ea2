// The incident reports CSV (id, category, lon, lat, reported_at, reporter, note) as
// `wangge incidents import` reads it, with the sample catalogue checking categories.
#include "fuzz_support.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/reports.hpp"

using namespace wangge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto catalogue = loop::Catalogue::load(WANGGE_CATALOGUE_DIR);
    static const std::string scratch = fuzz::scratch_path(".csv");
    try {
        (void)loop::read_reports_csv(fuzz::write_input(scratch, data, size), &catalogue);
    } catch (const Error&) {
    }
    return 0;
}
