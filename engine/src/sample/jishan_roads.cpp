// The roads of the Jishan image; see jishan_landscape.hpp.
#include "jishan_landscape.hpp"

#include <span>
#include <utility>

namespace wangge::sample::detail {

namespace {

struct Road {
    std::vector<geo::Point> pts; // local metres, then pixels
    double width_m;
    Rgb colour;
};

// Midpoint displacement so roads do not run ruler-straight.
std::vector<geo::Point> wiggle(Rng& rng, geo::Point a, geo::Point b, double amount, int depth) {
    std::vector<geo::Point> pts{a, b};
    for (int d = 0; d < depth; ++d) {
        std::vector<geo::Point> out{pts.front()};
        for (Sz k = 0; k + 1 < pts.size(); ++k) {
            const auto& p = pts[k];
            const auto& q = pts[k + 1];
            const double dx = q.x - p.x, dy = q.y - p.y;
            const double off = rng.range(-amount, amount);
            out.push_back({0.5 * (p.x + q.x) - dy * off, 0.5 * (p.y + q.y) + dx * off});
            out.push_back(q);
        }
        pts = std::move(out);
    }
    return pts;
}

void draw_road(std::vector<std::uint8_t>& rgb, int w, int h, const Road& road, double px_m) {
    const double half = 0.5 * road.width_m / px_m;
    for (Sz k = 0; k + 1 < road.pts.size(); ++k) {
        const auto& a = road.pts[k];
        const auto& b = road.pts[k + 1];
        const int i0 = std::max(0, static_cast<int>(std::floor(std::min(a.x, b.x) - half - 1)));
        const int i1 = std::min(w - 1, static_cast<int>(std::ceil(std::max(a.x, b.x) + half + 1)));
        const int j0 = std::max(0, static_cast<int>(std::floor(std::min(a.y, b.y) - half - 1)));
        const int j1 = std::min(h - 1, static_cast<int>(std::ceil(std::max(a.y, b.y) + half + 1)));
        const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
        for (int j = j0; j <= j1; ++j)
            for (int i = i0; i <= i1; ++i) {
                const double t =
                    len2 > 0 ? std::clamp(((i - a.x) * dx + (j - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
                const double d = dist(i - (a.x + t * dx), j - (a.y + t * dy));
                // Coverage of the pixel by the road, at least a faint trace for thin roads.
                const double cover =
                    std::clamp(half + 0.5 - d, 0.0, 1.0) * std::min(1.0, 0.35 + half);
                if (cover <= 0) continue;
                auto* p = &rgb[(uz(j) * uz(w) + uz(i)) * 3];
                // Blending towards the road colour: where segments overlap at joints the
                // pixel only gets closer to it, never darker.
                const double c[3] = {road.colour.r, road.colour.g, road.colour.b};
                for (Sz ch = 0; ch < 3; ++ch)
                    p[ch] = to_byte(p[ch] + (c[ch] - p[ch]) * cover);
            }
    }
}

} // namespace

void draw_roads(Image& image, std::uint64_t seed, const grid::Grid& grid,
                const std::vector<CellInfo>& cells, const std::vector<Settlement>& villages_at,
                const Landscape& L, const geo::Box& local, const geo::Point& origin,
                const geo::Transformer& merc_metric) {
    auto& rgb = image.rgb;
    const int w = image.w, h = image.h;
    const double x0 = image.x0, y1 = image.y1, px = image.px, res = image.res;
    {
        std::vector<Road> roads;
        Rng rng(substream(seed, 0x91));
        // A township's seat: its densest cell (Jifeng for the county seat).
        std::vector<std::pair<std::string, geo::Point>> seats;
        for (const auto& u : grid.units) {
            if (u.level != grid::UnitLevel::township) continue;
            geo::Point at{0, 0};
            double best = -1;
            for (const auto& info : cells) {
                if (info.township != u.code) continue;
                const double density = info.households / std::max(info.km2, 1e-3);
                if (density > best) {
                    best = density;
                    at = info.centre;
                }
            }
            if (u.code == "140824400") at = {0, 0};
            if (best >= 0) seats.emplace_back(u.code, at);
        }
        const Rgb main_colour{222, 218, 208}, lane_colour{182, 172, 150};
        // A minimum spanning tree over the seats and Jifeng (Prim, ties by order).
        seats.emplace_back("", geo::Point{0, 0});
        std::vector<char> joined(seats.size(), 0);
        joined.back() = 1;
        for (Sz added = 1; added < seats.size(); ++added) {
            double best = 1e300;
            Sz from = 0, to = 0;
            for (Sz a = 0; a < seats.size(); ++a)
                for (Sz b = 0; b < seats.size(); ++b)
                    if (joined[a] && !joined[b]) {
                        const double d = dist(seats[a].second.x - seats[b].second.x,
                                              seats[a].second.y - seats[b].second.y);
                        if (d < best) {
                            best = d;
                            from = a;
                            to = b;
                        }
                    }
            joined[to] = 1;
            if (best > 500.0)
                roads.push_back({wiggle(rng, seats[from].second, seats[to].second, 0.05, 4), 20.0,
                                 main_colour});
        }
        seats.pop_back();
        {
            Road highway{{}, 24.0, Rgb{222, 220, 214}};
            for (double u = local.minx - 500.0; u <= local.maxx + 500.0; u += 250.0)
                highway.pts.push_back(
                    {u, 0.55 * (L.river_centre(u) - L.river_centre(0.0)) + 450.0});
            roads.push_back(std::move(highway));
        }
        for (const auto& village : villages_at) {
            geo::Point seat{0, 0};
            for (const auto& [code, at] : seats)
                if (code == village.township) seat = at;
            // Towards the seat, ending at the nearest village on the way.
            geo::Point to = seat;
            const geo::Point from = village.at;
            double best = dist(seat.x - from.x, seat.y - from.y);
            for (const auto& other : villages_at) {
                const double d = dist(other.at.x - from.x, other.at.y - from.y);
                const double closer = dist(seat.x - other.at.x, seat.y - other.at.y);
                if (d > 1.0 && d < best && closer < best) {
                    best = d;
                    to = other.at;
                }
            }
            roads.push_back({wiggle(rng, from, to, 0.08, 3), 8.0, lane_colour});
        }
        // Local metres -> pixels.
        for (auto& road : roads) {
            for (auto& p : road.pts) {
                p.x += origin.x;
                p.y += origin.y;
            }
            merc_metric.inverse(std::span<geo::Point>(road.pts));
            for (auto& p : road.pts)
                p = {(p.x - x0) / px - 0.5, (y1 - p.y) / px - 0.5};
        }
        // Lanes first so main roads lie on top.
        for (const auto& road : roads)
            if (road.width_m < 10.0) draw_road(rgb, w, h, road, res);
        for (const auto& road : roads)
            if (road.width_m >= 10.0) draw_road(rgb, w, h, road, res);
    }
}

} // namespace wangge::sample::detail
