#include "command.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cstdio>

namespace wangge::app {

loop::LocalTime time_or_now(const std::string& text) {
    if (!text.empty()) return loop::parse_time(text);
    return loop::now_local();
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

void WorkspaceOption::declare(CLI::App& cmd, const std::string& help, Positional positional,
                              bool required) {
    m_required = required;
    cmd.add_option("--workspace,-w", m_flag, help);
    if (positional == Positional::yes)
        cmd.add_option("WORKSPACE", m_positional, help + " (or --workspace)");
}

const std::string& WorkspaceOption::path() const {
    if (!m_flag.empty() && !m_positional.empty() && m_flag != m_positional)
        throw InputError("two workspaces given: '" + m_positional + "' and --workspace '" + m_flag +
                         "'");
    m_path = m_flag.empty() ? m_positional : m_flag;
    if (m_path.empty() && m_required) throw InputError("no workspace given (--workspace W)");
    return m_path;
}

void JsonOption::declare(CLI::App& cmd, const std::string& help) {
    cmd.add_flag("--json", on, help);
}

void AtOption::declare(CLI::App& cmd, const std::string& help) {
    cmd.add_option("--at", text, help);
}

CLI::App& CommandSet::group(const std::string& name, const std::string& description) {
    for (auto* sub : m_app.get_subcommands({}))
        if (sub->get_name() == name) return *sub;
    auto* g = m_app.add_subcommand(name, description);
    g->require_subcommand(1);
    return *g;
}

void CommandSet::attach(CLI::App& parent, std::unique_ptr<Command> command) {
    CLI::App* sub = parent.add_subcommand(command->name(), command->description());
    command->declare(*sub);
    m_commands.emplace_back(sub, std::move(command));
}

void CommandSet::parse(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    // The command chosen: the leading words that name subcommands.
    CLI::App* sub = &m_app;
    std::size_t first = 0;
    while (first < args.size()) {
        CLI::App* next = nullptr;
        for (auto* c : sub->get_subcommands({}))
            if (c->check_name(args[first])) next = c;
        if (!next) break;
        sub = next;
        ++first;
    }
    if (sub != &m_app && sub->get_option_no_throw("WORKSPACE")) {
        for (std::size_t i = first; i < args.size(); ++i) {
            const std::string& a = args[i];
            if (a == "--") break;
            std::optional<std::string> value;
            std::size_t taken = 1;
            if ((a == "--workspace" || a == "-w") && i + 1 < args.size()) {
                value = args[i + 1];
                taken = 2;
            } else if (a.starts_with("--workspace=")) {
                value = a.substr(12);
            }
            if (!value) continue;
            args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                       args.begin() + static_cast<std::ptrdiff_t>(i + taken));
            args.insert(args.begin() + static_cast<std::ptrdiff_t>(first), *value);
            break;
        }
    }
    std::reverse(args.begin(), args.end()); // CLI11 takes them last first
    m_app.parse(args);
}

std::optional<int> CommandSet::run_chosen() {
    for (auto& [sub, command] : m_commands)
        if (sub->parsed()) return command->run();
    return std::nullopt;
}

} // namespace wangge::app
