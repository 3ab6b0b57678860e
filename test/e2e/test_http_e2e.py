#!/usr/bin/env python3
"""End-to-end tests of `netdemo http-get` against Python's own http.server, run in
threads of this process on 127.0.0.1 port 0: file naming (index.html, no clobbering,
NAME.part), `-o -` byte for byte, `-I`, `--fail`, redirects to another port, errors.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_http_e2e.py
"""

import http.server
import os
import socket
import subprocess
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase  # noqa: E402

BINARY = bytes(range(256)) * 1000 + b"\r\n\x00end"


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from the server's directory, plus a few scripted paths."""

    redirect_to = ""  # set per server class

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        if self.path == "/go":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/short.bin":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()


class HttpGet(NetdemoTestCase):

    def start_server(self, root, redirect_to=""):
        handler = type("H", (Handler,), {"redirect_to": redirect_to})

        def make(*args, **kw):
            return handler(*args, directory=root, **kw)

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
        srv.daemon_threads = True
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv.server_address[1]

    def setUp(self):
        self.root = self.tempdir()
        self.cwd = self.tempdir()
        with open(os.path.join(self.root, "index.html"), "wb") as f:
            f.write(b"<html><body>hello index</body></html>\n")
        with open(os.path.join(self.root, "data.bin"), "wb") as f:
            f.write(BINARY)
        self.port = self.start_server(self.root)

    def http_get(self, *args, timeout=h.QUICK * 2):
        return subprocess.run([h.netdemo(), "http-get", *args], cwd=self.cwd, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=timeout,
                              preexec_fn=h._die_with_parent)

    def ok(self, *args):
        r = self.http_get(*args)
        self.assertEqual(r.returncode, 0, "exit %d; stdout=%r stderr=%r"
                         % (r.returncode, r.stdout[:500], r.stderr))
        return r

    def read(self, name):
        with open(os.path.join(self.cwd, name), "rb") as f:
            return f.read()

    def test_bare_host_saves_index_html(self):
        r = self.ok("127.0.0.1:%d" % self.port)
        self.assertTrue(r.stdout.startswith(b"HTTP/1.0 200 OK\r\n"), r.stdout)
        self.assertIn(b"Content-Length: 38\r\n", r.stdout)
        self.assertTrue(r.stdout.endswith(b"\r\n\r\n"), r.stdout)
        self.assertEqual(self.read("index.html"), b"<html><body>hello index</body></html>\n")
        self.assertIn(b"'index.html'", r.stderr)

    def test_never_clobbers(self):
        with open(os.path.join(self.cwd, "data.bin"), "wb") as f:
            f.write(b"mine")
        url = "http://127.0.0.1:%d/data.bin" % self.port
        r1 = self.ok(url)
        r2 = self.ok(url)
        self.assertEqual(self.read("data.bin"), b"mine")
        self.assertEqual(self.read("data.bin.1"), BINARY)
        self.assertEqual(self.read("data.bin.2"), BINARY)
        self.assertIn(b"'data.bin.1'", r1.stderr)
        self.assertIn(b"'data.bin.2'", r2.stderr)

    def test_output_dash_is_byte_exact(self):
        r = self.ok("-o", "-", "http://127.0.0.1:%d/data.bin" % self.port)
        self.assertEqual(r.stdout, BINARY)
        self.assertIn(b"200 OK", r.stderr)
        self.assertEqual(os.listdir(self.cwd), [])
        s = self.ok("-s", "-o", "-", "http://127.0.0.1:%d/data.bin" % self.port)
        self.assertEqual(s.stdout, BINARY)
        self.assertEqual(s.stderr, b"")
        i = self.ok("-i", "-o", "-", "http://127.0.0.1:%d/data.bin" % self.port)
        head, _, body = i.stdout.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.0 200 OK"))
        self.assertEqual(body, BINARY)

    def test_head(self):
        r = self.ok("-I", "http://127.0.0.1:%d/data.bin" % self.port)
        self.assertTrue(r.stdout.startswith(b"HTTP/1.0 200 OK\r\n"), r.stdout)
        self.assertIn(b"Content-Length: %d\r\n" % len(BINARY), r.stdout)
        self.assertEqual(os.listdir(self.cwd), [])

    def test_fail(self):
        r = self.http_get("--fail", "http://127.0.0.1:%d/missing.txt" % self.port)
        self.assertEqual(r.returncode, 22, r.stderr)
        self.assertEqual(os.listdir(self.cwd), [])
        self.assertIn(b"404", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = self.ok("http://127.0.0.1:%d/missing.txt" % self.port)
        self.assertTrue(r.stdout.startswith(b"HTTP/1.0 404"), r.stdout)

    def test_redirect_to_another_port(self):
        other = self.start_server(self.root, "")
        front = self.start_server(self.root, "http://127.0.0.1:%d/data.bin" % other)
        r = self.ok("-o", "-", "http://127.0.0.1:%d/go" % front)
        self.assertEqual(r.stdout, BINARY)
        r = self.http_get("--no-follow", "-o", "-", "http://127.0.0.1:%d/go" % front)
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"302", r.stderr)
        self.assertEqual(r.stdout, b"")

    def test_partial_body_kept(self):
        r = self.http_get("http://127.0.0.1:%d/short.bin" % self.port)
        self.assertEqual(r.returncode, 18, r.stderr)
        self.assertEqual(self.read("short.bin.part"), b"x" * 10)
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "short.bin")))
        self.assertIn(b"short.bin.part", r.stderr)

    def test_refused_and_usage(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        r = self.http_get("http://127.0.0.1:%d/" % port)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = self.http_get("ftp://127.0.0.1/")
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    h.main()
