// Placeholder: wangge assign is being written (issue 3).
#include "commands.hpp"
namespace wangge::app {
void register_assign(CLI::App&) {}
} // namespace wangge::app
