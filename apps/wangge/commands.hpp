// Command groups not yet moved onto the Command classes of command.hpp register their
// subcommands on the top-level CLI::App with callbacks. New commands use command.hpp; these
// functions go away as their files move over.
#pragma once

#include "command.hpp"
#include "wangge/loop/calendar.hpp"

#include <CLI/CLI.hpp>
#include <string>

namespace wangge::app {

void register_incidents(CLI::App& app);
void register_stats(CLI::App& app);
void register_duties(CLI::App& app); // also adds "catalogue import"

// --at of the loop commands: the local time given, or now (command_incidents.cpp).
[[nodiscard]] loop::LocalTime time_or_now(const std::string& text);
// A number with a fixed count of decimals.
[[nodiscard]] std::string fixed(double v, int decimals);

// Set by a callback-registered command that wants a non-zero exit without an error (duties
// check). A Command returns its status from run() instead; this goes when the last callback
// command has moved.
extern int g_exit_code;

} // namespace wangge::app
