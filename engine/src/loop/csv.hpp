// A small CSV reader for the human-edited tables of loop/ (catalogue, duties): RFC 4180
// quoting (quoted commas, doubled quotes, quoted line breaks), a UTF-8 byte order mark as
// spreadsheets write it, blank lines and lines starting with '#' skipped. Every row keeps
// the line it started on, so errors can name file and line.
#pragma once

#include "wangge/error.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wangge::loop::detail {

struct CsvRow {
    std::int64_t line = 0;
    std::vector<std::string> fields;
};

class CsvTable {
  public:
    // Reads a file; throws InputError when it cannot be read, is not valid text in
    // `encoding` (UTF-8 unless told; naming line and byte offset), has no header, an unclosed
    // quote, or a row with more fields than the header. Another encoding (GBK) is converted.
    static CsvTable read(const std::string& path, const std::string& encoding = "UTF-8");
    static CsvTable parse(std::string_view text, const std::string& path);

    [[nodiscard]] const std::string& path() const noexcept { return m_path; }
    [[nodiscard]] const std::vector<CsvRow>& rows() const noexcept { return m_rows; }
    // The index of a column; throws InputError naming the file when it is missing.
    [[nodiscard]] std::size_t column(const std::string& name) const;
    [[nodiscard]] bool has_column(const std::string& name) const;
    // The index of an optional column, nullopt when the file does not have it.
    [[nodiscard]] std::optional<std::size_t> optional_column(const std::string& name) const;
    // The field of a row (trimmed); "" when the row is shorter than the header.
    [[nodiscard]] std::string field(const CsvRow& row, std::size_t column) const;
    // An error at a row, naming file, line and optionally the column.
    [[nodiscard]] InputError error(const CsvRow& row, const std::string& message,
                                   const std::string& column = {}) const;

  private:
    std::string m_path;
    std::vector<std::string> m_header;
    std::vector<CsvRow> m_rows;
};

} // namespace wangge::loop::detail
