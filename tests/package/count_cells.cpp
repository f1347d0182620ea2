// Reads a grid with the installed engine and locates one point: prints the cell count and
// the cell of the point, so the test can check real outcomes through the public API.
#include "wangge/error.hpp"
#include "wangge/grid/import.hpp"
#include "wangge/grid/locator.hpp"

#include <iostream>
#include <string>

int main(int argc, char** argv) {
    if (argc != 4) {
        std::cerr << "usage: count_cells GRID LON LAT\n";
        return 2;
    }
    try {
        const auto grid = wangge::grid::read_grid(argv[1], {});
        const wangge::grid::Locator locator(grid);
        const auto cell = locator.locate({std::stod(argv[2]), std::stod(argv[3])});
        std::cout << grid.cells.size() << " cells; the point is in "
                  << (cell >= 0 ? grid.cells[static_cast<std::size_t>(cell)].code : "no cell")
                  << "\n";
    } catch (const wangge::Error& e) {
        std::cerr << e.what() << "\n";
        return 2;
    }
    return 0;
}
