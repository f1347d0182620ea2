"""Kill test: SIGKILL `wangge serve` while reports and moves are in flight, restart it, and
check that every acknowledged write is there and nothing is half-written (each matter's
state is the last state of its journal; SQLite's integrity check passes)."""
import os
import signal
import sqlite3
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import support  # noqa: E402
from support import TOKEN  # noqa: E402


class ServeKill(unittest.TestCase):
    def test_sigkill_keeps_every_acknowledged_write(self):
        d = support.fresh_dir("serve_kill")
        ws = support.make_workspace(d, reports=False)
        srv = support.Server(ws, d)
        acked_reports, acked_moves = set(), {}
        lock = threading.Lock()
        stop = threading.Event()
        enough = threading.Event()

        def writer(k):
            i = 0
            while not stop.is_set():
                mid = 10000 * (k + 1) + i
                i += 1
                try:
                    status, _, _ = srv.request("POST", "/api/matters", {
                        "id": mid, "category": "0101", "lon": 110.952 + 0.002 * k + 0.00001 * (i % 50),
                        "lat": 35.611 + 0.0001 * (i % 100), "at": "2026-03-02T11:00"}, token=TOKEN)
                except OSError:
                    return  # the server is gone
                if status != 201:
                    continue
                with lock:
                    acked_reports.add(mid)
                try:
                    status, _, _ = srv.request("POST", f"/api/matters/{mid}/advance",
                                               {"to": "filed", "at": "2026-03-02T11:05"}, token=TOKEN)
                except OSError:
                    return
                if status == 200:
                    with lock:
                        acked_moves[mid] = "filed"
                        if len(acked_moves) >= 40:
                            enough.set()

        threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        self.assertTrue(enough.wait(120), "the writers made no progress")
        srv.proc.send_signal(signal.SIGKILL)  # while the writers keep writing
        srv.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        srv.stop()

        # Nothing half-written, straight from the file.
        db = sqlite3.connect(ws)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        rows = dict(db.execute("SELECT fid, state FROM loop_incidents").fetchall())
        last = {}
        for inc, to in db.execute("SELECT incident, to_state FROM loop_journal ORDER BY fid"):
            last[inc] = to
        db.close()
        for mid, state in rows.items():
            self.assertEqual(state, last.get(mid, "reported"), f"matter {mid}")
        self.assertTrue(set(last) <= set(rows), "journal lines without their matter")

        # Restarted, the server sees every acknowledged write.
        again = support.Server(ws, d)
        try:
            for mid in acked_reports:
                status, _, _ = again.request("GET", f"/api/matters/{mid}")
                self.assertEqual(status, 200, f"acknowledged report {mid} is missing")
            for mid in acked_moves:
                self.assertEqual(again.get_json(f"/api/matters/{mid}")["properties"]["state"], "filed", mid)
            self.assertGreaterEqual(len(acked_moves), 40)
        finally:
            self.assertEqual(again.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
