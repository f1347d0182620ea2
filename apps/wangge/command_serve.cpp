// wangge serve: the command centre's live map (engine/serve), thin over serve::Server.
#include "command.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/calendar.hpp"
#include "wangge/serve/server.hpp"

#include <filesystem>
#include <iostream>
#include <memory>

namespace wangge::app {

namespace {

struct ServeArgs {
    std::string listen = "127.0.0.1:8080";
    std::string token_file;
    int threads = 2;
    std::string cache_dir;
    std::string web_root;
    std::string now;
    std::size_t cache_mb = 256;
    int metatile = 4;
};

// The built page: next to the build (WANGGE_WEB_ROOT) or, installed, ../share/wangge/web.
std::string default_web_root() {
    namespace fs = std::filesystem;
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const auto installed = exe.parent_path().parent_path() / "share" / "wangge" / "web";
        if (fs::is_directory(installed / "")) return installed.string();
    }
    return WANGGE_WEB_ROOT;
}

class ServeCommand : public Command {
  public:
    ServeCommand() : Command("serve", "Serve the live map, its API, Open311 and events") {}

    void declare(CLI::App& s) override {
        m_workspace.declare(s);
        auto& a = m_args;
        s.add_option("--listen", a.listen, "host:port (port 0: any free port)")
            ->capture_default_str();
        s.add_option("--token-file", a.token_file,
                     "File whose first line is the bearer token for writes (none: read-only)");
        s.add_option("--threads", a.threads, "I/O threads, and as many workers")
            ->capture_default_str();
        s.add_option("--cache-dir", a.cache_dir, "Keep imagery tiles on disk here");
        s.add_option("--cache-mb", a.cache_mb, "Memory tile cache size")->capture_default_str();
        s.add_option("--metatile", a.metatile,
                     "Imagery tiles per side drawn at once: 1, 2, 4, 8 or 16 (overlay tiles are "
                     "drawn one by one)")
            ->capture_default_str();
        s.add_option("--web-root", a.web_root,
                     "The built page (default: the one built with wangge)");
        s.add_option("--now", a.now,
                     "Start the server's clock at this local time (e.g. the sample's "
                     "2026-04-01T09:30); default: the real time");
    }

    int run() override {
        const auto& a = m_args;
        serve::ServeOptions o;
        o.workspace = m_workspace.path();
        o.listen = a.listen;
        if (!a.token_file.empty()) o.token = serve::read_token_file(a.token_file);
        if (a.threads < 1 || a.threads > 64) throw InputError("--threads must be 1-64");
        o.threads = a.threads;
        o.cache_dir = a.cache_dir;
        o.web_root = a.web_root.empty() ? default_web_root() : a.web_root;
        if (!a.now.empty()) o.start_time = loop::parse_time(a.now);
        o.cache_bytes = a.cache_mb << 20;
        o.metatile = a.metatile;
        serve::Server server(std::move(o));
        // One line that scripts and tests wait for.
        std::cout << "wangge serve: " << m_workspace.path() << " at http://"
                  << a.listen.substr(0, a.listen.rfind(':')) << ":" << server.port() << "/ ("
                  << (a.token_file.empty() ? "read-only" : "writes need the bearer token") << ")"
                  << std::endl;
        server.run();
        std::cout << "wangge serve: stopped" << std::endl;
        return ok;
    }

  private:
    WorkspaceOption m_workspace;
    ServeArgs m_args;
};

} // namespace

void add_serve_commands(CommandSet& set) {
    set.add<ServeCommand>(set.top());
}

} // namespace wangge::app
