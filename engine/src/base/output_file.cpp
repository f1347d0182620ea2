#include "wangge/base/output_file.hpp"

#include "wangge/error.hpp"

#include <vector>

namespace wangge::base {

namespace fs = std::filesystem;

namespace {
void refuse_existing(const fs::path& p) {
    if (fs::exists(p)) throw InputError("output exists; remove it first", {.file = p.string()});
}
} // namespace

OutputFile::OutputFile(fs::path target, fs::path path, fs::path folder, Existing existing)
    : m_target(std::move(target)), m_path(std::move(path)), m_folder(std::move(folder)),
      m_existing(existing) {}

OutputFile OutputFile::file(fs::path target, std::string suffix, Existing existing) {
    if (target.empty()) throw InputError("no output file given");
    if (existing == Existing::refuse) refuse_existing(target);
    fs::path tmp = target.string() + suffix;
    fs::remove_all(tmp);
    return OutputFile(std::move(target), std::move(tmp), {}, existing);
}

OutputFile OutputFile::files(fs::path target) {
    if (target.empty()) throw InputError("no output file given");
    refuse_existing(target);
    fs::path folder = target.string() + ".partial.d";
    fs::remove_all(folder);
    fs::create_directories(folder);
    fs::path path = folder / target.filename();
    return OutputFile(std::move(target), std::move(path), std::move(folder), Existing::refuse);
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : m_target(std::move(other.m_target)), m_path(std::move(other.m_path)),
      m_folder(std::move(other.m_folder)), m_existing(other.m_existing), m_done(other.m_done) {
    other.m_done = true;
}

OutputFile::~OutputFile() {
    if (m_done) return;
    std::error_code ec;
    fs::remove_all(m_folder.empty() ? m_path : m_folder, ec);
}

void OutputFile::commit() {
    std::error_code ec;
    if (m_folder.empty()) {
        if (m_existing == Existing::refuse) refuse_existing(m_target);
        fs::rename(m_path, m_target, ec);
        if (ec)
            throw StoreError("cannot move the output into place: " + ec.message(),
                             {.file = m_target.string()});
        m_done = true;
        return;
    }
    const fs::path dest = fs::absolute(m_target).parent_path();
    std::vector<fs::path> moving;
    for (const auto& entry : fs::directory_iterator(m_folder)) {
        refuse_existing(dest / entry.path().filename());
        moving.push_back(entry.path());
    }
    for (const auto& p : moving) {
        fs::rename(p, dest / p.filename(), ec);
        if (ec)
            throw StoreError("cannot move the output into place: " + ec.message(),
                             {.file = (dest / p.filename()).string()});
    }
    fs::remove_all(m_folder, ec);
    m_done = true;
}

} // namespace wangge::base
