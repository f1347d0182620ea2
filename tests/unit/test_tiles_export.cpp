// Tile export tests: MBTiles and XYZ output, metadata, identical tiles shared, determinism,
// resume after SIGKILL, refusals and faults, expiry re-rendering, and the exported Mapnik
// style drawn by mapnik-render.
#include "tiles_test_support.hpp"

using namespace wangge;
using namespace tiles_test;

// ---- Export ----------------------------------------------------------------------------------

TEST(TileExport, MbtilesHasTheFullMetadataTmsRowsAndStoresIdenticalTilesOnce) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const auto out = (dir / "t.mbtiles").string();
    int rc = 0;
    const auto text = run(wangge_cmd() + " tiles export " + quote(ws) + " --out " + quote(out) +
                              " --township 140824102 --zoom 10-12 --at " + t0 + " --json",
                          &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["plan"]["tiles"], 11);
    EXPECT_EQ(j["plan"]["per_zoom"]["10"], 2);
    EXPECT_EQ(j["plan"]["per_zoom"]["12"], 5);
    EXPECT_EQ(j["tiles_written"], 11);

    const auto meta = tiles::read_mbtiles_metadata(out);
    for (const char* key : {"name", "format", "bounds", "center", "minzoom", "maxzoom",
                            "attribution", "description", "type", "version", "json"})
        EXPECT_TRUE(meta.count(key)) << key;
    EXPECT_EQ(meta.at("format"), "png");
    EXPECT_EQ(meta.at("minzoom"), "10");
    EXPECT_EQ(meta.at("maxzoom"), "12");
    EXPECT_EQ(meta.at("type"), "baselayer");
    EXPECT_NE(meta.at("name").find("稷山县"), std::string::npos);
    EXPECT_NE(meta.at("description").find("Generated sample"), std::string::npos);
    double b[4];
    ASSERT_EQ(std::sscanf(meta.at("bounds").c_str(), "%lf,%lf,%lf,%lf", &b[0], &b[1], &b[2], &b[3]),
              4);
    EXPECT_LT(b[0], b[2]);
    EXPECT_NEAR(b[1], 35.6, 0.3);
    const auto json = nlohmann::json::parse(meta.at("json"));
    EXPECT_EQ(json["wangge"]["status_at"], t0);
    EXPECT_EQ(json["layers"].size(), 2u);

    // TMS rows: the XYZ tile 12/3309/1612 is stored in row 4095 - 1612.
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM map WHERE zoom_level = 12 AND tile_column = "
                             "3309 AND tile_row = 2483"),
              "1");
    const auto stored = mbtiles_tiles(out);
    EXPECT_EQ(stored.size(), 11u);
    EXPECT_TRUE(stored.count("12/3309/1612"));
    EXPECT_EQ(tiles::read_mbtiles_tile(out, {12, 3309, 1612}), stored.at("12/3309/1612"));
    EXPECT_EQ(stored.at("12/3309/1612").substr(1, 3), "PNG");
    // The dedupe schema: as many distinct images as distinct tiles, no orphans.
    std::set<std::string> distinct;
    for (const auto& [k, v] : stored)
        distinct.insert(v);
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM images"), std::to_string(distinct.size()));
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM images WHERE tile_id NOT IN (SELECT tile_id "
                             "FROM map)"),
              "0");
    EXPECT_EQ(sql_value(out, "PRAGMA integrity_check"), "ok");
}

TEST(TileExport, IdenticalTilesAreSharedInTheImagesTable) {
    const auto dir = test::temp_dir();
    const auto out = (dir / "o.mbtiles").string();
    int rc = 0;
    // The overlay of a bbox mostly outside the county: the empty transparent tiles are one image.
    const auto text = run(wangge_cmd() + " tiles export " + quote(sample_workspace()) + " --out " +
                              quote(out) + " --layer overlay --bbox 110.5,35.3,110.75,35.45" +
                              " --zoom 12 --at " + t0 + " --json",
                          &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto j = nlohmann::json::parse(text);
    const auto written = j["tiles_written"].get<int>();
    EXPECT_GT(j["tiles_shared"].get<int>(), 0);
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM map"), std::to_string(written));
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM images"),
              std::to_string(written - j["tiles_shared"].get<int>()));
}

