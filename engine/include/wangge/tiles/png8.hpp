// A fast 8-bit palette PNG encoder for tiles, in place of Mapnik's png8 quantizers (its octree
// spent two thirds of a composite tile's encoding time building its tree; its hextree, which
// keeps alpha, twice that). Median cut over a histogram of 5-5-5 cells for opaque pixels and
// 4-4-4-4 cells for translucent ones (all fully transparent pixels share one entry): the boxes
// partition the histogram, so every pixel maps to its palette entry by one table look-up (no
// nearest-colour search), and an entry is the mean of the exact colours in its box. Compressed
// with libdeflate at level 2, no row filter (filters do not help palette indices).
// Deterministic: the same pixels give the same bytes. No Mapnik, no libpng; safe from any
// thread (its scratch tables are per thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace wangge::tiles {

// Pixels: straight (not premultiplied) RGBA, `stride` bytes from one row to the next. A tRNS
// chunk is written only when some pixel is not opaque. colours: 2-256.
[[nodiscard]] std::string encode_png8(const std::uint8_t* rgba, int width, int height,
                                      std::size_t stride, int colours = 256);

} // namespace wangge::tiles
