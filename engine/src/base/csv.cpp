#include "wangge/base/csv.hpp"

#include "wangge/base/text.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

namespace wangge::base {

namespace {
constexpr std::string_view bom = "\xEF\xBB\xBF";

bool blank(char c) noexcept {
    return c == ' ' || c == '\t';
}
} // namespace

std::string_view trim_csv_field(std::string_view s) noexcept {
    const auto first = s.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t\r");
    return s.substr(first, last - first + 1);
}

std::size_t find_csv_records(const char* buf, std::size_t len, bool at_eof, std::int64_t& line,
                             std::vector<CsvRecordSpan>& out) {
    std::size_t pos = 0;
    while (pos < len) {
        const char* start = buf + pos;
        const auto* nl = static_cast<const char*>(std::memchr(start, '\n', len - pos));
        const char* lim = nl ? nl : buf + len;
        const bool has_quote =
            std::memchr(start, '"', static_cast<std::size_t>(lim - start)) != nullptr;
        std::size_t end = 0, next = 0;
        std::int64_t lines = 1;
        if (!has_quote) {
            if (!nl && !at_eof) break;
            end = static_cast<std::size_t>(lim - buf);
            next = nl ? end + 1 : len;
        } else {
            // Only a quote that opens a field (after optional blanks) starts a quoted part,
            // in which line breaks belong to the field.
            enum { field_start, unquoted, quoted, after_quote } st = field_start;
            std::size_t i = pos;
            bool done = false;
            for (; i < len && !done; ++i) {
                const char c = buf[i];
                switch (st) {
                case field_start:
                    if (c == '"')
                        st = quoted;
                    else if (c == '\n')
                        done = true;
                    else if (c != ',' && !blank(c))
                        st = unquoted;
                    break;
                case unquoted:
                    if (c == ',')
                        st = field_start;
                    else if (c == '\n')
                        done = true;
                    break;
                case quoted:
                    if (c == '"')
                        st = after_quote;
                    else if (c == '\n')
                        ++lines;
                    break;
                case after_quote:
                    if (c == '"')
                        st = quoted;
                    else if (c == ',')
                        st = field_start;
                    else if (c == '\n')
                        done = true;
                    else
                        st = unquoted; // malformed; CsvFieldReader reports it
                    break;
                }
            }
            if (!done) {
                if (!at_eof) break;
                if (st == quoted)
                    throw InputError("a quote is not closed before the end of the file",
                                     {.line = line});
                end = next = len;
            } else {
                end = i - 1; // the '\n'
                next = i;
            }
        }
        std::size_t e = end;
        if (e > pos && buf[e - 1] == '\r') --e;
        std::size_t b = pos;
        if (line == 1 && b == 0 && e >= 3 && std::string_view(buf, 3) == bom) b = 3;
        if (e > b) out.push_back({b, e, line, has_quote}); // empty lines hold no record
        line += lines;
        pos = next;
    }
    return pos;
}

bool CsvFieldReader::next(std::string_view& field, std::string& scratch) {
    if (m_done) return false;
    const char* p = m_p;
    while (p < m_e && blank(*p))
        ++p;
    if (p < m_e && *p == '"') {
        m_last_quoted = true;
        scratch.clear();
        ++p;
        for (;;) {
            const auto* q =
                static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(m_e - p)));
            if (!q) {
                m_error = "a quote is not closed";
                m_done = true;
                return false;
            }
            scratch.append(p, q);
            if (q + 1 < m_e && q[1] == '"') {
                scratch.push_back('"');
                p = q + 2;
                continue;
            }
            p = q + 1;
            break;
        }
        while (p < m_e && blank(*p))
            ++p;
        if (p < m_e && *p != ',') {
            m_error = "text after a closing quote (quote the whole field, doubling its quotes)";
            m_done = true;
            return false;
        }
        field = scratch;
        if (p == m_e)
            m_done = true;
        else
            m_p = p + 1;
        return true;
    }
    m_last_quoted = false;
    const auto* c =
        static_cast<const char*>(std::memchr(m_p, ',', static_cast<std::size_t>(m_e - m_p)));
    field = std::string_view(m_p, static_cast<std::size_t>((c ? c : m_e) - m_p));
    if (c)
        m_p = c + 1;
    else
        m_done = true;
    return true;
}

std::vector<std::string> split_csv_record(std::string_view record) {
    std::vector<std::string> fields;
    CsvFieldReader reader(record);
    std::string_view f;
    std::string scratch;
    while (reader.next(f, scratch))
        fields.emplace_back(f);
    if (!reader.error().empty()) throw InputError(reader.error());
    return fields;
}

