// CSV as every stage reads and writes it: RFC 4180, with these rules stated once.
//
// - Fields are separated by ',' and records by LF or CRLF. A UTF-8 byte order mark at the
//   start of the text is skipped. Empty lines hold no record.
// - A field that starts with '"' is quoted: it may hold ',', CR, LF, and '""' for one quote.
//   After the closing quote only ',' or the end of the record may follow: `"abc"def` is an
//   error ("text after a closing quote"), never silently `abc` or `abcdef`.
// - A quote inside an unquoted field (`5" pipe`) is kept as it is.
// - A quote left open at the end of the text is an error naming the line the record began on.
// - Every record knows the line it starts on (1-based), so errors name file and line.
// - A table's text is UTF-8 (stored text that is not would break every JSON reader of the
//   workspace later): other bytes are refused naming the line and the byte offset.
//
// Two levels: find_records()/FieldReader split a buffer without copying (for large inputs,
// e.g. assignment of millions of points); CsvTable reads a whole small file with a header
// (catalogue, duties, admin names). The writer quotes exactly the fields that need it.
#pragma once

#include "wangge/error.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wangge::base {

// A record: bytes [begin, end) of a buffer (the line terminator excluded), the line it starts
// on, and whether it holds a quote (when not, its fields are simply what lies between commas).
struct CsvRecordSpan {
    std::size_t begin = 0, end = 0;
    std::int64_t line = 0;
    bool quoted = false;
};

// Appends the complete records in buf[0, len) to `out` and returns where the unfinished rest
// starts (len when at_eof). `line` is the line buf starts on; it is advanced past the records.
// When !at_eof, the rest is an incomplete record to carry into the next buffer. With at_eof,
// an unclosed quote throws InputError naming the line (no file: the caller adds it).
std::size_t find_csv_records(const char* buf, std::size_t len, bool at_eof, std::int64_t& line,
                             std::vector<CsvRecordSpan>& out);

// Walks the fields of one record (without its line terminator).
class CsvFieldReader {
  public:
    CsvFieldReader(const char* begin, const char* end) noexcept : m_p(begin), m_e(end) {}
    explicit CsvFieldReader(std::string_view record) noexcept
        : CsvFieldReader(record.data(), record.data() + record.size()) {}

    // The next field: true and `field` set, or false at the end of the record or on a
    // malformed field (then error() says what). A quoted field is unescaped into `scratch`
    // and `field` points into it, so it is valid until the next call.
    bool next(std::string_view& field, std::string& scratch);
    // Whether the last field was quoted (quoted fields are never trimmed).
    [[nodiscard]] bool last_quoted() const noexcept { return m_last_quoted; }
    // Empty unless next() stopped on a malformed field.
    [[nodiscard]] const std::string& error() const noexcept { return m_error; }

  private:
    const char* m_p;
    const char* m_e;
    bool m_done = false;
    bool m_last_quoted = false;
    std::string m_error;
};

// Splits one record into fields; throws InputError (no file) on a malformed field.
std::vector<std::string> split_csv_record(std::string_view record);

// Spaces and tabs (and a stray CR) removed at both ends.
std::string_view trim_csv_field(std::string_view s) noexcept;

struct CsvRow {
    std::int64_t line = 0;
    std::vector<std::string> fields;
};

// A small file read whole, with a header row. Unquoted fields are trimmed; lines starting
// with '#' are comments.
class CsvTable {
  public:
    // Throws InputError naming file and line when the file cannot be read, is not valid text
    // in `encoding` (naming the byte too; another encoding than UTF-8, e.g. GBK, is
    // converted), has no header, a malformed field, or a row with more fields than the header.
    static CsvTable read(const std::string& path, const std::string& encoding = "UTF-8");
    // The same rules for text in memory, which must be UTF-8; `name` is the file name errors
    // give (the text may be compiled in or come from elsewhere).
    static CsvTable parse(std::string_view text, const std::string& name);

    [[nodiscard]] const std::string& path() const noexcept { return m_path; }
    [[nodiscard]] const std::vector<std::string>& header() const noexcept { return m_header; }
    [[nodiscard]] const std::vector<CsvRow>& rows() const noexcept { return m_rows; }
    // The index of a column; throws InputError naming the file when it is missing.
    [[nodiscard]] std::size_t column(const std::string& name) const;
    [[nodiscard]] bool has_column(const std::string& name) const;
    // The index of an optional column, nullopt when the file does not have it.
    [[nodiscard]] std::optional<std::size_t> optional_column(const std::string& name) const;
    // The field of a row; "" when the row is shorter than the header.
    [[nodiscard]] std::string field(const CsvRow& row, std::size_t column) const;
    // An error at a row, naming file, line and optionally the column.
    [[nodiscard]] InputError error(const CsvRow& row, const std::string& message,
                                   const std::string& column = {}) const;

  private:
    std::string m_path;
    std::vector<std::string> m_header;
    std::vector<CsvRow> m_rows;
};

// A field as CSV: quoted (with quotes doubled) when it holds ',', '"', CR or LF, or starts or
// ends with a space; otherwise unchanged.
std::string csv_field(std::string_view field);
// One record: the fields as csv_field() writes them, joined by ',', ended by '\n'.
std::string csv_record(std::span<const std::string> fields);
void write_csv_record(std::ostream& out, std::span<const std::string> fields);

} // namespace wangge::base
