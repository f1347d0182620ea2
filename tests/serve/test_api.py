"""API tests of `wangge serve` against a server on a free loopback port: every endpoint,
every error status, the token for writes, path traversal, oversized and malformed requests,
the event stream with Last-Event-ID, writes from another process, and SIGTERM draining."""
import json
import os
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import support  # noqa: E402
from support import TOKEN  # noqa: E402


def raw(port, data, read_timeout=10):
    """Sends bytes as they are and returns everything the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out


class ServeApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = support.fresh_dir("serve_api")
        cls.ws = support.make_workspace(cls.dir)
        cls.srv = support.Server(cls.ws, cls.dir)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    # ---- reads
    def test_health(self):
        h = self.srv.get_json("/api/health")
        self.assertTrue(h["ok"])
        self.assertEqual(h["now"], support.NOW)
        self.assertTrue(h["writable"])

    def test_palette_is_the_styles_parameters(self):
        pal = self.srv.get_json("/api/palette")
        params = os.path.join(os.path.dirname(__file__), "..", "..", "styles", "params.ent")
        with open(params, encoding="utf-8") as f:
            text = f.read()
        for name in ("on_time", "warning", "overdue"):
            self.assertIn('<!ENTITY %s "%s">' % (name, pal[name]), text)

    def test_cells(self):
        fc = self.srv.get_json("/api/cells")
        self.assertEqual(fc["type"], "FeatureCollection")
        codes = sorted(f["properties"]["code"] for f in fc["features"])
        self.assertEqual(codes, ["14082410020001", "14082410020002", "14082410020101", "14082410020102"])
        self.assertEqual(fc["features"][0]["geometry"]["type"], "MultiPolygon")
        # Every report is still waiting for dispatch at 12:00: 30 minutes are long gone.
        self.assertEqual({f["properties"]["status"] for f in fc["features"]}, {"overdue"})
        # Before any report, no cell has an open matter.
        early = self.srv.get_json("/api/cells?at=2026-03-02T08:00&geometry=0")
        self.assertEqual({f["properties"]["status"] for f in early["features"]}, {"none"})
        self.assertIsNone(early["features"][0]["geometry"])
        self.srv.get_json("/api/cells?at=yesterday", expect=400)

    def test_cell_detail(self):
        c = self.srv.get_json("/api/cells/14082410020101")
        self.assertEqual(c["township"], "140824100")
        self.assertEqual(sorted(m["id"] for m in c["open_matters"]), [103, 106])
        self.assertTrue(any(h["function"] == "F01" and h["department"] == "D01" for h in c["duty_holders"]))
        self.srv.get_json("/api/cells/99999999999999", expect=404)

    def test_units(self):
        fc = self.srv.get_json("/api/units")
        levels = sorted({f["properties"]["level"] for f in fc["features"]})
        self.assertIn("township", levels)
        self.assertIn("village", levels)

    def test_locate(self):
        c = self.srv.get_json("/api/locate?lon=110.9700&lat=35.6250")
        self.assertEqual(c["code"], "14082410020002")
        self.assertGreater(c["boundary_distance_m"], 0)
        self.srv.get_json("/api/locate?lon=100&lat=20", expect=404)
        self.srv.get_json("/api/locate?lon=abc&lat=35.6", expect=400)
        self.srv.get_json("/api/locate?lat=35.6", expect=400)

    def test_matters(self):
        fc = self.srv.get_json("/api/matters?status=open&township=140824100")
        ids = sorted(f["id"] for f in fc["features"] if f["id"] <= 106)
        self.assertEqual(ids, [101, 102, 103, 104, 105, 106])
        cell = self.srv.get_json("/api/matters?cell=14082410020002")
        self.assertEqual(sorted(f["id"] for f in cell["features"] if f["id"] <= 106), [102, 105])
        self.assertEqual(cell["features"][0]["geometry"]["type"], "Point")
        past = self.srv.get_json("/api/matters?at=2026-03-02T09:00")
        self.assertEqual([f["id"] for f in past["features"]], [101])
        # 101 came at 08:40 with 30 minutes to dispatch: 20 used at 09:00, 25 (over 80%) at 09:04.
        self.assertEqual(past["features"][0]["properties"]["status"], "on_time")
        self.assertEqual(self.srv.get_json("/api/matters/101?at=2026-03-02T09:04")["properties"]["status"], "warning")
        self.assertEqual(self.srv.get_json("/api/matters/101?at=2026-03-02T09:11")["properties"]["status"], "overdue")
        self.assertEqual(self.srv.get_json("/api/matters?status=reported&limit=2")["features"].__len__(), 2)
        refused = self.srv.get_json("/api/matters?status=sleeping", expect=400)
        self.assertIn("'supervised'", refused["error"])  # the command line's choices
        # The command line's "supervised" too (none of these matters is under supervision).
        self.assertEqual(self.srv.get_json("/api/matters?status=supervised")["total"], 0)
        self.srv.get_json("/api/matters?limit=-1", expect=400)

    def test_matter_with_journal(self):
        m = self.srv.get_json("/api/matters/103")["properties"]
        self.assertEqual(m["category"], "0401")
        self.assertEqual(m["cell"], "14082410020101")
        self.assertIn("filed", m["allowed_next"])
        self.assertIsInstance(m["journal"], list)
        self.srv.get_json("/api/matters/999999", expect=404)
        self.srv.get_json("/api/matters/abc", expect=404)

    def test_stats_summary_reminders(self):
        s = self.srv.get_json("/api/stats?by=township")
        self.assertEqual(s["rows"][0]["key"], "140824100")
        self.assertGreaterEqual(s["rows"][0]["total"], 6)
        self.srv.get_json("/api/stats?by=planet", expect=400)
        # The same numbers and shape as the command line's, departments judged on their steps.
        for by in ("township", "department"):
            served = self.srv.get_json(f"/api/stats?by={by}&at=2026-03-02T12:00")
            cli = json.loads(support.run("stats", self.ws, "--by", by, "--at", "2026-03-02T12:00",
                                         "--json"))
            self.assertEqual(served, cli)
        self.assertIn("step_on_time_rate", served["rows"][0])
        summary = self.srv.get_json("/api/summary?at=2026-03-02T12:00")
        self.assertEqual(summary["by_township"][0]["code"], "140824100")
        self.assertGreaterEqual(summary["overdue"], 6)
        rem = self.srv.get_json("/api/reminders?township=140824100&at=2026-03-02T12:00")["reminders"]
        self.assertEqual(sorted(r["id"] for r in rem if r["id"] <= 106), [101, 102, 103, 104, 105, 106])
        dues = [r["due"] for r in rem]
        self.assertEqual(dues, sorted(dues))

    def test_unknown_and_methods(self):
        self.assertEqual(self.srv.request("GET", "/api/nothing")[0], 404)
        self.assertEqual(self.srv.request("DELETE", "/api/matters/101")[0], 405)
        self.assertEqual(self.srv.request("PUT", "/api/matters")[0], 405)
        self.assertEqual(self.srv.request("GET", "/nothing.html")[0], 404)

    # ---- writes
    def test_report_needs_token(self):
        body = {"category": "0101", "lon": 110.956, "lat": 35.626}
        self.assertEqual(self.srv.request("POST", "/api/matters", body)[0], 401)
        self.assertEqual(self.srv.request("POST", "/api/matters", body, token="wrong")[0], 401)
        status, headers, out = self.srv.request("POST", "/api/matters", body, token=TOKEN)
        self.assertEqual(status, 201, out)
        f = json.loads(out)
        self.assertEqual(f["properties"]["cell"], "14082410020001")
        self.assertEqual(headers["Location"], f"/api/matters/{f['id']}")
        self.assertEqual(self.srv.get_json(headers["Location"])["id"], f["id"])

    def test_report_errors(self):
        post = lambda b: self.srv.request("POST", "/api/matters", b, token=TOKEN)
        self.assertEqual(post({"category": "9999", "lon": 110.956, "lat": 35.626})[0], 422)
        status, _, out = post({"category": "0101", "lon": 100.0, "lat": 20.0})
        self.assertEqual(status, 422)
        self.assertIn("outside every cell", json.loads(out)["error"])
        self.assertEqual(post({"category": "0101", "lon": 110.956, "lat": 35.626, "id": 101})[0], 409)
        self.assertEqual(post({"lon": 110.956, "lat": 35.626})[0], 400)
        self.assertEqual(post({"category": "0101", "lon": "east", "lat": 35.626})[0], 400)
        self.assertEqual(self.srv.request("POST", "/api/matters", b"{not json", token=TOKEN)[0], 400)
        self.assertEqual(self.srv.request("POST", "/api/matters", b"[1,2]", token=TOKEN)[0], 400)
        self.assertEqual(post({"category": "0101", "lon": 110.956, "lat": 35.626, "at": "soon"})[0], 400)

    def test_advance(self):
        status, _, out = self.srv.request("POST", "/api/matters", {"category": "0101", "lon": 110.971, "lat": 35.616, "at": "2026-03-02T11:50"}, token=TOKEN)
        self.assertEqual(status, 201, out)
        mid = json.loads(out)["id"]
        adv = lambda b, token=TOKEN: self.srv.request("POST", f"/api/matters/{mid}/advance", b, token=token)
        self.assertEqual(adv({"to": "filed"}, token=None)[0], 401)
        # reported -> closed is illegal: 409 with the allowed moves, nothing written.
        status, _, out = adv({"to": "closed", "at": "2026-03-02T11:55"})
        self.assertEqual(status, 409)
        self.assertEqual(sorted(json.loads(out)["allowed"]), ["filed", "rejected", "self_handled"])
        self.assertEqual(self.srv.get_json(f"/api/matters/{mid}")["properties"]["state"], "reported")
        status, _, out = adv({"to": "filed", "actor": "值班员", "at": "2026-03-02T11:56"})
        self.assertEqual(status, 200, out)
        self.assertEqual(json.loads(out)["properties"]["state"], "filed")
        status, _, out = adv({"to": "dispatched", "at": "2026-03-02T11:58"})
        self.assertEqual(status, 200, out)
        self.assertEqual(json.loads(out)["properties"]["department"], "D01")
        # returned needs a reason: a rule of the loop, 422.
        self.assertEqual(adv({"to": "returned", "at": "2026-03-02T11:59"})[0], 422)
        self.assertEqual(adv({"to": "teleported"})[0], 400)
        self.assertEqual(adv({})[0], 400)
        self.assertEqual(self.srv.request("POST", "/api/matters/424242/advance", {"to": "filed"}, token=TOKEN)[0], 400)
        j = self.srv.get_json(f"/api/matters/{mid}")["properties"]["journal"]
        self.assertEqual([e["to"] for e in j], ["filed", "dispatched"])

    # ---- Open311
    def test_open311(self):
        services = self.srv.get_json("/open311/v2/services.json")
        s = next(x for x in services if x["service_code"] == "0101")
        self.assertEqual(s["service_name"], "道路不洁")
        self.assertEqual(s["type"], "realtime")
        reqs = self.srv.get_json("/open311/v2/requests.json?service_request_id=101,102")
        self.assertEqual(sorted(r["service_request_id"] for r in reqs), ["101", "102"])
        self.assertEqual(reqs[0]["status"], "open")
        form = urllib.parse.urlencode({"service_code": "0102", "lat": "35.6152", "long": "110.9551",
                                       "description": "路边暴露垃圾", "first_name": "市民"}).encode()
        ctype = {"Content-Type": "application/x-www-form-urlencoded"}
        self.assertEqual(self.srv.request("POST", "/open311/v2/requests.json", form, ctype)[0], 401)
        status, _, out = self.srv.request("POST", "/open311/v2/requests.json", form + b"&api_key=" + TOKEN.encode(), ctype)
        self.assertEqual(status, 201, out)
        rid = json.loads(out)[0]["service_request_id"]
        one = self.srv.get_json(f"/open311/v2/requests/{rid}.json")
        self.assertEqual(one[0]["service_code"], "0102")
        self.assertEqual(one[0]["description"], "路边暴露垃圾")
        self.assertTrue(one[0]["address_id"].startswith("1408241002010"))
        bad = urllib.parse.urlencode({"service_code": "0102", "api_key": TOKEN}).encode()
        self.assertEqual(self.srv.request("POST", "/open311/v2/requests.json", bad, ctype)[0], 400)
        self.assertEqual(self.srv.request("GET", "/open311/v2/services.xml")[0], 400)
        self.assertEqual(self.srv.request("GET", "/open311/v2/requests/777777.json")[0], 404)
        self.assertEqual(self.srv.request("GET", "/open311/v2/requests.json?status=maybe")[0], 400)
        closed = self.srv.get_json("/open311/v2/requests.json?status=closed")
        self.assertEqual(closed, [])

    # ---- tiles
    def test_tiles(self):
        tj = self.srv.get_json("/tiles/overlay.json")
        self.assertEqual(tj["tilejson"], "3.0.0")
        self.assertTrue(tj["tiles"][0].endswith("/tiles/overlay/{z}/{x}/{y}.png"))
        self.assertAlmostEqual(tj["bounds"][0], 110.9512, places=3)
        self.assertEqual(self.srv.get_json("/tiles/imagery.json")["scheme"], "xyz")
        # The tile over the grid at z14.
        status, headers, png = self.srv.request("GET", "/tiles/overlay/14/13241/6517.png")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "image/png")
        self.assertTrue(png.startswith(b"\x89PNG"))
        self.assertEqual(headers["Cache-Control"], "no-cache")
        etag = headers["ETag"]
        status, headers2, body = self.srv.request("GET", "/tiles/overlay/14/13241/6517.png", headers={"If-None-Match": etag})
        self.assertEqual(status, 304)
        self.assertEqual(body, b"")
        status, headers, jpg = self.srv.request("GET", "/tiles/imagery/14/13241/6517.jpg")
        self.assertEqual(status, 200)
        self.assertTrue(jpg.startswith(b"\xff\xd8"))
        self.assertIn("max-age", headers["Cache-Control"])
        # A past moment is drawn for the request.
        self.assertEqual(self.srv.request("GET", "/tiles/overlay/14/13241/6517.png?at=2026-03-02T08:00")[0], 200)
        self.assertEqual(self.srv.request("GET", "/tiles/overlay/14/13241/6517.png?at=never")[0], 400)
        for bad, code in [("/tiles/overlay/14/13241/6517.jpg", 404), ("/tiles/imagery/14/13241/6517.png", 404),
                          ("/tiles/overlay/14/99999/6517.png", 404), ("/tiles/overlay/3/1/1.png", 404),
                          ("/tiles/overlay/14/x/6517.png", 400), ("/tiles/satellite/14/1/1.png", 404),
                          ("/tiles/overlay/14/1.png", 404), ("/tiles/nothing.json", 404)]:
            self.assertEqual(self.srv.request("GET", bad)[0], code, bad)
        self.assertEqual(self.srv.request("POST", "/tiles/overlay/14/13241/6517.png", b"x")[0], 405)

    # ---- the page and paths
    def test_page(self):
        status, headers, body = self.srv.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn(b"<html", body)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        self.assertEqual(self.srv.request("GET", "/", headers={"If-None-Match": headers["ETag"]})[0], 304)
        status, headers, _ = self.srv.request("GET", "/app.js")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/javascript"))

    def test_path_traversal(self):
        for target in ["/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/tiles/../../etc/passwd",
                       "/..%2f..%2fetc%2fpasswd", "/static/..\\..\\etc\\passwd", "/tiles/overlay/../../../etc/passwd"]:
            out = raw(self.srv.port, f"GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            self.assertRegex(out.split(b"\r\n")[0], rb"HTTP/1.1 40[04]", target)
            self.assertNotIn(b"root:", out, target)
        out = raw(self.srv.port, b"GET /%00 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:40])
        out = raw(self.srv.port, b"GET /%zz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:40])

    def test_limits_and_malformed(self):
        big = json.dumps({"category": "0101", "lon": 110.956, "lat": 35.626, "note": "x" * 100000}).encode()
        self.assertEqual(self.srv.request("POST", "/api/matters", big, token=TOKEN)[0], 413)
        out = raw(self.srv.port, b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431"), out[:40])
        many = b"".join(b"X-F%d: 1\r\n" % i for i in range(100))
        out = raw(self.srv.port, b"GET / HTTP/1.1\r\nHost: t\r\n" + many + b"Connection: close\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431"), out[:40])
        for junk in [b"HELLO\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"\x00\x01\x02\r\n\r\n",
                     b"POST /api/matters HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                     b"GET nothing HTTP/1.1\r\nHost: t\r\n\r\n"]:
            out = raw(self.srv.port, junk)
            self.assertTrue(out.startswith(b"HTTP/1.1 400"), (junk, out[:60]))
        # Still alive and answering.
        self.assertTrue(self.srv.get_json("/api/health")["ok"])

    def test_slow_client_does_not_stall_others(self):
        # A client that sends half a request and waits holds a socket, not a thread.
        slow = [socket.create_connection(("127.0.0.1", self.srv.port)) for _ in range(20)]
        for s in slow:
            s.sendall(b"GET /api/health HTTP/1.1\r\nHost: t\r\n")
        try:
            for _ in range(5):
                self.assertTrue(self.srv.get_json("/api/health")["ok"])
        finally:
            for s in slow:
                s.close()

    # ---- events
    def test_events_and_resume(self):
        ev = support.Events(self.srv.port)
        _, kind, hello = ev.next()
        self.assertEqual(kind, "hello")
        status, _, out = self.srv.request("POST", "/api/matters", {"category": "0103", "lon": 110.972, "lat": 35.6105, "at": "2026-03-02T11:59"}, token=TOKEN)
        self.assertEqual(status, 201)
        mid = json.loads(out)["id"]
        eid, kind, data = ev.next("change")
        while mid not in [m["id"] for m in data["matters"]]:
            eid, kind, data = ev.next("change")
        m = next(m for m in data["matters"] if m["id"] == mid)
        self.assertEqual(m["cell"], "14082410020102")
        self.assertTrue(m["open"])
        self.assertTrue(any(t.startswith("14/") for t in data["tiles"]), data["tiles"])
        # The same stream gets the next write's event too (a subscriber stays subscribed
        # after an event).
        status, _, out = self.srv.request("POST", "/api/matters", {"category": "0103", "lon": 110.972, "lat": 35.6105, "at": "2026-03-02T11:59"}, token=TOKEN)
        self.assertEqual(status, 201)
        mid2 = json.loads(out)["id"]
        _, _, data2 = ev.next("change")
        while mid2 not in [m["id"] for m in data2["matters"]]:
            _, _, data2 = ev.next("change")
        self.assertGreaterEqual(self.srv.get_json("/api/health")["event_clients"], 1)
        ev.close()
        # Resuming after the event before it replays it: nothing is lost.
        again = support.Events(self.srv.port, last_id=int(eid) - 1)
        self.assertEqual(again.next()[1], "hello")
        rid, kind, rdata = again.next("change")
        self.assertEqual((rid, rdata), (eid, data))
        again.close()
        # An id this server never gave: the client is told to reload.
        reset = support.Events(self.srv.port, last_id=10 ** 9)
        self.assertEqual(reset.next()[1], "hello")
        self.assertEqual(reset.next()[1], "reset")
        reset.close()

    def test_write_by_another_process_is_seen(self):
        ev = support.Events(self.srv.port)
        ev.next("hello")
        out = support.run("incidents", "report", self.ws, "--category", "0101", "--lon", "110.9575",
                          "--lat", "35.6110", "--at", "2026-03-02T11:59", "--id", "5001")
        self.assertIn("reported incident 5001", out)
        while True:
            _, _, data = ev.next("change")
            if 5001 in [m["id"] for m in data["matters"]]:
                break
        ev.close()
        self.assertEqual(self.srv.get_json("/api/matters/5001")["properties"]["cell"], "14082410020101")


class ServeReadOnly(unittest.TestCase):
    def test_read_only_and_sigterm(self):
        d = support.fresh_dir("serve_readonly")
        ws = support.make_workspace(d)
        cache = os.path.join(d, "tile-cache")
        srv = support.Server(ws, d, token=False, extra=("--cache-dir", cache))
        try:
            self.assertFalse(srv.get_json("/api/health")["writable"])
            # Imagery tiles are kept on disk under --cache-dir, byte for byte as served.
            status, _, jpg = srv.request("GET", "/tiles/imagery/14/13241/6517.jpg")
            self.assertEqual(status, 200)
            with open(os.path.join(cache, "imagery", "14", "13241", "6517.jpg"), "rb") as f:
                self.assertEqual(f.read(), jpg)
            status, _, out = srv.request("POST", "/api/matters", {"category": "0101", "lon": 110.956, "lat": 35.626}, token=TOKEN)
            self.assertEqual(status, 403)
            self.assertEqual(srv.request("POST", "/api/matters/101/advance", {"to": "filed"}, token=TOKEN)[0], 403)
            ev = support.Events(srv.port)
            ev.next("hello")
        finally:
            # SIGTERM drains: event streams are closed, the process exits 0.
            self.assertEqual(srv.stop(), 0)
        with self.assertRaises(EOFError):
            ev.next("change")
        self.assertEqual(len(support.run("incidents", "list", ws).strip().splitlines()), 7)

    def test_bad_options(self):
        d = support.fresh_dir("serve_badopts")
        r = subprocess.run([support.WANGGE, "serve", os.path.join(d, "missing.gpkg"), "--listen", "127.0.0.1:0"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        ws = support.make_workspace(d, reports=False)
        r = subprocess.run([support.WANGGE, "serve", ws, "--listen", "nowhere", "--web-root", support.WEB], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--listen", r.stderr)
        r = subprocess.run([support.WANGGE, "serve", ws, "--token-file", os.path.join(d, "nope")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("token file", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
