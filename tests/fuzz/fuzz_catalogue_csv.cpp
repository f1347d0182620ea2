// The catalogue CSVs (departments, functions, categories): the first byte picks which of
// the three files the rest of the input replaces; the other two are the sample catalogue's
// (data/catalogue), so references between the tables are exercised too.
#include "fuzz_support.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/catalogue.hpp"

using namespace wangge;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const std::string dir = WANGGE_CATALOGUE_DIR;
    static const std::string scratch = fuzz::scratch_path(".csv");
    std::string files[3] = {dir + "/departments.csv", dir + "/functions.csv",
                            dir + "/categories.csv"};
    files[data[0] % 3] = fuzz::write_input(scratch, data + 1, size - 1);
    try {
        const auto catalogue = loop::Catalogue::load(files[0], files[1], files[2]);
        for (const auto& category : catalogue.categories())
            (void)catalogue.category_at(category.code);
        (void)catalogue.fallback_function();
    } catch (const Error&) {
    }
    return 0;
}
