// Render benchmark: the whole Jishan county (398 cells, 151 villages, Chinese labels) over its
// satellite image at N x N px on one thread; reports drawing and encoding separately, since
// encoding, not drawing, dominates tile cost (docs/engineering.md).
#include "wangge/render/renderer.hpp"
#include "wangge/sample/jishan.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

using namespace wangge;
namespace fs = std::filesystem;

namespace {

double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    int size = 2048;
    int runs = 5;
    double resolution = 8.0;
    fs::path work = fs::temp_directory_path() / "wangge-bench-render";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--size")
            size = std::atoi(argv[i + 1]);
        else if (a == "--runs")
            runs = std::max(1, std::atoi(argv[i + 1]));
        else if (a == "--imagery-resolution")
            resolution = std::atof(argv[i + 1]);
        else if (a == "--workdir")
            work = argv[i + 1];
    }
    try {
        fs::create_directories(work);
        sample::JishanOptions opt;
        opt.imagery_resolution_m = resolution;
        auto g = sample::generate_jishan_grid(opt);
        const fs::path tif = work / ("jishan-" + std::to_string(int(resolution)) + "m.tif");
        if (!fs::exists(tif)) sample::write_jishan_imagery(g, tif.string(), opt);
        std::optional<render::ImageryLayer> imagery;
        if (fs::exists(tif) && fs::file_size(tif) > 0)
            imagery = render::ImageryLayer{tif.string(), "generated", true};
        else
            std::printf("note: no Jishan imagery was written; overlay only\n");
        auto data = render::MapData::from_grid(std::move(g), imagery, "generated");
        render::Renderer r(data, {.dir = "", .name = "satellite-overlay"});
        const auto area = render::area_of_all(*data);

        // Statuses spread over the cells, and 200 pins.
        render::RenderStatus status;
        const render::CellState states[] = {render::CellState::none, render::CellState::on_time,
                                            render::CellState::warning, render::CellState::overdue};
        std::size_t k = 0;
        for (const auto& c : data->grid_3857().cells)
            status.cells[c.code] = states[k++ % 4];
        const char* pin_states[] = {"reported", "dispatched", "in_progress", "overdue", "closed"};
        for (int i = 0; i < 200; ++i) {
            const double fx = (i * 37 % 100) / 100.0, fy = (i * 61 % 100) / 100.0;
            const auto ll = render::mercator_to_lonlat(
                {area.box_3857.minx + fx * (area.box_3857.maxx - area.box_3857.minx),
                 area.box_3857.miny + fy * (area.box_3857.maxy - area.box_3857.miny)});
            status.pins.push_back({ll.x, ll.y, pin_states[i % 5], std::to_string(i)});
        }

        (void)r.render(area.box_3857, size, size, status); // warm-up: fonts, plugin, file cache
        // CPU time of this thread as well as wall time: the machine may be shared.
        std::printf("whole county, %d x %d px, %d runs (median), one thread\n", size, size, runs);
        std::printf("%-18s %9s %9s\n", "draw", "wall s", "cpu s");
        for (const char* style : {"imagery", "overlay", "satellite-overlay"}) {
            render::Renderer rs(data, {.dir = "", .name = style});
            (void)rs.render(area.box_3857, size, size, status);
            std::vector<double> wall, cpu;
            for (int i = 0; i < runs; ++i) {
                const double c0 = thread_cpu_s();
                render::Timing t;
                (void)rs.render(area.box_3857, size, size, status, &t);
                cpu.push_back(thread_cpu_s() - c0);
                wall.push_back(t.draw_s);
            }
            std::printf("%-18s %9.3f %9.3f\n", style, median(wall), median(cpu));
        }
        const render::Image img = r.render(area.box_3857, size, size, status);
        std::printf("%-18s %9s %9s %12s\n", "encode", "wall s", "cpu s", "bytes");
        for (const char* fmt : {"png", "png8", "jpeg", "webp"}) {
            std::vector<double> wall, cpu;
            const fs::path out = work / (std::string("county.") + fmt);
            for (int i = 0; i < runs; ++i) {
                const double c0 = thread_cpu_s();
                const auto w0 = std::chrono::steady_clock::now();
                render::write_image(img, out.string(), fmt);
                wall.push_back(
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count());
                cpu.push_back(thread_cpu_s() - c0);
            }
            std::printf("%-18s %9.3f %9.3f %12ju\n", fmt, median(wall), median(cpu),
                        static_cast<std::uintmax_t>(fs::file_size(out)));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_render: %s\n", e.what());
        return 1;
    }
    return 0;
}
