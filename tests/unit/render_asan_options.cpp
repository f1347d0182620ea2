// Sanitizer defaults for the rendering tests only (ASAN_OPTIONS in the environment still
// wins). Debian's cairo and fontconfig have no frame pointers: the fast unwinder stops inside
// them, so the leak suppressions (tests/sanitizers/lsan.supp), which name the cairo and
// fontconfig entry points those libraries' own leaks come through, could not match. The full
// unwinder sees the whole stack; it is too slow for the whole suite, and only the print
// tests draw PDF and SVG. Unused in builds without AddressSanitizer.
extern "C" const char* __asan_default_options();
extern "C" __attribute__((visibility("default"), used)) const char* __asan_default_options() {
    return "fast_unwind_on_malloc=0";
}
