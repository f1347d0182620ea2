// wangge stats: close rate, on-time rate, overdue and time to close per unit or holder.
#include "command.hpp"
#include "wangge/loop/matter_json.hpp"
#include "wangge/loop/session.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

namespace wangge::app {

namespace {

struct StatsArgs {
    std::string workspace;
    std::string by = "township";
    std::string at;
    bool json = false;
};

// Departments and persons are judged on their own handle steps (按时办理率); units of the
// hierarchy on whole matters (按期结案率). The two rates carry different names everywhere.
void run_step_stats(loop::StatsBy by, loop::LocalTime at, const loop::Session& s) {
    const auto rows = s.store().step_stats(by, at);
    char line[512];
    std::snprintf(line, sizeof line, "%-24s %7s %8s %8s %7s %8s %8s %8s %9s\n",
                  std::string(loop::to_string(by)).c_str(), "steps", "finished", "on_time", "late",
                  "returned", "running", "overdue", "step_ok%");
    std::cout << line;
    for (const auto& r : rows) {
        std::snprintf(line, sizeof line, "%-24s %7zu %8zu %8zu %7zu %8zu %8zu %8zu %9.1f\n",
                      r.key.empty() ? "(none)" : r.key.c_str(), r.steps, r.finished,
                      r.finished_on_time, r.finished_late, r.returned, r.running, r.running_overdue,
                      100 * r.step_on_time_rate);
        std::cout << line;
    }
    std::cout << rows.size() << " rows, as of " << loop::format_time(at)
              << " (each judged only on the handle steps it owned: step_ok% = on-time "
                 "steps / (finished + running overdue))\n";
}

void run_stats(const StatsArgs& a) {
    const loop::LocalTime at = time_or_now(a.at);
    const auto by = loop::stats_by_from(a.by);
    const auto s = loop::Session::open(a.workspace);
    if (a.json) {
        std::cout << loop::stats_json(s->store(), s->loop(), by, at).dump(2) << "\n";
        return;
    }
    if (by == loop::StatsBy::department || by == loop::StatsBy::person)
        return run_step_stats(by, at, *s);
    const auto rows = s->store().stats(by, at, s->loop());
    char line[512];
    std::snprintf(line, sizeof line, "%-24s %7s %7s %7s %9s %7s %7s %7s %7s %7s %9s\n",
                  std::string(loop::to_string(by)).c_str(), "total", "closed", "close%",
                  "ontime_c%", "overdue", "late", "backlog", "superv", "returns", "median_h");
    std::cout << line;
    for (const auto& r : rows) {
        std::snprintf(line, sizeof line,
                      "%-24s %7zu %7zu %7.1f %9.1f %7zu %7zu %7zu %7zu %7zu %9.1f\n",
                      r.key.empty() ? "(none)" : r.key.c_str(), r.total, r.closed,
                      100 * r.close_rate, 100 * r.on_time_rate, r.open_overdue, r.open_late,
                      r.backlog, r.supervised, r.returns, r.median_close_working_minutes / 60);
        std::cout << line;
    }
    std::cout << rows.size() << " rows, as of " << loop::format_time(at)
              << " (ontime_c%: matters closed on time / (closed + open late); median: working "
                 "hours from report to close)\n";
}

class Stats final : public Command {
  public:
    Stats() : Command("stats", "Performance of the loop per unit or holder") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--by", m_a.by, "cell, village, township, department or person")
            ->capture_default_str()
            ->check(CLI::IsMember({"cell", "village", "township", "department", "person"}));
        m_at.declare(cmd);
        m_json.declare(cmd);
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        m_a.json = m_json.on;
        run_stats(m_a);
        return ok;
    }

  private:
    StatsArgs m_a;
    WorkspaceOption m_workspace;
    AtOption m_at;
    JsonOption m_json;
};

} // namespace

void add_stats_commands(CommandSet& set) {
    set.add<Stats>(set.top());
}

} // namespace wangge::app
