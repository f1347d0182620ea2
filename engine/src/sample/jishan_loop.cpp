#include "wangge/sample/jishan_loop.hpp"

#include "embedded_catalogue.hpp"
#include "wangge/base/csv.hpp"
#include "wangge/error.hpp"
#include "wangge/loop/session.hpp"
#include "wangge/sample/jishan_history.hpp"

namespace wangge::sample {

loop::Catalogue jishan_catalogue() {
    const std::string name = "data/catalogue (built in)";
    auto catalogue = loop::Catalogue::parse(embedded::departments_csv, embedded::functions_csv,
                                            embedded::categories_csv, name);
    catalogue.set_urban_townships(loop::Catalogue::read_urban_townships(
        base::CsvTable::parse(embedded::urban_townships_csv, name + "/urban_townships.csv")));
    return catalogue;
}

std::string jishan_calendar_json() {
    return embedded::calendar_2026_json;
}

loop::DutyTable jishan_duties(const grid::Grid& grid, const loop::Catalogue& catalogue) {
    auto duties =
        loop::DutyTable::parse(embedded::duties_jishan_sample_csv,
                               "data/catalogue/duties-jishan-sample.csv (built in)", catalogue)
            .duties();
    // The grid worker of a cell (named as the history's reporters are) holds the cell's
    // territorial matters and its information gathering, inside the township's office.
    const std::chrono::year_month_day from{std::chrono::year{2026}, std::chrono::January,
                                           std::chrono::day{1}};
    for (const auto& cell : grid.cells) {
        const std::string worker =
            "网格员" + cell.code.substr(cell.code.size() >= 4 ? cell.code.size() - 4 : 0);
        for (const char* function : {"F31", "F34"})
            duties.push_back({.function = function,
                              .level = loop::DutyLevel::cell,
                              .unit = cell.code,
                              .department = "D18",
                              .person = worker,
                              .valid_from = from,
                              .valid_to = std::nullopt,
                              .line = 0});
    }
    return loop::DutyTable(std::move(duties), catalogue);
}

JishanLoopSummary write_jishan_loop(const std::string& workspace,
                                    const JishanLoopOptions& options) {
    auto session = loop::Session::open(workspace);
    session->save_catalogue(jishan_catalogue(), jishan_calendar_json());
    session->save_duties(jishan_duties(session->grid(), session->catalogue()));

    HistoryOptions ho;
    ho.end = loop::parse_time(jishan_reference_time);
    ho.days = options.days;
    ho.reports_per_day = options.reports_per_day;
    ho.seed = options.seed;
    const auto history = generate_history(session->context(), ho);
    session->store().insert(history.records, history.journal, session->loop());

    JishanLoopSummary s;
    s.duties = session->duties().duties().size();
    s.incidents = history.records.size();
    s.events = history.journal.size();
    for (const auto& r : history.records) {
        if (loop::is_final(r.incident.state)) continue;
        ++s.open;
        if (session->loop().status(r.incident, ho.end) == loop::Status::overdue) ++s.overdue;
    }
    return s;
}

} // namespace wangge::sample
