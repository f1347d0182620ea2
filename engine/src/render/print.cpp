// Print-map furniture with cairo: title, legend, scale bar, north arrow, attribution.
// Text uses cairo's font selection through fontconfig, which finds Noto Sans CJK for Chinese.
#include "print.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <numbers>
#include <sstream>

namespace wangge::render::detail {

namespace {

constexpr const char* font_family = "Noto Sans CJK SC";

struct Rgb {
    double r = 0, g = 0, b = 0;
};

void set(cairo_t* cr, Rgb c, double alpha = 1.0) {
    cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha);
}

void font(cairo_t* cr, double size, bool bold = false) {
    cairo_select_font_face(cr, font_family, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double text_width(cairo_t* cr, const std::string& s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s.c_str(), &e);
    return e.x_advance;
}

void text(cairo_t* cr, double x, double y, const std::string& s) {
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, s.c_str());
}

// A legend column's bold heading at (x, y); sets the entries' font and returns their top.
double legend_heading(cairo_t* cr, double x, double y, double row, const std::string& title) {
    font(cr, 8, true);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, x, y + 8, title);
    font(cr, 7.5);
    return y + row;
}

// Breaks at spaces so that every line fits max_w (a single long word stays whole).
std::vector<std::string> wrap(cairo_t* cr, const std::string& s, double max_w) {
    std::vector<std::string> lines;
    std::istringstream words(s);
    std::string word, line;
    while (words >> word) {
        const std::string candidate = line.empty() ? word : line + " " + word;
        if (!line.empty() && text_width(cr, candidate) > max_w) {
            lines.push_back(line);
            line = word;
        } else {
            line = candidate;
        }
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
}

// The pin shapes of styles/markers/*.svg, centred on (x, y), size s.
void pin_path(cairo_t* cr, const std::string& shape, double x, double y, double s) {
    const double h = s / 2;
    if (shape == "triangle") {
        cairo_move_to(cr, x, y - h);
        cairo_line_to(cr, x + h, y + h * 0.8);
        cairo_line_to(cr, x - h, y + h * 0.8);
        cairo_close_path(cr);
    } else if (shape == "triangle-down") {
        cairo_move_to(cr, x, y + h * 0.9);
        cairo_line_to(cr, x + h * 0.9, y - h * 0.8);
        cairo_line_to(cr, x - h * 0.9, y - h * 0.8);
        cairo_close_path(cr);
    } else if (shape == "hexagon") {
        cairo_move_to(cr, x - h * 0.5, y - h * 0.85);
        cairo_line_to(cr, x + h * 0.5, y - h * 0.85);
        cairo_line_to(cr, x + h * 0.95, y);
        cairo_line_to(cr, x + h * 0.5, y + h * 0.85);
        cairo_line_to(cr, x - h * 0.5, y + h * 0.85);
        cairo_line_to(cr, x - h * 0.95, y);
        cairo_close_path(cr);
    } else if (shape == "square") {
        cairo_rectangle(cr, x - h * 0.75, y - h * 0.75, h * 1.5, h * 1.5);
    } else if (shape == "diamond") {
        cairo_move_to(cr, x, y - h);
        cairo_line_to(cr, x + h, y);
        cairo_line_to(cr, x, y + h);
        cairo_line_to(cr, x - h, y);
        cairo_close_path(cr);
    } else {
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, h * 0.8, 0, 2 * std::numbers::pi);
    }
}

// A "nice" length (1, 2 or 5 times a power of ten) of at most max_m metres.
double nice_length(double max_m) {
    const double p = std::pow(10.0, std::floor(std::log10(max_m)));
    for (double f : {5.0, 2.0, 1.0})
        if (f * p <= max_m) return f * p;
    return p;
}

std::string distance_label(double m) {
    std::ostringstream s;
    if (m >= 1000)
        s << m / 1000 << " km";
    else
        s << m << " m";
    return s.str();
}

void white_box(cairo_t* cr, double x, double y, double w, double h) {
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    cairo_set_line_width(cr, 0.5);
    cairo_stroke(cr);
}

