// The one error model of wangge: every failure is an exception derived from wangge::Error,
// which derives from std::runtime_error and carries where the problem is (file, layer,
// feature, field, line, cell code). GDAL, GEOS and PROJ errors are turned into these at the
// boundary (geo/), so callers above it never see a C error code.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace wangge {

// Where a problem is. Every member is optional; what() prints the ones that are set,
// outermost first: "grid.geojson: layer 'cells': feature 12: field 'code': ...".
struct ErrorContext {
    std::string file;
    std::string layer;
    std::optional<std::int64_t> feature;
    std::optional<std::int64_t> line;
    std::string field;
    std::string cell;

    [[nodiscard]] std::string describe() const;
};

class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& message, ErrorContext context = {});

    // The message without the context prefix.
    [[nodiscard]] const std::string& message() const noexcept { return m_message; }
    [[nodiscard]] const ErrorContext& context() const noexcept { return m_context; }

  private:
    std::string m_message;
    ErrorContext m_context;
};

// Input given by a user (a file, a flag, a feature, a request) is wrong or unreadable.
class InputError : public Error {
    using Error::Error;
};

// Data that was read is well formed but breaks a rule of the domain (duplicate cell codes,
// a code that does not match its village, an illegal transition).
class DataError : public Error {
    using Error::Error;
};

// A GDAL, GEOS or PROJ call failed for a reason that is not the user's input.
class LibraryError : public Error {
    using Error::Error;
};

// The workspace cannot be read or written, or is not a wangge workspace.
class StoreError : public Error {
    using Error::Error;
};

} // namespace wangge
