#include "loop/csv.hpp"

#include "wangge/base/text.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace wangge::loop::detail {

namespace {
std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r");
    return std::string(s.substr(first, last - first + 1));
}
} // namespace

CsvTable CsvTable::read(const std::string& path, const std::string& encoding) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot open file", {.file = path});
    std::ostringstream buffer;
    buffer << in.rdbuf();
    std::string text = std::move(buffer).str();
    // Text that is not UTF-8 would be stored as it is and break every JSON reader of the
    // workspace later: refuse it here (or convert it from the encoding given), naming the line
    // and the byte.
    const std::string& from = encoding.empty() ? std::string("UTF-8") : encoding;
    std::string utf8;
    if (const auto bad = base::convert_to_utf8(text, from, utf8)) {
        const auto line =
            1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(*bad), '\n');
        const bool is_utf8 = from == "UTF-8" || from == "utf-8" || from == "UTF8";
        throw InputError("not valid " + from + " at " + base::describe_invalid_utf8(text, *bad) +
                             (is_utf8 ? "; save the file as UTF-8 (from GBK: iconv -f GBK -t "
                                        "UTF-8)"
                                      : ""),
                         {.file = path, .line = line});
    }
    return parse(utf8, path);
}

CsvTable CsvTable::parse(std::string_view text, const std::string& path) {
    CsvTable table;
    table.m_path = path;
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

    std::vector<CsvRow> records;
    CsvRow row;
    std::string field;
    bool quoted = false;
    bool field_was_quoted = false;
    std::int64_t line = 1;
    row.line = 1;
    auto end_field = [&] {
        row.fields.push_back(field_was_quoted ? field : trim(field));
        field.clear();
        field_was_quoted = false;
    };
    auto end_record = [&](std::int64_t next_line) {
        end_field();
        const bool blank = row.fields.size() == 1 && row.fields[0].empty();
        const bool comment = !row.fields[0].empty() && row.fields[0][0] == '#';
        if (!blank && !comment) records.push_back(std::move(row));
        row = CsvRow{};
        row.line = next_line;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"') {
                if (i + 1 < text.size() && text[i + 1] == '"') {
                    field += '"';
                    ++i;
                } else {
                    quoted = false;
                }
            } else {
                if (c == '\n') ++line;
                field += c;
            }
        } else if (c == '"' && trim(field).empty()) {
            quoted = true;
            field_was_quoted = true;
            field.clear();
        } else if (c == ',') {
            end_field();
        } else if (c == '\n') {
            ++line;
            end_record(line);
        } else if (c != '\r' || field_was_quoted) {
            if (!field_was_quoted) field += c;
        }
    }
    if (quoted) throw InputError("unclosed quote", {.file = path, .line = row.line});
    if (!field.empty() || !row.fields.empty() || field_was_quoted) end_record(line);
    if (records.empty()) throw InputError("empty file: no header row", {.file = path});
    table.m_header = std::move(records.front().fields);
    for (std::size_t i = 1; i < records.size(); ++i) {
        if (records[i].fields.size() > table.m_header.size())
            throw InputError("row has " + std::to_string(records[i].fields.size()) +
                                 " fields, the header " + std::to_string(table.m_header.size()),
                             {.file = path, .line = records[i].line});
        table.m_rows.push_back(std::move(records[i]));
    }
    return table;
}

bool CsvTable::has_column(const std::string& name) const {
    return std::find(m_header.begin(), m_header.end(), name) != m_header.end();
}

std::optional<std::size_t> CsvTable::optional_column(const std::string& name) const {
    if (!has_column(name)) return std::nullopt;
    return column(name);
}

std::size_t CsvTable::column(const std::string& name) const {
    const auto it = std::find(m_header.begin(), m_header.end(), name);
    if (it == m_header.end())
        throw InputError("missing column '" + name + "'", {.file = m_path, .line = 1});
    return static_cast<std::size_t>(it - m_header.begin());
}

std::string CsvTable::field(const CsvRow& row, std::size_t column) const {
    return column < row.fields.size() ? row.fields[column] : std::string{};
}

InputError CsvTable::error(const CsvRow& row, const std::string& message,
                           const std::string& column) const {
    return InputError(message, {.file = m_path, .line = row.line, .field = column});
}

} // namespace wangge::loop::detail
