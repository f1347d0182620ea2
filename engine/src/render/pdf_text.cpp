// Searchable map labels in PDF and SVG prints.
//
// The cause: Mapnik's cairo renderer draws each label glyph with cairo_show_glyphs, which
// carries glyph ids but not the text. A PDF surface then has to guess each glyph's Unicode
// value for the font's ToUnicode map, and cairo takes the lowest code point whose cmap entry
// points at the glyph. Noto Sans CJK (like most CJK fonts) maps a Kangxi radical and its
// unified ideograph to one glyph (⽹ U+2F79 and 网 U+7F51, ⼭ U+2F2D and 山 U+5C71), so the
// radical wins and no cell name could be found in a printed map.
//
// The fix: wangge's binaries provide cairo_show_glyphs themselves (exported with
// --export-dynamic-symbol, so libmapnik's calls land here) and, on vector surfaces only,
// pass the text of each glyph along through cairo_show_text_glyphs, choosing the ordinary
// character over radicals and compatibility ideographs. cairo then writes that text into the
// ToUnicode map. Everything else goes straight to cairo's own function.
#include "print.hpp"

#include <cairo-ft.h>
#include <cairo.h>
#include <dlfcn.h>
#include <ft2build.h>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>
#include FT_FREETYPE_H

namespace {

// Code points that share a glyph with an ordinary character: CJK radicals, Kangxi radicals,
// compatibility ideographs.
bool secondary(std::uint32_t c) {
    return (c >= 0x2E80 && c <= 0x2FDF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0x2F800 && c <= 0x2FA1F);
}

// glyph id -> the character to report for it, per font (by family, style and glyph count).
const std::unordered_map<unsigned, std::uint32_t>& reverse_cmap(FT_Face face) {
    static std::mutex mutex;
    static std::map<std::string, std::unordered_map<unsigned, std::uint32_t>> cache;
    const std::string key = std::string(face->family_name ? face->family_name : "") + "/" +
                            (face->style_name ? face->style_name : "") + "/" +
                            std::to_string(face->num_glyphs);
    std::lock_guard lock(mutex);
    auto [it, fresh] = cache.try_emplace(key);
    if (fresh) {
        auto& m = it->second;
        FT_UInt gid = 0;
        for (FT_ULong c = FT_Get_First_Char(face, &gid); gid != 0;
             c = FT_Get_Next_Char(face, c, &gid)) {
            const auto ch = static_cast<std::uint32_t>(c);
            const auto [slot, added] = m.try_emplace(gid, ch);
            if (!added && secondary(slot->second) && !secondary(ch)) slot->second = ch;
        }
    }
    return it->second;
}

void append_utf8(std::string& s, std::uint32_t c) {
    if (c < 0x80) {
        s += static_cast<char>(c);
    } else if (c < 0x800) {
        s += static_cast<char>(0xC0 | (c >> 6));
        s += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        s += static_cast<char>(0xE0 | (c >> 12));
        s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | (c >> 18));
        s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (c & 0x3F));
    }
}

using show_glyphs_fn = void (*)(cairo_t*, const cairo_glyph_t*, int);

show_glyphs_fn cairo_own() {
    static const auto fn = reinterpret_cast<show_glyphs_fn>(dlsym(RTLD_NEXT, "cairo_show_glyphs"));
    return fn;
}

} // namespace

extern "C" __attribute__((visibility("default"))) void
cairo_show_glyphs(cairo_t* cr, const cairo_glyph_t* glyphs, int num_glyphs) {
    const show_glyphs_fn own = cairo_own();
    const auto type = cairo_surface_get_type(cairo_get_target(cr));
    cairo_scaled_font_t* font = cairo_get_scaled_font(cr);
    if (num_glyphs <= 0 || (type != CAIRO_SURFACE_TYPE_PDF && type != CAIRO_SURFACE_TYPE_SVG) ||
        cairo_scaled_font_get_type(font) != CAIRO_FONT_TYPE_FT) {
        own(cr, glyphs, num_glyphs);
        return;
    }
    std::string utf8;
    std::vector<cairo_text_cluster_t> clusters;
    FT_Face face = cairo_ft_scaled_font_lock_face(font);
    if (face) {
        const auto& chars = reverse_cmap(face);
        for (int i = 0; i < num_glyphs; ++i) {
            const auto it = chars.find(static_cast<unsigned>(glyphs[i].index));
            if (it == chars.end()) break; // a shaped glyph without a character of its own
            const auto before = utf8.size();
            append_utf8(utf8, it->second);
            clusters.push_back({static_cast<int>(utf8.size() - before), 1});
        }
        cairo_ft_scaled_font_unlock_face(font);
    }
    if (static_cast<int>(clusters.size()) != num_glyphs) {
        own(cr, glyphs, num_glyphs);
        return;
    }
    cairo_show_text_glyphs(cr, utf8.data(), static_cast<int>(utf8.size()), glyphs, num_glyphs,
                           clusters.data(), static_cast<int>(clusters.size()),
                           static_cast<cairo_text_cluster_flags_t>(0));
}

namespace wangge::render::detail {

bool searchable_pdf_text() {
    // Referenced by render_print so that this object, and the override above, are linked.
    return cairo_own() != nullptr;
}

} // namespace wangge::render::detail