void draw_scale_bar(cairo_t* cr, const PrintLayout& lay, double metres_per_point) {
    if (metres_per_point <= 0) return;
    const double target_pt = lay.map_w / 4;
    const double len_m = nice_length(target_pt * metres_per_point);
    const double len_pt = len_m / metres_per_point;
    const double x = lay.map_x + 12;
    const double y = lay.map_y + lay.map_h - 34;
    // The map's nominal scale (1:N) at its centre, as on paper.
    const double scale = metres_per_point / (0.0254 / 72.0);
    std::ostringstream sc;
    sc << "1:" << static_cast<long long>(std::lround(scale / 100.0) * 100);
    font(cr, 7);
    const double box_w = std::max(len_pt, text_width(cr, sc.str())) + 24;
    white_box(cr, x - 6, y - 6, box_w, 30);
    // Two halves, black and white, as on topographic maps.
    cairo_set_line_width(cr, 0.6);
    cairo_rectangle(cr, x, y, len_pt / 2, 5);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_fill_preserve(cr);
    cairo_stroke(cr);
    cairo_rectangle(cr, x + len_pt / 2, y, len_pt / 2, 5);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_stroke(cr);
    text(cr, x, y + 13, "0");
    const std::string l = distance_label(len_m);
    text(cr, x + len_pt - text_width(cr, l) / 2, y + 13, l);
    text(cr, x, y + 21, sc.str());
}

