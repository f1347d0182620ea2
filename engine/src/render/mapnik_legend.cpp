// Legends read from the style's rules (print maps, PNG legends); see mapnik_bridge.hpp.
#include "mapnik_bridge.hpp"

#include <regex>
#include <set>

namespace wangge::render {

namespace {

bool rule_matches(const mapnik::rule& r, const mapnik::feature_impl& f) {
    const auto& filter = r.get_filter();
    if (!filter) return true;
    const mapnik::attributes vars;
    return mapnik::util::apply_visitor(
               mapnik::evaluate<mapnik::feature_impl, mapnik::value_type, mapnik::attributes>(f,
                                                                                              vars),
               *filter)
        .to_bool();
}

// The legend key of a rule: the first value its filter compares with ("overdue" for
// "[status] = 'overdue'"), "other" for a negated filter, "" for none.
std::string rule_key(const mapnik::rule& r) {
    const auto& filter = r.get_filter();
    if (!filter || r.has_else_filter()) return r.has_else_filter() ? "other" : "";
    const std::string text = mapnik::to_expression_string(*filter);
    if (text.rfind("not", 0) == 0 || text.rfind("(not", 0) == 0 || text.rfind("!", 0) == 0)
        return "other";
    static const std::regex quoted("'([^']*)'");
    std::smatch m;
    return std::regex_search(text, m, quoted) ? m[1].str() : "";
}

std::string hex(const mapnik::color& c) {
    std::string h = c.to_hex_string();
    return h.size() > 7 ? h.substr(0, 7) : h;
}

} // namespace

std::vector<LegendEntry> Renderer::legend(const geo::Box& box, double scale,
                                          const RenderStatus& status) const {
    const auto& d = *m_impl;
    const mapnik::attributes vars;
    auto ctx = std::make_shared<mapnik::context_type>();
    ctx->push("status");
    ctx->push("state");
    const mapnik::feature_ptr probe(mapnik::feature_factory::create(ctx, 1));
    const auto colour = [&](const mapnik::symbolizer_base& sym, mapnik::keys k) {
        return hex(mapnik::get<mapnik::color>(sym, k, *probe, vars, mapnik::color(128, 128, 128)));
    };
    const auto number = [&](const mapnik::symbolizer_base& sym, mapnik::keys k, double def) {
        return mapnik::get<mapnik::value_double>(sym, k, *probe, vars, def);
    };
    const auto text = [&](const mapnik::symbolizer_base& sym, mapnik::keys k) {
        return mapnik::get<std::string>(sym, k, *probe, vars, std::string());
    };
    const auto style = [&](const std::string& name) -> const mapnik::feature_type_style* {
        const auto it = d.map.styles().find(name);
        return it == d.map.styles().end() ? nullptr : &it->second;
    };
    // Only styles a layer of this map uses, so a legend never shows what cannot be drawn.
    std::set<std::string> used;
    for (const auto& l : d.map.layers())
        for (const auto& n : l.styles())
            used.insert(n);

    std::vector<LegendEntry> out;
    // Cells: one entry per fill rule, plus "none" (nothing drawn).
    std::vector<const mapnik::rule*> cell_rules;
    if (const auto* st = style("cell-status"); st && used.count("cell-status"))
        for (const auto& r : st->get_rules()) {
            if (!r.active(scale)) continue;
            LegendEntry e{.group = "cell", .key = rule_key(r)};
            for (const auto& sym : r.get_symbolizers()) {
                if (sym.is<mapnik::polygon_symbolizer>()) {
                    const auto& p = mapnik::util::get<mapnik::polygon_symbolizer>(sym);
                    e.colour = colour(p, mapnik::keys::fill);
                    e.opacity = number(p, mapnik::keys::fill_opacity, 1.0);
                } else if (sym.is<mapnik::polygon_pattern_symbolizer>()) {
                    e.pattern = text(mapnik::util::get<mapnik::polygon_pattern_symbolizer>(sym),
                                     mapnik::keys::file);
                }
            }
            out.push_back(e);
            cell_rules.push_back(&r);
        }
    if (const auto* st = style("cell-overdue-outline"); st && used.count("cell-overdue-outline"))
        for (const auto& r : st->get_rules())
            for (const auto& sym : r.get_symbolizers())
                if (r.active(scale) && sym.is<mapnik::line_symbolizer>())
                    for (auto& e : out)
                        if (e.group == "cell" && e.key == rule_key(r)) {
                            const auto& l = mapnik::util::get<mapnik::line_symbolizer>(sym);
                            e.outline = colour(l, mapnik::keys::stroke);
                            e.outline_width = number(l, mapnik::keys::stroke_width, 1.0);
                        }
    if (!cell_rules.empty()) {
        std::size_t none = 0;
        for (const auto& c : d.data->grid_3857().cells) {
            if (!geo::bounds(c.geometry).intersects(box)) continue;
            const auto it = status.cells.find(c.code);
            const CellState cs = it == status.cells.end() ? CellState::none : it->second;
            probe->put("status", ustr(std::string(to_string(cs))));
            bool drawn = false;
            for (std::size_t i = 0; i < cell_rules.size(); ++i)
                if (rule_matches(*cell_rules[i], *probe)) {
                    ++out[out.size() - cell_rules.size() + i].count;
                    drawn = true;
                }
            if (!drawn) ++none;
        }
        out.push_back({.group = "cell", .key = "none", .count = none});
    }
    // Pins: one entry per rule active at this scale.
    if (const auto* st = style("pins"); st && used.count("pins")) {
        const std::size_t first = out.size();
        std::vector<const mapnik::rule*> rules;
        for (const auto& r : st->get_rules()) {
            if (!r.active(scale)) continue;
            for (const auto& sym : r.get_symbolizers()) {
                if (!sym.is<mapnik::markers_symbolizer>()) continue;
                const auto& m = mapnik::util::get<mapnik::markers_symbolizer>(sym);
                out.push_back({.group = "pin",
                               .key = rule_key(r),
                               .colour = colour(m, mapnik::keys::fill),
                               .opacity = number(m, mapnik::keys::opacity, 1.0),
                               .outline = colour(m, mapnik::keys::stroke),
                               .outline_width = number(m, mapnik::keys::stroke_width, 1.0),
                               .marker = text(m, mapnik::keys::file),
                               .size = number(m, mapnik::keys::width, 10.0)});
                rules.push_back(&r);
                break;
            }
        }
        for (const auto& p : status.pins) {
            const auto xy = lonlat_to_3857({p.lon, p.lat});
            if (!box.contains(xy)) continue;
            probe->put("state", ustr(p.state));
            for (std::size_t i = 0; i < rules.size(); ++i)
                if (rule_matches(*rules[i], *probe)) ++out[first + i].count;
        }
    }
    // Boundaries: the last line of each rule, the first as its casing when there are two.
    const std::pair<const char*, const char*> lines[] = {{"cell-outline", "cell"},
                                                         {"village-boundary", "village"},
                                                         {"township-boundary", "township"},
                                                         {"county-boundary", "county"},
                                                         {"focus", "focus"}};
    for (const auto& [name, key] : lines) {
        const auto* st = style(name);
        if (!st || !used.count(name)) continue;
        if (std::string(key) == "focus" && d.focus.empty()) continue;
        for (const auto& r : st->get_rules()) {
            if (!r.active(scale)) continue;
            std::vector<const mapnik::line_symbolizer*> ls;
            for (const auto& sym : r.get_symbolizers())
                if (sym.is<mapnik::line_symbolizer>())
                    ls.push_back(&mapnik::util::get<mapnik::line_symbolizer>(sym));
            if (ls.empty()) continue;
            LegendEntry e{.group = "line", .key = key};
            const auto& l = *ls.back();
            e.colour = colour(l, mapnik::keys::stroke);
            e.opacity = number(l, mapnik::keys::stroke_opacity, 1.0);
            e.size = number(l, mapnik::keys::stroke_width, 1.0);
            for (const auto& [on, off] :
                 mapnik::get<mapnik::dash_array>(l, mapnik::keys::stroke_dasharray)) {
                e.dash.push_back(on);
                e.dash.push_back(off);
            }
            if (ls.size() > 1) {
                e.casing = colour(*ls.front(), mapnik::keys::stroke);
                e.casing_width = number(*ls.front(), mapnik::keys::stroke_width, 1.0);
                e.casing_opacity = number(*ls.front(), mapnik::keys::stroke_opacity, 1.0);
            }
            out.push_back(e);
            break;
        }
    }
    return out;
}

} // namespace wangge::render
