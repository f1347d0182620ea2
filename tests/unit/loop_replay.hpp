// An independent replay of a workspace's journal up to a time T, for tests of the loop's
// time-travel rule (loop/state_at.hpp): every stored matter and its whole journal are read,
// matters reported after T are dropped, and each other matter is rebuilt from its report
// with only the events dated at or before T. Slow and simple on purpose: no SQL filter, no
// stored-row shortcut.
#pragma once

#include "wangge/loop/session.hpp"

#include <map>
#include <vector>

namespace wangge::test {

struct Replayed {
    loop::IncidentRecord record; // record.incident: the matter at T
    loop::Status status = loop::Status::on_time;
};

struct Replay {
    std::vector<loop::IncidentRecord> stored;
    std::map<std::int64_t, std::vector<loop::Event>> journal;

    explicit Replay(const loop::LoopStore& store) : stored(store.incidents()) {
        for (const auto& r : stored)
            journal[r.incident.report.id] = store.journal(r.incident.report.id);
    }

    [[nodiscard]] std::vector<Replayed> at(const loop::Loop& loop, loop::LocalTime t) const {
        std::vector<Replayed> out;
        for (const auto& r : stored) {
            if (r.incident.report.reported_at > t) continue;
            std::vector<loop::Event> upto;
            for (const auto& e : journal.at(r.incident.report.id))
                if (e.at <= t) upto.push_back(e);
            Replayed m{r, {}};
            m.record.incident = loop.rebuild(r.incident.report, upto);
            m.status = loop.status(m.record.incident, t);
            out.push_back(std::move(m));
        }
        return out;
    }

    [[nodiscard]] static std::vector<loop::IncidentRecord>
    records(const std::vector<Replayed>& replayed) {
        std::vector<loop::IncidentRecord> out;
        for (const auto& m : replayed)
            out.push_back(m.record);
        return out;
    }
};

} // namespace wangge::test
