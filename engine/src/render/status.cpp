// Status input for the renderer: the loop hook and the CSV files used by tests and demos.
#include "wangge/error.hpp"
#include "wangge/loop/session.hpp"
#include "wangge/loop/state_at.hpp"
#include "wangge/render/renderer.hpp"
#include "wangge/render/status_mark.hpp"
#include "wangge/store/workspace.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace wangge::render {

namespace {

std::string trim(std::string s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return {};
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::vector<std::string> split_csv_line(const std::string& line) {
    std::vector<std::string> out;
    std::stringstream ss(line);
    std::string field;
    while (std::getline(ss, field, ','))
        out.push_back(trim(field));
    if (!line.empty() && line.back() == ',') out.emplace_back();
    return out;
}

double parse_number(const std::string& text, const std::string& file, std::int64_t line,
                    const char* what) {
    double v = 0;
    const auto* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, v);
    if (r.ec != std::errc() || r.ptr != end)
        throw InputError(std::string("not a number for ") + what + ": '" + text + "'",
                         {.file = file, .line = line});
    return v;
}

// Calls f(fields, line number) for every non-empty, non-comment line but a header.
template <class F> void for_each_row(const std::string& path, const char* header_word, F&& f) {
    std::ifstream in(path);
    if (!in) throw InputError("cannot read the status file", {.file = path});
    std::string line;
    std::int64_t n = 0;
    bool first = true;
    while (std::getline(in, line)) {
        ++n;
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        auto fields = split_csv_line(line);
        const bool header = first && fields[0] == header_word;
        first = false;
        if (!header) f(fields, n);
    }
}

} // namespace

std::string_view to_string(CellState state) {
    switch (state) {
    case CellState::none:
        return "none";
    case CellState::on_time:
        return "on_time";
    case CellState::warning:
        return "warning";
    case CellState::overdue:
        return "overdue";
    }
    return "none";
}

CellState cell_state_from(std::string_view text) {
    if (text == "none" || text.empty()) return CellState::none;
    if (text == "on_time" || text == "on-time") return CellState::on_time;
    if (text == "warning") return CellState::warning;
    if (text == "overdue") return CellState::overdue;
    throw InputError("unknown cell state '" + std::string(text) +
                     "' (none, on_time, warning, overdue)");
}

loop::MatterFilter map_filter(loop::LocalTime at) {
    loop::MatterFilter filter;
    filter.open_only = true;
    // Closed matters stay on the map for a day, so a fresh close is visible.
    filter.closed_since = loop::LocalTime{at.minutes - 24 * 60};
    return filter;
}

MatterMark matter_mark(const loop::MatterAt& m) {
    const auto& r = m.record;
    MatterMark mark;
    const auto id = std::to_string(r.incident.report.id);
    if (loop::is_final(r.incident.state)) {
        mark.pin = Pin{r.lonlat.x, r.lonlat.y, "closed", id};
        return mark;
    }
    const CellState cs = m.status == loop::Status::overdue   ? CellState::overdue
                         : m.status == loop::Status::warning ? CellState::warning
                                                             : CellState::on_time;
    mark.cell = r.cell;
    mark.cell_state = cs;
    mark.pin = Pin{r.lonlat.x, r.lonlat.y,
                   cs == CellState::overdue ? std::string("overdue")
                                            : std::string(loop::to_string(r.incident.state)),
                   id};
    return mark;
}

// The statuses come from the closed loop, as of `at`, by the loop's one time-travel rule
// (loop/state_at.hpp): a cell takes the worst status at `at` of its open matters (absent =
// none); pins are the open matters (overdue ones drawn as `overdue`, the rest by their step)
// and those closed in the day before `at`.
RenderStatus status_from_workspace(const store::Workspace& ws, const std::string& at) {
    RenderStatus status;
    status.at = at;
    // A workspace without loop tables has no matters: every cell `none`, and the renderer
    // must not create the tables as a side effect of drawing.
    const auto layers = ws.dataset().layer_names();
    if (std::find(layers.begin(), layers.end(), "loop_incidents") == layers.end()) return status;
    const loop::LocalTime t = loop::parse_time(at);
    const auto session = loop::Session::open(ws.path());
    const auto rank = [](CellState s) { return static_cast<int>(s); };
    loop::for_each_matter_at(session->store(), session->loop(), t, map_filter(t),
                             [&](loop::MatterAt&& m) {
                                 auto mark = matter_mark(m);
                                 if (!mark.cell.empty()) {
                                     auto& slot = status.cells[mark.cell];
                                     if (rank(mark.cell_state) > rank(slot)) slot = mark.cell_state;
                                 }
                                 if (mark.pin) status.pins.push_back(std::move(*mark.pin));
                             });
    return status;
}

RenderStatus read_status_files(const std::string& cells_csv, const std::string& pins_csv,
                               const std::string& at) {
    RenderStatus status;
    status.at = at;
    if (!cells_csv.empty())
        for_each_row(
            cells_csv, "cell_code", [&](const std::vector<std::string>& f, std::int64_t n) {
                if (f.size() < 2)
                    throw InputError("expected 'cell_code,state'", {.file = cells_csv, .line = n});
                try {
                    status.cells[f[0]] = cell_state_from(f[1]);
                } catch (const InputError& e) {
                    throw InputError(e.message(), {.file = cells_csv, .line = n, .cell = f[0]});
                }
            });
    if (!pins_csv.empty())
        for_each_row(pins_csv, "lon", [&](const std::vector<std::string>& f, std::int64_t n) {
            if (f.size() < 3)
                throw InputError("expected 'lon,lat,state,id'", {.file = pins_csv, .line = n});
            Pin p;
            p.lon = parse_number(f[0], pins_csv, n, "lon");
            p.lat = parse_number(f[1], pins_csv, n, "lat");
            p.state = f[2];
            if (f.size() > 3) p.id = f[3];
            status.pins.push_back(std::move(p));
        });
    return status;
}

} // namespace wangge::render
