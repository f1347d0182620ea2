// The coverage validator. The plan, cheapest checks first:
//  1. codes: duplicates, and the scheme's length/digits/prefixes;
//  2. each cell alone: empty, lon/lat range (crs_mismatch), validity (an exact-or-abstain
//     ring test; GEOS when that abstains or the cell has holes or parts, and for its reason),
//     slivers (areas from an interpolated Jacobian of the metric projection, measured
//     exactly near a threshold). An invalid cell takes part in the coverage checks as its
//     GEOS MakeValid repair, so it does not also show up as a gap;
//  3. the shared-edge index: every edge of every cell, ends in canonical order, grouped by
//     a hash table. An edge that occurs exactly twice, in opposite directions, in two cells
//     is clean; the others are candidates and their cells form the set K (in a clean
//     coverage: the cells along its outer boundary);
//  4. overlaps: each candidate edge's cell against the cells whose boxes meet the edge,
//     ruled out by an exact contact-and-wedge certificate or measured with GEOS;
//  5. gaps: when all edges are clean or single and nothing overlaps, the single edges are
//     the union's boundary (polygonized, trusted only if the areas balance). Otherwise the
//     union of K: each bounded part of its complement is wholly filled by clean cells or
//     wholly a gap, as depth cannot change across a clean edge, so one point decides. An
//     area balance (cells = union + overlaps) catches overlaps hidden under clean patches
//     and sends those rare inputs to an all-pairs check. Gaps are the bounded parts of the
//     union's complement (holes, and areas enclosed by parts that touch at points);
//  6. the county boundary: gaps = county - union, outside = union - county;
//  7. nesting: a unit whose outline is exactly the net edges of its cells holds them all;
//     the other units' cells are checked with GEOS.
//
// Private to the engine. The checks are split by stage: validate_cells.cpp (1, 2),
// validate_coverage.cpp (3-7), validate.cpp (running them, measuring and ordering defects).
#pragma once

#include "validate_support.hpp"
#include "wangge/grid/validate.hpp"

#include <memory>
#include <unordered_set>

namespace wangge::grid::detail {

class Validator {
  public:
    Validator(const Grid& grid, const ValidateOptions& options)
        : m_grid(grid), m_opt(options), m_cells(grid.cells.size()), m_geos(grid.cells.size()) {}

    ValidationReport run();

  private:
    // ---- issues
    Issue& add(IssueType type, std::vector<std::string> cells, std::string message,
               MultiPolygon geometry = {});

    const std::string& code(std::size_t i) const;

    MultiPolygon shown(std::size_t i) const;

    // ---- 1. codes
    void check_codes();

    // ---- 2. each cell alone
    bool geos_valid(const MultiPolygon& mp, std::string& reason, std::optional<Point>& where);

    bool valid_geometry(const MultiPolygon& mp, std::vector<detail::Part>& parts,
                        std::string& reason, std::optional<Point>& where);

    MultiPolygon repair(const MultiPolygon& mp);

    void prepare_geometry();

    void setup_metric();

    struct Measure {
        double area = 0, perimeter = 0;
    };

    Measure exact_measure(const std::vector<detail::Part>& parts) const;

    void check_slivers();

    // ---- 3. the shared-edge index
    void build_edge_index();

    static std::uint64_t pair_key(std::uint32_t a, std::uint32_t b);

    // ---- 4. overlaps
    const GEOSGeometry* geos_of(std::size_t i);

    bool disjoint(std::size_t i, std::size_t j) const;

    void test_pair(std::size_t i, std::size_t j);

    void check_overlaps();

    // ---- 4b. vertices of one cell on another's edge (T-junctions)
    void check_unmatched_vertices();

    void check_all_pairs();

    // ---- 5. and 6. gaps, and the county boundary
    geo::GeosGeometry union_of_candidates(double& expected_planar);

    bool covered_by_clean_cell(Point p);

    std::vector<std::string> bordering(const GEOSGeometry* g, const Box& box);

    geo::GeosGeometry polygonize_single_edges();

    geo::GeosGeometry union_of(const GEOSGeometry* a, const GEOSGeometry* b);

    double metric_area(const MultiPolygon& mp) const;

    void report_gaps(const MultiPolygon& gaps);

    void check_gaps_and_boundary();
    void check_gores(const geo::GeosGeometry& all);

    // ---- 7. nesting
    void check_nesting();

    void check_unit_members(const AdminUnit& unit, const std::vector<std::size_t>& cells);

    // ---- locations, areas, widths; order

    [[nodiscard]] std::optional<double> defect_width(const GEOSGeometry* g, double area) const;
    void finish();

    const Grid& m_grid;
    const ValidateOptions& m_opt;
    geo::GeosContext m_ctx;
    ValidationReport m_report;
    std::vector<CellGeometry> m_cells;
    std::vector<geo::GeosGeometry> m_geos; // built on demand from the cells' parts
    std::vector<std::pair<std::size_t, std::string>> m_duplicates, m_bad_codes;
    std::unique_ptr<geo::Transformer> m_metric;
    std::unique_ptr<LocalScale> m_scale;
    std::vector<std::pair<Box, std::uint32_t>> m_edge_candidates;
    std::vector<std::uint64_t> m_pair_seed;
    std::vector<Box> m_boxes;
    std::unique_ptr<BoxIndex> m_index;
    std::unordered_set<std::uint64_t> m_tested;
    std::vector<Segment> m_segments;      // every edge of every usable cell
    std::vector<std::uint32_t> m_partner; // per edge: the cell sharing it cleanly, if any
    std::vector<std::pair<Point, Point>> m_single_edges;
    std::vector<std::uint32_t> m_single_owner; // the cell of each single edge
    bool m_tangled = false; // some edge occurs more than twice, or twice the same way
    double m_overlap_planar = 0;
    double m_planar_tolerance = 0;
};

} // namespace wangge::grid::detail
