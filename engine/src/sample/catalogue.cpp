#include "wangge/sample/catalogue.hpp"

#include "embedded_admin.hpp"
#include "wangge/error.hpp"

#include <algorithm>
#include <sstream>

namespace wangge::sample {

namespace {
std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (char c : line) {
        if (c == '"')
            quoted = !quoted;
        else if (c == ',' && !quoted) {
            out.push_back(cur);
            cur.clear();
        } else if (c != '\r')
            cur += c;
    }
    out.push_back(cur);
    return out;
}
} // namespace

std::vector<AdminName> parse_admin_csv(const std::string& text, const std::string& parent_column) {
    std::istringstream in(text);
    std::string line;
    if (!std::getline(in, line)) throw DataError("admin catalogue is empty");
    const auto header = split_csv_line(line);
    int code_col = -1, name_col = -1, parent_col = -1;
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i] == "code") code_col = static_cast<int>(i);
        if (header[i] == "name") name_col = static_cast<int>(i);
        if (header[i] == parent_column) parent_col = static_cast<int>(i);
    }
    if (code_col < 0 || name_col < 0 || parent_col < 0)
        throw DataError("admin catalogue lacks code, name or " + parent_column + " column");
    std::vector<AdminName> out;
    std::int64_t line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        const auto f = split_csv_line(line);
        const auto need = static_cast<std::size_t>(std::max({code_col, name_col, parent_col}));
        if (f.size() <= need) throw DataError("too few columns", ErrorContext{.line = line_no});
        out.push_back({f[static_cast<std::size_t>(code_col)], f[static_cast<std::size_t>(name_col)],
                       f[static_cast<std::size_t>(parent_col)]});
    }
    return out;
}

const std::vector<AdminName>& jishan_townships() {
    static const auto v = parse_admin_csv(embedded::streets_140824_jishan_csv, "areaCode");
    return v;
}

const std::vector<AdminName>& jishan_villages() {
    static const auto v = parse_admin_csv(embedded::villages_140824_jishan_csv, "streetCode");
    return v;
}

} // namespace wangge::sample
