// Each command group registers its subcommands on the top-level CLI::App. A command's
// callback throws wangge::Error on failure; main() maps that to a message and exit code.
#pragma once

#include "wangge/loop/calendar.hpp"

#include <CLI/CLI.hpp>
#include <string>

namespace wangge::app {

// Exit codes shared by every command.
enum ExitCode : int { ok = 0, defects_found = 1, failed = 2 };

void register_grid(CLI::App& app);
void register_sample(CLI::App& app);
void register_validate(CLI::App& grid_command); // adds "validate" under "grid"
void register_assign(CLI::App& app);
void register_render(CLI::App& app);
void register_imagery(CLI::App& app);
void register_incidents(CLI::App& app);
void register_stats(CLI::App& app);
void register_duties(CLI::App& app); // also adds "catalogue import"
void register_tiles(CLI::App& app);

// --at of the loop commands: the local time given, or now (command_incidents.cpp).
[[nodiscard]] loop::LocalTime time_or_now(const std::string& text);
// A number with a fixed count of decimals.
[[nodiscard]] std::string fixed(double v, int decimals);

// Set by a command that wants a non-zero exit without an error (e.g. validation found
// defects).
extern int g_exit_code;

} // namespace wangge::app
