// Writing an output so that it appears whole or not at all: it is written under a temporary
// name and moved into place by commit(). Destroyed without commit() (an exception on the
// way), the temporary is removed, so a failed command never leaves a half-written file.
#pragma once

#include <filesystem>
#include <string>

namespace wangge::base {

class OutputFile {
  public:
    enum class Existing { replace, refuse };

    // One file: written as `<target><suffix>` beside the target (the suffix keeps a known
    // extension when a library picks the format by it, e.g. ".partial.gpkg"), renamed over
    // the target by commit(). A stale temporary of an earlier failed run is removed.
    // With Existing::refuse, an existing target throws InputError now and at commit().
    static OutputFile file(std::filesystem::path target, std::string suffix = ".partial",
                           Existing existing = Existing::replace);
    // Several files of one output (a Shapefile's .shp/.shx/.dbf/.prj): written into the
    // folder `<target>.partial.d/` as path() (its file name is the target's); commit() moves
    // every file of that folder beside the target, refusing (InputError) if any exists.
    static OutputFile files(std::filesystem::path target);

    OutputFile(OutputFile&& other) noexcept;
    OutputFile& operator=(OutputFile&&) = delete;
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;
    ~OutputFile();

    // Where to write.
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return m_path; }
    [[nodiscard]] const std::filesystem::path& target() const noexcept { return m_target; }
    // Moves the output into place; throws StoreError when the move fails.
    void commit();

  private:
    OutputFile(std::filesystem::path target, std::filesystem::path path,
               std::filesystem::path folder, Existing existing);
    std::filesystem::path m_target;
    std::filesystem::path m_path;
    std::filesystem::path m_folder; // the staging folder of files(), empty for file()
    Existing m_existing;
    bool m_done = false;
};

} // namespace wangge::base
