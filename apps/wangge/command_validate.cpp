// Placeholder: wangge grid validate is being written (issue 3).
#include "commands.hpp"
namespace wangge::app {
void register_validate(CLI::App&) {}
} // namespace wangge::app
