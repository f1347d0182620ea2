// Commands as objects (the osmium-tool / PDAL pattern): each command is a class that declares
// its options and runs, returning its exit status. main() builds the tree of commands, parses
// the arguments once, runs the one command chosen and maps exceptions to a message and
// status 2; there is no global exit code.
//
// Adding a command: derive from Command in apps/wangge/command_<group>.cpp, declare its
// options in declare() (the shared ones through WorkspaceOption, JsonOption and AtOption),
// do the work in run() by calling the engine, and add it in that file's add_<group>_commands(),
// which main.cpp calls. A command stays thin: parse, call the library, print.
#pragma once

#include "wangge/loop/calendar.hpp"

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace wangge::app {

// Exit statuses shared by every command.
enum ExitCode : int { ok = 0, defects_found = 1, failed = 2 };

class Command {
  public:
    Command(std::string name, std::string description)
        : m_name(std::move(name)), m_description(std::move(description)) {}
    virtual ~Command() = default;
    Command(const Command&) = delete;
    Command& operator=(const Command&) = delete;

    [[nodiscard]] const std::string& name() const noexcept { return m_name; }
    [[nodiscard]] const std::string& description() const noexcept { return m_description; }

    // Declares the command's options and positionals on its own subcommand.
    virtual void declare(CLI::App& cmd) = 0;
    // Does the work after the arguments were parsed; returns the exit status (ExitCode).
    // Failures are thrown as wangge::Error.
    virtual int run() = 0;

  private:
    std::string m_name;
    std::string m_description;
};

// The workspace every command but sample reads: `--workspace W` (or -w W) and, where the
// command has no other positional, `W` alone. Giving both with different paths is an error.
class WorkspaceOption {
  public:
    enum class Positional { yes, no };
    void declare(CLI::App& cmd, const std::string& help = "Workspace GeoPackage",
                 Positional positional = Positional::yes, bool required = true);
    // The path given (checked after parsing; "" when optional and not given).
    [[nodiscard]] const std::string& path() const;

  private:
    std::string m_flag, m_positional;
    mutable std::string m_path;
    bool m_required = true;
};

// --json: print JSON instead of text.
struct JsonOption {
    bool on = false;
    void declare(CLI::App& cmd, const std::string& help = "Print JSON");
};

// --at T: the moment the loop's state is read at (local time, e.g. 2026-04-01T09:30);
// "" means now.
struct AtOption {
    std::string text;
    void declare(CLI::App& cmd,
                 const std::string& help = "Local time to evaluate at (default: now)");
};

// A local time given on the command line (--at, --effective), or now when "".
[[nodiscard]] loop::LocalTime time_or_now(const std::string& text);
// A number with a fixed count of decimals.
[[nodiscard]] std::string fixed(double v, int decimals);

// The command tree: groups ("grid", "sample", ...) and the commands in them.
class CommandSet {
  public:
    explicit CommandSet(CLI::App& app) : m_app(app) {}
    // The group `name` under the top level, created on first use.
    CLI::App& group(const std::string& name, const std::string& description);
    // Adds a command under `parent` (the top level or a group); returns it.
    template <typename C, typename... Args> C& add(CLI::App& parent, Args&&... args) {
        auto command = std::make_unique<C>(std::forward<Args>(args)...);
        C& ref = *command;
        attach(parent, std::move(command));
        return ref;
    }
    [[nodiscard]] CLI::App& top() noexcept { return m_app; }
    // After m_app.parse(): runs the command chosen, returning its exit status; nullopt
    // when none of these commands was chosen.
    [[nodiscard]] std::optional<int> run_chosen();

  private:
    void attach(CLI::App& parent, std::unique_ptr<Command> command);
    CLI::App& m_app;
    std::vector<std::pair<CLI::App*, std::unique_ptr<Command>>> m_commands;
};

// Each command file adds its commands.
void add_grid_commands(CommandSet& set);
void add_sample_commands(CommandSet& set);
void add_assign_commands(CommandSet& set);
void add_validate_command(CommandSet& set, CLI::App& grid); // under "grid"
void add_redraw_commands(CommandSet& set, CLI::App& grid);  // under "grid"
void add_serve_commands(CommandSet& set);
void add_render_commands(CommandSet& set);
void add_tiles_commands(CommandSet& set); // the "tiles" group: export, expire, style
void add_imagery_commands(CommandSet& set);
void add_incidents_commands(CommandSet& set); // import, report, advance, supervise, show, list
void add_stats_commands(CommandSet& set);
void add_duties_commands(CommandSet& set); // the "duties" group and "catalogue import"

} // namespace wangge::app
