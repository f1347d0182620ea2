// Each command group registers its subcommands on the top-level CLI::App. A command's
// callback throws wangge::Error on failure; main() maps that to a message and exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace wangge::app {

// Exit codes shared by every command.
enum ExitCode : int { ok = 0, defects_found = 1, failed = 2 };

void register_grid(CLI::App& app);
void register_sample(CLI::App& app);
void register_validate(CLI::App& grid_command); // adds "validate" under "grid"
void register_assign(CLI::App& app);
void register_render(CLI::App& app);
void register_imagery(CLI::App& app);

// Set by a command that wants a non-zero exit without an error (e.g. validation found
// defects).
extern int g_exit_code;

} // namespace wangge::app
