#!/usr/bin/env python3
"""End-to-end tests of `netdemo http-get` against Python's own http.server, run in
threads of this process on 127.0.0.1 port 0: file naming (index.html, no clobbering,
NAME.part), `-o -` byte for byte, `-I`, `--fail`, redirects to another port, errors,
`--compressed`, and the progress line on a terminal (a pty) but not in a pipe.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_http_e2e.py
"""

import gzip
import http.server
import os
import select
import time
import zlib
import stat
import socket
import subprocess
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase  # noqa: E402

BINARY = bytes(range(256)) * 1000 + b"\r\n\x00end"
TEXT = b"".join(b"line %d of the compressed text\n" % i for i in range(20000))
SLOW = bytes(range(256)) * 6144  # 1.5 MiB, sent in 15 pieces 30 ms apart


def raw_deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


ZEROS = 32 * 1024 * 1024  # a decompression bomb's output: 32 MiB of zeros
BOMB = gzip.compress(bytes(ZEROS), 9)  # 32 KiB
STACKED = gzip.compress(BOMB, 9)  # a few hundred bytes
SIXFOLD = b"x"
for _ in range(6):
    SIXFOLD = gzip.compress(SIXFOLD)

ENCODED = {
    "/gz": ("gzip", gzip.compress(TEXT)),
    "/deflate": ("deflate", zlib.compress(TEXT)),
    "/rawdeflate": ("deflate", raw_deflate(TEXT)),
    "/corrupt.gz": ("gzip", gzip.compress(TEXT)[:100] + b"garbage" * 50),
    "/corrupt0.gz": ("gzip", b"not gzip at all " * 10),  # bad from its first byte
    "/bomb.gz": ("gzip", BOMB),
    "/stacked.gz": ("gzip, gzip", STACKED),
    "/sixfold.gz": ("gzip, gzip, gzip, gzip, gzip, gzip", SIXFOLD),
}

