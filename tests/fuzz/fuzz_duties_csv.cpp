// The duties CSV (function, level, unit, department, person, validity) against the sample
// catalogue (data/catalogue).
#include "fuzz_support.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/duties.hpp"

using namespace wangge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto catalogue = loop::Catalogue::load(WANGGE_CATALOGUE_DIR);
    static const std::string scratch = fuzz::scratch_path(".csv");
    try {
        const auto duties =
            loop::DutyTable::load(fuzz::write_input(scratch, data, size), catalogue);
        for (const auto& duty : duties.duties())
            (void)duty.valid_on(std::chrono::year{2026} / 4 / 1);
    } catch (const Error&) {
    }
    return 0;
}
