#include "wangge/base/text.hpp"

#include "wangge/error.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <iconv.h>
#include <memory>
#include <type_traits>

namespace wangge::base {

std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        unsigned lo = 0x80, hi = 0xBF; // the allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0; // overlong
            if (c == 0xED) hi = 0x9F; // UTF-16 surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90; // overlong
            if (c == 0xF4) hi = 0x8F; // above U+10FFFF
        } else {
            return i;
        }
        if (i + len > n) return i;
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (std::size_t k = 2; k < len; ++k)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
        i += len;
    }
    return std::nullopt;
}

std::string describe_invalid_utf8(std::string_view text, std::size_t offset) {
    std::string out = "byte offset " + std::to_string(offset) + " (bytes";
    for (std::size_t i = offset; i < text.size() && i < offset + 4; ++i) {
        char hex[4];
        std::snprintf(hex, sizeof hex, " %02X", static_cast<unsigned char>(text[i]));
        out += hex;
    }
    return out + ")";
}

namespace {
struct IconvClose {
    void operator()(iconv_t cd) const noexcept { iconv_close(cd); }
};
// iconv_t is a pointer type in glibc; the guard closes it on every path.
using Iconv = std::unique_ptr<std::remove_pointer_t<iconv_t>, IconvClose>;

bool is_utf8_name(std::string encoding) {
    for (auto& c : encoding)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return encoding == "UTF-8" || encoding == "UTF8";
}
} // namespace

std::optional<std::size_t> convert_to_utf8(std::string_view text, const std::string& encoding,
                                           std::string& out) {
    if (is_utf8_name(encoding)) {
        if (const auto bad = first_invalid_utf8(text)) return bad;
        out.assign(text);
        return std::nullopt;
    }
    const iconv_t raw = iconv_open("UTF-8", encoding.c_str());
    if (raw == reinterpret_cast<iconv_t>(-1))
        throw InputError("unknown text encoding '" + encoding + "' (try GBK, GB18030 or UTF-8)");
    const Iconv cd(raw);
    out.assign(text.size() * 2 + 16, '\0');
    auto* in = const_cast<char*>(text.data()); // iconv's signature; it does not write
    std::size_t in_left = text.size();
    std::size_t done = 0;
    while (in_left > 0) {
        char* dst = out.data() + done;
        std::size_t out_left = out.size() - done;
        const std::size_t rc = iconv(cd.get(), &in, &in_left, &dst, &out_left);
        done = out.size() - out_left;
        if (rc != static_cast<std::size_t>(-1)) break;
        if (errno == E2BIG) {
            out.resize(out.size() * 2);
            continue;
        }
        return static_cast<std::size_t>(in - text.data()); // EILSEQ or a cut-off sequence
    }
    out.resize(done);
    return std::nullopt;
}

std::string to_utf8(std::string_view text, const std::string& encoding, const std::string& what) {
    std::string out;
    try {
        if (const auto bad = convert_to_utf8(text, encoding, out))
            throw InputError("not valid " + encoding + " at " + describe_invalid_utf8(text, *bad),
                             {.file = what});
    } catch (const InputError& e) {
        if (!e.context().file.empty()) throw;
        throw InputError(e.message(), {.file = what});
    }
    return out;
}

} // namespace wangge::base
