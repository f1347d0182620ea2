#include "wangge/store/gpkg.hpp"

#include <cstring>

namespace wangge::store::gpkg {

void register_attributes(const sqlite::Connection& db,
                         std::initializer_list<std::string_view> tables) {
    auto st = db.prepare("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier) "
                         "VALUES (?1, 'attributes', ?1)");
    for (const auto table : tables)
        st.bind(1, table).run();
}

void register_points(const sqlite::Connection& db, std::string_view table, std::string_view column,
                     int srs_id) {
    auto contents = db.prepare("INSERT OR IGNORE INTO gpkg_contents "
                               "(table_name, data_type, identifier, srs_id) "
                               "VALUES (?1, 'features', ?1, ?2)");
    contents.bind(1, table).bind(2, srs_id).run();
    auto columns = db.prepare("INSERT OR IGNORE INTO gpkg_geometry_columns "
                              "(table_name, column_name, geometry_type_name, srs_id, z, m) "
                              "VALUES (?1, ?2, 'POINT', ?3, 0, 0)");
    columns.bind(1, table).bind(2, column).bind(3, srs_id).run();
}

std::array<unsigned char, 29> point_blob(geo::Point p, std::int32_t srs_id) {
    std::array<unsigned char, 29> b{};
    b[0] = 'G';
    b[1] = 'P';
    b[2] = 0;
    b[3] = 0x01; // little endian, no envelope
    std::memcpy(&b[4], &srs_id, 4);
    b[8] = 1; // WKB little endian
    const std::uint32_t type = 1;
    std::memcpy(&b[9], &type, 4);
    std::memcpy(&b[13], &p.x, 8);
    std::memcpy(&b[21], &p.y, 8);
    return b;
}

geo::Point point_from_blob(const void* data, int size) {
    const auto* b = static_cast<const unsigned char*>(data);
    if (size < 8 || b[0] != 'G' || b[1] != 'P') return {};
    static constexpr int envelope_bytes[] = {0, 32, 48, 48, 64, 0, 0, 0};
    const int offset = 8 + envelope_bytes[(b[3] >> 1) & 0x07];
    if (size < offset + 21) return {};
    geo::Point p;
    std::memcpy(&p.x, b + offset + 5, 8);
    std::memcpy(&p.y, b + offset + 13, 8);
    return p;
}

} // namespace wangge::store::gpkg
