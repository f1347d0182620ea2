// The routes of the server: the page, tiles, the JSON/GeoJSON API, Open311 GeoReport v2.
// See README "wangge serve" for the list. Thread-safe: fast() runs on I/O threads, handle()
// on workers.
#pragma once

#include "http.hpp"
#include "live.hpp"

#include <map>
#include <memory>
#include <string>

namespace wangge::serve {

class TileService;

// The page's files, read once at start-up into memory: a request can only ever name one
// of them, never a path on disk.
struct StaticFile {
    std::string body;
    std::string content_type;
    std::string etag;
};
using StaticFiles = std::map<std::string, StaticFile>; // "/index.html" -> file
// Reads every regular file under root (no symlinks out of it). "" gives none.
[[nodiscard]] StaticFiles load_static_files(const std::string& root);

[[nodiscard]] std::string etag_of(std::string_view bytes);

class App : public Handler {
  public:
    // style_dir: the styles the tiles are drawn with ("" = the default); the page takes its
    // colours from their parameters (/api/palette), so map, legend and page agree.
    App(Live& live, EventHub& hub, StaticFiles files, std::string token, TileService* tiles,
        const std::string& style_dir = "");
    std::optional<Response> fast(const Request& request) override;
    Response handle(const Request& request) override;
    [[nodiscard]] bool draws(const Request& request) const override;
    void warm() override;

    // The event for a change: cells with their new status, matters, tiles to refetch.
    void publish(const Change& change);

  private:
    Response route(const Request& request);
    Response api(const Request& request);
    // The API by subject, each nullopt for a path it does not serve: cells, units and
    // locate (api_cells.cpp); matters, stats, summary and reminders (api_matters.cpp).
    std::optional<Response> places_api(const Request& request);
    std::optional<Response> matters_api(const Request& request);
    Response open311(const Request& request);
    std::optional<Response> static_file(const Request& request) const;
    // nullopt when allowed; else 401 / 403.
    [[nodiscard]] std::optional<Response> check_write(const Request& request,
                                                      const std::string& form_key = "") const;

    Live& m_live;
    EventHub& m_hub;
    StaticFiles m_files;
    std::string m_token;
    TileService* m_tiles;
    std::string m_palette; // styles/params.ent as JSON, read once
};

} // namespace wangge::serve
