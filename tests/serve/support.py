"""Shared by the server tests: a small loop workspace built with the wangge command, and a
`wangge serve` started on a free loopback port and stopped by the test."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

WANGGE = os.environ["WANGGE"]
DATA = os.environ["WANGGE_TEST_DATA"]
CATALOGUE = os.environ["WANGGE_CATALOGUE_DIR"]
WEB = os.environ["WANGGE_WEB_ROOT"]
TOKEN = "test-token-3f9a"
# After the last of the tiny grid's reports (tests/data/loop_reports.csv, 2026-03-02).
NOW = "2026-03-02T12:00"


def fresh_dir(name):
    d = os.path.join(os.environ.get("WANGGE_TEST_TMP", "/tmp/wangge-test"), name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def run(*args):
    r = subprocess.run([WANGGE, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"wangge {' '.join(args)} failed: {r.stderr}")
    return r.stdout


def make_workspace(d, reports=True):
    """The 4-cell tiny grid with the sample catalogue, duties and six reports."""
    ws = os.path.join(d, "ws.gpkg")
    run("grid", "import", os.path.join(DATA, "tiny_grid.geojson"), "--workspace", ws)
    run("catalogue", "import", ws, CATALOGUE)
    run("duties", "import", ws, os.path.join(DATA, "loop_duties_tiny.csv"))
    if reports:
        run("incidents", "import", ws, os.path.join(DATA, "loop_reports.csv"), "--at", NOW)
    return ws


class Server:
    def __init__(self, ws, d, token=True, extra=()):
        self.args = [WANGGE, "serve", ws, "--listen", "127.0.0.1:0", "--web-root", WEB, "--now", NOW,
                     "--threads", "2", *extra]
        if token:
            tf = os.path.join(d, "token")
            with open(tf, "w") as f:
                f.write(TOKEN + "\n")
            self.args += ["--token-file", tf]
        self.log = open(os.path.join(d, "serve.log"), "w+")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if "http://" not in line:
            self.proc.kill()
            self.log.seek(0)
            raise AssertionError("server did not start: " + line + self.log.read())
        self.port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        return self.proc.returncode

    def request(self, method, path, body=None, headers=None, token=None):
        data = None
        h = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def get_json(self, path, expect=200):
        status, _, body = self.request("GET", path)
        assert status == expect, f"GET {path}: {status} {body[:300]!r}"
        return json.loads(body)


class Events:
    """A raw event-stream client: parses SSE frames."""

    def __init__(self, port, last_id=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        h = "GET /events HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n"
        if last_id is not None:
            h += f"Last-Event-ID: {last_id}\r\n"
        self.sock.sendall((h + "\r\n").encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        assert b"200 OK" in head and b"text/event-stream" in head, head

    def _until(self, sep):
        while sep not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("stream closed")
            self.buf += chunk
        i = self.buf.index(sep)
        part, self.buf = self.buf[:i], self.buf[i + len(sep):]
        return part

    def next(self, type_=None):
        """The next event (of type_ when given): (id, type, data)."""
        while True:
            frame = self._until(b"\n\n").decode()
            fields = {}
            for line in frame.split("\n"):
                if line.startswith(":") or ":" not in line:
                    continue
                k, v = line.split(":", 1)
                fields[k] = v[1:] if v.startswith(" ") else v
            if "event" not in fields:
                continue
            if type_ and fields["event"] != type_:
                continue
            return fields.get("id"), fields["event"], json.loads(fields["data"])

    def close(self):
        self.sock.close()
