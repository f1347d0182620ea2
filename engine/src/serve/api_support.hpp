// What the API's routes share: JSON answers, library errors as HTTP statuses, number and body
// parsing, ?at= and the grid in force then. Free functions without state; thread-safe.
#pragma once

#include "http.hpp"
#include "live.hpp"
#include "wangge/geo/geometry.hpp"
#include "wangge/grid/grid.hpp"
#include "wangge/render/renderer.hpp"

#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace wangge::serve {

using json = nlohmann::ordered_json;

// A JSON body, never cached (it answers for a moment).
[[nodiscard]] Response json_response(const json& j, unsigned status = 200);
[[nodiscard]] Response not_found(const std::string& what);
// The error model as statuses: InputError 400, DataError 422, StoreError 409 (a duplicate)
// or 503 (busy, unreadable), anything else 500.
[[nodiscard]] Response error_response(const std::exception& e);

// The whole text as a finite number / integer; nullopt otherwise.
[[nodiscard]] std::optional<double> number(const std::string& text);
[[nodiscard]] std::optional<std::int64_t> integer(std::string_view text);
// A request body that must be a JSON object; nullopt when it is not (answer 400).
[[nodiscard]] std::optional<json> json_object_body(const Request& req);
// A text field of a JSON body: "" when absent or null; InputError (400) when not text.
[[nodiscard]] std::string body_text(const json& body, const char* key);
// An application/x-www-form-urlencoded body; InputError when malformed.
[[nodiscard]] std::map<std::string, std::string> parse_form(const std::string& body);
[[nodiscard]] std::string form_value(const std::map<std::string, std::string>& form,
                                     const std::string& key);

[[nodiscard]] json time_or_null(const std::optional<loop::LocalTime>& t);
[[nodiscard]] json geometry_json(const geo::MultiPolygon& mp);
// A village's or township's name in `grid` ("" when unknown).
[[nodiscard]] std::string unit_name(const grid::Grid& grid, const std::string& code);

// ?at= or the server's now; throws InputError for a bad time.
[[nodiscard]] loop::LocalTime at_of(const Live& live, const Request& req);
// The grid version in force at `at` (Live::version_at: after a publish takes effect, the new
// one, as the tiles draw it; before it, the old cells, which the matters then are counted in).
[[nodiscard]] const grid::Grid& grid_at(const Live& live, loop::LocalTime at);
// The cell and pin statuses for ?at=: the snapshot's when `at` is its time (the common case),
// else computed.
[[nodiscard]] std::shared_ptr<const render::RenderStatus>
status_for(const Live& live, const Request& req, loop::LocalTime at);
[[nodiscard]] render::CellState cell_state(const render::RenderStatus& status,
                                           const std::string& code);

} // namespace wangge::serve