// Same workspace, time and options: byte-identical tiles, whatever the thread count or output.
TEST(TileExport, IsDeterministic) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const std::string job = wangge_cmd() + " tiles export " + quote(ws) +
                            " --township 140824102 --zoom 11-13 --metatile 2 --at " + t0;
    int rc = 0;
    auto text = run(job + " --threads 1 --out " + quote((dir / "a.mbtiles").string()), &rc);
    ASSERT_EQ(rc, 0) << text;
    text = run(job + " --threads 2 --out " + quote((dir / "b.mbtiles").string()), &rc);
    ASSERT_EQ(rc, 0) << text;
    text = run(job + " --threads 2 --out " + quote((dir / "c").string()), &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto a = mbtiles_tiles((dir / "a.mbtiles").string());
    EXPECT_EQ(a.size(), 26u) << "plan of z11-13";
    EXPECT_EQ(a, mbtiles_tiles((dir / "b.mbtiles").string()));
    EXPECT_EQ(a, folder_tiles(dir / "c"));
    EXPECT_TRUE(fs::exists(dir / "c" / "metadata.json"));
}

// SIGKILL at a random moment, several times; each --resume continues, and the end result
// equals an export that was never stopped: no tile missing, duplicated or half-written.
TEST(TileExport, ResumesAfterSigkillAtRandomPoints) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const auto reference = (dir / "ref.mbtiles").string();
    int rc = 0;
    auto text = run(overlay_job(ws, reference), &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto want = mbtiles_tiles(reference);
    ASSERT_EQ(want.size(), 104u);

    const auto out = (dir / "killed.mbtiles").string();
    std::mt19937 rng(std::random_device{}());
    int kills_mid_work = 0;
    double delay_ms = 800;
    for (int attempt = 0; attempt < 12 && kills_mid_work < 3; ++attempt) {
        const std::string cmd =
            overlay_job(ws, out) + " --resume --threads 2 > " + quote((dir / "log").string());
        const pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::setpgid(0, 0);
            ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        const double wait_ms = std::uniform_real_distribution<double>(0.3, 1.0)(rng) * delay_ms;
        std::this_thread::sleep_for(std::chrono::microseconds(static_cast<long>(wait_ms * 1000)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
        const std::string done =
            fs::exists(out) ? sql_value(out, "SELECT count(*) FROM wangge_progress") : "";
        const int n = done.empty() ? 0 : std::stoi(done);
        std::cerr << "attempt " << attempt << ": killed after " << static_cast<int>(wait_ms)
                  << " ms, " << n << "/104 metatiles recorded" << (killed ? "" : " (had ended)")
                  << "\n";
        if (!killed || n >= 104) {
            // It finished first: start again from nothing, killing sooner.
            fs::remove(out);
            fs::remove(out + "-wal");
            fs::remove(out + "-shm");
            delay_ms /= 2;
            continue;
        }
        if (n == 0) {
            delay_ms *= 1.5;
            continue;
        }
        ++kills_mid_work;
        // What the killed run left is a valid database whose tiles are whole and complete
        // for every metatile it recorded.
        EXPECT_EQ(sql_value(out, "PRAGMA integrity_check"), "ok");
        EXPECT_EQ(sql_value(out, "SELECT count(*) FROM map"), std::to_string(n));
        for (const auto& [k, v] : mbtiles_tiles(out))
            EXPECT_EQ(v, want.at(k)) << k;
    }
    EXPECT_GE(kills_mid_work, 3) << "the export was never killed mid-work";
    text = run(overlay_job(ws, out) + " --resume", &rc);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("already done"), std::string::npos) << text;
    EXPECT_EQ(mbtiles_tiles(out), want);
    EXPECT_EQ(sql_value(out, "SELECT count(*) FROM map"), "104");
    // A second resume has nothing left to do.
    text = run(overlay_job(ws, out) + " --resume", &rc);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("wrote 0 tiles (104 already done)"), std::string::npos) << text;
}

TEST(TileExport, BadInputIsRefusedWithAClearMessage) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const std::string base = wangge_cmd() + " tiles export " + quote(ws) + " --at " + t0 + " ";
    const auto out = quote((dir / "x.mbtiles").string());
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"--out " + out + " --township 140824999", "unknown township or village code '140824999'"},
        {"--out " + out + " --cell 14082410099999", "unknown cell code '14082410099999'"},
        {"--out " + out + " --zoom 14-8", "--zoom is reversed"},
        {"--out " + out + " --zoom 0-23", "--zoom must lie within 0-22"},
        {"--out " + out + " --bbox 10,10,10.1,10.1 --zoom 3", ""},
        {"--out " + out + " --bbox 10,10,10.01,10.01 --zoom 8-9 --layer overlay --format jpeg",
         "the overlay layer is transparent"},
        {"--out " + out + " --metatile 3", "--metatile must be 1, 2, 4, 8 or 16"},
        {"--out /dev/null/x.mbtiles --zoom 8", "cannot create the output"},
    };
    for (const auto& [args, message] : cases) {
        int rc = 0;
        const auto text = run(base + args, &rc);
        if (message.empty()) {
            // A bbox far from the county is a plan, not an error: it covers that bbox.
            EXPECT_EQ(rc, 0) << args << "\n" << text;
            fs::remove(dir / "x.mbtiles");
            fs::remove(dir / "x.mbtiles-wal");
            fs::remove(dir / "x.mbtiles-shm");
            continue;
        }
        EXPECT_EQ(rc, 2) << args << "\n" << text;
        EXPECT_NE(text.find(message), std::string::npos) << args << "\n" << text;
        EXPECT_FALSE(fs::exists(dir / "x.mbtiles")) << args;
    }
    // An empty plan: nothing changed between a time and itself.
    int rc = 0;
    auto text = run(base + "--out " + out + " --zoom 12 --only-expired-since " + t0, &rc);
    EXPECT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("nothing changed"), std::string::npos) << text;
}

