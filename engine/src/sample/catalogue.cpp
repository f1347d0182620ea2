#include "wangge/sample/catalogue.hpp"

#include "embedded_admin.hpp"
#include "wangge/base/csv.hpp"
#include "wangge/error.hpp"

namespace wangge::sample {

namespace {
// The data/admin/ files: a header line, quoted names, the parent code in parent_column.
std::vector<AdminName> parse_admin_csv(const std::string& text, const std::string& parent_column) {
    const auto t = base::CsvTable::parse(text, "admin catalogue");
    const auto code = t.column("code"), name = t.column("name"), parent = t.column(parent_column);
    std::vector<AdminName> out;
    out.reserve(t.rows().size());
    for (const auto& row : t.rows())
        out.push_back({t.field(row, code), t.field(row, name), t.field(row, parent)});
    return out;
}
} // namespace

const std::vector<AdminName>& jishan_townships() {
    static const auto v = parse_admin_csv(embedded::streets_140824_jishan_csv, "areaCode");
    return v;
}

const std::vector<AdminName>& jishan_villages() {
    static const auto v = parse_admin_csv(embedded::villages_140824_jishan_csv, "streetCode");
    return v;
}

} // namespace wangge::sample
