// wangge duties import|export|check and wangge catalogue import: who holds which function
// where, and the catalogue the loop runs on.
#include "command.hpp"
#include "wangge/base/csv.hpp"
#include "wangge/base/output_file.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/session.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

namespace wangge::app {

namespace {

struct DutyArgs {
    std::string workspace;
    std::string file;
    std::string at;
    bool json = false;
};

void run_duties_import(const DutyArgs& a) {
    auto s = loop::Session::open(a.workspace);
    auto duties = loop::DutyTable::load(a.file, s->catalogue());
    s->save_duties(duties);
    std::cout << "imported " << s->duties().duties().size() << " duties from " << a.file << "\n";
}

void run_duties_export(const DutyArgs& a) {
    const auto s = loop::Session::open(a.workspace);
    // Written whole or not at all: a failed export keeps the previous file.
    auto file = base::OutputFile::file(a.file);
    {
        std::ofstream out(file.path(), std::ios::binary);
        if (!out) throw InputError("cannot write", {.file = a.file});
        out << "function,level,unit,department,person,valid_from,valid_to\n";
        for (const auto& d : s->duties().duties())
            base::write_csv_record(
                out, std::vector<std::string>{
                         d.function, std::string(loop::to_string(d.level)), d.unit, d.department,
                         d.person, d.valid_from ? loop::format_date(*d.valid_from) : std::string(),
                         d.valid_to ? loop::format_date(*d.valid_to) : std::string()});
        out.close();
        if (!out) throw InputError("cannot write", {.file = a.file});
    }
    file.commit();
    std::cout << "wrote " << s->duties().duties().size() << " duties to " << a.file << "\n";
}

nlohmann::ordered_json duty_json(const loop::Duty& d, std::size_t row) {
    return {{"row", row},
            {"function", d.function},
            {"level", loop::to_string(d.level)},
            {"unit", d.unit},
            {"department", d.department},
            {"person", d.person},
            {"valid_from", d.valid_from ? loop::format_date(*d.valid_from) : std::string()},
            {"valid_to", d.valid_to ? loop::format_date(*d.valid_to) : std::string()}};
}

// Returns defects_found when the check finds problems.
int run_duties_check(const DutyArgs& a) {
    const loop::LocalTime at = time_or_now(a.at);
    const auto s = loop::Session::open(a.workspace);
    const auto date = loop::date_of(at);
    const auto c = s->duties().check(s->grid(), s->catalogue(), date);
    if (a.json) {
        nlohmann::ordered_json j;
        j["date"] = loop::format_date(date);
        j["ok"] = c.ok();
        j["duties"] = s->duties().duties().size();
        j["gaps"] = nlohmann::ordered_json::array();
        for (const auto& g : c.gaps)
            j["gaps"].push_back({{"cell", g.cell}, {"function", g.function}});
        // Rows are numbered as `duties export` writes them (data rows from 1).
        const auto& table = s->duties().duties();
        const auto duty_json = [&](const loop::Duty& d) {
            return app::duty_json(d, static_cast<std::size_t>(&d - table.data() + 1));
        };
        const auto list = [&](const std::vector<const loop::Duty*>& v) {
            auto arr = nlohmann::ordered_json::array();
            for (const auto* d : v)
                arr.push_back(duty_json(*d));
            return arr;
        };
        j["expired"] = list(c.expired);
        j["superseded"] = list(c.superseded);
        j["not_yet"] = list(c.not_yet);
        j["orphaned"] = list(c.orphaned);
        j["conflicting"] = nlohmann::ordered_json::array();
        for (const auto& x : c.conflicting)
            j["conflicting"].push_back(
                {{"first", duty_json(*x.first)},
                 {"second", duty_json(*x.second)},
                 {"overlap_from", loop::format_date(x.from)},
                 {"overlap_to", x.to ? loop::format_date(*x.to) : std::string()}});
        j["foreign"] = list(c.foreign);
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << "duties        " << s->duties().duties().size() << " on "
                  << loop::format_date(date) << " over " << s->grid().cells.size() << " cells and "
                  << s->catalogue().functions().size() << " functions\n";
        std::cout << "gaps          " << c.gaps.size() << " (cell, function) without a holder\n";
        for (std::size_t i = 0; i < c.gaps.size() && i < 20; ++i)
            std::cout << "  " << c.gaps[i].cell << " " << c.gaps[i].function << "\n";
        if (c.gaps.size() > 20) std::cout << "  ... (--json lists them all)\n";
        const auto span = [](std::optional<std::chrono::year_month_day> from,
                             std::optional<std::chrono::year_month_day> to) {
            if (from && to) return loop::format_date(*from) + ".." + loop::format_date(*to);
            if (from) return "from " + loop::format_date(*from);
            if (to) return "until " + loop::format_date(*to);
            return std::string("always");
        };
        const auto period = [&](const loop::Duty& d) { return span(d.valid_from, d.valid_to); };
        // Rows are numbered as `duties export` writes them (data rows from 1).
        const auto& table = s->duties().duties();
        const auto row = [&](const loop::Duty& d) {
            return "row " + std::to_string(&d - table.data() + 1) + " " + d.department + " " +
                   d.person + " " + period(d);
        };
        const auto list = [&](const char* what, const std::vector<const loop::Duty*>& v,
                              const char* note) {
            std::cout << what << v.size() << (v.empty() ? "" : note) << "\n";
            for (const auto* d : v)
                std::cout << "  " << d->function << " " << loop::to_string(d->level) << " "
                          << d->unit << " " << row(*d) << "\n";
        };
        list("expired       ", c.expired, " (no successor)");
        list("superseded    ", c.superseded, " (expired and handed over: fine)");
        list("not yet valid ", c.not_yet, "");
        list("orphaned      ", c.orphaned, " (unit not in the grid)");
        std::cout << "conflicting   " << c.conflicting.size()
                  << (c.conflicting.empty() ? "" : " (overlapping validity, both rows)") << "\n";
        for (const auto& x : c.conflicting)
            std::cout << "  " << x.first->function << " " << loop::to_string(x.first->level) << " "
                      << x.first->unit << ": " << row(*x.first) << " and " << row(*x.second)
                      << " overlap " << span(x.from, x.to) << "\n";
        std::cout << "foreign       " << c.foreign.size()
                  << (c.foreign.empty() ? "" : " (department does not own the function)") << "\n";
        for (const auto* d : c.foreign) {
            const auto* f = s->catalogue().function(d->function);
            std::cout << "  " << d->function << " " << loop::to_string(d->level) << " " << d->unit
                      << " " << row(*d) << " (" << d->function << " belongs to "
                      << (f ? f->department : std::string("?")) << ")\n";
        }
        std::cout << (c.ok() ? "ok\n" : "PROBLEMS FOUND\n");
    }
    return c.ok() ? ok : defects_found;
}

struct CatalogueArgs {
    std::string workspace;
    std::string folder;
    std::vector<std::string> calendars;
};

void run_catalogue_import(const CatalogueArgs& a) {
    namespace fs = std::filesystem;
    auto catalogue = loop::Catalogue::load(a.folder);
    // The calendars: --calendar (repeatable), else every calendar*.json in the folder (none:
    // keep the stored ones). Several are combined, one per year (2025, 2026, ...).
    std::vector<std::string> paths = a.calendars;
    if (paths.empty()) {
        for (const auto& e : fs::directory_iterator(a.folder)) {
            const auto name = e.path().filename().string();
            if (name.starts_with("calendar") && e.path().extension() == ".json")
                paths.push_back(e.path().string());
        }
        std::sort(paths.begin(), paths.end());
    }
    std::optional<std::string> calendar_json;
    if (!paths.empty()) {
        nlohmann::json combined = nlohmann::json::array();
        for (const auto& path : paths) {
            std::ifstream in(path, std::ios::binary);
            if (!in) throw InputError("cannot read the calendar", {.file = path});
            const std::string text{std::istreambuf_iterator<char>(in),
                                   std::istreambuf_iterator<char>()};
            (void)loop::Calendar::parse(text, path); // errors name the file
            auto doc = nlohmann::json::parse(text);
            if (doc.is_array())
                for (auto& d : doc)
                    combined.push_back(std::move(d));
            else
                combined.push_back(std::move(doc));
        }
        // One file is stored as it is; several as a list, checked together (office hours
        // must agree, no year twice).
        if (paths.size() == 1) {
            std::ifstream in(paths.front(), std::ios::binary);
            calendar_json.emplace(std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>());
        } else {
            calendar_json = combined.dump(2);
            (void)loop::Calendar::parse(*calendar_json, "the calendars in " + a.folder);
        }
    }
    auto s = loop::Session::open(a.workspace);
    s->save_catalogue(catalogue, calendar_json);
    std::cout << "imported " << catalogue.departments().size() << " departments, "
              << catalogue.functions().size() << " functions, " << catalogue.categories().size()
              << " categories from " << a.folder << "\n";
    if (calendar_json)
        std::cout << "calendar      " << s->calendar().spec().name << " (covers "
                  << s->calendar().covered_years_text() << ")\n";
}

class DutiesImport final : public Command {
  public:
    DutiesImport() : Command("import", "Replace the duties with a CSV file's") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("FILE", m_a.file,
                       "CSV: function,level,unit,department,person,valid_from,valid_to")
            ->required();
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        run_duties_import(m_a);
        return ok;
    }

