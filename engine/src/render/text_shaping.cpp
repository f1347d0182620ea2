// Label shaping without a new HarfBuzz face per label.
//
// The cause: Mapnik 3.1 shapes every run of label text with
// hb_ft_font_create(ft_face, nullptr), which wraps the FreeType face in a new hb_face_t each
// time. HarfBuzz caches shape plans on the hb_face_t, so every label built its plan again,
// and for Noto Sans CJK (large GSUB/GPOS tables) that was a tenth of a tile export's CPU.
//
// The fix: wangge's binaries provide hb_ft_font_create themselves (exported with
// --export-dynamic-symbol, like cairo_show_glyphs in pdf_text.cpp, so libmapnik's calls land
// here). HarfBuzz's own function makes the font; its face is then swapped for the one
// HarfBuzz keeps on the FreeType face itself (hb_ft_face_create_cached: freed with the
// FT_Face, so it never outlives it), and plans are built once per face. The glyphs and
// positions are HarfBuzz's own either way.
#include "print.hpp"

#include <dlfcn.h>
#include <ft2build.h>
#include FT_FREETYPE_H
#include <harfbuzz/hb-ft.h>

namespace {

using font_create_fn = hb_font_t* (*)(FT_Face, hb_destroy_func_t);

font_create_fn harfbuzz_own() {
    static const auto fn = reinterpret_cast<font_create_fn>(dlsym(RTLD_NEXT, "hb_ft_font_create"));
    return fn;
}

} // namespace

extern "C" __attribute__((visibility("default"))) hb_font_t*
hb_ft_font_create(FT_Face ft_face, hb_destroy_func_t destroy) {
    hb_font_t* font = harfbuzz_own()(ft_face, destroy);
    // With a destroy callback the caller expects it run when this font's face goes: keep it.
    if (destroy || !ft_face) return font;
    hb_face_t* shared = hb_ft_face_create_cached(ft_face);
    hb_font_set_face(font, shared); // takes its own reference
    hb_face_destroy(shared);
    return font;
}

namespace wangge::render::detail {

bool shared_shaping_faces() {
    // Referenced by the Renderer so that this object, and the override above, are linked.
    return harfbuzz_own() != nullptr;
}

} // namespace wangge::render::detail
