#include "wangge/error.hpp"

#include <utility>

namespace wangge {

std::string ErrorContext::describe() const {
    std::string out;
    auto add = [&out](const std::string& part) {
        if (!out.empty()) out += ": ";
        out += part;
    };
    if (!file.empty()) add(file);
    if (line) add("line " + std::to_string(*line));
    if (!layer.empty()) add("layer '" + layer + "'");
    if (feature) add("feature " + std::to_string(*feature));
    if (!cell.empty()) add("cell " + cell);
    if (!field.empty()) add("field '" + field + "'");
    return out;
}

namespace {
std::string compose(const std::string& message, const ErrorContext& context) {
    const std::string where = context.describe();
    return where.empty() ? message : where + ": " + message;
}
} // namespace

Error::Error(const std::string& message, ErrorContext context)
    : std::runtime_error(compose(message, context)), m_message(message),
      m_context(std::move(context)) {}

} // namespace wangge