TEST(TileExport, ExistingOrLockedOutputsAreRefusedAndAFullDiskLeavesItResumable) {
    const auto dir = test::temp_dir();
    const auto ws = sample_workspace();
    const auto reference = (dir / "ref.mbtiles").string();
    int rc = 0;
    auto text = run(overlay_job(ws, reference), &rc);
    ASSERT_EQ(rc, 0) << text;

    // Without --resume an existing output is refused and left as it was.
    text = run(overlay_job(ws, reference), &rc);
    EXPECT_EQ(rc, 2);
    EXPECT_NE(text.find("the output exists; use --resume"), std::string::npos) << text;
    EXPECT_EQ(mbtiles_tiles(reference).size(), 104u);

    // A second export while one holds the output: refused, not interleaved.
    {
        const int fd = ::open(reference.c_str(), O_RDWR);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
        text = run(overlay_job(ws, reference) + " --resume", &rc);
        ::close(fd);
        EXPECT_EQ(rc, 2);
        EXPECT_NE(text.find("another export is writing this output"), std::string::npos) << text;
    }

    // A full disk, simulated by a file-size limit of 600 KiB: the export stops with a clear
    // message, the file is a valid database, and --resume (without the limit) completes it.
    const auto out = (dir / "full.mbtiles").string();
    text = run("ulimit -f 600; " + overlay_job(ws, out), &rc);
    EXPECT_EQ(rc, 2) << text;
    EXPECT_NE(text.find("--resume continues"), std::string::npos) << text;
    EXPECT_EQ(sql_value(out, "PRAGMA integrity_check"), "ok");
    const auto partial = std::stoi(sql_value(out, "SELECT count(*) FROM map"));
    EXPECT_LT(partial, 104);
    text = run(overlay_job(ws, out) + " --resume", &rc);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_EQ(mbtiles_tiles(out), mbtiles_tiles(reference));
}

