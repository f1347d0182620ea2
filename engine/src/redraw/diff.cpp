#include "wangge/redraw/diff.hpp"

#include "wangge/error.hpp"
#include "wangge/geo/box_index.hpp"
#include "wangge/geo/gdal.hpp"
#include "wangge/geo/geos.hpp"
#include "wangge/geo/proj.hpp"
#include "wangge/grid/locator.hpp"
#include "wangge/loop/store.hpp"
#include "wangge/redraw/edit.hpp"
#include "wangge/store/gpkg.hpp"
#include "wangge/store/sqlite.hpp"
#include "wangge/store/workspace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <gdal.h>
#include <geos_c.h>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

namespace wangge::redraw {

namespace {

// Overlaps smaller than this share of the smaller cell are rounding, not area.
constexpr double overlap_share = 1e-9;

std::string round_text(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

double rounded(double v, double per) {
    return std::round(v * per) / per;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

} // namespace

Diff diff_grids(const grid::Grid& from, const grid::Grid& to, const std::string& metric_crs) {
    Diff d;
    d.old_cells = from.cells.size();
    d.new_cells = to.cells.size();
    std::unordered_map<std::string, std::size_t> old_idx, new_idx;
    for (std::size_t i = 0; i < from.cells.size(); ++i)
        old_idx[from.cells[i].code] = i;
    for (std::size_t i = 0; i < to.cells.size(); ++i)
        new_idx[to.cells[i].code] = i;

    geo::Transformer metric("EPSG:4326", metric_crs);
    std::vector<double> old_m2(from.cells.size(), -1), new_m2(to.cells.size(), -1);
    const auto area_old = [&](std::size_t i) {
        if (old_m2[i] < 0) old_m2[i] = geo::area_m2(from.cells[i].geometry, metric);
        return old_m2[i];
    };
    const auto area_new = [&](std::size_t i) {
        if (new_m2[i] < 0) new_m2[i] = geo::area_m2(to.cells[i].geometry, metric);
        return new_m2[i];
    };

    // Unchanged cells (same code, geometry and village) need no geometry work.
    std::vector<bool> old_same(from.cells.size(), false), new_same(to.cells.size(), false);
    for (std::size_t i = 0; i < from.cells.size(); ++i) {
        const auto it = new_idx.find(from.cells[i].code);
        if (it == new_idx.end()) continue;
        const auto& a = from.cells[i];
        const auto& b = to.cells[it->second];
        if (a.geometry == b.geometry && a.village_code == b.village_code) {
            old_same[i] = new_same[it->second] = true;
            ++d.counts["unchanged"];
        }
    }

    // Overlaps of the others.
    geo::GeosContext ctx;
    std::vector<std::size_t> changed_new;
    for (std::size_t j = 0; j < to.cells.size(); ++j)
        if (!new_same[j]) changed_new.push_back(j);
    std::vector<geo::Box> new_box(to.cells.size());
    std::vector<geo::GeosGeometry> new_geos(to.cells.size());
    for (auto j : changed_new) {
        new_box[j] = geo::bounds(to.cells[j].geometry);
        new_geos[j] = ctx.from(to.cells[j].geometry);
    }
    std::map<std::size_t, std::map<std::size_t, double>> out_of; // old -> new -> m2
    std::map<std::size_t, std::map<std::size_t, double>> into;   // new -> old -> m2
    // The same overlaps in lon/lat units: "wholly" is decided on these, as the metric scale
    // of lon/lat varies across a cell.
    std::map<std::pair<std::size_t, std::size_t>, double> planar;
    const auto planar_old = [&](std::size_t i) {
        return std::abs(geo::planar_area(from.cells[i].geometry));
    };
    const auto planar_new = [&](std::size_t j) {
        return std::abs(geo::planar_area(to.cells[j].geometry));
    };
    for (std::size_t i = 0; i < from.cells.size(); ++i) {
        if (old_same[i]) continue;
        const auto& a = from.cells[i];
        const auto box = geo::bounds(a.geometry);
        auto ga = ctx.from(a.geometry);
        const double planar_a = std::abs(geo::planar_area(a.geometry));
        const double to_m2 = planar_a > 0 ? area_old(i) / planar_a : 0;
        for (auto j : changed_new) {
            if (!new_box[j].intersects(box)) continue;
            double inter;
            if (a.geometry == to.cells[j].geometry) {
                inter = planar_a;
            } else {
                GEOSGeometry* x = GEOSIntersection_r(ctx.get(), ga.get(), new_geos[j].get());
                auto gx = ctx.check(x, "intersection of old and new cells");
                inter = gx.area();
            }
            const double smaller =
                std::min(planar_a, std::abs(geo::planar_area(to.cells[j].geometry)));
            if (inter <= overlap_share * smaller) continue;
            out_of[i][j] = inter * to_m2;
            into[j][i] = inter * to_m2;
            planar[{i, j}] = inter;
            d.lineage[a.code][to.cells[j].code] = inter * to_m2;
        }
    }

    const auto whole = [](double part, double total) {
        return total > 0 && std::abs(part - total) <= 1e-6 * total;
    };
    std::set<std::size_t> old_done, new_done;
    const auto add = [&](CellChange c) { d.changes.push_back(std::move(c)); };
    // The area new cell j takes from old cells (all but `skip`), with their households and
    // population apportioned by area.
    const auto take_in = [&](CellChange& c, std::size_t j, std::size_t skip) {
        for (const auto& [k, m2] : into[j]) {
            if (k == skip) continue;
            const auto& o = from.cells[k];
            c.from[o.code] = m2;
            c.area_in_m2 += m2;
            const double oa = area_old(k);
            if (oa > 0) {
                c.households_in += static_cast<double>(o.households) * m2 / oa;
                c.population_in += static_cast<double>(o.population) * m2 / oa;
            }
        }
    };

    // Recoded, split, merged.
    for (const auto& [i, outs] : out_of) {
        const auto& a = from.cells[i];
        if (outs.size() == 1) {
            const auto [j, m2] = *outs.begin();
            if (into[j].size() == 1 && whole(planar[{i, j}], planar_old(i)) &&
                whole(planar[{i, j}], planar_new(j)) &&
                (a.code != to.cells[j].code || a.village_code != to.cells[j].village_code) &&
                (!new_idx.count(a.code) || a.code == to.cells[j].code)) {
                CellChange c{
                    .kind = "recoded", .old_cells = {a.code}, .new_cells = {to.cells[j].code}};
                c.old_area_m2 = area_old(i);
                c.new_area_m2 = area_new(j);
                add(c);
                old_done.insert(i);
                new_done.insert(j);
                continue;
            }
        }
        if (outs.size() >= 2) {
            bool split = true;
            double sum = 0;
            for (const auto& [j, m2] : outs) {
                sum += planar[{i, j}];
                if (into[j].size() != 1 || !whole(planar[{i, j}], planar_new(j))) split = false;
            }
            if (split && whole(sum, planar_old(i))) {
                CellChange c{.kind = "split", .old_cells = {a.code}};
                c.old_area_m2 = area_old(i);
                for (const auto& [j, m2] : outs) {
                    c.new_cells.push_back(to.cells[j].code);
                    c.to[to.cells[j].code] = m2;
                    c.new_area_m2 += area_new(j);
                    new_done.insert(j);
                }
                c.households_out = static_cast<double>(a.households);
                c.population_out = static_cast<double>(a.population);
                add(c);
                old_done.insert(i);
            }
        }
    }
    for (const auto& [j, ins] : into) {
        if (new_done.count(j) || ins.size() < 2) continue;
        bool merged = true;
        double sum = 0;
        for (const auto& [i, m2] : ins) {
            sum += planar[{i, j}];
            if (old_done.count(i) || out_of[i].size() != 1 || !whole(planar[{i, j}], planar_old(i)))
                merged = false;
        }
        if (!merged || !whole(sum, planar_new(j))) continue;
        CellChange c{.kind = "merged", .new_cells = {to.cells[j].code}};
        c.new_area_m2 = area_new(j);
        for (const auto& [i, m2] : ins) {
            c.old_cells.push_back(from.cells[i].code);
            c.from[from.cells[i].code] = m2;
            c.old_area_m2 += area_old(i);
            c.households_in += static_cast<double>(from.cells[i].households);
            c.population_in += static_cast<double>(from.cells[i].population);
            old_done.insert(i);
        }
        add(c);
        new_done.insert(j);
    }

    // Reshaped (same code), removed and new: area in and out by cell, households by area.
    for (std::size_t i = 0; i < from.cells.size(); ++i) {
        if (old_same[i] || old_done.count(i)) continue;
        const auto& a = from.cells[i];
        const auto it = new_idx.find(a.code);
        CellChange c;
        c.old_cells = {a.code};
        c.old_area_m2 = area_old(i);
        const double share_hh =
            c.old_area_m2 > 0 ? static_cast<double>(a.households) / c.old_area_m2 : 0;
        const double share_pop =
            c.old_area_m2 > 0 ? static_cast<double>(a.population) / c.old_area_m2 : 0;
        for (const auto& [j, m2] : out_of[i]) {
            if (it != new_idx.end() && j == it->second) continue;
            c.to[to.cells[j].code] = m2;
            c.area_out_m2 += m2;
        }
        c.households_out = share_hh * c.area_out_m2;
        c.population_out = share_pop * c.area_out_m2;
        if (it != new_idx.end()) {
            const std::size_t j = it->second;
            c.kind = "reshaped";
            c.new_cells = {a.code};
            c.new_area_m2 = area_new(j);
            take_in(c, j, i);
            new_done.insert(j);
            // Only a vertex inserted on (or removed from) a shared edge: not a change of area.
            if (c.from.empty() && c.to.empty() &&
                std::abs(c.new_area_m2 - c.old_area_m2) <= 1e-6 * c.old_area_m2) {
                ++d.counts["unchanged"];
                continue;
            }
        } else {
            c.kind = "removed";
        }
        add(c);
    }
    for (std::size_t j = 0; j < to.cells.size(); ++j) {
        if (new_same[j] || new_done.count(j)) continue;
        CellChange c{.kind = "new", .new_cells = {to.cells[j].code}};
        c.new_area_m2 = area_new(j);
        take_in(c, j, from.cells.size()); // skips nothing
        add(c);
    }
    for (const auto& c : d.changes)
        ++d.counts[c.kind];
    std::sort(d.changes.begin(), d.changes.end(), [](const CellChange& a, const CellChange& b) {
        const auto& ka = a.old_cells.empty() ? a.new_cells.front() : a.old_cells.front();
        const auto& kb = b.old_cells.empty() ? b.new_cells.front() : b.old_cells.front();
        return ka < kb;
    });
    return d;
}

std::set<std::string> unchanged_cells(const Diff& diff, const grid::Grid& to) {
    std::set<std::string> touched;
    for (const auto& c : diff.changes) {
        touched.insert(c.old_cells.begin(), c.old_cells.end());
        touched.insert(c.new_cells.begin(), c.new_cells.end());
    }
    std::set<std::string> out;
    for (const auto& c : to.cells)
        if (!touched.count(c.code)) out.insert(out.end(), c.code);
    return out;
}

OpenMatters relocate_open_matters(const store::sqlite::Connection& db, const grid::Grid& to,
                                  const Diff& diff) {
    OpenMatters out;
    if (!db.has_table("loop_incidents")) return out;
    // A matter stays when its stored cell is unchanged (same code, geometry and village):
    // its point is still inside. Only the others are located, among the new cells whose
    // boxes hold them.
    const auto stay = unchanged_cells(diff, to);
    std::unordered_map<std::string_view, const grid::Cell*> new_by_code;
    for (const auto& c : to.cells)
        new_by_code.emplace(c.code, &c);
    std::string final_states;
    for (const auto s : loop::all_states)
        if (loop::is_final(s))
            final_states += std::string(final_states.empty() ? "'" : ", '") +
                            std::string(loop::to_string(s)) + "'";
    auto st = db.prepare("SELECT fid, geom, cell, village, township FROM loop_incidents WHERE "
                         "state NOT IN (" +
                         final_states + ") ORDER BY fid");
    std::vector<geo::Point> points;
    while (st.step()) {
        ++out.open;
        const auto cell = st.view(2);
        const auto village = st.view(3);
        if (const auto it = new_by_code.find(cell); it != new_by_code.end() &&
                                                    stay.count(it->second->code) &&
                                                    it->second->village_code == village)
            continue;
        MatterMove m{.id = st.integer(0),
                     .from_cell = std::string(cell),
                     .from_village = std::string(village),
                     .from_township = std::string(st.view(4)),
                     .lonlat = store::gpkg::point_from_blob(st.blob(1), st.bytes(1))};
        points.push_back(m.lonlat);
        out.moves.push_back(std::move(m));
    }
    if (points.empty()) return out;

    // The new cells whose boxes hold a point to locate: the locator over them answers as
    // the one over the whole grid would (its test is per cell), at a fraction of the cost.
    std::vector<geo::Box> boxes(to.cells.size());
    for (std::size_t i = 0; i < to.cells.size(); ++i)
        boxes[i] = geo::bounds(to.cells[i].geometry);
    const geo::BoxIndex index(boxes);
    std::vector<char> candidate(to.cells.size(), 0);
    for (const auto& p : points)
        index.query(geo::Box{p.x, p.y, p.x, p.y}, [&](std::uint32_t k) { candidate[k] = 1; });
    grid::Grid near;
    std::vector<std::size_t> index_of;
    for (std::size_t i = 0; i < to.cells.size(); ++i)
        if (candidate[i]) {
            near.cells.push_back(to.cells[i]);
            index_of.push_back(i);
        }
    std::vector<std::int32_t> where(points.size(), -1);
    if (!near.cells.empty()) {
        const grid::Locator locator(near);
        locator.locate_batch(points, where, 1);
    }
    std::vector<MatterMove> moves;
    moves.reserve(out.moves.size());
    for (std::size_t n = 0; n < out.moves.size(); ++n) {
        auto& m = out.moves[n];
        if (where[n] >= 0) {
            const auto& c = to.cells[index_of[static_cast<std::size_t>(where[n])]];
            m.to_cell = c.code;
            m.to_village = c.village_code;
            m.to_township = c.township_code;
        }
        // A cell moved to another village keeps its code but not its village.
        if (m.to_cell != m.from_cell || m.to_village != m.from_village ||
            m.to_township != m.from_township)
            moves.push_back(std::move(m));
    }
    out.moves = std::move(moves);
    return out;
}

std::vector<DutyChange> duty_changes(const Diff& diff, const std::vector<loop::Duty>& duties,
                                     const grid::Grid& to) {
    std::set<std::string> cells, units;
    for (const auto& c : to.cells)
        cells.insert(c.code);
    for (const auto& u : to.units)
        units.insert(u.code);
    std::map<std::string, std::string> kind_of;
    for (const auto& c : diff.changes)
        for (const auto& o : c.old_cells)
            kind_of[o] = c.kind;
    std::vector<DutyChange> out;
    for (const auto& duty : duties) {
        if (duty.level == loop::DutyLevel::cell) {
            // A cell that was split, recoded or removed loses its duties even when one of
            // the new cells reuses its code.
            const auto k = kind_of.find(duty.unit);
            const bool dissolved =
                k != kind_of.end() &&
                (k->second == "split" || k->second == "recoded" || k->second == "removed");
            if (cells.count(duty.unit) && !dissolved) continue;
            DutyChange dc{.duty = duty};
            if (const auto it = diff.lineage.find(duty.unit); it != diff.lineage.end())
                for (const auto& [code, m2] : it->second)
                    dc.successors.push_back(code);
            dc.kind =
                dc.successors.empty() ? "removed" : (k == kind_of.end() ? "removed" : k->second);
            out.push_back(std::move(dc));
        } else if (duty.level != loop::DutyLevel::county && !units.count(duty.unit)) {
            out.push_back({.duty = duty, .kind = "removed", .successors = {}});
        }
    }
    return out;
}

void add_loop_effects(Diff& diff, const std::string& workspace, const grid::Grid& to) {
    {
        const auto ws = store::Workspace::open(workspace);
        if (!GDALDatasetGetLayerByName(ws.dataset().get(), "loop_incidents")) return;
    }
    diff.loop = true;
    {
        const store::sqlite::Connection db(workspace, true);
        diff.matters = relocate_open_matters(db, to, diff).moves;
    }
    auto store = loop::LoopStore::open(workspace);
    const auto catalogue = store.load_catalogue();
    const auto duties = store.load_duties(catalogue);
    diff.duties = duty_changes(diff, duties.duties(), to);
}

std::string to_json(const Diff& d, int indent) {
    nlohmann::ordered_json j;
    j["from_version"] = d.from_version;
    j["to_version"] = d.to_version;
    j["old_cells"] = d.old_cells;
    j["new_cells"] = d.new_cells;
    j["counts"] = d.counts;
    j["households_note"] = "households and population moved are apportioned by area";
    auto cells = nlohmann::ordered_json::array();
    for (const auto& c : d.changes) {
        nlohmann::ordered_json e;
        e["kind"] = c.kind;
        e["old"] = c.old_cells;
        e["new"] = c.new_cells;
        e["old_area_m2"] = rounded(c.old_area_m2, 10);
        e["new_area_m2"] = rounded(c.new_area_m2, 10);
        e["area_in_m2"] = rounded(c.area_in_m2, 10);
        e["area_out_m2"] = rounded(c.area_out_m2, 10);
        auto from = nlohmann::ordered_json::object(), to = nlohmann::ordered_json::object();
        for (const auto& [k, v] : c.from)
            from[k] = rounded(v, 10);
        for (const auto& [k, v] : c.to)
            to[k] = rounded(v, 10);
        e["from"] = from;
        e["to"] = to;
        e["households_in"] = rounded(c.households_in, 10);
        e["households_out"] = rounded(c.households_out, 10);
        e["population_in"] = rounded(c.population_in, 10);
        e["population_out"] = rounded(c.population_out, 10);
        cells.push_back(e);
    }
    j["cells"] = cells;
    auto matters = nlohmann::ordered_json::array();
    for (const auto& m : d.matters)
        matters.push_back({{"id", m.id}, {"from_cell", m.from_cell}, {"to_cell", m.to_cell}});
    j["open_matters_moving"] = matters;
    auto duties = nlohmann::ordered_json::array();
    for (const auto& dc : d.duties)
        duties.push_back({{"function", dc.duty.function},
                          {"level", std::string(loop::to_string(dc.duty.level))},
                          {"unit", dc.duty.unit},
                          {"department", dc.duty.department},
                          {"person", dc.duty.person},
                          {"kind", dc.kind},
                          {"successors", dc.successors}});
    j["duties_changing"] = duties;
    return j.dump(indent);
}

std::string to_geojson(const Diff& d, const grid::Grid& from, const grid::Grid& to) {
    std::map<std::string, std::string> old_kind, new_kind;
    for (const auto& c : d.changes) {
        for (const auto& o : c.old_cells)
            old_kind[o] = c.kind;
        for (const auto& n : c.new_cells)
            new_kind[n] = c.kind;
    }
    nlohmann::ordered_json fc{{"type", "FeatureCollection"}, {"name", "grid-diff"}};
    fc["features"] = nlohmann::ordered_json::array();
    const auto feature = [&](const grid::Cell& c, const char* side, const std::string& kind) {
        auto polys = nlohmann::ordered_json::array();
        for (const auto& p : c.geometry.polygons) {
            auto rings = nlohmann::ordered_json::array();
            for (const auto& r : p.rings) {
                auto pts = nlohmann::ordered_json::array();
                for (const auto& pt : r)
                    pts.push_back({pt.x, pt.y});
                rings.push_back(pts);
            }
            polys.push_back(rings);
        }
        fc["features"].push_back(
            {{"type", "Feature"},
             {"properties", {{"side", side}, {"code", c.code}, {"kind", kind}}},
             {"geometry", {{"type", "MultiPolygon"}, {"coordinates", polys}}}});
    };
    for (const auto& c : from.cells) {
        const auto it = old_kind.find(c.code);
        feature(c, "old", it == old_kind.end() ? "unchanged" : it->second);
    }
    for (const auto& c : to.cells) {
        const auto it = new_kind.find(c.code);
        feature(c, "new", it == new_kind.end() ? "unchanged" : it->second);
    }
    return fc.dump();
}

std::string to_text(const Diff& d) {
    std::string out = "grid version " + std::to_string(d.from_version) + " -> " +
                      (d.to_version ? std::to_string(d.to_version) : std::string("draft")) + ": " +
                      std::to_string(d.old_cells) + " -> " + std::to_string(d.new_cells) +
                      " cells\n";
    for (const auto& [kind, n] : d.counts)
        out += "  " + kind + " " + std::to_string(n) + "\n";
    for (const auto& c : d.changes) {
        out += c.kind + " ";
        if (c.kind == "split")
            out += c.old_cells[0] + " into " + join(c.new_cells);
        else if (c.kind == "merged")
            out += join(c.old_cells) + " into " + c.new_cells[0];
        else if (c.kind == "recoded")
            out += c.old_cells[0] + " as " + c.new_cells[0];
        else
            out += join(c.kind == "new" ? c.new_cells : c.old_cells);
        if (c.kind == "reshaped" || c.kind == "new" || c.kind == "removed") {
            if (c.area_in_m2 > 0) {
                out += "  in " + round_text(c.area_in_m2) + " m2 from";
                for (const auto& [k, v] : c.from)
                    out += " " + k;
            }
            if (c.area_out_m2 > 0) {
                out += "  out " + round_text(c.area_out_m2) + " m2 to";
                for (const auto& [k, v] : c.to)
                    out += " " + k;
            }
            if (c.households_in > 0 || c.households_out > 0)
                out += "  households +" + round_text(c.households_in) + " -" +
                       round_text(c.households_out) + " (by area)";
        } else {
            out += "  " + round_text(c.old_area_m2) + " m2";
        }
        out += "\n";
    }
    if (d.loop) {
        out += std::to_string(d.matters.size()) + " open matter" +
               (d.matters.size() == 1 ? "" : "s") + " change cell\n";
        for (const auto& m : d.matters)
            out += "  matter " + std::to_string(m.id) + ": " + m.from_cell + " -> " +
                   (m.to_cell.empty() ? "(outside the new grid)" : m.to_cell) + "\n";
        out += std::to_string(d.duties.size()) + " dut" + (d.duties.size() == 1 ? "y" : "ies") +
               " lose their unit\n";
        for (const auto& dc : d.duties)
            out += "  " + dc.duty.function + " " + std::string(loop::to_string(dc.duty.level)) +
                   " " + dc.duty.unit + " (" + dc.duty.department + " " + dc.duty.person +
                   "): " + dc.kind + (dc.successors.empty() ? "" : " -> " + join(dc.successors)) +
                   "\n";
    }
    out += "households and population moved are apportioned by area\n";
    return out;
}

} // namespace wangge::redraw