# Set-Cookie values for the jar round trip: attributes, odd but legal values, and two a
# jar file cannot hold (a tab inside a name or a path).
JAR_COOKIES = [
    "sid=abc; HttpOnly",
    "d=1; Domain=127.0.0.1; Path=/p; Max-Age=1000",
    "q=\"quoted value\"; Path=/a/b",
    "eq=a=b=c",
    "empty=",
    "utf=\u00e9t\u00e9",
    "sp=a b c",
    "evil\tname=v1",
    "x=1; Path=/t\tt",
]


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files from the server's directory, plus a few scripted paths."""

    redirect_to = ""  # set per server class

    def log_message(self, *args):  # keep the test output clean
        pass

    def echo(self):
        """/echo...: the request line, headers and body back as text/plain."""
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        out = (self.requestline + "\n" + str(self.headers)).encode() + body
        self.send_response(200)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def do_POST(self):
        if self.path.startswith("/login"):
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            self.send_response(302)
            self.send_header("Location", "/echo")
            self.send_header("Set-Cookie", "sid=s1; Path=/; HttpOnly")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.echo()

    do_PUT = do_DELETE = do_POST

    def do_HEAD(self):
        if self.path in ("/hop1", "/hop2"):  # redirects have no body anyway
            self.do_GET()
            return
        super().do_HEAD()

    def do_GET(self):
        if self.path.startswith("/echo"):
            self.echo()
            return
        if self.path in ENCODED:
            coding, body = ENCODED[self.path]
            self.send_response(200)
            self.send_header("Content-Encoding", coding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path == "/slow.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(SLOW)))
            self.end_headers()
            for at in range(0, len(SLOW), len(SLOW) // 15):
                self.wfile.write(SLOW[at:at + len(SLOW) // 15])
                self.wfile.flush()
                time.sleep(0.03)
            return
        if self.path == "/hop1":
            self.send_response(302)
            self.send_header("Location", "/hop2")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/hop2":
            self.send_response(301)
            self.send_header("Location", "/data.bin")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/go":
            self.send_response(302)
            self.send_header("Location", self.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/nolength.bin":  # read to close, 300000 bytes
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"n" * 300000)
            self.close_connection = True
            return
        if self.path == "/cut0.bin":  # announces 1000 bytes, sends none
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path == "/manycookies/echo":  # in the cookies' default path
            self.echo()
            return
        if self.path.startswith("/manycookies/"):
            # Three redirects of 2,500 Set-Cookie each, then the echo shows the Cookie field.
            hop = int(self.path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", "/manycookies/%d" % (hop + 1) if hop < 2 else "/manycookies/echo")
            for i in range(2500):
                self.send_header("Set-Cookie", "c%d_%d=1" % (hop, i))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/setjar":
            self.send_response(200)
            for c in JAR_COOKIES:
                self.send_header("Set-Cookie", c)
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


def listener(family=socket.AF_INET, host="127.0.0.1"):
    """A listening socket on port 0 that nothing should ever connect to."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    s.listen(16)
    s.setblocking(False)
    return s


def accepted(s):
    """How many connections reached the listener (the kernel queues them; none expected)."""
    n = 0
    while True:
        try:
            c, _ = s.accept()
        except BlockingIOError:
            return n
        c.close()
        n += 1


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

    def test_fail_with_body_saves_the_error_page(self):
        r = self.http_get("--fail-with-body", "http://127.0.0.1:%d/missing.txt" % self.port)
        self.assertEqual(r.returncode, 22, r.stderr)
        self.assertEqual(os.listdir(self.cwd), ["missing.txt"])
        self.assertIn(b"404", self.read("missing.txt"))
        self.assertIn(b"Saved", r.stderr)

    def test_ip_family_options(self):
        url = "http://127.0.0.1:%d/" % self.port
        self.assertEqual(self.http_get("-4", "-o", "-", url).returncode, 0)
        self.assertEqual(self.http_get("-6", "-o", "-", url).returncode, 6)
        self.assertEqual(self.http_get("-4", "-6", url).returncode, 2)

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

    def test_partial_body_with_o_keeps_the_named_file(self):
        # A name the user chose (or a device such as /dev/null) is never renamed.
        target = os.path.join(self.cwd, "chosen.bin")
        r = self.http_get("-o", target, "http://127.0.0.1:%d/short.bin" % self.port)
        self.assertEqual(r.returncode, 18, r.stderr)
        self.assertEqual(self.read("chosen.bin"), b"x" * 10)
        self.assertFalse(os.path.exists(target + ".part"))
        r = self.http_get("-o", "/dev/null", "http://127.0.0.1:%d/short.bin" % self.port)
        self.assertEqual(r.returncode, 18, r.stderr)
        self.assertFalse(os.path.exists("/dev/null.part"))
        self.assertTrue(stat.S_ISCHR(os.stat("/dev/null").st_mode))

    def test_port_out_of_range_is_a_usage_error(self):
        r = self.http_get("http://127.0.0.1:99999/")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"invalid port '99999'", r.stderr)

    def test_form_post_auth_cookies(self):
        url = "http://127.0.0.1:%d/echo" % self.port
        r = self.ok("-s", "-o", "-", "-d", "a=1", "--data-urlencode", "q=a b&c/é", "-d", "z=2",
                    "-u", "user:pass", "-b", "k=v; k2=v2", "-H", "X-Custom: yes", url)
        self.assertTrue(r.stdout.startswith(b"POST /echo HTTP/1.1\n"), r.stdout)
        self.assertIn(b"Content-Type: application/x-www-form-urlencoded\n", r.stdout)
        self.assertIn(b"Authorization: Basic dXNlcjpwYXNz\n", r.stdout)
        self.assertIn(b"Cookie: k=v; k2=v2\n", r.stdout)
        self.assertIn(b"X-Custom: yes\n", r.stdout)
        self.assertTrue(r.stdout.endswith(b"\n\na=1&q=a%20b%26c%2F%C3%A9&z=2"), r.stdout)
        g = self.ok("-s", "-o", "-", "-G", "-d", "a=1", "-d", "b=2", url + "?x=0")
        self.assertTrue(g.stdout.startswith(b"GET /echo?x=0&a=1&b=2 HTTP/1.1\n"), g.stdout)
        x = self.ok("-s", "-o", "-", "-X", "PUT", "-d", "a=1", url)
        self.assertTrue(x.stdout.startswith(b"PUT /echo HTTP/1.1\n"), x.stdout)
        self.assertEqual(self.http_get("-X", "BAD METHOD", url).returncode, 2)
        self.assertEqual(self.http_get("-u", "nocolon", url).returncode, 2)

    def test_redirect_cookie_and_jar(self):
        jar = os.path.join(self.cwd, "jar.txt")
        r = self.ok("-s", "-o", "-", "-d", "u=me", "-c", jar,
                    "http://127.0.0.1:%d/login" % self.port)
        # 302 after POST: a GET without the body, with the cookie the redirect set.
        self.assertTrue(r.stdout.startswith(b"GET /echo HTTP/1.1\n"), r.stdout)
        self.assertIn(b"Cookie: sid=s1\n", r.stdout)
        self.assertNotIn(b"u=me", r.stdout)
        with open(jar, "rb") as f:
            text = f.read()
        self.assertTrue(text.startswith(b"# Netscape HTTP Cookie File\n"), text)
        self.assertIn(b"#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\ts1\n", text)
        # The jar is read back by -b FILE.
        b = self.ok("-s", "-o", "-", "-b", jar, "http://127.0.0.1:%d/echo" % self.port)
        self.assertIn(b"Cookie: sid=s1\n", b.stdout)

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

    def test_compressed(self):
        base = "http://127.0.0.1:%d" % self.port
        for path in ("/gz", "/deflate", "/rawdeflate"):
            r = self.ok("--compressed", "-s", "-o", "-", base + path)
            self.assertEqual(r.stdout, TEXT, path)
        # Without --compressed the body is saved as sent.
        r = self.ok("-s", "-o", "-", base + "/gz")
        self.assertEqual(r.stdout, ENCODED["/gz"][1])
        r = self.ok("--compressed", base + "/gz")
        self.assertEqual(self.read("gz"), TEXT)
        self.assertIn(b"Content-Encoding: gzip\r\n", r.stdout)
        self.assertIn(b"Saved %d bytes to 'gz'" % len(TEXT), r.stderr)
        # The request asks for it.
        e = self.ok("--compressed", "-s", "-o", "-", base + "/echo")
        self.assertIn(b"Accept-Encoding: gzip, deflate\n", e.stdout)

    def test_corrupt_compressed_body(self):
        r = self.http_get("--compressed", "http://127.0.0.1:%d/corrupt.gz" % self.port)
        self.assertEqual(r.returncode, 8, r.stderr)
        self.assertIn(b"the gzip data in the body is corrupt", r.stderr)
        self.assertIn(b"corrupt.gz.part", r.stderr)

    def test_heads_of_every_hop(self):
        url = "http://127.0.0.1:%d/hop1" % self.port
        r = self.ok("-I", url)
        heads = r.stdout.split(b"\r\n\r\n")
        self.assertEqual(len(heads), 4, r.stdout)  # three heads, then nothing
        self.assertTrue(heads[0].startswith(b"HTTP/1.0 302"), heads[0])
        self.assertTrue(heads[1].startswith(b"HTTP/1.0 301"), heads[1])
        self.assertTrue(heads[2].startswith(b"HTTP/1.0 200"), heads[2])
        i = self.ok("-i", "-s", "-o", "-", url)
        self.assertTrue(i.stdout.startswith(b"HTTP/1.0 302"), i.stdout[:100])
        self.assertTrue(i.stdout.endswith(b"\r\n\r\n" + BINARY))
        self.assertEqual(i.stdout.count(b"HTTP/1.0 "), 3)
        # Without -i only the final head is printed.
        d = self.ok(url)
        self.assertEqual(d.stdout.count(b"HTTP/1.0 "), 1)

    def test_head_to_a_file(self):
        r = self.ok("-I", "-o", "head.txt", "http://127.0.0.1:%d/data.bin" % self.port)
        self.assertEqual(r.stdout, b"")
        text = self.read("head.txt")
        self.assertTrue(text.startswith(b"HTTP/1.0 200 OK\r\n"), text)
        self.assertTrue(text.endswith(b"\r\n\r\n"), text)
        self.assertIn(b"'head.txt'", r.stderr)

    def test_verbose_keeps_stdout(self):
        url = "http://127.0.0.1:%d/data.bin" % self.port
        plain = self.ok("-o", "-", url)
        v = self.ok("-v", "-o", "-", url)
        self.assertEqual(v.stdout, plain.stdout)
        self.assertIn(b"> GET /data.bin HTTP/1.1\n", v.stderr)
        self.assertIn(b"< HTTP/1.0 200 OK\n", v.stderr)
        # The head is shown once, with "< ", not a second time bare.
        self.assertNotIn(b"\nHTTP/1.0 200 OK", b"\n" + v.stderr)

    def progress_run(self, stderr_tty, *args):
        """Runs http-get with stderr on a pty (or a pipe); returns (exit code, stderr)."""
        argv = [h.netdemo(), "http-get", *args]
        if not stderr_tty:
            r = subprocess.run(argv, cwd=self.cwd, capture_output=True, stdin=subprocess.DEVNULL,
                               timeout=h.QUICK * 2, preexec_fn=h._die_with_parent)
            return r.returncode, r.stderr
        master, slave = os.openpty()
        try:
            p = subprocess.Popen(argv, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=slave,
                                 preexec_fn=h._die_with_parent)
        finally:
            os.close(slave)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        out = b""
        deadline = time.monotonic() + h.QUICK * 2
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    if p.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the process closed its side
                    break
                if not chunk:
                    break
                out += chunk
        finally:
            os.close(master)
        return p.wait(timeout=h.QUICK), out

    def test_progress_on_a_terminal_only(self):
        url = "http://127.0.0.1:%d/slow.bin" % self.port
        code, err = self.progress_run(True, "-o", "a.bin", url)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.read("a.bin"), SLOW)
        self.assertIn(b"\r  0%  0 B of 1.50 MiB", err)
        self.assertRegex(err, rb"\r100%  1\.50 MiB of 1\.50 MiB  [0-9.]+ [KM]iB/s  in 0:0\d *\r\n")
        self.assertIn(b"ETA ", err)
        self.assertIn(b"Saved %d bytes to 'a.bin'" % len(SLOW), err)
        # Not with -s; not when stderr is a pipe; not for a small body.
        code, err = self.progress_run(True, "-s", "-o", "b.bin", url)
        self.assertEqual((code, err), (0, b""))
        code, err = self.progress_run(False, "-o", "c.bin", url)
        self.assertEqual(code, 0, err)
        self.assertNotIn(b"\r", err)
        self.assertNotIn(b"%", err)
        code, err = self.progress_run(True, "-o", "d.bin", "http://127.0.0.1:%d/data.bin" % self.port)
        self.assertEqual(code, 0, err)
        self.assertNotIn(b"\r ", err)

    def test_https_through_the_tls_module(self):
        # The CLI loads netdemo-tls.so from beside the executable on the first https URL.
        import ssl
        d = self.tempdir()
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        made = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
            capture_output=True, timeout=h.QUICK * 2)
        if made.returncode != 0:
            self.skipTest("openssl cannot make a certificate: %r" % made.stderr)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        handler = type("H", (Handler,), {"redirect_to": ""})

        def make(*args, **kw):
            return handler(*args, directory=self.root, **kw)

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make)
        srv.daemon_threads = True
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        t.start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        url = "https://localhost:%d/data.bin" % srv.server_address[1]
        r = self.ok("-s", "-o", "-", "--cacert", cert, url)
        self.assertEqual(r.stdout, BINARY)
        r = self.http_get("-s", "-o", "-", url)
        self.assertEqual(r.returncode, 60, r.stderr)
        self.assertIn(b"unknown CA", r.stderr)
        r = self.ok("-s", "-k", "-o", "-", url)
        self.assertEqual(r.stdout, BINARY)

    # Issue 11: URLs that name another address than they seem to, decompression bombs,
    # cookie floods and jar corruption, header injection, and what is kept after a failure.

    def assert_no_connection(self, lst, runs):
        time.sleep(0.1)
        self.assertEqual(accepted(lst), 0, "something connected after one of %r" % runs)

    def test_urls_that_do_not_say_what_they_mean(self):
        lst = listener()
        self.addCleanup(lst.close)
        p = lst.getsockname()[1]
        forms = [
            "http://127.0.0.1:%d.nip.io/x" % p,  # was: connect to 127.0.0.1:p, GET .nip.io/x
            "http://127.0.0.1:%dx/" % p,
            "http://127.0.0.1:%d&3/x" % p,
            "http://127.0.0.1:%d:80/" % p,
            "http://127.0.0.1:0%d/" % p,
            "http://127.0.0.1:%d/" % (p + 65536),
            "http://127.0.0.1%%00.example.com:%d/" % p,
            "http://%%31%%32%%37.0.0.1:%d/" % p,
            "http://127.1:%d/" % p,
            "http://2130706433:%d/" % p,
            "http://0x7f.0.0.1:%d/" % p,
            "http://0x7f000001:%d/" % p,
            "http://127.0.0.01:%d/" % p,
            "http://127.0.0.1.:%d/" % p,
            "http://user:pw@127.0.0.1:%d/" % p,
            "http://example.invalid@127.0.0.1:%d/" % p,
            "http://127.0.0.1:%d@example.invalid/" % p,
            "http://127.0.0.1x/",
            "http://[::1]e",
            "https://[::1]:44&3/x",
            "127.0.0.1:%d.nip.io/x" % p,  # bare-host shortcuts
            "127.1:%d" % p,
            "user@127.0.0.1:%d" % p,
        ]
        for url in forms:
            r = self.http_get("--max-time", "3", "-o", "-", url)
            self.assertEqual(r.returncode, 2, "%s: exit %d, %r" % (url, r.returncode, r.stderr))
            self.assertIn(b"is not a", r.stderr, url)
        self.assert_no_connection(lst, forms)
        if h.ipv6_loopback_available():
            six = listener(socket.AF_INET6, "::1")
            self.addCleanup(six.close)
            q = six.getsockname()[1]
            v6 = ["http://[::1]:%dx/" % q, "http://[::1]:%d&3/" % q, "http://[::1]:0%d/" % q,
                  "http://[0:0::1%%25lo]:%d/" % q]
            for url in v6:
                r = self.http_get("--max-time", "3", "-o", "-", url)
                self.assertEqual(r.returncode, 2, "%s: exit %d, %r" % (url, r.returncode, r.stderr))
            self.assert_no_connection(six, v6)
        self.assertEqual(os.listdir(self.cwd), [])

    def test_a_redirect_to_such_a_url_is_malformed(self):
        lst = listener()
        self.addCleanup(lst.close)
        p = lst.getsockname()[1]
        for loc in ("http://127.0.0.1:%d.nip.io/x" % p, "//127.0.0.1:%dx/" % p,
                    "http://2130706433:%d/" % p, "http://u@127.0.0.1:%d/" % p):
            front = self.start_server(self.root, loc)
            r = self.http_get("--max-time", "3", "-o", "-", "http://127.0.0.1:%d/go" % front)
            self.assertEqual(r.returncode, 8, "%s: exit %d, %r" % (loc, r.returncode, r.stderr))
            self.assertIn(b"the redirect to", r.stderr)
        self.assert_no_connection(lst, "the redirects")

    def test_max_filesize(self):
        base = "http://127.0.0.1:%d" % self.port
        # A Content-Length over the cap: refused before anything is written.
        r = self.http_get("--max-filesize", "1000", base + "/data.bin")
        self.assertEqual(r.returncode, 63, r.stderr)
        self.assertIn(b"more than --max-filesize 1000", r.stderr)
        self.assertEqual(os.listdir(self.cwd), [])
        self.assertEqual(r.stdout, b"")
        self.ok("--max-filesize", str(len(BINARY)), "-o", "exact.bin", base + "/data.bin")
        self.assertEqual(self.read("exact.bin"), BINARY)
        # No length: exactly the cap is written, kept as NAME.part.
        r = self.http_get("--max-filesize", "100K", base + "/nolength.bin")
        self.assertEqual(r.returncode, 63, r.stderr)
        self.assertEqual(self.read("nolength.bin.part"), b"n" * 102400)
        self.assertIn(b"larger than --max-filesize 102400 bytes", r.stderr)
        # Decompression bombs: the cap is on the decoded bytes.
        for path in ("/bomb.gz", "/stacked.gz"):
            started = time.monotonic()
            r = self.http_get("--compressed", "--max-filesize", "1M", "-o", "out" + path[1:], base + path)
            took = time.monotonic() - started
            self.assertEqual(r.returncode, 63, r.stderr)
            self.assertIn(b"the decoded body is larger than --max-filesize 1048576 bytes", r.stderr)
            self.assertEqual(self.read("out" + path[1:]), bytes(1024 * 1024))
            self.assertLess(took, h.QUICK, path)
        r = self.ok("--compressed", "-s", "-o", "-", base + "/stacked.gz")
        self.assertEqual(len(r.stdout), ZEROS)
        for bad in ("-1", "1X", "", "1.5M", "99999999999999999999"):
            self.assertEqual(self.http_get("--max-filesize", bad, base + "/").returncode, 2, bad)

    def test_too_many_stacked_codings(self):
        r = self.http_get("--compressed", "http://127.0.0.1:%d/sixfold.gz" % self.port)
        self.assertEqual(r.returncode, 8, r.stderr)
        self.assertIn(b"more than 5 content codings", r.stderr)
        self.assertEqual(os.listdir(self.cwd), [])

    def test_cookie_flood_stays_bounded(self):
        jar = os.path.join(self.cwd, "jar.txt")
        r = self.ok("-s", "-o", "-", "-c", jar, "http://127.0.0.1:%d/manycookies/0" % self.port)
        cookie = [line for line in r.stdout.split(b"\n") if line.startswith(b"Cookie: ")]
        self.assertEqual(len(cookie), 1, r.stdout[:300])
        self.assertLessEqual(len(cookie[0]) - len(b"Cookie: "), 8190)
        self.assertLessEqual(cookie[0].count(b"="), 150)
        with open(jar, "rb") as f:
            lines = [x for x in f.read().split(b"\n") if x and not x.startswith(b"# ")]
        self.assertEqual(len(lines), 180)
        self.assertTrue(lines[-1].endswith(b"\tc2_2499\t1"), lines[-1])

    def test_jar_round_trips_byte_for_byte(self):
        jar1 = os.path.join(self.cwd, "jar1.txt")
        jar2 = os.path.join(self.cwd, "jar2.txt")
        self.ok("-s", "-o", "-", "-c", jar1, "http://127.0.0.1:%d/setjar" % self.port)
        self.ok("-s", "-o", "-", "-b", jar1, "-c", jar2, "http://127.0.0.1:%d/echo" % self.port)
        with open(jar1, "rb") as f:
            one = f.read()
        with open(jar2, "rb") as f:
            two = f.read()
        self.assertEqual(one, two)
        self.assertNotIn(b"evil", one)
        self.assertNotIn(b"\tx\t", one)
        self.assertEqual(len([x for x in one.split(b"\n") if x and not x.startswith(b"# ")]), 7, one)

    def test_header_injection_is_a_usage_error(self):
        lst = listener()
        self.addCleanup(lst.close)
        url = "http://127.0.0.1:%d/" % lst.getsockname()[1]
        cases = [("-H", "X-A: 1\r\nX-Injected: 2"), ("-H", "X-A: 1\nX-Injected: 2"),
                 ("-H", "X-A: a\x01b"), ("-H", "Bad Name: 1"), ("-A", "agent\r\nX-Injected: 2"),
                 ("-b", "k=v\r\nX-Injected: 2"), ("-b", "evil\tname=v")]
        for opt, value in cases:
            r = self.http_get("--max-time", "3", opt, value, url)
            self.assertEqual(r.returncode, 2, "%s %r: exit %d %r" % (opt, value, r.returncode, r.stderr))
            self.assertEqual(len(r.stderr.strip().splitlines()), 2, r.stderr)  # reason + Try '...'
        self.assert_no_connection(lst, cases)
        # A tab inside a value is allowed (RFC 9110 field-value).
        e = self.ok("-s", "-o", "-", "-H", "X-Tab: a\tb", "http://127.0.0.1:%d/echo" % self.port)
        self.assertIn(b"X-Tab: a\tb\n", e.stdout)

    def test_nothing_is_left_when_no_body_byte_came(self):
        base = "http://127.0.0.1:%d" % self.port
        r = self.http_get("--compressed", base + "/corrupt0.gz")
        self.assertEqual(r.returncode, 8, r.stderr)
        r = self.http_get(base + "/cut0.bin")
        self.assertEqual(r.returncode, 18, r.stderr)
        self.assertNotIn(b"kept", r.stderr)
        self.assertEqual(os.listdir(self.cwd), [])
        # A file named with -o is not touched either.
        with open(os.path.join(self.cwd, "mine.bin"), "wb") as f:
            f.write(b"precious")
        r = self.http_get("-o", "mine.bin", base + "/cut0.bin")
        self.assertEqual(r.returncode, 18, r.stderr)
        self.assertEqual(self.read("mine.bin"), b"precious")

    def test_nothing_false_about_a_device(self):
        r = self.http_get("-o", "/dev/null", "http://127.0.0.1:%d/short.bin" % self.port)
        self.assertEqual(r.returncode, 18, r.stderr)
        self.assertNotIn(b"kept in", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


if __name__ == "__main__":
    h.main()
