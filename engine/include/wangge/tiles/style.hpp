// `wangge tiles style`: the project's composite style (styles/satellite-overlay.xml) written
// as one self-contained Mapnik XML with real datasources, for tools that render Mapnik XML
// as it is (mapnik-render, renderd/mod_tile, MapProxy, python-mapnik):
//   DIR/style.xml            the map (entities and includes resolved), font-directory set
//   DIR/cells.geojson        cells in EPSG:3857 with code, name, level and `status` at TIME
//   DIR/pins.geojson         the incident pins at TIME (id, state)
//   DIR/{villages,townships,county}.geojson   boundaries and labels
//   DIR/imagery.tif          a copy of the workspace's imagery (EPSG:3857, with overviews)
//   DIR/markers/             the pin symbols
// Paths inside style.xml are relative to DIR, so the folder can be moved as a whole.
#pragma once

#include "wangge/render/renderer.hpp"

#include <cstddef>
#include <string>

namespace wangge::tiles {

struct StyleFiles {
    std::string style_file; // DIR/style.xml
    std::string imagery;    // DIR/imagery.tif, or "" without imagery
    std::size_t cells = 0;
    std::size_t pins = 0;
};

// Writes the folder (created if missing; files of the same names are replaced). style_dir ""
// = render::default_style_dir(). Throws InputError for an unwritable folder.
StyleFiles write_style(const render::MapData& data, const render::RenderStatus& status,
                       const std::string& dir, const std::string& style_dir = "");

} // namespace wangge::tiles
