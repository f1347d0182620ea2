#!/usr/bin/env python3
"""Benchmarks of `wangge serve` on loopback (bounded runs), on the Jishan sample:
  1. cached tile requests: wrk, 2 threads, 64 connections, over tiles already in the cache;
  2. an uncached overlay tile (drawn alone), median over distinct ones at z16 and z14;
  3. 500 idle /events clients connected while (1) runs again;
  4. write -> event: from sending a report to its change event on the stream;
  5. write -> browser pixels: the page in headless chromium (bench/serve/pixels.mjs), from
     sending a report to the screen showing its cell overdue.
Targets from issue 13: >= 10,000 cached req/s with p99 < 5 ms; uncached overlay p50 < 15 ms;
the cached figure held with 500 idle clients; write -> event < 100 ms; write -> pixels < 1 s.
The issue names no peer program for the server; the figures are against those targets.
usage: run.py WANGGE WORKSPACE [--seconds N] [--quick: cache z12 only] [--no-browser]"""
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

wangge, ws = sys.argv[1], sys.argv[2]
zooms = (12,) if "--quick" in sys.argv else (12, 13)
seconds = int(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 8
tmp = tempfile.mkdtemp(prefix="wangge-bench-serve-")
token_file = os.path.join(tmp, "token")
with open(token_file, "w") as f:
    f.write("bench\n")
web = os.path.join(os.path.dirname(os.path.dirname(wangge)), "web")
srv = subprocess.Popen([wangge, "serve", ws, "--listen", "127.0.0.1:0", "--now", "2026-04-01T09:30",
                        "--token-file", token_file, "--web-root", web, "--threads", "2"],
                       stdout=subprocess.PIPE, text=True)
port = int(re.search(r"127\.0\.0\.1:(\d+)", srv.stdout.readline()).group(1))
base = f"http://127.0.0.1:{port}"


def get(path):
    t = time.perf_counter()
    with urllib.request.urlopen(base + path, timeout=60) as r:
        r.read()
    return time.perf_counter() - t


def tile(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def wrk(paths, label):
    lua = os.path.join(tmp, "paths.lua")
    with open(lua, "w") as f:
        f.write("paths = {" + ",".join(f'"{p}"' for p in paths) + "}\ni = 0\n"
                "request = function() i = i % #paths + 1; return wrk.format('GET', paths[i]) end\n")
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", lua, base],
                         capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = float(p99.group(1)) * {"us": 1e-3, "ms": 1, "s": 1e3}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(f"{label}: {rps:,.0f} req/s, p99 {p99_ms:.2f} ms" + (f", {errors.group(1)} errors" if errors else ""))
    return rps, p99_ms


try:
    tj = json.loads(urllib.request.urlopen(base + "/tiles/overlay.json").read())
    minx, miny, maxx, maxy = tj["bounds"]
    # 1. Cached tiles: the county at z12 and z13, both layers, drawn once to fill the cache
    # (this takes a while: every metatile of both layers is drawn once).
    paths = []
    for z in zooms:
        x0, y0 = tile(minx, maxy, z)
        x1, y1 = tile(maxx, miny, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                paths += [f"/tiles/overlay/{z}/{x}/{y}.png", f"/tiles/imagery/{z}/{x}/{y}.jpg"]
    for p in paths:
        get(p)
    print(f"cache filled with {len(paths)} tiles", flush=True)
    rps, p99 = wrk(paths, "cached tiles")

    # 2. Uncached overlay: distinct tiles across the county (none asked for before).
    for z in (16, 14):
        times = []
        for i in range(24):
            lon = minx + (maxx - minx) * (0.1 + 0.8 * (i % 6) / 5)
            lat = miny + (maxy - miny) * (0.2 + 0.6 * (i // 6) / 3)
            x, y = tile(lon, lat, z)
            times.append(get(f"/tiles/overlay/{z}/{x}/{y}.png") * 1e3)
        print(f"uncached overlay tile (z{z}): p50 {statistics.median(times):.1f} ms, "
              f"max {max(times):.1f} ms over {len(times)}")

    # 3. 500 idle event-stream clients, then the cached figure again.
    idle = []
    for _ in range(500):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /events HTTP/1.1\r\nHost: b\r\n\r\n")
        idle.append(s)
    time.sleep(1)
    clients = json.loads(urllib.request.urlopen(base + "/api/health").read())["event_clients"]
    print(f"idle /events clients connected: {clients}")
    wrk(paths, "cached tiles with 500 idle /events clients")

    # 4. Write -> event on the stream.
    ev = socket.create_connection(("127.0.0.1", port), timeout=30)
    ev.sendall(b"GET /events HTTP/1.1\r\nHost: b\r\n\r\n")
    buf = b""
    lat_ms, ack_ms = [], []
    for i in range(15):
        body = json.dumps({"category": "0101", "lon": minx + (maxx - minx) * (0.3 + 0.02 * i),
                           "lat": (miny + maxy) / 2, "note": "bench"}).encode()
        req = urllib.request.Request(base + "/api/matters", data=body, method="POST",
                                     headers={"Authorization": "Bearer bench", "Content-Type": "application/json"})
        t0 = time.perf_counter()
        mid = json.loads(urllib.request.urlopen(req).read())["id"]
        ack_ms.append((time.perf_counter() - t0) * 1e3)
        while f'"id":{mid},'.encode() not in buf:
            buf += ev.recv(65536)
        lat_ms.append((time.perf_counter() - t0) * 1e3)
        buf = b""
        time.sleep(0.2)
    print(f"write acknowledged: p50 {statistics.median(ack_ms):.0f} ms; write -> event: p50 "
          f"{statistics.median(lat_ms):.0f} ms, max {max(lat_ms):.0f} ms over {len(lat_ms)}")
    for s in idle:
        s.close()
    ev.close()

    # 5. Write -> browser pixels.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    modules = os.path.join(root, "apps", "web", "node_modules")
    if "--no-browser" in sys.argv or not os.path.exists("/usr/bin/chromium") or not os.path.isdir(modules):
        print("write -> browser pixels: not measured (--no-browser, or no chromium / apps/web/node_modules)")
    else:
        out = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "pixels.mjs"),
                              base, "bench", os.path.join(root, "styles"), modules, "5"],
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            print("write -> browser pixels: failed: " + (out.stderr.strip().splitlines() or ["?"])[-1])
        else:
            px = json.loads(out.stdout.strip().splitlines()[-1])
            med = lambda k: statistics.median([v for v in px[k] if v is not None] or [float("nan")])
            print(f"write -> browser pixels (the cell overdue in the page's overlay): p50 {med('ms'):.0f} ms, "
                  f"max {max(px['ms'])} ms over {len(px['ms'])} (p50s in the page: acknowledged "
                  f"{med('ack_ms'):.0f} ms, event applied {med('event_ms'):.0f} ms, a refetched tile in "
                  f"{med('tile_ms'):.0f} ms)")
finally:
    srv.terminate()
    srv.wait(timeout=30)
