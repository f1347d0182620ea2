"""The server at a past time after a redraw: `?at=` before a publish's effective time answers
with the grid version in force then (its cells, its tiles), as `render --at` and
`tiles export --at` do."""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import support  # noqa: E402

TILE = "/tiles/overlay/14/13242/6454.png"  # holds the boundary of 0001 and 0002
BEFORE = "2026-03-02T09:30"  # matter 102 (09:05) is open in cell 14082410020002


class ServeAtBeforeAPublish(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = support.fresh_dir("serve_redraw_at")
        cls.ws = support.make_workspace(cls.dir)
        # The same workspace, never redrawn: what the server drew at BEFORE.
        cls.unpublished = os.path.join(cls.dir, "unpublished.gpkg")
        shutil.copy(cls.ws, cls.unpublished)
        support.run("grid", "draft", cls.ws)
        support.run("grid", "merge", cls.ws, "14082410020001", "14082410020002")
        support.run("grid", "publish", cls.ws, "--effective", "2026-03-02T10:00", "--force")
        cls.srv = support.Server(cls.ws, cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_cells_at_a_past_time_are_the_old_version(self):
        now = self.srv.get_json("/api/cells?geometry=0")
        self.assertEqual(sorted(f["id"] for f in now["features"]),
                         ["14082410020001", "14082410020101", "14082410020102"])
        past = self.srv.get_json(f"/api/cells?at={BEFORE}&geometry=0")
        status = {f["id"]: f["properties"]["status"] for f in past["features"]}
        self.assertEqual(sorted(status), ["14082410020001", "14082410020002", "14082410020101",
                                          "14082410020102"])
        self.assertNotEqual(status["14082410020002"], "none")  # it holds matter 102 then
        self.assertEqual(self.srv.get_json(f"/api/cells/14082410020002?at={BEFORE}")["code"],
                         "14082410020002")
        self.srv.get_json("/api/cells/14082410020002", expect=404)

    def test_tiles_at_a_past_time_draw_the_old_version(self):
        status, _, past = self.srv.request("GET", f"{TILE}?at={BEFORE}")
        self.assertEqual(status, 200)
        old = support.Server(self.unpublished, support.fresh_dir("serve_redraw_at_old"))
        try:
            status, _, expected = old.request("GET", f"{TILE}?at={BEFORE}")
        finally:
            old.stop()
        self.assertEqual(status, 200)
        self.assertEqual(past, expected)  # byte for byte: same grid, same status

    def test_matters_at_a_past_time_are_in_their_old_cells(self):
        # The publish moved 102 into the merged 14082410020001; at BEFORE it was in 0002.
        now = self.srv.get_json("/api/matters/102")["properties"]
        self.assertEqual((now["cell"], now["grid_version"]), ("14082410020001", 2))
        then = self.srv.get_json(f"/api/matters/102?at={BEFORE}")["properties"]
        self.assertEqual((then["cell"], then["grid_version"]), ("14082410020002", 1))
        listed = self.srv.get_json(f"/api/matters?at={BEFORE}&cell=14082410020002")
        self.assertEqual([f["id"] for f in listed["features"]], [102])
        self.assertEqual(listed["features"][0]["properties"]["cell"], "14082410020002")
        self.assertEqual(self.srv.get_json(f"/api/matters?at={BEFORE}&cell=14082410020001")
                         ["total"], 1)  # 101 only
        everything = self.srv.get_json(f"/api/matters?at={BEFORE}")
        self.assertEqual({f["id"]: f["properties"]["cell"] for f in everything["features"]},
                         {101: "14082410020001", 102: "14082410020002", 103: "14082410020101"})
        detail = self.srv.get_json(f"/api/cells/14082410020002?at={BEFORE}")
        self.assertEqual([m["id"] for m in detail["open_matters"]], [102])
        self.assertEqual(detail["open_matters"][0]["cell"], "14082410020002")
        reminders = self.srv.get_json(f"/api/reminders?at={BEFORE}")["reminders"]
        self.assertEqual({m["id"]: m["cell"] for m in reminders},
                         {101: "14082410020001", 102: "14082410020002"})

    def test_a_click_at_a_past_time_finds_the_old_cell(self):
        where = "lon=110.9700&lat=35.6250"  # matter 102's point
        self.assertEqual(self.srv.get_json(f"/api/locate?{where}")["code"], "14082410020001")
        then = self.srv.get_json(f"/api/locate?{where}&at={BEFORE}")
        self.assertEqual(then["code"], "14082410020002")
        self.assertEqual([m["id"] for m in then["open_matters"]], [102])


class PublishWhileServing(unittest.TestCase):
    """Planners publish while the command centre watches: the server keeps the file's WAL
    (GDAL's opens in either process must not let the other delete it), sees the relocation,
    and serves the grid in force."""

    def test_publish_while_serving(self):
        d = support.fresh_dir("serve_publish_live")
        ws = support.make_workspace(d)
        srv = support.Server(ws, d)
        events = None
        try:
            self.assertEqual(srv.get_json("/api/matters/102")["properties"]["cell"],
                             "14082410020002")
            status, _, old_tile = srv.request("GET", TILE)  # drawn and cached: two cells
            self.assertEqual(status, 200)
            events = support.Events(srv.port)
            events.next("hello")
            # Commands that open the file through GDAL, then a redraw and its publish.
            support.run("grid", "info", ws)
            support.run("grid", "draft", ws)
            self.assertTrue(os.path.exists(ws + "-wal"), "the server's WAL was deleted")
            support.run("grid", "merge", ws, "14082410020001", "14082410020002")
            support.run("grid", "publish", ws, "--effective", "2026-03-02T10:00", "--force")
            self.assertTrue(os.path.exists(ws + "-wal"), "the server's WAL was deleted")
            # The page hears that another grid is in force, and reloads.
            _, _, grid = events.next("grid")
            self.assertEqual(grid["grid_version"], 2)
            self.assertEqual(srv.get_json("/api/matters/102")["properties"]["cell"],
                             "14082410020001")
            status, _, new_tile = srv.request("GET", TILE)
            self.assertEqual(status, 200)
            self.assertNotEqual(new_tile, old_tile)  # not the cached tile of the old grid
            cells = srv.get_json("/api/cells?geometry=0")
            self.assertEqual(sorted(f["id"] for f in cells["features"]),
                             ["14082410020001", "14082410020101", "14082410020102"])
            past = srv.get_json(f"/api/matters?at={BEFORE}&cell=14082410020002")
            self.assertEqual([f["id"] for f in past["features"]], [102])
        finally:
            if events:
                events.close()
            srv.stop()
        # The server leaves the file as it found it: one file, rollback journal.
        self.assertFalse(os.path.exists(ws + "-wal"))
        # The tile it drew after the publish is the one a server started afterwards draws.
        fresh = support.Server(ws, support.fresh_dir("serve_publish_live_fresh"))
        try:
            status, _, expected = fresh.request("GET", TILE)
        finally:
            fresh.stop()
        self.assertEqual(status, 200)
        self.assertEqual(new_tile, expected)


if __name__ == "__main__":
    unittest.main(verbosity=2)
