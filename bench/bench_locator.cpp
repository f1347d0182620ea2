// Benchmarks of point location (Google Benchmark), and the data the peer comparison in
// bench/run uses.
//
//   wangge_bench points --workspace W --n N --out F.csv  random points (id,lon,lat) in the
//                                                        bounding box of W's current grid
//   wangge_bench coverage --n N --out F.gpkg             the GENERATED coverage as cells
//   wangge_bench [benchmark flags]                       the benchmarks
//
// The benchmarks use the generated 100,000-cell coverage and, when WANGGE_BENCH_WORKSPACE
// names a workspace (the Jishan sample), its grid; WANGGE_BENCH_POINTS sets how many points
// (default 10,000,000). Points are the same as `points` writes: a fixed seed, rounded to
// 7 decimals as in the CSV, so peers reading the CSV see exactly these points.
#include "wangge/base/random.hpp"
#include "wangge/grid/generated.hpp"
#include "wangge/grid/locator.hpp"
#include "wangge/store/workspace.hpp"

#include <benchmark/benchmark.h>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

using namespace wangge;

namespace {

// The value as printed with 7 decimals and read back (what a CSV reader sees).
double rounded(double v, char* buf, std::size_t size, std::size_t& len) {
    const auto res = std::to_chars(buf, buf + size, v, std::chars_format::fixed, 7);
    len = static_cast<std::size_t>(res.ptr - buf);
    double back = 0;
    std::from_chars(buf, res.ptr, back);
    return back;
}

std::vector<geo::Point> make_points(const geo::Box& b, std::size_t n, std::FILE* csv = nullptr) {
    base::SplitMix64 rng{20240601}; // the same points on every platform
    std::vector<geo::Point> pts;
    pts.reserve(csv ? 0 : n);
    char x[32], y[32];
    if (csv) std::fputs("id,lon,lat\n", csv);
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t lx = 0, ly = 0;
        const double lon = rounded(b.minx + rng.uniform() * (b.maxx - b.minx), x, sizeof x, lx);
        const double lat = rounded(b.miny + rng.uniform() * (b.maxy - b.miny), y, sizeof y, ly);
        if (csv)
            std::fprintf(csv, "%zu,%.*s,%.*s\n", i, static_cast<int>(lx), x, static_cast<int>(ly),
                         y);
        else
            pts.push_back({lon, lat});
    }
    return pts;
}

std::string arg(int argc, char** argv, const std::string& name, const std::string& fallback) {
    for (int i = 1; i + 1 < argc; ++i)
        if (argv[i] == name) return argv[i + 1];
    return fallback;
}

struct Dataset {
    grid::Grid grid;
    std::unique_ptr<grid::Locator> locator;
    std::vector<geo::Point> points;
};

Dataset& jishan() {
    static Dataset d = [] {
        Dataset out;
        const auto ws = store::Workspace::open(std::getenv("WANGGE_BENCH_WORKSPACE"));
        out.grid = ws.grid();
        out.locator = std::make_unique<grid::Locator>(out.grid);
        return out;
    }();
    return d;
}

Dataset& generated() {
    static Dataset d = [] {
        Dataset out;
        out.grid = grid::generated_coverage(100000, 1);
        out.locator = std::make_unique<grid::Locator>(out.grid);
        return out;
    }();
    return d;
}

std::size_t point_count() {
    const char* n = std::getenv("WANGGE_BENCH_POINTS");
    return n ? std::stoul(n) : 10000000;
}

const std::vector<geo::Point>& points_of(Dataset& d) {
    if (d.points.empty()) d.points = make_points(d.grid.bounds(), point_count());
    return d.points;
}

void locate(benchmark::State& state, Dataset& (*data)()) {
    Dataset& d = data();
    const auto& pts = points_of(d);
    std::vector<std::int32_t> out(pts.size());
    for (auto _ : state) {
        d.locator->locate_batch(pts, out, static_cast<int>(state.range(0)));
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pts.size()));
}

void locate_with_distance(benchmark::State& state, Dataset& (*data)()) {
    Dataset& d = data();
    const auto& pts = points_of(d);
    std::vector<grid::Location> out(pts.size());
    for (auto _ : state) {
        d.locator->locate_batch(pts, out, static_cast<int>(state.range(0)));
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * pts.size()));
}

void build(benchmark::State& state, Dataset& (*data)()) {
    Dataset& d = data();
    for (auto _ : state) {
        grid::Locator l(d.grid);
        benchmark::DoNotOptimize(&l);
    }
    const auto st = d.locator->stats();
    state.counters["cells"] = static_cast<double>(d.grid.cells.size());
    state.counters["squares"] = static_cast<double>(st.columns) * st.rows;
    state.counters["border_squares"] = static_cast<double>(st.border_squares);
    state.counters["MB"] = static_cast<double>(st.bytes) / 1e6;
}

void register_all(const char* name, Dataset& (*data)()) {
    const std::string n = name;
    benchmark::RegisterBenchmark(("build/" + n).c_str(), build, data)
        ->Unit(benchmark::kMillisecond)
        ->MinTime(1.0);
    for (const int t : {1, 2}) {
        benchmark::RegisterBenchmark(("locate/" + n).c_str(), locate, data)
            ->Arg(t)
            ->ArgName("threads")
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(3);
        benchmark::RegisterBenchmark(("locate_with_distance/" + n).c_str(), locate_with_distance,
                                     data)
            ->Arg(t)
            ->ArgName("threads")
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(2);
    }
}

} // namespace

int main(int argc, char** argv) {
    try {
        const std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "points") {
            const auto ws = store::Workspace::open(arg(argc, argv, "--workspace", ""));
            const std::string out = arg(argc, argv, "--out", "points.csv");
            std::FILE* f = std::fopen(out.c_str(), "wb");
            if (!f) throw std::runtime_error("cannot create " + out);
            (void)make_points(ws.grid().bounds(), std::stoul(arg(argc, argv, "--n", "10000000")),
                              f);
            if (std::fclose(f) != 0) throw std::runtime_error("cannot write " + out);
            return 0;
        }
        if (mode == "coverage") {
            const auto g =
                grid::generated_coverage(std::stoul(arg(argc, argv, "--n", "100000")), 1);
            store::export_grid(g, arg(argc, argv, "--out", "generated.gpkg"), 1);
            return 0;
        }
        benchmark::Initialize(&argc, argv);
        if (std::getenv("WANGGE_BENCH_WORKSPACE")) register_all("jishan", jishan);
        register_all("generated100k", generated);
        benchmark::RunSpecifiedBenchmarks();
        benchmark::Shutdown();
    } catch (const std::exception& e) {
        std::cerr << "wangge_bench: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
