// wangge incidents import|report|advance|show|list: matters of the closed loop. Thin over
// loop/ (Session, LoopStore, Loop).
#include "command.hpp"
#include "wangge/base/text.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/matter_json.hpp"
#include "wangge/loop/reports.hpp"
#include "wangge/loop/session.hpp"
#include "wangge/loop/state_at.hpp"
#include "wangge/store/workspace.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>

namespace wangge::app {

namespace {

std::string optional_time(const std::optional<loop::LocalTime>& t) {
    return t ? loop::format_time(*t) : std::string("-");
}

// A move dated after now (more than the clock tolerance reports have) is refused: the
// journal records what happened, not what is planned.
void refuse_future_move(std::int64_t id, loop::LocalTime at, const char* what) {
    const loop::LocalTime now = loop::now_local();
    if (at.minutes > now.minutes + loop::report_clock_tolerance_minutes)
        throw InputError("incident " + std::to_string(id) + ": " + what + " at " +
                         loop::format_time(at) + " is in the future (now " +
                         loop::format_time(now) + "); nothing was written");
}

// The session's import context, or under --allow-backdated one whose Loop counts deadlines
// outside the calendar's years Mon-Fri (with a warning on stderr).
struct Context {
    std::optional<loop::Loop> lenient;
    std::optional<loop::ImportContext> context;
    Context(const loop::Session& s, bool allow_backdated) {
        const auto base = s.context();
        if (!allow_backdated) {
            context.emplace(base);
            return;
        }
        std::cerr << "warning: --allow-backdated: reports before the calendar's years ("
                  << s.calendar().covered_years_text()
                  << ") are accepted, their deadlines counted Mon-Fri without holidays\n";
        lenient.emplace(s.catalogue(), s.calendar(),
                        loop::LoopOptions{.uncovered = loop::Calendar::Uncovered::weekdays});
        context.emplace(loop::ImportContext{base.grid, base.grid_version, base.locator, *lenient,
                                            base.duties, base.options});
        context->options.allow_backdated = true;
    }
};

std::string department_label(const loop::Catalogue& cat, const std::string& code) {
    if (code.empty()) return "(nobody)";
    const auto* d = cat.department(code);
    return d ? code + " " + d->name : code;
}

// The grid that names cells and units in an answer --at T: the version in force at T (before
// a publish the old one, which holds the matters' cells then), else the current one.
const grid::Grid& grid_at(const loop::Session& s, const std::string& at_text, loop::LocalTime at,
                          std::optional<grid::Grid>& older) {
    if (at_text.empty()) return s.grid();
    const auto ws = store::Workspace::open(s.path());
    const int v = ws.version_at(loop::format_time(at));
    if (v == s.grid_version()) return s.grid();
    return older.emplace(ws.grid(v));
}

void print_incident(const loop::Session& s, const loop::IncidentRecord& r, loop::Status status,
                    loop::LocalTime at, const grid::Grid* names = nullptr) {
    const auto& inc = r.incident;
    const auto& cat = s.catalogue();
    const auto* category = cat.category(inc.report.category);
    std::cout << "incident      " << inc.report.id << "\n";
    std::cout << "category      " << inc.report.category
              << (category ? " " + category->name : std::string()) << "\n";
    std::cout << "reported      " << loop::format_time(inc.report.reported_at)
              << (inc.report.reporter.empty() ? "" : " by " + inc.report.reporter) << "\n";
    if (!inc.report.note.empty()) std::cout << "note          " << inc.report.note << "\n";
    std::cout << "location      " << fixed(r.lonlat.x, 6) << ", " << fixed(r.lonlat.y, 6) << "\n";
    const auto* cell = names ? names->find_cell(r.cell) : s.cell(r.cell);
    std::cout << "cell          " << (r.cell.empty() ? "(outside the grid)" : r.cell)
              << (cell && !cell->name.empty() ? " " + cell->name : std::string())
              << " (grid version " << r.grid_version << ", "
              << (inc.report.urban ? "town" : "countryside") << ")\n";
    std::cout << "village       " << r.village << ", township " << r.township << "\n";
    std::cout << "boundary      " << fixed(r.boundary_distance_m, 1) << " m"
              << (r.near_boundary ? " NEAR BOUNDARY: check the cell" : "") << "\n";
    std::cout << "routed to     " << department_label(cat, r.route_department)
              << (r.route_person.empty() ? "" : ", " + r.route_person)
              << (r.route_fallback ? " (territorial fallback)" : "") << "\n";
    if (!inc.department.empty())
        std::cout << "dispatched to " << department_label(cat, inc.department)
                  << (inc.person.empty() ? "" : ", " + inc.person) << "\n";
    std::cout << "state         " << loop::to_string(inc.state) << ", " << loop::to_string(status)
              << " at " << loop::format_time(at) << (inc.supervised ? ", supervised" : "") << "\n";
    if (inc.due)
        std::cout << "step due      " << loop::format_time(*inc.due) << " ("
                  << loop::to_string(inc.due_unit) << ")\n";
    if (category && !loop::is_final(inc.state)) {
        const auto& l = category->limits;
        std::cout << "time limits   dispatch " << loop::format_limit(l.dispatch) << ", handle "
                  << loop::format_limit(l.handle) << ", verify "
                  << loop::format_limit(inc.report.urban ? l.verify_urban : l.verify_rural) << "\n";
    }
    if (inc.closed_at) std::cout << "closed        " << loop::format_time(*inc.closed_at) << "\n";
}

// Text from the command line is stored as given: refuse what is not UTF-8 (a terminal set
// to GBK) before anything is written, naming the option.
void require_utf8(const char* option, const std::string& value) {
    if (const auto bad = base::first_invalid_utf8(value))
        throw InputError(std::string(option) + " is not valid UTF-8 at " +
                         base::describe_invalid_utf8(value, *bad) +
                         " (is the terminal set to GBK?); nothing was recorded");
}

// ---- import
struct ImportArgs {
    std::string workspace;
    std::string file;
    std::string on_error = "fail";
    std::string at;
    std::string encoding = "UTF-8";
    bool allow_backdated = false;
};

void run_import(const ImportArgs& a) {
    const bool skip = a.on_error == "skip";
    const loop::LocalTime at = time_or_now(a.at);
    auto s = loop::Session::open(a.workspace);
    if (s->grid().cells.empty())
        throw DataError("the workspace has no grid: import one first", {.file = a.workspace});
    // Unknown categories fail with file and line unless they are skipped.
    std::vector<loop::Report> reports = [&] {
        try {
            return loop::read_reports_csv(a.file, skip ? nullptr : &s->catalogue(), a.encoding);
        } catch (const InputError& e) {
            if (e.message().starts_with("not valid UTF-8"))
                throw InputError(e.message() + ", or import it with --encoding GBK; nothing was "
                                               "imported",
                                 e.context());
            throw;
        }
    }();
    // The file's ids are the key: a report imported before (by an earlier, complete run)
    // is skipped, so re-running the same file never duplicates a matter.
    const auto existing = s->store().incident_ids();
    const Context ctx(*s, a.allow_backdated);
    const loop::LocalTime now = loop::now_local();
    std::size_t already = 0, unknown = 0, outside = 0, future = 0, bad_time = 0;
    std::vector<loop::Report> todo;
    todo.reserve(reports.size());
    for (auto& r : reports) {
        if (std::binary_search(existing.begin(), existing.end(), r.id)) {
            ++already;
            continue;
        }
        const auto where = [&] {
            return "report " + std::to_string(r.id) + " (" + fixed(r.lonlat.x, 6) + ", " +
                   fixed(r.lonlat.y, 6) + ")";
        };
        if (r.at > at) {
            if (!skip)
                throw InputError(where() + " is dated " + loop::format_time(r.at) +
                                     ", after --at " + loop::format_time(at) +
                                     "; nothing was imported",
                                 {.file = a.file});
            ++future;
            continue;
        }
        // Far in the future or before the calendar: refused before anything is written.
        try {
            loop::check_report_time(r, now, s->calendar(), a.allow_backdated);
        } catch (const InputError& e) {
            if (!skip)
                throw InputError(e.message() + "; nothing was imported (--on-error skip leaves "
                                               "it out)",
                                 {.file = a.file});
            ++bad_time;
            continue;
        }
        if (skip && !s->catalogue().category(r.category)) {
            ++unknown;
            continue;
        }
        if (s->locator().locate(r.lonlat) < 0) {
            if (!skip)
                throw DataError(where() + " is outside every cell of grid version " +
                                    std::to_string(s->grid_version()) +
                                    "; nothing was imported (--on-error skip leaves it out)",
                                {.file = a.file});
            ++outside;
            continue;
        }
        todo.push_back(std::move(r));
    }
    // Stored ids are checked again inside the write transaction: an import of the same file
    // running at the same time may have landed since.
    const auto summary = s->store().import_reports(todo, *ctx.context, true);
    already += summary.already;
    std::cout << "imported " << summary.imported << " of " << reports.size() << " reports from "
              << a.file << " into " << a.workspace << "\n";
    if (already) std::cout << "skipped       " << already << " already imported (same id)\n";
    if (unknown) std::cout << "skipped       " << unknown << " with an unknown category\n";
    if (outside) std::cout << "skipped       " << outside << " outside the grid\n";
    if (future) std::cout << "skipped       " << future << " dated after --at\n";
    if (bad_time)
        std::cout << "skipped       " << bad_time
                  << " dated in the future or before the calendar starts\n";
    std::cout << "near boundary " << summary.near_boundary << "\n";
    std::cout << "unrouted      " << summary.unrouted << "\n";
}

// ---- report
struct ReportArgs {
    std::string workspace;
    std::string category;
    double lon = 0;
    double lat = 0;
    std::string reporter;
    std::string note;
    std::int64_t id = 0;
    bool id_given = false;
    std::string at;
    bool allow_backdated = false;
};

void run_report(const ReportArgs& a) {
    if (a.id_given && (a.id < 1 || a.id > loop::max_incident_id))
        throw InputError("--id " + std::to_string(a.id) +
                         ": an incident id is a whole number from 1 to " +
                         std::to_string(loop::max_incident_id) +
                         " (2^53 - 1, exact in JSON); nothing was recorded");
    require_utf8("--category", a.category);
    require_utf8("--reporter", a.reporter);
    require_utf8("--note", a.note);
    const loop::LocalTime at = time_or_now(a.at);
    auto s = loop::Session::open(a.workspace);
    (void)s->catalogue().category_at(a.category); // DataError naming an unknown category
    loop::Report report{.id = a.id,
                        .category = a.category,
                        .lonlat = {a.lon, a.lat},
                        .at = at,
                        .reporter = a.reporter,
                        .note = a.note};
    if (report.id > 0 && s->store().incident(report.id))
        throw DataError("incident " + std::to_string(report.id) + " exists already",
                        {.file = a.workspace});
    // Without --id the next free id is chosen by insert_report inside its write transaction;
    // the one it will most likely be names the report in a refusal before that.
    const bool automatic_id = report.id == 0;
    if (automatic_id) report.id = s->store().largest_incident_id() + 1;
    const Context ctx(*s, a.allow_backdated);
    auto record = [&] {
        try {
            return loop::make_record(report, *ctx.context);
        } catch (const InputError& e) {
            throw InputError(e.message() + "; nothing was recorded", {.file = a.workspace});
        }
    }();
    if (automatic_id) record.incident.report.id = 0;
    if (record.cell.empty())
        throw DataError("point " + fixed(a.lon, 6) + ", " + fixed(a.lat, 6) +
                            " is outside every cell of grid version " +
                            std::to_string(s->grid_version()) +
                            " (outside the county); nothing was recorded",
                        {.file = a.workspace});
    s->store().insert_report(record, ctx.context->loop);
    std::cout << "reported incident " << record.incident.report.id << "\n";
    print_incident(*s, record, s->loop().status(record.incident, at), at);
}

// ---- advance
struct AdvanceArgs {
    std::string workspace;
    std::int64_t id = 0;
    std::string to;
    std::string actor;
    std::string note;
    std::string reason;
    std::string deadline;
    std::string department;
    std::string person;
    std::string approver;
    std::string review_date;
    std::string at;
};

void run_advance(const AdvanceArgs& a) {
    const loop::LocalTime at = time_or_now(a.at);
    refuse_future_move(a.id, at, "the move");
    auto s = loop::Session::open(a.workspace);
    const auto record = s->store().incident(a.id);
    if (!record) throw DataError("no incident " + std::to_string(a.id), {.file = a.workspace});
    loop::Transition t;
    t.to = loop::state_from(a.to);
    t.at = at;
    t.actor = a.actor;
    t.note = a.reason.empty() ? a.note : a.note.empty() ? a.reason : a.reason + "; " + a.note;
    if (!a.deadline.empty() && !a.review_date.empty())
        throw InputError("incident " + std::to_string(a.id) +
                         ": give --deadline (extension) or --review-date (backlog), not both");
    if (!a.deadline.empty()) t.deadline = loop::parse_time(a.deadline);
    if (!a.review_date.empty()) {
        if (t.to != loop::State::backlog)
            throw InputError("incident " + std::to_string(a.id) +
                             ": --review-date applies only "
                             "to --to backlog; nothing was written");
        t.deadline = loop::parse_time(a.review_date);
    }
    t.approver = a.approver;
    t.department = a.department;
    t.person = a.person;
    if (t.to == loop::State::dispatched) {
        // Dispatch goes to the holder the matter was routed to unless told otherwise.
        if (a.department.empty()) t.department = record->route_department;
        if (a.department.empty() && a.person.empty()) t.person = record->route_person;
        // A named person must hold a duty in the named department.
        if (!a.person.empty()) {
            bool known = false;
            for (const auto& d : s->duties().duties())
                known = known || (d.person == a.person && d.department == t.department);
            if (!known)
                throw DataError("incident " + std::to_string(a.id) + ": " +
                                    std::string(loop::to_string(record->incident.state)) +
                                    " -> dispatched: unknown person '" + a.person +
                                    "' (no duty in department " + t.department +
                                    "); nothing was written",
                                {.file = a.workspace});
        }
    }
    try {
        s->store().apply(std::vector<loop::LoopStore::Change>{{a.id, t}}, s->loop());
    } catch (const Error& e) {
        throw DataError(e.message() + "; nothing was written", {.file = a.workspace});
    }
    const auto after = s->store().incident(a.id);
    std::cout << "incident " << a.id << ": " << loop::to_string(record->incident.state) << " -> "
              << loop::to_string(after->incident.state) << " at " << loop::format_time(at) << "\n";
    print_incident(*s, *after, s->loop().status(after->incident, at), at);
}

// ---- supervise
struct SuperviseArgs {
    std::string workspace;
    std::int64_t id = 0;
    bool lift = false;
    std::string actor;
    std::string reason;
    std::string at;
};

void run_supervise(const SuperviseArgs& a) {
    const loop::LocalTime at = time_or_now(a.at);
    refuse_future_move(a.id, at, "the supervision order");
    auto s = loop::Session::open(a.workspace);
    loop::LoopStore::Change c;
    c.incident = a.id;
    c.transition.at = at;
    c.transition.actor = a.actor;
    c.transition.note = a.reason;
    c.supervision = a.lift ? loop::LoopStore::Change::Supervision::lift
                           : loop::LoopStore::Change::Supervision::put;
    try {
        s->store().apply(std::vector<loop::LoopStore::Change>{c}, s->loop());
    } catch (const Error& e) {
        throw DataError(e.message() + "; nothing was written", {.file = a.workspace});
    }
    std::cout << "incident " << a.id << ": supervision " << (a.lift ? "lifted" : "put") << " by "
              << a.actor << " at " << loop::format_time(at) << " (" << a.reason << ")\n";
}

// ---- show
struct ShowArgs {
    std::string workspace;
    std::int64_t id = 0;
    std::string at;
    bool json = false;
};

void run_show(const ShowArgs& a) {
    const std::string& workspace = a.workspace;
    const std::int64_t id = a.id;
    const bool json = a.json;
    const loop::LocalTime at = time_or_now(a.at);
    const auto s = loop::Session::open(workspace);
    // The matter as it was at --at (state_at.hpp); one reported later did not exist then.
    const auto matter = loop::matter_at(s->store(), s->loop(), id, at);
    if (!matter) {
        const auto stored = s->store().incident(id);
        if (!stored) throw DataError("no incident " + std::to_string(id), {.file = workspace});
        throw DataError("incident " + std::to_string(id) + " did not exist at " +
                            loop::format_time(at) + " (reported at " +
                            loop::format_time(stored->incident.report.reported_at) + ")",
                        {.file = workspace});
    }
    auto journal = s->store().journal(id);
    const auto later = std::find_if(journal.begin(), journal.end(),
                                    [&](const loop::Event& e) { return e.at > at; });
    const auto hidden = static_cast<std::size_t>(journal.end() - later);
    journal.erase(later, journal.end());
    std::optional<grid::Grid> older;
    const auto& names = grid_at(*s, a.at, at, older);
    if (json) {
        const loop::MatterJson encoder(s->catalogue(), &names);
        auto j = encoder.matter(matter->record, matter->record.incident.state, matter->status);
        j["at"] = loop::format_time(at);
        j["journal"] = loop::MatterJson::journal(journal);
        j["later_events"] = hidden;
        std::cout << j.dump(2) << "\n";
        return;
    }
    print_incident(*s, matter->record, matter->status, at, &names);
    std::cout << "journal       " << journal.size() << " events up to " << loop::format_time(at);
    if (hidden) std::cout << " (" << hidden << " later not shown)";
    std::cout << "\n";
    for (const auto& e : journal) {
        std::cout << "  " << loop::format_time(e.at) << "  "
                  << (e.is_supervision()
                          ? std::string(e.lifts_supervision ? "supervision lifted (督办解除)"
                                                            : "supervised (督办)")
                          : std::string(loop::to_string(e.from)) + " -> " +
                                std::string(loop::to_string(e.to)));
        if (!e.actor.empty()) std::cout << "  by " << e.actor;
        if (!e.department.empty())
            std::cout << (e.to == loop::State::returned ? "  from " : "  to ") << e.department;
        if (!e.person.empty()) std::cout << " " << e.person;
        if (e.deadline)
            std::cout << (e.to == loop::State::backlog ? "  review date " : "  new deadline ")
                      << loop::format_time(*e.deadline);
        if (!e.approver.empty()) std::cout << "  approved by " << e.approver;
        if (!e.note.empty()) std::cout << "  (" << e.note << ")";
        std::cout << "\n";
    }
}

// ---- list
struct ListArgs {
    std::string workspace;
    std::string cell;
    std::string township;
    std::string status;
    std::string at;
    bool json = false;
};

void run_list(const ListArgs& a) {
    const loop::LocalTime at = time_or_now(a.at);
    const auto s = loop::Session::open(a.workspace);
    // --status takes a loop state (filed, ...), a status at --at (overdue, ...), "open" or
    // "supervised"; all are judged as of --at (state_at.hpp).
    loop::MatterFilter filter;
    filter.cell = a.cell;
    filter.township = a.township;
    try {
        loop::set_status_filter(filter, a.status);
    } catch (const InputError& e) {
        throw InputError("--" + e.message());
    }
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    // Unit names come from the grid: read it only for JSON.
    std::optional<loop::MatterJson> encoder;
    std::optional<grid::Grid> older;
    if (a.json) encoder.emplace(s->catalogue(), &grid_at(*s, a.at, at, older));
    std::size_t n = 0;
    loop::for_each_matter_at(s->store(), s->loop(), at, filter, [&](loop::MatterAt&& m) {
        const auto& r = m.record;
        const auto& inc = r.incident;
        ++n;
        if (a.json) {
            arr.push_back(encoder->matter(r, inc.state, m.status));
            return;
        }
        char line[256];
        std::snprintf(
            line, sizeof line, "%8lld  %s  %s  %-14s  %-12s  %-14s  %s\n",
            static_cast<long long>(inc.report.id),
            loop::format_time(inc.report.reported_at).c_str(), inc.report.category.c_str(),
            r.cell.empty() ? "-" : r.cell.c_str(), std::string(loop::to_string(inc.state)).c_str(),
            std::string(loop::to_string(m.status)).c_str(), optional_time(inc.due).c_str());
        std::cout << line;
    });
    if (a.json)
        // Text stored before UTF-8 was enforced is shown with U+FFFD rather than failing the
        // whole listing.
        std::cout << arr.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
                  << "\n";
    else
        std::cout << n << " incidents (status at " << loop::format_time(at) << ")\n";
}

// The commands: each declares its options and calls its run_* above.
class IncidentsImport final : public Command {
  public:
    IncidentsImport() : Command("import", "Import reports from a CSV file, in one transaction") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("FILE", m_a.file, "CSV: id,category,lon,lat,reported_at,reporter")
            ->required();
        cmd.add_option("--encoding", m_a.encoding,
                       "Text encoding of FILE (GBK, GB18030, ...; converted to UTF-8)")
            ->capture_default_str();
        cmd.add_option("--on-error", m_a.on_error,
                       "fail: refuse the file on an unknown category or a point outside the "
                       "grid; skip: leave such reports out")
            ->capture_default_str()
            ->check(CLI::IsMember({"fail", "skip"}));
        m_at.declare(cmd);
        cmd.add_flag("--allow-backdated", m_a.allow_backdated,
                     "Accept reports dated before the calendar's first year (deadlines counted "
                     "Mon-Fri)");
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        run_import(m_a);
        return ok;
    }

