// wangge assign: give every point of a CSV or OGR source its cell (see grid/assign.hpp).
#include "command.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/assign.hpp"
#include "wangge/grid/locator.hpp"
#include "wangge/store/workspace.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace wangge::app {

namespace {

struct AssignArgs {
    std::string workspace;
    int version = 0;
    std::string on_error = "fail";
    grid::AssignOptions options;
};

void run_assign(AssignArgs& a) {
    const auto ws = store::Workspace::open(a.workspace);
    const grid::Grid g = ws.grid(a.version > 0 ? std::optional<int>(a.version) : std::nullopt);
    const grid::Locator locator(g);
    a.options.on_bad_row = a.on_error == "skip" ? grid::OnBadRow::skip : grid::OnBadRow::fail;
    // A file with millions of bad rows should not flood the terminal: the first ones are
    // shown, the rest counted in the summary.
    constexpr int shown = 20;
    int reported = 0;
    a.options.report_bad_row = [&](const InputError& e) {
        if (reported++ < shown)
            std::cerr << "wangge: skipped: " << e.what() << "\n";
        else if (reported == shown + 1)
            std::cerr << "wangge: (further bad rows not shown)\n";
    };
    const auto s = grid::assign_points(g, locator, a.options);
    const double rate = s.seconds > 0 ? static_cast<double>(s.read) / s.seconds : 0.0;
    char rate_text[64];
    std::snprintf(rate_text, sizeof rate_text, "%.0f points/s (%.2f s)", rate, s.seconds);
    std::cout << "points read       " << s.read << "\n"
              << "assigned          " << s.assigned << "\n"
              << "near a boundary   " << s.near_boundary << " (within " << a.options.near_boundary_m
              << " m)\n"
              << "outside           " << s.outside << "\n"
              << "skipped           " << s.skipped << "\n"
              << "rate              " << rate_text << "\n"
              << "wrote             " << a.options.out << "\n";
}

class Assign final : public Command {
  public:
    Assign()
        : Command("assign",
                  "Give every point (incidents, addresses) its cell, village and township") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--incidents,-i", m_a.options.source,
                       "Points: a CSV with a header (lon,lat or x,y) or any OGR point source")
            ->required();
        cmd.add_option("--out,-o", m_a.options.out,
                       "Output: CSV for CSV input, else the format of the extension")
            ->required();
        cmd.add_option("--near-boundary-m", m_a.options.near_boundary_m,
                       "Flag points within this many metres of a cell boundary")
            ->capture_default_str()
            ->check(CLI::NonNegativeNumber);
        cmd.add_option("--threads", m_a.options.threads, "Threads (0 = all cores)")
            ->capture_default_str()
            ->check(CLI::NonNegativeNumber);
        cmd.add_option("--src-crs", m_a.options.src_crs,
                       "CRS of the points' coordinates (e.g. EPSG:4546 for projected x,y)");
        cmd.add_option("--lon-field", m_a.options.lon_field, "CSV column of the longitude (or x)");
        cmd.add_option("--lat-field", m_a.options.lat_field, "CSV column of the latitude (or y)");
        cmd.add_option("--on-error", m_a.on_error, "Bad rows: fail (exit 2) or skip them")
            ->capture_default_str()
            ->check(CLI::IsMember({"fail", "skip"}));
        cmd.add_option("--version", m_a.version, "Grid version (default: current)");
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        run_assign(m_a);
        return ok;
    }

  private:
    AssignArgs m_a;
    WorkspaceOption m_workspace;
};

} // namespace

void add_assign_commands(CommandSet& set) {
    set.add<Assign>(set.top());
}

} // namespace wangge::app
