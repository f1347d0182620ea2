// Print-map furniture with cairo: title, legend, scale bar, north arrow, attribution.
// Text uses cairo's font selection through fontconfig, which finds Noto Sans CJK for Chinese.
#include "print.hpp"

#include "wangge/error.hpp"

#include <algorithm>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <sstream>

namespace wangge::render::detail {

namespace {

constexpr const char* font_family = "Noto Sans CJK SC";

struct Rgb {
    double r = 0, g = 0, b = 0;
};

// "#rrggbb" from the style parameters; grey when missing or malformed.
Rgb colour(const std::map<std::string, std::string>& params, const std::string& key) {
    const auto it = params.find(key);
    if (it == params.end() || it->second.size() != 7 || it->second[0] != '#')
        return {0.5, 0.5, 0.5};
    const auto hex = [&](int i) {
        return std::stoi(it->second.substr(static_cast<std::size_t>(i), 2), nullptr, 16) / 255.0;
    };
    return {hex(1), hex(3), hex(5)};
}

double number(const std::map<std::string, std::string>& params, const std::string& key,
              double fallback) {
    const auto it = params.find(key);
    if (it == params.end()) return fallback;
    try {
        return std::stod(it->second);
    } catch (const std::exception&) {
        return fallback;
    }
}

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

void draw_legend(cairo_t* cr, const PrintLayout& lay, const Furniture& f) {
    const auto& p = f.params;
    const double col_w = (lay.page_w - 2 * lay.map_x) / 3;
    const double x0 = lay.map_x;
    double y = lay.legend_y;
    font(cr, 10, true);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, x0, y + 10, "图例 Legend");
    y += 18;
    const double row = 13;
    const double opacity = number(p, "status_opacity", 0.45);

    // Column 1: cell states.
    double cy = legend_heading(cr, x0, y, row, "网格状态 Cell status");
    struct Entry {
        const char* key;
        const char* label;
    };
    const Entry states[] = {{"on_time", "按期 On time: open matters within their limit"},
                            {"warning", "临期 Warning: a deadline is near"},
                            {"overdue", "超期 Overdue: a matter is past its limit"},
                            {"", "无在办 Nothing open (no fill)"}};
    for (const auto& e : states) {
        // Swatches over a neutral imagery-like grey, at the map's opacity.
        cairo_rectangle(cr, x0, cy, 16, 9);
        cairo_set_source_rgb(cr, 0.45, 0.45, 0.40);
        cairo_fill_preserve(cr);
        if (*e.key) {
            set(cr, colour(p, e.key), opacity);
            cairo_fill_preserve(cr);
        }
        set(cr, colour(p, "cell_line"));
        cairo_set_line_width(cr, 0.6);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, x0 + 21, cy + 8, e.label);
        cy += row;
    }

    // Column 2: incident pins.
    const double x1 = x0 + col_w;
    cy = legend_heading(cr, x1, y, row, "事件 Incidents");
    struct PinEntry {
        const char* key;
        const char* shape;
        double size;
        const char* label;
    };
    const PinEntry pins[] = {{"pin_reported", "triangle", 10, "上报 Reported"},
                             {"pin_dispatched", "square", 10, "派遣 Dispatched"},
                             {"pin_in_progress", "circle", 10, "处置中 In progress"},
                             {"pin_overdue", "diamond", 11, "超期 Overdue"},
                             {"pin_closed", "circle", 7, "结案 Closed"},
                             {"pin_other", "circle", 7, "其他 Other state"}};
    for (const auto& e : pins) {
        pin_path(cr, e.shape, x1 + 8, cy + 4.5, e.size);
        set(cr, colour(p, e.key));
        cairo_fill_preserve(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        cairo_set_line_width(cr, 0.6);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, x1 + 21, cy + 8, e.label);
        cy += row;
    }

    // Column 3: boundaries.
    const double x2 = x0 + 2 * col_w;
    cy = legend_heading(cr, x2, y, row, "界线 Boundaries");
    struct LineEntry {
        const char* key;
        const char* width_key;
        double fallback_w;
        const char* label;
    };
    const LineEntry lines[] = {{"cell_line", "cell_line_width", 0.6, "网格 Cell"},
                               {"village_line", "village_line_width", 1.3, "村/社区 Village"},
                               {"township_line", "township_line_width", 2.4, "乡镇 Township"},
                               {"county_line", "county_line_width", 3.2, "县 County"}};
    for (const auto& e : lines) {
        cairo_rectangle(cr, x2, cy, 16, 9);
        cairo_set_source_rgb(cr, 0.45, 0.45, 0.40);
        cairo_fill(cr);
        cairo_move_to(cr, x2, cy + 4.5);
        cairo_line_to(cr, x2 + 16, cy + 4.5);
        set(cr, colour(p, e.key));
        // Lines are drawn at 72/90.7 of their screen width, as the map itself is.
        cairo_set_line_width(cr, number(p, e.width_key, e.fallback_w) * 0.8);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, x2 + 21, cy + 8, e.label);
        cy += row;
    }
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
