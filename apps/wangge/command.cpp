#include "command.hpp"

#include "wangge/error.hpp"

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

std::optional<int> CommandSet::run_chosen() {
    for (auto& [sub, command] : m_commands)
        if (sub->parsed()) return command->run();
    return std::nullopt;
}

} // namespace wangge::app
