// Exporting a tile plan to an MBTiles 1.3 file or an XYZ folder: metatiles drawn and encoded
// on worker threads (one MetatileRenderer each), written by the calling thread, one
// transaction per metatile that also records the metatile as done, so a killed export
// resumes with no tile missing, duplicated or half-written.
//
// MBTiles (OUT ends in .mbtiles): the `map` + `images` schema (identical tiles stored once,
// `tiles` is a view), TMS rows, the full `metadata` table; progress in `wangge_progress`.
// XYZ folder (any other OUT): OUT/z/x/y.<ext>, each file written to a temporary name and
// renamed; progress appended to OUT/.wangge-progress after the metatile's files are in place;
// OUT/metadata.json holds the same metadata as the MBTiles table.
//
// Either output is locked (flock) for the whole run: a second export to it is refused.
#pragma once

#include "wangge/render/renderer.hpp"
#include "wangge/tiles/plan.hpp"
#include "wangge/tiles/source.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace wangge::tiles {

struct ExportJob {
    std::shared_ptr<const render::MapData> data;
    render::RenderStatus status; // the statuses drawn (ignored for imagery)
    Plan plan;                   // the tiles to write
    Layer layer = Layer::composite;
    Format format = Format::png;
    TileOptions tile;
    int threads = 0;     // render threads; 0 = the machine's cores
    std::string out;     // .mbtiles file or folder
    bool resume = false; // continue a stopped export; else an existing OUT is refused
    // Identifies the job for --resume: metatiles recorded as done under this key are skipped.
    // Different keys (another --at, an expiry run) share the output but not the progress.
    std::string job_key;
    // Metadata written into OUT.
    std::string name;        // e.g. "稷山县 composite"
    std::string description; // e.g. "status at 2026-04-01T09:30"
    std::string attribution;
};

struct ExportProgress {
    std::size_t tiles_total = 0;
    std::size_t tiles_done = 0;    // written in this run
    std::size_t tiles_skipped = 0; // already done by an earlier run (resume)
    std::size_t metatiles_total = 0;
    std::size_t metatiles_done = 0;
    int zoom = 0; // zoom of the last metatile written
    std::map<int, std::pair<std::size_t, std::size_t>> per_zoom; // done (incl. skipped), total
    double elapsed_s = 0;
};

struct ExportSummary {
    ExportProgress progress;
    std::size_t unique_images = 0; // images added in this run (MBTiles); = tiles for XYZ
    std::uint64_t bytes = 0;       // encoded bytes of the tiles written in this run
    double wall_s = 0;
    double draw_s = 0;   // summed over threads
    double encode_s = 0; // summed over threads
    double write_s = 0;  // the writer thread
    int threads = 0;
};

// Runs the job. progress (may be empty) is called on the calling thread after every
// metatile. Throws InputError for an existing OUT without resume, an OUT of another format or
// layer, an OUT locked by another export, an unwritable OUT or a full disk (the message says
// how many tiles were written and that --resume continues); OUT is left valid.
ExportSummary run_export(const ExportJob& job,
                         const std::function<void(const ExportProgress&)>& progress = {});

// The format stored in an existing MBTiles file's metadata ("png", "jpg", "webp"), for tests.
[[nodiscard]] std::map<std::string, std::string> read_mbtiles_metadata(const std::string& path);
// One tile of an MBTiles file (XYZ id), or "" when absent.
[[nodiscard]] std::string read_mbtiles_tile(const std::string& path, const TileId& t);

} // namespace wangge::tiles