void draw_north_arrow(cairo_t* cr, const PrintLayout& lay) {
    // Web Mercator keeps north up everywhere on the map.
    const double cx = lay.map_x + lay.map_w - 22;
    const double top = lay.map_y + 10;
    white_box(cr, cx - 13, top, 26, 40);
    cairo_move_to(cr, cx, top + 14);
    cairo_line_to(cr, cx + 7, top + 36);
    cairo_line_to(cr, cx, top + 30);
    cairo_close_path(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_fill(cr);
    cairo_move_to(cr, cx, top + 14);
    cairo_line_to(cr, cx - 7, top + 36);
    cairo_line_to(cr, cx, top + 30);
    cairo_close_path(cr);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    font(cr, 9, true);
    text(cr, cx - text_width(cr, "N") / 2, top + 11, "N");
}

// "#rrggbb"; grey when malformed.
Rgb colour(const std::string& hex) {
    if (hex.size() != 7 || hex[0] != '#') return {0.5, 0.5, 0.5};
    const auto h = [&](std::size_t i) { return std::stoi(hex.substr(i, 2), nullptr, 16) / 255.0; };
    return {h(1), h(3), h(5)};
}

// Mapnik's screen pixel is 0.28 mm; a point is 0.3528 mm: symbols on paper keep their size.
constexpr double pt_per_px = 0.28 / 0.3528;

std::string label_of(const LegendEntry& e) {
    static const std::map<std::string, std::string> cells = {
        {"on_time", "按期 On time"},
        {"warning", "临期 Warning: deadline near"},
        {"overdue", "超期 Overdue (hatched)"},
        {"none", "无在办 Nothing open"}};
    static const std::map<std::string, std::string> pins = {
        {"reported", "上报/立案 Reported, filed"},
        {"dispatched", "派遣/回退 Dispatched, returned"},
        {"in_progress", "处置中/返工 In progress, rework"},
        {"feedback", "处置反馈 Feedback, to verify"},
        {"backlog", "挂账/延期 Backlog, extended"},
        {"overdue", "超期 Overdue"},
        {"closed", "结案 Closed (last 24 h)"},
        {"other", "其他 Other state"}};
    static const std::map<std::string, std::string> lines = {{"cell", "网格 Cell"},
                                                             {"village", "村/社区 Village"},
                                                             {"township", "乡镇 Township"},
                                                             {"county", "县界 County"},
                                                             {"focus", "本图单元 This unit"}};
    const auto& table = e.group == "cell" ? cells : e.group == "pin" ? pins : lines;
    const auto it = table.find(e.key);
    return it == table.end() ? e.key : it->second;
}

std::string with_count(const LegendEntry& e) {
    if (e.group == "line") return label_of(e);
    return label_of(e) + "  " + std::to_string(e.count);
}

// A cell-state swatch at (x, y), w x h: imagery-like grey, the fill at its opacity, the
// hatch, the outline; exactly the map's symbols.
void cell_swatch(cairo_t* cr, const LegendEntry& e, double x, double y, double w, double h) {
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgb(cr, 0.45, 0.45, 0.40);
    cairo_fill_preserve(cr);
    if (!e.colour.empty()) {
        set(cr, colour(e.colour), e.opacity);
        cairo_fill_preserve(cr);
    }
    cairo_clip(cr);
    if (!e.pattern.empty()) {
        // markers/hatch.svg: white diagonals every 12 px at 80 %.
        cairo_set_source_rgba(cr, 1, 1, 1, 0.8);
        cairo_set_line_width(cr, 2 * pt_per_px);
        const double step = 12 * pt_per_px / std::numbers::sqrt2;
        for (double d = -h; d < w + h; d += step) {
            cairo_move_to(cr, x + d, y + h);
            cairo_line_to(cr, x + d + h, y);
        }
        cairo_stroke(cr);
    }
    cairo_rectangle(cr, x, y, w, h);
    if (!e.outline.empty()) {
        set(cr, colour(e.outline));
        cairo_set_line_width(cr, e.outline_width * pt_per_px);
    } else {
        cairo_set_source_rgba(cr, 1, 1, 1, 0.55);
        cairo_set_line_width(cr, 0.6 * pt_per_px);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

void pin_swatch(cairo_t* cr, const LegendEntry& e, double cx, double cy, double scale) {
    const std::string shape = std::filesystem::path(e.marker).stem().string();
    pin_path(cr, shape, cx, cy, e.size * scale);
    set(cr, colour(e.colour), e.opacity);
    cairo_fill_preserve(cr);
    set(cr, e.outline.empty() ? Rgb{1, 1, 1} : colour(e.outline));
    cairo_set_line_width(cr, 1.5 * e.size / 20 * scale);
    cairo_stroke(cr);
    // A dark ring so a white outline shows on the white legend.
    pin_path(cr, shape, cx, cy, e.size * scale + 1.2);
    cairo_set_source_rgba(cr, 0, 0, 0, 0.5);
    cairo_set_line_width(cr, 0.4);
    cairo_stroke(cr);
}

void line_swatch(cairo_t* cr, const LegendEntry& e, double x, double y, double w, double h) {
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_set_source_rgb(cr, 0.45, 0.45, 0.40);
    cairo_fill(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    cairo_move_to(cr, x, y + h / 2);
    cairo_line_to(cr, x + w, y + h / 2);
    if (!e.casing.empty()) {
        set(cr, colour(e.casing), e.casing_opacity);
        cairo_set_line_width(cr, e.casing_width * pt_per_px);
        cairo_stroke_preserve(cr);
    }
    set(cr, colour(e.colour), e.opacity);
    cairo_set_line_width(cr, e.size * pt_per_px);
    std::vector<double> dash;
    for (double v : e.dash)
        dash.push_back(v * pt_per_px);
    cairo_set_dash(cr, dash.data(), static_cast<int>(dash.size()), 0);
    cairo_stroke(cr);
    cairo_restore(cr);
}

void draw_legend(cairo_t* cr, const PrintLayout& lay, const Furniture& f) {
    const double col_w = (lay.page_w - 2 * lay.map_x) / 3;
    const double x0 = lay.map_x;
    double y = lay.legend_y;
    font(cr, 10, true);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, x0, y + 10, "图例 Legend");
    y += 18;
    const double row = 12.5;

    double cy = legend_heading(cr, x0, y, row, "网格状态 Cell status (cells)");
    for (const auto& e : f.legend)
        if (e.group == "cell") {
            cell_swatch(cr, e, x0, cy, 16, 9);
            cairo_set_source_rgb(cr, 0, 0, 0);
            text(cr, x0 + 21, cy + 8, with_count(e));
            cy += row;
        }

    const double x1 = x0 + col_w;
    cy = legend_heading(cr, x1, y, row, "事件 Matters (pins)");
    std::size_t pins = 0;
    for (const auto& e : f.legend)
        if (e.group == "pin" && e.count > 0) { // only what is on the map
            pin_swatch(cr, e, x1 + 8, cy + 4.5, pt_per_px);
            cairo_set_source_rgb(cr, 0, 0, 0);
            text(cr, x1 + 21, cy + 8, with_count(e));
            cy += row;
            ++pins;
        }
    const auto rules = std::count_if(f.legend.begin(), f.legend.end(),
                                     [](const LegendEntry& e) { return e.group == "pin"; });
    if (pins == 0) {
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        text(cr, x1, cy + 8, "图中无事件 None on the map");
        cy += row;
    }
    if (rules == 1) {
        // Far out only the overdue ones are pins (the style's scale rules).
        font(cr, 7);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        text(cr, x1, cy + 8, "此比例尺仅标超期事件 At this scale only overdue matters");
        font(cr, 7.5);
    }

    const double x2 = x0 + 2 * col_w;
    cy = legend_heading(cr, x2, y, row, "界线 Boundaries");
    for (const auto& e : f.legend)
        if (e.group == "line") {
            line_swatch(cr, e, x2, cy, 22, 9);
            cairo_set_source_rgb(cr, 0, 0, 0);
            text(cr, x2 + 27, cy + 8, label_of(e));
            cy += row;
        }
    // 制图单位 / 制图日期, under the boundaries.
    cy += 6;
    font(cr, 7.5);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, x2, cy + 8, "制图单位 Map by: " + (f.maker.empty() ? std::string("—") : f.maker));
    text(cr, x2, cy + 8 + row, "制图日期 Date: " + f.date);
}

// Where the map's view lies in the whole grid: township outlines, the view as a red box and
// the focus filled; lower right of the map frame.
void draw_inset(cairo_t* cr, const PrintLayout& lay, const Inset& in) {
    if (!in.all.valid() || !in.view.valid() || in.townships.empty()) return;
    const double aw = in.all.maxx - in.all.minx, ah = in.all.maxy - in.all.miny;
    const double vw = in.view.maxx - in.view.minx, vh = in.view.maxy - in.view.miny;
    if (vw >= aw * 0.9 && vh >= ah * 0.9) return; // the map shows it all already
    const double box_w = std::min(lay.map_w * 0.28, 150.0);
    const double s = (box_w - 12) / std::max(aw, ah * 1.0);
    const double box_h = ah * s + 12;
    const double bx = lay.map_x + lay.map_w - box_w - 8;
    const double by = lay.map_y + lay.map_h - box_h - 8;
    white_box(cr, bx, by, box_w, box_h);
    const auto to = [&](const geo::Point& p) {
        return std::pair{bx + 6 + (p.x - in.all.minx) * s, by + 6 + (in.all.maxy - p.y) * s};
    };
    const auto ring_path = [&](const geo::Ring& r) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            const auto [x, y] = to(r[i]);
            if (i == 0)
                cairo_move_to(cr, x, y);
            else
                cairo_line_to(cr, x, y);
        }
        cairo_close_path(cr);
    };
    cairo_save(cr);
    for (const auto& r : in.focus)
        ring_path(r);
    cairo_set_source_rgb(cr, 0.0, 0.75, 0.85);
    cairo_fill(cr);
    for (const auto& r : in.townships)
        ring_path(r);
    cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    cairo_set_line_width(cr, 0.4);
    cairo_stroke(cr);
    const auto [x0, y0] = to({in.view.minx, in.view.maxy});
    const auto [x1, y1] = to({in.view.maxx, in.view.miny});
    // A view too small to see is marked with a box of at least 4 pt.
    const double cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    const double w = std::max(x1 - x0, 4.0), h = std::max(y1 - y0, 4.0);
    cairo_rectangle(cr, cx - w / 2, cy - h / 2, w, h);
    cairo_set_source_rgb(cr, 0.85, 0.0, 0.0);
    cairo_set_line_width(cr, 1.0);
    cairo_stroke(cr);
    cairo_restore(cr);
}

} // namespace

