#include "wangge/loop/reports.hpp"

#include "wangge/base/csv.hpp"
#include "wangge/error.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>

namespace wangge::loop {

namespace {

double parse_double(const base::CsvTable& t, const base::CsvRow& row, std::size_t col,
                    const char* name) {
    const std::string text = t.field(row, col);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v))
        throw t.error(row, "bad number '" + text + "'", name);
    return v;
}

} // namespace

std::vector<Report> read_reports_csv(const std::string& path, const Catalogue* catalogue,
                                     const std::string& encoding) {
    const auto t = base::CsvTable::read(path, encoding);
    const auto id = t.column("id"), category = t.column("category"), lon = t.column("lon"),
               lat = t.column("lat"), at = t.column("reported_at");
    const auto reporter = t.optional_column("reporter");
    const auto note = t.optional_column("note");
    std::vector<Report> out;
    std::unordered_map<std::int64_t, std::int64_t> seen;
    for (const auto& row : t.rows()) {
        Report r;
        const std::string id_text = t.field(row, id);
        const auto [end, ec] =
            std::from_chars(id_text.data(), id_text.data() + id_text.size(), r.id);
        if (id_text.empty() || ec != std::errc{} || end != id_text.data() + id_text.size() ||
            r.id <= 0 || r.id > max_incident_id)
            throw t.error(row,
                          "bad id '" + id_text + "' (expected a whole number from 1 to " +
                              std::to_string(max_incident_id) + ", 2^53 - 1)",
                          "id");
        if (const auto [it, fresh] = seen.emplace(r.id, row.line); !fresh)
            throw t.error(row,
                          "duplicate id " + id_text + " (first on line " +
                              std::to_string(it->second) + ")",
                          "id");
        r.category = t.field(row, category);
        if (r.category.empty()) throw t.error(row, "empty category", "category");
        if (catalogue && !catalogue->category(r.category))
            throw t.error(row, "unknown category '" + r.category + "'", "category");
        r.lonlat = {parse_double(t, row, lon, "lon"), parse_double(t, row, lat, "lat")};
        if (std::abs(r.lonlat.x) > 180 || std::abs(r.lonlat.y) > 90)
            throw t.error(row, "longitude or latitude out of range", "lon");
        try {
            r.at = parse_time(t.field(row, at));
        } catch (const InputError& e) {
            throw t.error(row, e.message(), "reported_at");
        }
        if (reporter) r.reporter = t.field(row, *reporter);
        if (note) r.note = t.field(row, *note);
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace wangge::loop