namespace {

// Refuses text that is not valid in `encoding`, naming the line and the byte.
[[noreturn]] void invalid_text(std::string_view text, std::size_t bad, const std::string& encoding,
                               const std::string& name) {
    const auto line =
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    const bool is_utf8 = encoding == "UTF-8" || encoding == "utf-8" || encoding == "UTF8";
    throw InputError(
        "not valid " + encoding + " at " + describe_invalid_utf8(text, bad) +
            (is_utf8 ? "; save the file as UTF-8 (from GBK: iconv -f GBK -t UTF-8)" : ""),
        {.file = name, .line = line});
}

} // namespace

CsvTable CsvTable::read(const std::string& path, const std::string& encoding) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError("cannot open file", {.file = path});
    std::ostringstream buffer;
    buffer << in.rdbuf();
    const std::string text = std::move(buffer).str();
    const std::string& from = encoding.empty() ? std::string("UTF-8") : encoding;
    std::string utf8;
    if (const auto bad = convert_to_utf8(text, from, utf8)) invalid_text(text, *bad, from, path);
    return parse(utf8, path);
}

CsvTable CsvTable::parse(std::string_view text, const std::string& name) {
    if (const auto bad = first_invalid_utf8(text)) invalid_text(text, *bad, "UTF-8", name);
    CsvTable table;
    table.m_path = name;
    std::vector<CsvRecordSpan> records;
    std::int64_t line = 1;
    try {
        find_csv_records(text.data(), text.size(), true, line, records);
    } catch (const InputError& e) {
        throw InputError(e.message(), {.file = name, .line = e.context().line});
    }
    std::string scratch;
    bool have_header = false;
    for (const auto& r : records) {
        const std::string_view raw = trim_csv_field(text.substr(r.begin, r.end - r.begin));
        if (raw.empty() || raw.front() == '#') continue; // blank or a comment
        CsvRow row{.line = r.line, .fields = {}};
        CsvFieldReader reader(text.data() + r.begin, text.data() + r.end);
        std::string_view f;
        while (reader.next(f, scratch))
            row.fields.emplace_back(reader.last_quoted() ? f : trim_csv_field(f));
        if (!reader.error().empty())
            throw InputError(reader.error(), {.file = name, .line = r.line});
        if (!have_header) {
            table.m_header = std::move(row.fields);
            have_header = true;
            continue;
        }
        if (row.fields.size() > table.m_header.size())
            throw InputError("row has " + std::to_string(row.fields.size()) +
                                 " fields, the header " + std::to_string(table.m_header.size()),
                             {.file = name, .line = row.line});
        table.m_rows.push_back(std::move(row));
    }
    if (!have_header) throw InputError("empty file: no header row", {.file = name});
    return table;
}

bool CsvTable::has_column(const std::string& name) const {
    return std::find(m_header.begin(), m_header.end(), name) != m_header.end();
}

std::optional<std::size_t> CsvTable::optional_column(const std::string& name) const {
    const auto it = std::find(m_header.begin(), m_header.end(), name);
    if (it == m_header.end()) return std::nullopt;
    return static_cast<std::size_t>(it - m_header.begin());
}

std::size_t CsvTable::column(const std::string& name) const {
    if (auto i = optional_column(name)) return *i;
    throw InputError("missing column '" + name + "'", {.file = m_path, .line = 1});
}

std::string CsvTable::field(const CsvRow& row, std::size_t column) const {
    return column < row.fields.size() ? row.fields[column] : std::string{};
}

InputError CsvTable::error(const CsvRow& row, const std::string& message,
                           const std::string& column) const {
    return InputError(message, {.file = m_path, .line = row.line, .field = column});
}

std::string csv_field(std::string_view field) {
    const bool needs = field.find_first_of(",\"\r\n") != std::string_view::npos ||
                       (!field.empty() && (blank(field.front()) || blank(field.back())));
    if (!needs) return std::string(field);
    std::string q;
    q.reserve(field.size() + 2);
    q += '"';
    for (const char c : field) {
        if (c == '"') q += '"';
        q += c;
    }
    q += '"';
    return q;
}

std::string csv_record(std::span<const std::string> fields) {
    std::string line;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) line += ',';
        line += csv_field(fields[i]);
    }
    line += '\n';
    return line;
}

void write_csv_record(std::ostream& out, std::span<const std::string> fields) {
    out << csv_record(fields);
}

} // namespace wangge::base
