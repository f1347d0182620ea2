// wangge: the command-line front of the engine. Parses arguments, runs the one command chosen,
// and turns exceptions into a message on stderr and an exit status (0 ok, 1 defects found,
// 2 failed).
#include "command.hpp"
#include "wangge/error.hpp"

#include <iostream>

int main(int argc, char** argv) {
    CLI::App app{"wangge: grid management for county command centres, planners and report "
                 "writers"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "wangge 0.1.0");
    wangge::app::CommandSet commands(app);
    wangge::app::add_grid_commands(commands);
    wangge::app::add_sample_commands(commands);
    wangge::app::add_assign_commands(commands);
    wangge::app::add_serve_commands(commands);
    wangge::app::add_render_commands(commands);
    wangge::app::add_imagery_commands(commands);
    wangge::app::add_incidents_commands(commands);
    wangge::app::add_stats_commands(commands);
    wangge::app::add_duties_commands(commands);
    wangge::app::add_tiles_commands(commands);
    try {
        app.parse(argc, argv);
        if (auto status = commands.run_chosen()) return *status;
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : wangge::app::failed;
    } catch (const wangge::Error& e) {
        std::cerr << "wangge: error: " << e.what() << "\n";
        return wangge::app::failed;
    } catch (const std::exception& e) {
        std::cerr << "wangge: error: " << e.what() << "\n";
        return wangge::app::failed;
    }
    return wangge::app::ok;
}