  private:
    DutyArgs m_a;
    WorkspaceOption m_workspace;
};

class DutiesExport final : public Command {
  public:
    DutiesExport() : Command("export", "Write the duties as CSV") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("FILE", m_a.file, "CSV file to write")->required();
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        run_duties_export(m_a);
        return ok;
    }

  private:
    DutyArgs m_a;
    WorkspaceOption m_workspace;
};

class DutiesCheck final : public Command {
  public:
    DutiesCheck()
        : Command("check", "Gaps, expired, orphaned and conflicting duties (exit 1 when any)") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        m_at.declare(cmd);
        m_json.declare(cmd);
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        m_a.json = m_json.on;
        return run_duties_check(m_a);
    }

  private:
    DutyArgs m_a;
    WorkspaceOption m_workspace;
    AtOption m_at;
    JsonOption m_json;
};

class CatalogueImport final : public Command {
  public:
    CatalogueImport()
        : Command("import", "Replace the catalogue with departments.csv, functions.csv, "
                            "categories.csv and a calendar*.json from a folder") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("DIR", m_a.folder, "Folder of the catalogue files")->required();
        cmd.add_option("--calendar", m_a.calendars,
                       "Calendar JSON, repeatable, one per year or years (default: every "
                       "calendar*.json in DIR)");
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        run_catalogue_import(m_a);
        return ok;
    }

  private:
    CatalogueArgs m_a;
    WorkspaceOption m_workspace;
};

} // namespace

void add_duties_commands(CommandSet& set) {
    auto& duties = set.group("duties", "Who holds which function where");
    set.add<DutiesImport>(duties);
    set.add<DutiesExport>(duties);
    set.add<DutiesCheck>(duties);
    set.add<CatalogueImport>(
        set.group("catalogue", "The loop's departments, functions, categories"));
}

} // namespace wangge::app
