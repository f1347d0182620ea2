// wangge duties import|export|check and wangge catalogue import: who holds which function
// where, and the catalogue the loop runs on.
#include "commands.hpp"
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

// A field as CSV: quoted when it holds a comma, quote or line break.
std::string csv_field(const std::string& v) {
    if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
    std::string out = "\"";
    for (char c : v) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

void run_duties_export(const DutyArgs& a) {
    const auto s = loop::Session::open(a.workspace);
    const std::string tmp = a.file + ".partial";
    {
        std::ofstream out(tmp, std::ios::binary);
        if (!out) throw InputError("cannot write", {.file = a.file});
        out << "function,level,unit,department,person,valid_from,valid_to\n";
        for (const auto& d : s->duties().duties())
            out << csv_field(d.function) << "," << loop::to_string(d.level) << ","
                << csv_field(d.unit) << "," << csv_field(d.department) << "," << csv_field(d.person)
                << "," << (d.valid_from ? loop::format_date(*d.valid_from) : std::string()) << ","
                << (d.valid_to ? loop::format_date(*d.valid_to) : std::string()) << "\n";
        out.close();
        if (!out) throw InputError("cannot write", {.file = a.file});
    }
    std::filesystem::rename(tmp, a.file);
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

void run_duties_check(const DutyArgs& a) {
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
    if (!c.ok()) g_exit_code = defects_found;
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

} // namespace

void register_duties(CLI::App& app) {
    auto* duties = app.add_subcommand("duties", "Who holds which function where");
    duties->require_subcommand(1);

    auto ia = std::make_shared<DutyArgs>();
    auto* imp = duties->add_subcommand("import", "Replace the duties with a CSV file's");
    imp->add_option("WORKSPACE", ia->workspace, "Workspace GeoPackage")->required();
    imp->add_option("FILE", ia->file,
                    "CSV: function,level,unit,department,person,valid_from,valid_to")
        ->required();
    imp->callback([ia] { run_duties_import(*ia); });

    auto ea = std::make_shared<DutyArgs>();
    auto* exp = duties->add_subcommand("export", "Write the duties as CSV");
    exp->add_option("WORKSPACE", ea->workspace, "Workspace GeoPackage")->required();
    exp->add_option("FILE", ea->file, "CSV file to write")->required();
    exp->callback([ea] { run_duties_export(*ea); });

    auto ca = std::make_shared<DutyArgs>();
    auto* chk = duties->add_subcommand(
        "check", "Gaps, expired, orphaned and conflicting duties (exit 1 when any)");
    chk->add_option("WORKSPACE", ca->workspace, "Workspace GeoPackage")->required();
    chk->add_option("--at", ca->at, "Local time, ISO 8601 (default: now)");
    chk->add_flag("--json", ca->json, "Print JSON");
    chk->callback([ca] { run_duties_check(*ca); });

    auto* cat = app.add_subcommand("catalogue", "The loop's departments, functions, categories");
    cat->require_subcommand(1);
    auto ga = std::make_shared<CatalogueArgs>();
    auto* gi = cat->add_subcommand(
        "import", "Replace the catalogue with departments.csv, functions.csv, categories.csv "
                  "and a calendar*.json from a folder");
    gi->add_option("WORKSPACE", ga->workspace, "Workspace GeoPackage")->required();
    gi->add_option("DIR", ga->folder, "Folder of the catalogue files")->required();
    gi->add_option("--calendar", ga->calendars,
                   "Calendar JSON, repeatable, one per year or years (default: every "
                   "calendar*.json in DIR)");
    gi->callback([ga] { run_catalogue_import(*ga); });
}

} // namespace wangge::app