  private:
    ImportArgs m_a;
    WorkspaceOption m_workspace;
    AtOption m_at;
};

class IncidentsReport final : public Command {
  public:
    IncidentsReport() : Command("report", "Report one matter at a point") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--category", m_a.category, "Category code (4 digits)")->required();
        cmd.add_option("--lon", m_a.lon, "Longitude (WGS 84)")->required();
        cmd.add_option("--lat", m_a.lat, "Latitude (WGS 84)")->required();
        cmd.add_option("--reporter", m_a.reporter, "Who reports it");
        cmd.add_option("--note", m_a.note, "What was seen (kept with the matter)");
        m_id =
            cmd.add_option("--id", m_a.id, "Incident id, 1 to 2^53-1 (default: the next free one)");
        m_at.declare(cmd);
        cmd.add_flag("--allow-backdated", m_a.allow_backdated,
                     "Accept a report dated before the calendar's first year (deadlines counted "
                     "Mon-Fri)");
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        m_a.id_given = m_id->count() > 0;
        run_report(m_a);
        return ok;
    }

  private:
    ReportArgs m_a;
    WorkspaceOption m_workspace;
    AtOption m_at;
    CLI::Option* m_id = nullptr;
};

class IncidentsAdvance final : public Command {
  public:
    IncidentsAdvance() : Command("advance", "Move a matter to its next state") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("ID", m_a.id, "Incident id")->required();
        cmd.add_option("--to", m_a.to, "Next state (filed, dispatched, in_progress, ...)")
            ->required();
        cmd.add_option("--actor", m_a.actor, "Who acts");
        cmd.add_option("--note", m_a.note, "Note for the journal");
        cmd.add_option("--reason", m_a.reason,
                       "Reason (required for returned, extended, backlog, rework)");
        cmd.add_option("--deadline", m_a.deadline, "New deadline (required for extended)");
        cmd.add_option("--department", m_a.department,
                       "Department to dispatch to (default: the routed one)");
        cmd.add_option("--person", m_a.person, "Person to dispatch to (default: the routed one)");
        cmd.add_option("--approver", m_a.approver,
                       "Who approved it (required for extended, backlog)");
        cmd.add_option("--review-date", m_a.review_date,
                       "backlog: the approved date the matter is reviewed by (default: it keeps "
                       "its running deadline)");
        m_at.declare(cmd);
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        run_advance(m_a);
        return ok;
    }

  private:
    AdvanceArgs m_a;
    WorkspaceOption m_workspace;
    AtOption m_at;
};

