// The workspace: one GeoPackage file, opened through GDAL/OGR, that holds a versioned grid.
//
// Tables (all in the one file):
//   wangge_meta      key/value settings (format, county code, metric CRS, generated notice)
//   grid_versions    one row per grid version: id, created_at, note, source, parent, report
//   admin_units      county, townships, villages of every version (MultiPolygon, EPSG:4326)
//   cells            grid cells of every version (MultiPolygon, EPSG:4326)
//   imagery          rasters registered for rendering (path relative to the workspace)
// Nothing is overwritten when a new grid version comes: rows carry their version and one
// version is current. Every write is one transaction: it lands whole or not at all.
#pragma once

#include "wangge/geo/gdal.hpp"
#include "wangge/store/grid_values.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wangge::store {

struct VersionInfo {
    int id = 0;
    std::string created_at; // ISO 8601 UTC
    std::string note;
    std::string source;
    std::optional<int> parent;
    std::string validation_report; // JSON text, "" when none was stored
    bool current = false;
    // Redrawing (redraw/): "draft" for a version being edited, "published" once made current
    // by a publish; "" for versions added whole (imports), which are published on arrival.
    std::string state;
    std::string effective_from; // local "YYYY-MM-DDTHH:MM" from which it holds; "" = always
    std::string published_at;   // UTC ISO 8601 of the publish
    std::string author;         // who made the draft or import ("" when unknown)
    [[nodiscard]] bool draft() const noexcept { return state == "draft"; }
};

struct NewVersion {
    Grid grid;
    std::string note;
    std::string source;
    std::string validation_report;
    // Recorded as created_at; "" means now.
    std::string created_at;
    std::string author;
};

// The rows of a draft that one edit changes (redraw/): cells and units are replaced by code.
struct DraftUpdate {
    std::vector<std::string> removed_cells; // codes whose rows go
    std::vector<Cell> cells;                // new or changed cells (same code: replaced)
    std::vector<std::string> removed_units;
    std::vector<AdminUnit> units;  // new or changed units (same code: replaced)
    std::string validation_report; // the draft's report after the edit (JSON)
};

struct ImageryInfo {
    std::string name;
    std::string path; // as registered (relative to the workspace file's folder when inside it)
    std::string attribution;
    bool generated = false;
};

class Workspace {
  public:
    // Creates a new workspace file; throws InputError if the file exists.
    static Workspace create(const std::string& path);
    // Opens an existing workspace; throws InputError if it is missing or not a workspace.
    static Workspace open(const std::string& path, bool update = false);

    [[nodiscard]] const std::string& path() const noexcept { return m_ds.path(); }
    [[nodiscard]] const geo::Dataset& dataset() const noexcept { return m_ds; }

    // Settings in wangge_meta.
    [[nodiscard]] std::optional<std::string> meta(const std::string& key) const;
    void set_meta(const std::string& key, const std::string& value);

    // Adds the grid as a new version (parent: the current one) and makes it current.
    // Returns its id. One transaction.
    int add_version(const NewVersion& version);
    // Makes an existing version current.
    void set_current(int version);

    // Drafts: a version stored with state "draft" that is not current (redraw/). Publishing
    // one (state, effective time, current version) is redraw::publish, which also moves the
    // loop's matters and duties in the same transaction.
    // Adds a draft whose parent is `parent`; returns its id. One transaction.
    int add_draft(const NewVersion& version, int parent);
    // Applies one edit to a draft in one transaction; InputError when `version` is no draft.
    void update_draft(int version, const DraftUpdate& update);
    // The newest draft, if any.
    [[nodiscard]] std::optional<int> latest_draft() const;
    // The published version in force at a local time "YYYY-MM-DDTHH:MM" (the latest whose
    // effective_from is not after it; versions without one hold from the start).
    [[nodiscard]] int version_at(const std::string& local_time) const;

    [[nodiscard]] std::optional<int> current_version() const;
    [[nodiscard]] std::vector<VersionInfo> versions() const;
    [[nodiscard]] VersionInfo version(int id) const;
    // The grid of a version (the current one when nullopt). Throws InputError if none.
    [[nodiscard]] Grid grid(std::optional<int> version = std::nullopt) const;
    [[nodiscard]] int resolve_version(std::optional<int> version) const;
    // The names of every unit of every version by code (the newest wins); geometry is not read.
    [[nodiscard]] std::map<std::string, std::string> unit_names() const;

    // The projected CRS areas and lengths are measured in (wangge_meta "metric_crs"); chosen
    // from the data at the first import unless set.
    [[nodiscard]] std::string metric_crs() const;

    void register_imagery(const ImageryInfo& info);
    [[nodiscard]] std::vector<ImageryInfo> imagery() const;

  private:
    explicit Workspace(geo::Dataset ds) : m_ds(std::move(ds)) {}
    void create_schema();
    // Adds the redraw fields (state, effective_from, published_at, author) to grid_versions
    // of a workspace written before they existed.
    void ensure_version_fields();
    int insert_version(const NewVersion& version, std::optional<int> parent, bool draft);
    geo::Dataset m_ds;
};

// Writes the cells of a grid to any OGR format chosen by the file extension (one layer,
// "cells"). Refuses an existing output; a failure leaves nothing behind.
void export_grid(const Grid& grid, const std::string& out_path, int version);

} // namespace wangge::store
