#include "matter_views.hpp"

#include "wangge/error.hpp"
#include "wangge/loop/matter_json.hpp"

#include <cstdio>

namespace wangge::serve {

MatterFilter filter_of(const Request& req) {
    MatterFilter f;
    f.loop.cell = req.param("cell");
    f.loop.township = req.param("township");
    f.department = req.param("department");
    loop::set_status_filter(f.loop, req.param("status"));
    return f;
}

std::vector<MatterView> matters(Live& live, const Snapshot& snap, const MatterFilter& f,
                                loop::LocalTime at) {
    std::vector<MatterView> out;
    const auto holder_ok = [&f](const loop::IncidentRecord& r) {
        if (f.department.empty()) return true;
        const auto& d = r.incident.department.empty() ? r.route_department : r.incident.department;
        return d == f.department;
    };
    if (snap.settled && at < *snap.settled) {
        // Some matter changed, or a redraw moved it, after T: the loop's rule, which replays
        // only those and filters place and state in SQL first.
        live.with_session([&](loop::Session& s) {
            loop::for_each_matter_at(s.store(), s.loop(), at, f.loop, [&](loop::MatterAt&& m) {
                if (holder_ok(m.record))
                    out.push_back(MatterView::owned(std::move(m.record), m.status));
            });
        });
        return out;
    }
    // Every row is its matter at T: only the status is T's.
    for (const auto& r : snap.records) {
        if (r.incident.report.reported_at > at || !holder_ok(r)) continue;
        const auto status = live.loop().status(r.incident, at);
        if (loop::matches(r, status, f.loop)) out.push_back(MatterView::borrowed(r, status));
    }
    return out;
}

json matter_properties(const Live& live, const MatterView& v) {
    const auto& r = v.record();
    // A matter outside every cell has no version; its place is named in the served grid.
    const auto& grid = r.grid_version > 0 ? live.grid_of(r.grid_version) : live.grid();
    return loop::MatterJson(live.catalogue(), &grid).matter(r, v.state(), v.status());
}

json matter_feature(const Live& live, const MatterView& v) {
    const auto& r = v.record();
    return {{"type", "Feature"},
            {"id", r.incident.report.id},
            {"geometry", {{"type", "Point"}, {"coordinates", {r.lonlat.x, r.lonlat.y}}}},
            {"properties", matter_properties(live, v)}};
}

json journal_json(const std::vector<loop::Event>& journal) {
    json arr = json::array();
    for (const auto& e : journal)
        arr.push_back({{"from", loop::to_string(e.from)},
                       {"to", loop::to_string(e.to)},
                       {"supervision", e.is_supervision()},
                       {"at", loop::format_time(e.at)},
                       {"actor", e.actor},
                       {"note", e.note},
                       {"department", e.department},
                       {"person", e.person},
                       {"deadline", time_or_null(e.deadline)}});
    return arr;
}

loop::IncidentRecord report_matter(Live& live, std::int64_t id, const std::string& category,
                                   geo::Point lonlat, const std::string& reporter,
                                   const std::string& note, loop::LocalTime at) {
    return live.with_session([&](loop::Session& s) {
        (void)s.catalogue().category_at(category); // DataError naming an unknown category
        loop::Report report{.id = id,
                            .category = category,
                            .lonlat = lonlat,
                            .at = at,
                            .reporter = reporter,
                            .note = note};
        if (report.id > 0 && s.store().incident(report.id))
            throw StoreError("incident " + std::to_string(report.id) + " exists already");
        // Id 0: insert_report picks the next free id inside its write transaction, so
        // concurrent reports (other processes, the CLI) never collide.
        auto record = loop::make_record(report, s.context());
        if (record.cell.empty()) {
            char buf[96];
            std::snprintf(buf, sizeof buf, "point %.6f, %.6f", lonlat.x, lonlat.y);
            throw DataError(std::string(buf) + " is outside every cell of grid version " +
                            std::to_string(s.grid_version()) +
                            " (outside the county); nothing was recorded");
        }
        s.store().insert_report(record, s.loop());
        return record;
    });
}

} // namespace wangge::serve
