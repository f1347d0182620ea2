// bench/redraw: one edit on a GENERATED 100,000-cell grid with its incremental validation,
// against re-validating the whole grid (the peer: what an edit costs without incremental
// validation); and publishing a draft of 500 merges with 100,000 open matters (generated
// reports), against storing the same grid as a plain new version (the peer: what
// `wangge grid import` writes, the only way to change the grid before drafts, with no
// validation of the result, no diff and no migration of matters or duties).
// Targets (issue 14): edit + validation < 200 ms; publish < 5 s.
//
//   build/bin/bench_redraw [CELLS=100000] [MATTERS=100000]   (MATTERS 0: the edit only)
#include "wangge/base/random.hpp"
#include "wangge/error.hpp"
#include "wangge/grid/generated.hpp"
#include "wangge/grid/locator.hpp"
#include "wangge/grid/validate.hpp"
#include "wangge/loop/session.hpp"
#include "wangge/loop/store.hpp"
#include "wangge/redraw/draft.hpp"
#include "wangge/redraw/edit.hpp"
#include "wangge/redraw/publish.hpp"
#include "wangge/sample/jishan_loop.hpp"
#include "wangge/store/workspace.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

using namespace wangge;
using clock_type = std::chrono::steady_clock;

namespace {

double since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

redraw::Line vertical_through(const grid::Cell& c) {
    const auto b = geo::bounds(c.geometry);
    const double x = (b.minx + b.maxx) / 2;
    return {{x, b.miny - (b.maxy - b.miny) * 0.01}, {x, b.maxy + (b.maxy - b.miny) * 0.01}};
}

} // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 100000;
    const std::size_t matters = argc > 2 ? std::stoul(argv[2]) : 100000;
    std::printf("generated grid of %zu cells (synthetic, grid/generated.hpp)\n", n);
    grid::Grid g = grid::generated_coverage(n);
    grid::ValidateOptions vo;
    vo.metric_crs = "EPSG:4546";

    // The generated villages use all 100 of their 2-digit sequence numbers, so the edits are
    // a merge of two neighbours near the middle (which frees a code) and a split of the
    // merged cell back into two, each with its incremental validation.
    std::string code, freed;
    redraw::Change mc, ch;
    grid::ValidationReport rep, rep2;
    double split_s = 0, merge_s = 0;
    for (std::size_t i = g.cells.size() / 2; code.empty() && i + 1 < g.cells.size(); ++i) {
        grid::Grid probe_grid = g;
        try {
            auto t0 = clock_type::now();
            mc = redraw::merge_cells(g, {g.cells[i].code, g.cells[i + 1].code});
            rep2 = redraw::validate_touched(g, mc, vo);
            merge_s = since(t0);
            code = mc.changed.front();
            freed = mc.removed.front();
            t0 = clock_type::now();
            ch = redraw::split_cell(g, code, vertical_through(*g.find_cell(code)), {code, freed});
            rep = redraw::validate_touched(g, ch, vo);
            split_s = since(t0);
        } catch (const Error&) {
            g = std::move(probe_grid);
            code.clear();
        }
    }
    auto t0 = clock_type::now();
    const auto full = grid::validate(g, vo);
    const double full_s = since(t0);
    std::printf("merge + incremental validation  %8.1f ms (%s)\n", merge_s * 1e3,
                rep2.summary().c_str());
    std::printf("split + incremental validation  %8.1f ms (%s)\n", split_s * 1e3,
                rep.summary().c_str());
    std::printf("peer: full validation           %8.1f ms (%s); ratio %.0fx\n", full_s * 1e3,
                full.summary().c_str(), full_s / std::max(split_s, 1e-9));

    if (matters == 0) return 0; // the edit only (bench_redraw N 0)

    // Publish with open matters: a workspace with the grid, the sample catalogue and
    // `matters` generated reports (all open), a draft with one split.
    const auto dir = std::filesystem::temp_directory_path() / "wangge-bench-redraw";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    const std::string path = (dir / "ws.gpkg").string();
    {
        auto ws = store::Workspace::create(path);
        ws.add_version({.grid = grid::generated_coverage(n), .note = "generated"});
    }
    const grid::Grid base = grid::generated_coverage(n);
    {
        auto store = loop::LoopStore::open(path);
        const auto catalogue = sample::jishan_catalogue();
        store.save_catalogue(catalogue, sample::jishan_calendar_json());
        const loop::Calendar calendar =
            loop::Calendar::parse(sample::jishan_calendar_json(), "calendar");
        const loop::Loop lp(catalogue, calendar);
        const loop::DutyTable duties;
        const grid::Locator locator(base);
        base::SplitMix64 rng(14);
        const auto box = base.bounds();
        std::vector<loop::Report> reports;
        for (std::size_t i = 0; reports.size() < matters; ++i) {
            const geo::Point p{rng.range(box.minx, box.maxx), rng.range(box.miny, box.maxy)};
            if (locator.locate(p) < 0) continue;
            reports.push_back({static_cast<std::int64_t>(i + 1),
                               catalogue.categories().front().code, p,
                               loop::parse_time("2026-03-30T10:00"), "bench", "generated"});
        }
        store.import_reports(reports, {base, 1, locator, lp, duties});
    }
    redraw::start_draft(path, {.note = "bench"});
    t0 = clock_type::now();
    redraw::edit_draft(path, std::nullopt, [&](grid::Grid& d) {
        return redraw::merge_cells(d, {code, freed});
    });
    const double edit_ws_s = since(t0);
    std::printf("edit of the stored draft (load, merge, validate, store) %8.1f ms\n",
                edit_ws_s * 1e3);
    // More of a redraw to publish: 499 more merges of neighbours (cells 2k and 2k + 1 of a
    // lattice row), spread over the grid, as one stored edit.
    std::size_t merges = 1;
    redraw::edit_draft(path, std::nullopt, [&](grid::Grid& d) {
        redraw::Change all;
        const std::size_t step = std::max<std::size_t>(2, (n / 500) & ~std::size_t{1});
        for (std::size_t k = 0; merges < 500 && k + 1 < n; k += step) {
            const auto a = base.cells[k].code, b = base.cells[k + 1].code;
            if (a == code || a == freed || b == code || b == freed) continue;
            try {
                // Into b: the lattice numbers cells from 00, which the national rule does not
                // allow.
                auto c = redraw::merge_cells(d, {b, a});
                all.removed.insert(all.removed.end(), c.removed.begin(), c.removed.end());
                all.changed.insert(all.changed.end(), c.changed.begin(), c.changed.end());
                all.units.insert(all.units.end(), c.units.begin(), c.units.end());
                ++merges;
            } catch (const Error&) { // not neighbours (a row's end): the grid is unchanged
            }
        }
        all.summary = std::to_string(merges - 1) + " merges";
        return all;
    });
    t0 = clock_type::now();
    const auto r =
        redraw::publish(path, {.effective = loop::parse_time("2026-04-01T00:00"), .force = true});
    const double publish_s = since(t0);
    std::printf("publish of %zu merges with %zu open matters (%zu moved)  %8.2f s\n", merges,
                r.open_matters, r.moved.size(), publish_s);
    grid::Grid published;
    {
        const auto ws = store::Workspace::open(path);
        published = ws.grid(r.version);
    }
    t0 = clock_type::now();
    {
        auto ws = store::Workspace::open(path, true);
        ws.add_version({.grid = std::move(published), .note = "peer: plain import"});
    }
    const double import_s = since(t0);
    std::printf("peer: storing that grid as a plain new version  %8.2f s; ratio %.1fx\n", import_s,
                publish_s / std::max(import_s, 1e-9));
    std::filesystem::remove_all(dir);
    return 0;
}
