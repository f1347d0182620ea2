// Reports from files: id,category,lon,lat,reported_at[,reporter][,note] (reported_at ISO 8601
// local, optional offset); errors name file and line. Ids run from 1 to max_incident_id.
//
// Thread safety: a free function over immutable inputs; safe from any thread.
#pragma once

#include "wangge/loop/store.hpp"

#include <string>
#include <vector>

namespace wangge::loop {
// Throws InputError naming file and line (bad number, bad time, unknown category when a
// catalogue is given, duplicate id).
// The file must be UTF-8 unless `encoding` (an iconv name such as GBK) says otherwise; text
// that is not valid in it is refused naming line and byte offset.
[[nodiscard]] std::vector<Report> read_reports_csv(const std::string& path,
                                                   const Catalogue* catalogue = nullptr,
                                                   const std::string& encoding = "UTF-8");

} // namespace wangge::loop