PrintLayout layout_for(const Paper& paper) {
    double w = 0, h = 0;
    if (paper.size == "A4" || paper.size == "a4") {
        w = 595.276;
        h = 841.890;
    } else if (paper.size == "A3" || paper.size == "a3") {
        w = 841.890;
        h = 1190.551;
    } else {
        throw InputError("unknown paper size '" + paper.size + "' (A4, A3)");
    }
    if (paper.landscape) std::swap(w, h);
    PrintLayout l;
    l.page_w = w;
    l.page_h = h;
    const double margin = 28;
    const double title_h = 46;
    const double legend_h = 150;
    l.map_x = margin;
    l.map_y = margin + title_h;
    l.map_w = w - 2 * margin;
    l.map_h = h - l.map_y - legend_h - margin;
    l.legend_y = l.map_y + l.map_h + 10;
    return l;
}

CairoPage::CairoPage(const std::string& path, double width_pt, double height_pt) : m_path(path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".pdf")
        m_surface = cairo_pdf_surface_create(path.c_str(), width_pt, height_pt);
    else if (ext == ".svg")
        m_surface = cairo_svg_surface_create(path.c_str(), width_pt, height_pt);
    else
        throw InputError("a print map is .pdf or .svg", {.file = path});
    if (cairo_surface_status(m_surface) != CAIRO_STATUS_SUCCESS) {
        const std::string why = cairo_status_to_string(cairo_surface_status(m_surface));
        cairo_surface_destroy(m_surface);
        throw InputError("cannot write the print map: " + why, {.file = path});
    }
    m_cr = cairo_create(m_surface);
}

CairoPage::~CairoPage() {
    if (m_cr) cairo_destroy(m_cr);
    if (m_surface) cairo_surface_destroy(m_surface);
}

void CairoPage::finish() {
    const cairo_status_t st = cairo_status(m_cr);
    cairo_surface_finish(m_surface);
    const cairo_status_t sst = cairo_surface_status(m_surface);
    if (st != CAIRO_STATUS_SUCCESS || sst != CAIRO_STATUS_SUCCESS)
        throw StoreError(std::string("cannot write the print map: ") +
                             cairo_status_to_string(st != CAIRO_STATUS_SUCCESS ? st : sst),
                         {.file = m_path});
}

