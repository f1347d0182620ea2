// Shared helpers for the unit tests: data paths come from CTest, temporary files go to a
// per-test folder under the build tree.
#pragma once

#include "wangge/grid/import.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <string>

namespace wangge::test {

inline std::string data(const std::string& name) {
    return std::string(WANGGE_TEST_DATA) + "/" + name;
}

// A fresh, empty folder for the running test.
inline std::filesystem::path temp_dir() {
    const char* base = std::getenv("WANGGE_TEST_TMP");
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::filesystem::path dir = std::filesystem::path(base ? base : "/tmp/wangge-test") /
                                (std::string(info->test_suite_name()) + "." + info->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// The 11 municipalities of Liechtenstein in the OSM extract, read as a grid.
inline grid::ImportOptions liechtenstein_options() {
    grid::ImportOptions o;
    o.layer = "multipolygons";
    o.where = "admin_level='8' AND boundary='administrative'";
    o.code_field = "osm_id";
    o.name_field = "name";
    return o;
}

} // namespace wangge::test
