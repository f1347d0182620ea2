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


if __name__ == "__main__":
    unittest.main(verbosity=2)