class IncidentsSupervise final : public Command {
  public:
    IncidentsSupervise()
        : Command("supervise", "Put a matter under supervision (督办) or lift it") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("ID", m_a.id, "Incident id")->required();
        cmd.add_flag("--lift", m_a.lift, "Lift the supervision instead of putting it");
        cmd.add_option("--actor", m_a.actor, "Who orders it")->required();
        cmd.add_option("--reason", m_a.reason, "Why")->required();
        m_at.declare(cmd);
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        run_supervise(m_a);
        return ok;
    }

  private:
    SuperviseArgs m_a;
    WorkspaceOption m_workspace;
    AtOption m_at;
};

class IncidentsShow final : public Command {
  public:
    IncidentsShow() : Command("show", "Details and journal of one matter") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("ID", m_a.id, "Incident id")->required();
        m_json.declare(cmd);
        m_at.declare(cmd);
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        m_a.json = m_json.on;
        run_show(m_a);
        return ok;
    }

  private:
    ShowArgs m_a;
    WorkspaceOption m_workspace;
    JsonOption m_json;
    AtOption m_at;
};

class IncidentsList final : public Command {
  public:
    IncidentsList() : Command("list", "List matters") {}
    void declare(CLI::App& cmd) override {
        m_workspace.declare(cmd);
        cmd.add_option("--cell", m_a.cell, "Only this cell");
        cmd.add_option("--township", m_a.township, "Only this township-level unit");
        cmd.add_option("--status", m_a.status,
                       "A state (filed, ...), a status at --at (on_time, warning, overdue, "
                       "closed_on_time, closed_late, rejected), 'open' or 'supervised'");
        m_json.declare(cmd);
        m_at.declare(cmd);
    }
    int run() override {
        m_a.workspace = m_workspace.path();
        m_a.at = m_at.text;
        m_a.json = m_json.on;
        run_list(m_a);
        return ok;
    }

  private:
    ListArgs m_a;
    WorkspaceOption m_workspace;
    JsonOption m_json;
    AtOption m_at;
};

} // namespace

void add_incidents_commands(CommandSet& set) {
    auto& group = set.group("incidents", "Report, import, advance and list matters");
    set.add<IncidentsImport>(group);
    set.add<IncidentsReport>(group);
    set.add<IncidentsAdvance>(group);
    set.add<IncidentsSupervise>(group);
    set.add<IncidentsShow>(group);
    set.add<IncidentsList>(group);
}

} // namespace wangge::app
