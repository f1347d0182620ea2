// Map tiles for the server: /tiles/{imagery|overlay}/{z}/{x}/{y}.{jpg|png} and TileJSON 3.0 at
// /tiles/{layer}.json, drawn by tiles::TileSource (the metatile renderer of `wangge tiles`,
// same code and styles) and kept in a memory cache bounded in bytes (least recently used
// out). Imagery is drawn by metatiles (every tile of one goes into the cache; it never
// changes, and may also be kept on disk under cache_dir). An overlay tile is drawn alone
// (a metatile of 1 with the same buffer, so labels and pins across its edges are drawn as
// its neighbours draw them): a viewer waits for the one tile it asked for, not for 15 others,
// and a change re-draws only the tiles it touched. Overlay tiles leave the cache only when
// the expiry function of tiles/ says a change touches them.
//
// Threads: fast() is called on I/O threads (cache lookups only), handle() on workers (may
// draw); expire() on the watcher thread. All thread-safe.
#pragma once

#include "http.hpp"
#include "live.hpp"
#include "wangge/tiles/source.hpp"
#include "wangge/tiles/tile.hpp"

#include <atomic>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

namespace wangge::serve {

struct TileServiceOptions {
    tiles::TileOptions tiles;     // metatile size, buffer, style dir
    tiles::ZoomRange zoom{8, 18}; // served (and expired) zooms
    std::size_t cache_bytes = 256u << 20;
    std::string cache_dir; // imagery tiles on disk; "" = none
};

class TileService {
  public:
    TileService(std::shared_ptr<const render::MapData> data, TileServiceOptions options);
    [[nodiscard]] std::optional<Response> fast(const Request& request);
    [[nodiscard]] Response handle(const Request& request, Live& live);
    // Loads the calling thread's Mapnik maps (both layers) by drawing one tile of each, so
    // the first request a worker gets does not pay for loading the styles.
    void warm(Live& live);
    // Drops the overlay tiles the change touches (found on `data`, the map data of the grid
    // version in force) from the cache; returns them ("z/x/y").
    std::vector<std::string> expire(const Change& change, const render::MapData& data);
    // Drops every overlay tile (a published grid took effect).
    void expire_all();

    struct Stats {
        std::size_t entries = 0, bytes = 0, hits = 0, misses = 0, metatiles = 0;
    };
    [[nodiscard]] Stats stats() const;

  private:
    struct Key {
        tiles::Layer layer;
        tiles::TileId tile;
        auto operator<=>(const Key&) const = default;
    };
    struct KeyHash {
        std::size_t operator()(const Key& k) const noexcept {
            return (static_cast<std::size_t>(k.layer) * 31 + static_cast<std::size_t>(k.tile.z)) *
                       1000003u ^
                   (static_cast<std::size_t>(k.tile.x) << 22) ^ static_cast<std::size_t>(k.tile.y);
        }
    };
    struct Entry {
        std::string bytes;
        std::string etag;
    };
    using EntryPtr = std::shared_ptr<const Entry>;

    struct Parsed {
        bool tilejson = false;
        tiles::Layer layer = tiles::Layer::overlay;
        tiles::TileId tile;
    };
    // nullopt + error response, or the parsed request.
    std::variant<Parsed, Response> parse(const Request& request) const;
    Response tilejson(const Request& request, tiles::Layer layer) const;
    Response reply(const Request& request, tiles::Layer layer, const EntryPtr& e) const;
    EntryPtr lookup(const Key& key);
    void insert(const Key& key, EntryPtr e);
    EntryPtr from_disk(const Key& key) const;
    void to_disk(const Key& key, const std::string& bytes) const;

    std::shared_ptr<const render::MapData> m_data;
    TileServiceOptions m_options;
    tiles::TileSource m_source; // imagery: metatiles of options.tiles.metatile
    tiles::TileSource m_single; // overlay: one tile at a time
    [[nodiscard]] tiles::TileSource& source_of(tiles::Layer layer) {
        return layer == tiles::Layer::imagery ? m_source : m_single;
    }
    geo::Box m_lonlat; // the grid's bounds, for TileJSON
    // Overlay tiles draw the grid version in force at their time: one source per version
    // (kept; the version served from the start uses m_single).
    [[nodiscard]] tiles::TileSource& overlay_at(Live& live, loop::LocalTime at);
    [[nodiscard]] tiles::TileSource& overlay_of(Live& live, int version);
    std::mutex m_past_mutex;
    std::map<int, std::unique_ptr<tiles::TileSource>> m_past;

    mutable std::mutex m_mutex; // guards the cache and the in-flight set
    std::list<Key> m_lru;       // front = most recent
    std::unordered_map<Key, std::pair<EntryPtr, std::list<Key>::iterator>, KeyHash> m_cache;
    std::size_t m_bytes = 0;
    std::set<std::pair<tiles::Layer, tiles::MetaId>> m_in_flight;
    std::condition_variable m_done;
    std::atomic<std::uint64_t> m_epoch{0}; // bumped by every expiry
    std::atomic<std::size_t> m_hits{0}, m_misses{0}, m_metatiles{0};
};

} // namespace wangge::serve