void draw_furniture(cairo_t* cr, const PrintLayout& lay, const Furniture& f) {
    cairo_save(cr);
    // Map frame.
    cairo_rectangle(cr, lay.map_x, lay.map_y, lay.map_w, lay.map_h);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
    // Title and time.
    font(cr, 16, true);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, lay.map_x, lay.map_y - 24, f.title);
    font(cr, 9);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, lay.map_x, lay.map_y - 9, f.subtitle);

    draw_scale_bar(cr, lay, f.metres_per_point);
    draw_north_arrow(cr, lay);
    draw_inset(cr, lay, f.inset);
    draw_legend(cr, lay, f);

    // Attribution at the foot of the page.
    font(cr, 6.5);
    cairo_set_source_rgb(cr, 0.25, 0.25, 0.25);
    std::vector<std::string> lines;
    for (const auto& a : f.attribution)
        for (auto& l : wrap(cr, a, lay.map_w))
            lines.push_back(std::move(l));
    double y = lay.page_h - 28 - 8.5 * static_cast<double>(lines.size()) + 8;
    for (const auto& l : lines) {
        text(cr, lay.map_x, y, l);
        y += 8.5;
    }
    cairo_restore(cr);
}

} // namespace wangge::render::detail

namespace wangge::render::detail {

void draw_screen_legend(cairo_t* cr, double width, double height, const std::string& title,
                        const std::string& at, const std::vector<LegendEntry>& legend,
                        const std::string& credit) {
    // Sized for a 1024 px image; other sizes scale it.
    const double k = std::clamp(std::max(width, height) / 1024.0, 0.6, 2.0);
    const double row = 15 * k;
    std::size_t rows = 0, pins = 0;
    for (const auto& e : legend)
        if (e.group == "cell")
            ++rows;
        else if (e.group == "pin" && e.count > 0)
            ++pins;
    font(cr, 11 * k, true);
    const double box_w = std::max(250 * k, text_width(cr, title) + 12 * k);
    const double box_h = (2 + static_cast<double>(rows + (pins + 1) / 2)) * row + 24 * k;
    const double x = 10 * k, y = height - box_h - 10 * k;
    cairo_save(cr);
    cairo_rectangle(cr, x, y, box_w, box_h);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.88);
    cairo_fill(cr);
    double cy = y + 4 * k;
    font(cr, 11 * k, true);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, x + 6 * k, cy + 11 * k, title);
    cy += row;
    font(cr, 9 * k);
    text(cr, x + 6 * k, cy + 10 * k, "状态时间 Status at " + at);
    cy += row;
    for (const auto& e : legend)
        if (e.group == "cell") {
            cell_swatch(cr, e, x + 6 * k, cy + 2 * k, 18 * k, 10 * k);
            cairo_set_source_rgb(cr, 0, 0, 0);
            text(cr, x + 30 * k, cy + 11 * k, with_count(e));
            cy += row;
        }
    std::size_t i = 0;
    for (const auto& e : legend)
        if (e.group == "pin" && e.count > 0) {
            const double px = x + 6 * k + (i % 2) * box_w / 2;
            pin_swatch(cr, e, px + 6 * k, cy + 7 * k, k);
            cairo_set_source_rgb(cr, 0, 0, 0);
            // Short label: the Chinese part and the count.
            const std::string l = label_of(e);
            text(cr, px + 16 * k, cy + 11 * k,
                 l.substr(0, l.find(' ')) + " " + std::to_string(e.count));
            if (++i % 2 == 0) cy += row;
        }
    if (i % 2) cy += row;
    font(cr, 7 * k);
    cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
    text(cr, x + 6 * k, y + box_h - 6 * k, credit);
    cairo_restore(cr);
}

std::string today() {
    std::time_t t = std::time(nullptr);
    if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) t = std::atoll(e);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

} // namespace wangge::render::detail

namespace wangge::render {

bool fits_landscape(const Area& area, const Paper& paper) {
    const double w = area.box_3857.maxx - area.box_3857.minx;
    const double h = area.box_3857.maxy - area.box_3857.miny;
    if (!(w > 0 && h > 0)) return paper.landscape;
    // The share of the map frame the area fills, in each orientation.
    const auto fill = [&](bool landscape) {
        Paper p = paper;
        p.landscape = landscape;
        const auto lay = detail::layout_for(p);
        const double frame = lay.map_w / lay.map_h, shape = w / h;
        return std::min(frame, shape) / std::max(frame, shape);
    };
    return fill(true) > fill(false);
}

} // namespace wangge::render