// A known status change: a matter reported at 10:00 in a cell with no open matter at T0 or T1
// (so the cell's state changes). `tiles expire` lists its cell's and pin's tiles;
// re-rendering only the metatiles that hold expired tiles into an export made at T0 gives
// exactly the tiles of a fresh export at T1 (a partial metatile was drawn a fraction of a
// pixel apart: an overdue hatch in township 140824102 showed it).
TEST(TileExport, ExpiryListsTheChangedTilesAndReRendersOnlyThem) {
    const auto dir = test::temp_dir();
    const auto ws = copy_of_sample(dir);
    int rc = 0;
    auto text = run(wangge_cmd() + " incidents report " + quote(ws) +
                        " --category 0101 --lon 110.968 --lat 35.6125 --at 2026-04-01T10:00",
                    &rc);
    ASSERT_EQ(rc, 0) << text;
    ASSERT_NE(text.find("14082440000502"), std::string::npos) << text;

    text = run(wangge_cmd() + " tiles expire " + quote(ws) + " --since " + t0 + " --at " + t1 +
                   " --zoom 12-14 --json",
               &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto j = nlohmann::json::parse(text);
    const auto cells = j["cells"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(cells.begin(), cells.end(), "14082440000502"), cells.end());
    const auto listed = j["tiles"].get<std::vector<std::string>>();
    for (int z = 12; z <= 14; ++z)
        EXPECT_NE(std::find(listed.begin(), listed.end(),
                            tiles::to_string(tiles::tile_at_lonlat({110.968, 35.6125}, z))),
                  listed.end())
            << z;
    // The plain list is the same tiles, one z/x/y a line (renderd's expiry format).
    text = run(wangge_cmd() + " tiles expire " + quote(ws) + " --since " + t0 + " --at " + t1 +
                   " --zoom 12-14",
               &rc);
    std::vector<std::string> lines;
    std::istringstream ss(text);
    for (std::string line; std::getline(ss, line);)
        lines.push_back(line);
    EXPECT_EQ(lines, listed);

    const std::string job = wangge_cmd() + " tiles export " + quote(ws) +
                            " --layer overlay --township 140824102 --zoom 12-14 --metatile 2";
    const auto old_out = (dir / "old.mbtiles").string();
    const auto fresh = (dir / "fresh.mbtiles").string();
    text = run(job + " --at " + t0 + " --out " + quote(old_out), &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto before = mbtiles_tiles(old_out);
    text = run(job + " --at " + t1 + " --out " + quote(fresh), &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto want = mbtiles_tiles(fresh);
    text = run(job + " --at " + t1 + " --only-expired-since " + t0 + " --resume --json --out " +
                   quote(old_out),
               &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto written = nlohmann::json::parse(text)["tiles_written"].get<std::size_t>();
    EXPECT_GT(written, 0u);
    EXPECT_LT(written, want.size()) << "only the expired tiles are drawn again";
    std::size_t changed = 0;
    for (const auto& [k, v] : before)
        changed += want.at(k) != v;
    EXPECT_GT(changed, 0u);
    EXPECT_LE(changed, written);
    EXPECT_EQ(mbtiles_tiles(old_out), want);
    EXPECT_EQ(sql_value(old_out, "SELECT count(*) FROM images WHERE tile_id NOT IN (SELECT "
                                 "tile_id FROM map)"),
              "0");
}

// ---- The exported style ----------------------------------------------------------------------

// `tiles style` writes a folder mapnik-render draws as it is; its picture equals the engine's.
// (Debian's mapnik-render looks for input plugins in ./plugins/input, so it runs in a folder
// with that link.) Tolerance: fewer than 1% of pixels differ by more than 16 counts.
TEST(TileStyle, MapnikRenderDrawsTheExportedStyleLikeTheEngine) {
    const auto dir = test::temp_dir();
    const auto ws_path = sample_workspace();
    const auto style_dir = dir / "style";
    int rc = 0;
    auto text = run(wangge_cmd() + " tiles style " + quote(ws_path) + " --out " +
                        quote(style_dir.string()) + " --at " + t0,
                    &rc);
    ASSERT_EQ(rc, 0) << text;
    for (const char* f : {"style.xml", "cells.geojson", "pins.geojson", "townships.geojson",
                          "imagery.tif", "markers/circle.svg"})
        EXPECT_TRUE(fs::exists(style_dir / f)) << f;
    const auto run_dir = dir / "run";
    fs::create_directories(run_dir / "plugins");
    fs::create_symlink(MAPNIK_INPUT_PLUGINS, run_dir / "plugins" / "input");
    // The folder is self-contained: move it and draw it from elsewhere.
    fs::rename(style_dir, dir / "moved");
    const auto png = (dir / "mapnik-render.png").string();
    text = run("cd " + quote(run_dir.string()) + " && mapnik-render --xml " +
                   quote((dir / "moved" / "style.xml").string()) + " --img " + quote(png),
               &rc);
    ASSERT_EQ(rc, 0) << text;
    const auto theirs = render::read_image(png);

    const auto ws = store::Workspace::open(ws_path);
    const auto data = render::MapData::load(ws);
    render::Renderer ours(data, {.name = "satellite-overlay"});
    // mapnik-render zooms to the union of its layers' extents (the image's and the grid's)
    // clipped to the map's maximum extent, the county framed as area_of_all frames it.
    geo::Box box = render::area_of_all(*data, 0).box_3857;
    {
        GDALDatasetH ds = GDALOpen((dir / "moved" / "imagery.tif").c_str(), GA_ReadOnly);
        ASSERT_NE(ds, nullptr);
        double gt[6];
        ASSERT_EQ(GDALGetGeoTransform(ds, gt), CE_None);
        box.expand(geo::Point{gt[0], gt[3]});
        box.expand(geo::Point{gt[0] + gt[1] * GDALGetRasterXSize(ds),
                              gt[3] + gt[5] * GDALGetRasterYSize(ds)});
        GDALClose(ds);
    }
    const auto max = render::area_of_all(*data).box_3857;
    box = {std::max(box.minx, max.minx), std::max(box.miny, max.miny), std::min(box.maxx, max.maxx),
           std::min(box.maxy, max.maxy)};
    const auto mine =
        ours.render(box, theirs.width, theirs.height, render::status_from_workspace(ws, t0));
    render::write_image(mine, (dir / "engine.png").string(), "png");
    EXPECT_LT(differing_fraction(mine, theirs, 16), 0.01);
}
