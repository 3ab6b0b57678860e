#!/usr/bin/env python3
"""End-to-end tests of the timestamp and command roles (seeds 002 and 004):
timestamp-server over TCP, UDP and Unix sockets (ctime and iso8601, in the server's local
time zone), command-server (date / os / help / ls confined to --root, and the escapes it
must refuse), command-client with arguments, from a pipe and on a terminal (a pty), and
the seeds' own Python programs against netdemo and back.

Time zones: every test runs with TZ set to a fixed POSIX zone (ZONE) in this process, so
the servers it starts inherit it and time.ctime() here computes what they must answer.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_roles_e2e.py
"""

import contextlib
import fcntl
import os
import re
import select
import socket
import subprocess
import sys
import termios
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase, run, run_python

ZONE = "CST-8"        # UTC+8, no daylight saving: far from UTC, so a UTC stamp cannot pass
OTHER_ZONE = "EST+5"  # UTC-5
DRIFT = 2             # seconds a stamp may differ from the clock here (either way)

DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
CTIME = r"(?:%s) (?:%s) [ 123]\d \d\d:\d\d:\d\d \d{4}" % (DAYS, MONTHS)
ISO8601 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"
CTIME_LEN = 24   # len(time.ctime()), always
ISO_LEN = 25     # 2026-11-22T10:27:39+08:00

FAST_TCP = ["--timeout", "2s"]
FAST_UDP = ["--timeout", "500ms", "--retries", "2"]


@contextlib.contextmanager
def time_zone(tz):
    """TZ=tz for this process (time.ctime, time.localtime) and every child it starts."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


@contextlib.contextmanager
def working_directory(path):
    """Children started inside the block run in `path` (subprocess inherits the cwd)."""
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def iso8601(t):
    """What --format iso8601 must write for time `t` in the current TZ."""
    lt = time.localtime(t)
    off = lt.tm_gmtoff
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    return time.strftime("%Y-%m-%dT%H:%M:%S", lt) + "%s%02d:%02d" % (sign, off // 3600, off % 3600 // 60)


def stamps_between(t0, t1, fmt="ctime"):
    """Every stamp the server may write for a reply produced between t0 and t1 (± DRIFT)."""
    f = time.ctime if fmt == "ctime" else iso8601
    return [f(t) for t in range(int(t0) - DRIFT, int(t1) + DRIFT + 1)]


def read_replies(sock, lines, min_len=0, timeout=h.QUICK):
    """Reads until `lines` LFs and at least `min_len` bytes arrived (or EOF / timeout)."""
    return h.recv_until(sock, lambda got: got.count(b"\n") >= lines and len(got) >= min_len,
                        timeout)[0]


def read_quiet(sock, quiet=0.3, timeout=h.QUICK):
    """A reply without a line ending: what arrives until the peer is quiet for `quiet` s."""
    got = h.recv_exactly(sock, b"x", timeout)
    while got:
        d = h.recv_nothing_for(sock, quiet)
        if not d:
            break
        got += d
    return got


def port_is_free(port, kind=socket.SOCK_STREAM):
    """Whether nobody has 127.0.0.1:port (TCP: ignoring TIME_WAIT leftovers)."""
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:  # for UDP it would let two sockets share the port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class RolesTestCase(NetdemoTestCase):
    """TZ=ZONE for each test; helpers that check time stamps against the clock."""

    def setUp(self):
        super().setUp()
        cm = time_zone(ZONE)
        cm.__enter__()
        self.addCleanup(cm.__exit__, None, None, None)

    def assert_stamped(self, reply, msg, end, t0, t1, fmt="ctime"):
        """`reply` (bytes) is `[<time of t0..t1>] msg` + end, nothing else."""
        text = reply.decode("utf-8", "replace")
        self.assertTrue(text.endswith(end), "reply %r does not end with %r" % (reply, end))
        body = text[:len(text) - len(end)] if end else text
        rx = CTIME if fmt == "ctime" else ISO8601
        m = re.fullmatch(r"\[(%s)\] (.*)" % rx, body, re.S)
        self.assertIsNotNone(m, "reply %r is not '[<%s>] <msg>'" % (reply, fmt))
        self.assertEqual(m.group(2), msg, "reply %r" % reply)
        self.assertIn(m.group(1), stamps_between(t0, t1, fmt),
                      "stamp %r is not the local time (TZ=%s) now" % (m.group(1), os.environ["TZ"]))

    def stream_ask(self, sock, data, reply_len):
        """Sends `data` and reads a reply of `reply_len` bytes; returns (reply, t0, t1)."""
        t0 = time.time()
        sock.sendall(data)
        reply = h.recv_exactly(sock, b"x" * reply_len)
        return reply, t0, time.time()

    def stamped_stream_exchange(self, sock, fmt="ctime"):
        """The message forms the framing contract promises, each stamped in order."""
        width = CTIME_LEN if fmt == "ctime" else ISO_LEN
        for msg, end in (("msg", ""), ("msg", "\n"), ("msg", "\r\n"), ("two words", "\n"),
                         ("héllo wörld", "\n"), ("", "\n")):
            with self.subTest(msg=msg, end=end):
                raw = (msg + end).encode()
                reply, t0, t1 = self.stream_ask(sock, raw, width + 3 + len(raw))
                self.assert_stamped(reply, msg, end, t0, t1, fmt)
        # Nothing more than one reply per message.
        self.assertEqual(h.recv_nothing_for(sock, 0.1), b"")


# ---------------------------------------------------------------------------------------
# timestamp-server (seed 002)


class TimestampServer(RolesTestCase):

    def test_tcp(self):
        s = self.server("timestamp-server")
        self.assertEqual((s.transport, s.role), ("tcp", "timestamp"))
        self.stamped_stream_exchange(self.connect(s))

    def test_tcp_several_lines_in_one_write(self):
        s = self.server("timestamp-server")
        c = self.connect(s)
        t0 = time.time()
        c.sendall(b"a\nb\r\nc\n")
        want = [("a", "\n"), ("b", "\r\n"), ("c", "\n")]
        got = h.recv_exactly(c, b"x" * sum(CTIME_LEN + 3 + len(m) + len(e) for m, e in want))
        t1 = time.time()
        parts = re.findall(rb"[^\n]*\n", got)
        self.assertEqual(len(parts), 3, got)
        for part, (msg, end) in zip(parts, want):
            self.assert_stamped(part, msg, end, t0, t1)

    def test_udp(self):
        s = self.server("timestamp-server", "--udp")
        self.assertEqual((s.transport, s.role), ("udp", "timestamp"))
        u = self.udp()
        for msg, end in (("msg", ""), ("msg", "\n"), ("héllo wörld", "")):
            with self.subTest(msg=msg, end=end):
                t0 = time.time()
                u.sendto((msg + end).encode(), ("127.0.0.1", s.port))
                reply, addr = u.recvfrom(65536)
                self.assertEqual(addr, ("127.0.0.1", s.port))
                self.assert_stamped(reply, msg, end, t0, time.time())

    def test_unix_stream(self):
        path = self.tempdir() + "/ts.sock"
        s = self.server("timestamp-server", unix=path)
        self.assertEqual((s.transport, s.role), ("unix", "timestamp"))
        self.stamped_stream_exchange(self.connect(s))

    def test_unix_datagram(self):
        d = self.tempdir()
        s = self.server("timestamp-server", "--udp", unix=d + "/ts.dgram")
        self.assertEqual((s.transport, s.role), ("unix-dgram", "timestamp"))
        u = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(u.close)
        u.bind(d + "/client.dgram")  # a datagram client needs an address to be answered
        u.settimeout(h.QUICK)
        t0 = time.time()
        u.sendto(b"msg", d + "/ts.dgram")
        self.assert_stamped(u.recv(65536), "msg", "", t0, time.time())

    def test_stamp_is_local_time_of_the_server(self):
        # Two servers in two zones 13 hours apart: each answers its own local time.
        for tz in (ZONE, OTHER_ZONE):
            with self.subTest(tz=tz), time_zone(tz):
                s = self.server("timestamp-server")
                reply, t0, t1 = self.stream_ask(self.connect(s), b"msg\n", CTIME_LEN + 3 + 4)
                self.assert_stamped(reply, "msg", "\n", t0, t1)

    def test_iso8601(self):
        for tz, offset in ((ZONE, "+08:00"), (OTHER_ZONE, "-05:00")):
            with self.subTest(tz=tz), time_zone(tz):
                s = self.server("timestamp-server", "--format", "iso8601")
                c = self.connect(s)
                self.stamped_stream_exchange(c, fmt="iso8601")
                reply, _, _ = self.stream_ask(c, b"x", ISO_LEN + 4)
                self.assertEqual(reply[20:26].decode(), offset, reply)

    def test_iso8601_udp(self):
        s = self.server("timestamp-server", "--udp", "--format", "iso8601")
        u = self.udp()
        t0 = time.time()
        u.sendto(b"msg", ("127.0.0.1", s.port))
        self.assert_stamped(u.recv(65536), "msg", "", t0, time.time(), fmt="iso8601")

    def test_bad_format_is_a_usage_error(self):
        for args in (["timestamp-server", "--format", "rfc822"],
                     ["timestamp-server", "--udp", "--format", ""],
                     ["tcp-server", "--role", "timestamp", "--format", "CTIME"]):
            with self.subTest(args=args):
                r = run(args + ["--port", "0"])
                self.assertEqual(r.returncode, 2, r)
                self.assertEqual(r.stdout, b"")
                self.assertIn(b"--format", r.stderr)

    def test_default_port_is_the_seeds(self):
        for args, kind in (((), socket.SOCK_STREAM), (("--udp",), socket.SOCK_DGRAM)):
            with self.subTest(args=args):
                if not port_is_free(21567, kind):
                    self.skipTest("port 21567 is in use here")
                s = self.server("timestamp-server", *args, port=None)
                self.assertEqual(s.port, 21567)
                s.stop()


def normalize_stamps(data):
    return re.sub(rb"\[(?:%s|%s)\]" % (CTIME.encode(), ISO8601.encode()), b"[STAMP]", data)


class RoleEqualsSubcommand(RolesTestCase):
    """`tcp-server --role timestamp` is `timestamp-server`; `--role command` is command-server."""

    SCRIPT = [b"one\n", b"two\r\n", b"three", b"a\nb\n", b"\n", b"exit\n"]

    def converse(self, server, script):
        """Replies to each step; a bare word's reply is read by its (timestamp) length."""
        c = self.connect(server)
        out = []
        for data in script:
            c.sendall(data)
            if data.startswith(b"exit"):
                out.append(h.recv_until_eof(c))
            elif b"\n" in data:
                out.append(read_replies(c, data.count(b"\n")))
            else:
                out.append(read_replies(c, 0, CTIME_LEN + 3 + len(data)))
        # Nothing more than what the script asked for.
        out.append(h.recv_nothing_for(c, 0.05))
        return out

    def test_tcp_server_role_timestamp(self):
        a = self.server("timestamp-server")
        b = self.server("tcp-server", "--role", "timestamp")
        self.assertEqual((a.transport, a.role), (b.transport, b.role))
        t0 = time.time()
        ra, rb = self.converse(a, self.SCRIPT), self.converse(b, self.SCRIPT)
        t1 = time.time()
        self.assertEqual([normalize_stamps(x) for x in ra], [normalize_stamps(x) for x in rb])
        self.assertEqual(normalize_stamps(b"".join(ra)),
                         b"[STAMP] one\n[STAMP] two\r\n[STAMP] three[STAMP] a\n[STAMP] b\n[STAMP] \n")
        for stamp in re.findall(r"\[(%s)\]" % CTIME, b"".join(ra + rb).decode()):
            self.assertIn(stamp, stamps_between(t0, t1))

    def test_tcp_server_role_timestamp_iso8601(self):
        a = self.server("timestamp-server", "--format", "iso8601")
        b = self.server("tcp-server", "--role", "timestamp", "--format", "iso8601")
        for server in (a, b):
            t0 = time.time()
            replies = self.converse(server, [b"x\n"])
            self.assert_stamped(replies[0], "x", "\n", t0, time.time(), fmt="iso8601")

    def test_udp_server_role_timestamp(self):
        a = self.server("timestamp-server", "--udp")
        b = self.server("udp-server", "--role", "timestamp")
        self.assertEqual((a.transport, a.role), (b.transport, b.role))
        u = self.udp()
        for s in (a, b):
            t0 = time.time()
            u.sendto(b"msg", ("127.0.0.1", s.port))
            self.assert_stamped(u.recv(65536), "msg", "", t0, time.time())

    def test_tcp_server_role_command(self):
        root = make_tree(self.tempdir())
        a = self.server("command-server", "--root", root)
        b = self.server("tcp-server", "--role", "command", "--root", root)
        self.assertEqual((a.transport, a.role), (b.transport, b.role))
        script = [b"date\n", b"os\n", b"help\n", b"ls\n", b"ls dir\n", b"ls ..\n", b"hi\n", b"exit\n"]
        ra, rb = self.converse(a, script), self.converse(b, script)
        self.assertEqual([normalize_stamps(x) for x in ra], [normalize_stamps(x) for x in rb])
        self.assertEqual(ra[-2:], [b"", b""])  # exit closes, nothing extra


# ---------------------------------------------------------------------------------------
# command-server (seed 004)

# Names Python's repr() and netdemo's listing must quote the same way.
ODD_NAMES = ["it's", 'say "hi"', "tab\there", "new\nline", "esc\x1b[31m", "back\\slash", "é.txt"]


def make_tree(base):
    """base/root: a.txt, dir/{inner.txt, sub/}, odd names, and symlinks in and out;
    base/root2: a sibling whose path starts with the root's (an outside directory)."""
    root = os.path.join(base, "root")
    os.makedirs(os.path.join(root, "dir", "sub"))
    os.makedirs(os.path.join(base, "root2", "secret"))
    for name in ["a.txt", os.path.join("dir", "inner.txt")] + ODD_NAMES:
        with open(os.path.join(root, name), "w") as f:
            f.write("x")
    os.symlink("dir", os.path.join(root, "link_in"))  # relative, stays inside
    os.symlink("..", os.path.join(root, "up"))        # relative, leads out
    os.symlink("/", os.path.join(root, "sym"))        # absolute, to /
    os.symlink("../root2", os.path.join(root, "side"))
    return root


def listing(path):
    """The reply `ls` must give: Python's repr of the sorted names."""
    return repr(sorted(os.listdir(path)))


class CommandServer(RolesTestCase):

    def setUp(self):
        super().setUp()
        self.base = self.tempdir()
        self.root = make_tree(self.base)
        self.s = self.server("command-server", "--root", self.root)
        self.c = self.connect(self.s)

    def ask(self, line, end=b"\n"):
        """Sends one line and returns the one-line reply (decoded, line ending checked)."""
        self.c.sendall(line + end)
        got = read_replies(self.c, 1) if end else read_quiet(self.c)
        if end:
            self.assertTrue(got.endswith(end), "reply to %r: %r" % (line, got))
            self.assertEqual(got.count(b"\n"), 1, "reply to %r is not one line: %r" % (line, got))
        return got[:len(got) - len(end)].decode("utf-8")

    def assert_usable(self):
        """The connection still answers (after an error)."""
        t0 = time.time()
        reply = self.ask(b"date")
        self.assertIn(reply, ["[%s] date" % s for s in stamps_between(t0, time.time())])

    def test_listening_line(self):
        self.assertEqual((self.s.transport, self.s.role), ("tcp", "command"))

    def test_date(self):
        self.assert_usable()

    def test_os(self):
        u = os.uname()
        self.assertEqual(self.ask(b"os"), "[posix] %s %s %s" % (u.sysname, u.release, u.machine))

    def test_help(self):
        reply = self.ask(b"help")
        for word in ("date", "os", "ls", "help"):
            self.assertRegex(reply, r"\b%s\b" % word)
        self.assertNotEqual(reply, "welcome")

    def test_anything_else_is_welcome(self):
        for line in (b"hello", b"DATE", b"date ", b" date", b"lsx", b"LS", b"", b"\x00",
                     b"\x1b[2J", "日期".encode()):
            with self.subTest(line=line):
                self.assertEqual(self.ask(line), "welcome")

    def test_seed_style_bare_words_and_crlf(self):
        # The seed's client sends a bare word and waits: the reply has no line ending either.
        t0 = time.time()
        self.c.sendall(b"date")
        got = h.recv_exactly(self.c, b"x" * (CTIME_LEN + 7))
        self.assert_stamped(got, "date", "", t0, time.time())
        self.assertEqual(self.ask(b"ls dir", end=b""), "['inner.txt', 'sub']")
        self.assertEqual(self.ask(b"hi", end=b"\r\n"), "welcome")
        self.assertEqual(self.ask(b"ls", end=b"\r\n"), listing(self.root))

    def test_ls_lists_inside_the_root(self):
        inner = "['inner.txt', 'sub']"
        for path, want in ((None, listing(self.root)),
                           (".", listing(self.root)),
                           ("./", listing(self.root)),
                           ("dir", inner),
                           ("dir/", inner),
                           ("./dir/../dir", inner),
                           ("dir/..", listing(self.root)),
                           ("dir/sub", "[]"),
                           ("link_in", inner),
                           (self.root, listing(self.root)),
                           (self.root + "/", listing(self.root)),
                           (self.root + "/dir", inner)):
            with self.subTest(path=path):
                line = b"ls" if path is None else b"ls " + path.encode()
                self.assertEqual(self.ask(line), want)

    def test_ls_quotes_names_like_python(self):
        reply = self.ask(b"ls")
        self.assertEqual(reply, listing(self.root))
        for name in ODD_NAMES:
            self.assertIn(repr(name), reply)
        self.assertNotIn("\x1b", reply)  # control bytes are escaped, never sent raw

    # C1 controls (U+009B is CSI) and separators never reach a terminal raw.
    def test_ls_escapes_unicode_controls_like_python(self):
        d = os.path.join(self.root, "u")
        os.mkdir(d)
        for name in ("c1\u009b31m", "nel\u0085x", "line\u2028sep", "para\u2029sep"):
            open(os.path.join(d, name), "w").close()
        reply = self.ask(b"ls u")
        self.assertEqual(reply, listing(d))  # ['c1\x9b31m', 'line\u2028sep', ...]
        self.assertFalse(re.search("[\u0080-\u009f\u2028\u2029]", reply), ascii(reply))

    def test_ls_missing_and_not_a_directory(self):
        for path, why in (("nope", "no such directory"),
                          ("dir/nope", "no such directory"),
                          ("a.txt", "not a directory"),
                          ("dir/inner.txt/", "not a directory"),
                          (" dir", "no such directory")):
            with self.subTest(path=path):
                self.assertEqual(self.ask(b"ls " + path.encode()), "ERR %s: %s" % (why, repr(path)))
                self.assert_usable()

    def test_escapes_are_refused_and_the_connection_stays_usable(self):
        escapes = ["..", "../..", "../../../../../../..", "dir/../..", "./..", "/", "/etc",
                   "/etc/", "/tmp", "sym", "sym/etc", "up", "up/root2", "side",
                   self.root + "/..", self.root + "2", self.root + "/../root2",
                   os.path.dirname(self.root)]
        for path in escapes:
            with self.subTest(path=path):
                self.assertEqual(self.ask(b"ls " + path.encode()),
                                 "ERR outside the root: %s" % repr(path))
                self.assert_usable()

    def test_long_paths(self):
        for path in ("a/" * 3000,          # longer than any path may be
                     "x" * 300,            # one name longer than a file name may be
                     "dir/" + "./" * 2100):  # names dir, but is over 4 KiB long
            with self.subTest(path=path[:20], size=len(path)):
                reply = self.ask(b"ls " + path.encode())
                self.assertTrue(reply.startswith("ERR path too long: '"), reply[:100])
                self.assertLess(len(reply), 400, "the error echoes at most a bounded prefix")
                self.assert_usable()

    def test_nul_and_control_bytes(self):
        for raw, want in ((b"a\x00b", "ERR invalid path: 'a\\x00b'"),
                          (b"\x00", "ERR invalid path: '\\x00'"),
                          (b"../\x00", "ERR invalid path: '../\\x00'"),
                          (b"\x1b[31m", "ERR no such directory: '\\x1b[31m'"),
                          (b"\x07\x7f\x08", "ERR no such directory: '\\x07\\x7f\\x08'"),
                          (b"\xff\xfe", "ERR no such directory: '\\xff\\xfe'"),
                          (b"\x1b]0;pwned\x07", "ERR no such directory: '\\x1b]0;pwned\\x07'")):
            with self.subTest(raw=raw):
                reply = self.ask(b"ls " + raw)
                self.assertEqual(reply, want)
                self.assertFalse(re.search(r"[\x00-\x1f\x7f]", reply), reply)
                self.assert_usable()

    def test_unreadable_directory(self):
        if os.geteuid() == 0:
            self.skipTest("root reads every directory")
        locked = os.path.join(self.root, "locked")
        os.mkdir(locked, 0)
        self.addCleanup(os.chmod, locked, 0o700)
        self.assertEqual(self.ask(b"ls locked"), "ERR permission denied: 'locked'")
        self.assert_usable()

    def test_exit_closes(self):
        self.c.sendall(b"exit\n")
        self.assertEqual(h.recv_until_eof(self.c, 2), b"")


class CommandServerOptions(RolesTestCase):

    def test_default_root_is_the_working_directory(self):
        root = make_tree(self.tempdir())
        with working_directory(os.path.join(root, "dir")):
            s = self.server("command-server")
        r = self.run_ok(["command-client", *s.client_args(), *FAST_TCP, "ls", "ls ..", "ls sub"])
        self.assertEqual(r.stdout.decode(), "['inner.txt', 'sub']\nERR outside the root: '..'\n[]\n")

    def test_bad_root_is_a_usage_error(self):
        d = self.tempdir()
        open(d + "/file", "w").close()
        for root in (d + "/missing", d + "/file"):
            with self.subTest(root=root):
                r = run(["command-server", "--port", "0", "--root", root])
                self.assertEqual(r.returncode, 2, r)
                self.assertEqual(r.stdout, b"")
                self.assertIn(b"--root", r.stderr)

    def test_unix_socket(self):
        d = self.tempdir()
        root = make_tree(d)
        s = self.server("command-server", "--root", root, unix=d + "/cmd.sock")
        self.assertEqual((s.transport, s.role), ("unix", "command"))
        r = self.run_ok(["command-client", *s.client_args(), *FAST_TCP, "ls dir", "ls /", "hi"])
        self.assertEqual(r.stdout.decode(), "['inner.txt', 'sub']\nERR outside the root: '/'\nwelcome\n")

    def test_udp_server_role_command(self):
        root = make_tree(self.tempdir())
        s = self.server("udp-server", "--role", "command", "--root", root)
        u = self.udp()
        self.assertGreater(len(listing(root)), 3 * 2 + 64)
        # Over UDP a reply is at most 3 x the request + 64 bytes (docs/limits.md): the root's
        # listing is larger than that for a 2-byte request.
        for data, want in ((b"ls", b"ERR too large for UDP, use TCP"),
                           (b"ls dir\n", b"['inner.txt', 'sub']\n"),
                           (b"ls ../root2", b"ERR outside the root: '../root2'"),
                           (b"ls sym", b"ERR outside the root: 'sym'"),
                           (b"hello", b"welcome")):
            with self.subTest(data=data):
                u.sendto(data, ("127.0.0.1", s.port))
                self.assertEqual(u.recv(65536), want)

    def test_default_port_is_the_seeds(self):
        if not port_is_free(21560):
            self.skipTest("port 21560 is in use here")
        root = make_tree(self.tempdir())
        s = self.server("command-server", "--root", root, port=None)
        self.assertEqual(s.port, 21560)
        # ...and command-client's default port is the same one.
        r = self.run_ok(["command-client", *FAST_TCP, "ls dir"])
        self.assertEqual(r.stdout, b"['inner.txt', 'sub']\n")


# ---------------------------------------------------------------------------------------
# command-client


class CommandClientScript(RolesTestCase):

    def setUp(self):
        super().setUp()
        self.root = make_tree(self.tempdir())
        self.s = self.server("command-server", "--root", self.root)

    def test_commands_as_arguments(self):
        t0 = time.time()
        r = run(["command-client", *self.s.client_args(), *FAST_TCP,
                 "date", "os", "help", "hello", "ls", "ls dir", "ls ..", "ls nope"])
        t1 = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        lines = r.stdout.decode().split("\n")
        self.assertEqual(lines[-1], "", "output ends with a newline")
        lines = lines[:-1]
        self.assertEqual(len(lines), 8, lines)
        self.assertIn(lines[0], ["[%s] date" % s for s in stamps_between(t0, t1)])
        u = os.uname()
        self.assertEqual(lines[1:], [
            "[posix] %s %s %s" % (u.sysname, u.release, u.machine),
            self.server_help(),
            "welcome",
            listing(self.root),
            "['inner.txt', 'sub']",
            "ERR outside the root: '..'",
            "ERR no such directory: 'nope'",
        ])
        # One connection, one message per command, in order.
        self.s.wait_line(r"closed \(eof, 35 bytes in,")

    def server_help(self):
        """What the server answers `help` with, asked over a socket."""
        c = self.connect(self.s)
        c.sendall(b"help\n")
        return read_replies(c, 1).decode().rstrip("\n")

    def test_commands_from_a_pipe_print_no_prompt(self):
        r = run(["command-client", *self.s.client_args(), *FAST_TCP],
                input=b"ls dir\nhello\nls ../..\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"['inner.txt', 'sub']\nwelcome\nERR outside the root: '../..'\n")

    def test_exit_argument_ends_the_session(self):
        r = run(["command-client", *self.s.client_args(), *FAST_TCP, "hello", "exit"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"welcome\n")

    def test_no_server_exits_7(self):
        sock = h.bound_unlistened_tcp_port()
        self.addCleanup(sock.close)
        r = run(["command-client", "--port", str(sock.getsockname()[1]), "date"])
        self.assertEqual(r.returncode, 7, r)
        self.assertEqual(r.stdout, b"")


class PtyClient:
    """A program whose stdin and stdout are a pseudo-terminal it has as controlling
    terminal (so Ctrl+C typed there is SIGINT), stderr a pipe. Reads are bounded."""

    def __init__(self, argv):
        self.argv = list(argv)
        master, slave = os.openpty()

        def child_setup():
            h._die_with_parent()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # after setsid (start_new_session)

        try:
            self.p = subprocess.Popen(self.argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                      start_new_session=True, preexec_fn=child_setup)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.master = master
        self.out = b""
        self.pos = 0
        self.eof = False
        self._stderr = None

    def _fill(self, timeout):
        if self.eof:
            return False
        r, _, _ = select.select([self.master], [], [], max(timeout, 0))
        if not r:
            return False
        try:
            d = os.read(self.master, 4096)
        except OSError:  # EIO: the terminal has no process left on it
            d = b""
        if not d:
            self.eof = True
            return False
        self.out += d
        return True

    def expect(self, pattern, timeout=h.QUICK, anywhere=False):
        """Waits until the output right after what earlier calls matched starts with
        `pattern` (bytes regex), or contains it when `anywhere`; returns the match."""
        rx = re.compile(pattern)
        find = rx.search if anywhere else rx.match
        deadline = time.monotonic() + timeout
        while True:
            m = find(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                raise AssertionError("no %r within %.1f s on the terminal of %s; output: %r, "
                                     "unmatched from offset %d" % (pattern, timeout,
                                                                   " ".join(self.argv), self.out, self.pos))
            self._fill(left)

    def _drain(self, timeout):
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self._fill(deadline - time.monotonic())

    def rest(self, timeout=1.0):
        """The output not matched yet, up to EOF (or `timeout`)."""
        self._drain(timeout)
        tail = self.out[self.pos:]
        self.pos = len(self.out)
        return tail

    def type(self, data):
        os.write(self.master, data)

    def wait(self, timeout=h.QUICK):
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise AssertionError("%s did not exit within %.1f s; terminal: %r"
                                 % (" ".join(self.argv), timeout, self.out))
        self._drain(0.5)
        return rc

    def stderr(self):
        """Everything written to stderr (once the program has exited)."""
        if self._stderr is None:
            if self.p.poll() is None:
                return b""
            self._stderr = self.p.stderr.read()
        return self._stderr

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        try:
            self.p.wait(timeout=h.QUICK)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        self.p.stderr.close()
        try:
            os.close(self.master)
        except OSError:
            pass


class CommandClientOnATerminal(RolesTestCase):

    def setUp(self):
        super().setUp()
        self.root = make_tree(self.tempdir())
        self.s = self.server("command-server", "--root", self.root)

    def client(self):
        c = PtyClient([h.netdemo(), "command-client", *self.s.client_args(), *FAST_TCP])
        self.addCleanup(c.close)
        return c

    def test_prompt_date_prompt_then_ctrl_d(self):
        c = self.client()
        c.expect(rb"> ")
        t0 = time.time()
        c.type(b"date\n")
        m = c.expect(rb"date\r\n\[(.*?)\] date\r\n")  # the terminal echoes what was typed
        self.assertIn(m.group(1).decode(), stamps_between(t0, time.time()))
        c.expect(rb"> ")
        c.type(b"ls dir\n")
        c.expect(rb"ls dir\r\n\['inner\.txt', 'sub'\]\r\n> ")
        c.type(b"\x04")  # Ctrl+D at the start of a line: end of input
        self.assertEqual(c.wait(), 0, c.stderr())
        self.assertEqual(c.rest(), b"\r\n", "a newline after the prompt, nothing else")
        self.assertNotIn(b"netdemo:", c.stderr())

    def test_ctrl_d_at_the_first_prompt(self):
        c = self.client()
        c.expect(rb"> ")
        c.type(b"\x04")
        self.assertEqual(c.wait(), 0, c.stderr())
        self.assertEqual(c.out, b"> \r\n")
        self.s.wait_line(r"closed \(eof, 0 bytes in")

    def test_ctrl_c_at_the_prompt_exits_130(self):
        c = self.client()
        c.expect(rb"> ")
        c.type(b"os\n")
        c.expect(rb"os\r\n\[posix\] [^\r\n]*\r\n> ")
        c.type(b"\x03")
        self.assertEqual(c.wait(), 130, c.stderr())
        self.assertIn(b"Interrupted", c.stderr())

    def test_ctrl_c_while_typing_exits_130(self):
        c = self.client()
        c.expect(rb"> ")
        c.type(b"ls di")
        c.expect(rb"ls di")
        c.type(b"\x03")
        self.assertEqual(c.wait(), 130, c.stderr())
        # The half-typed command never reached the server.
        self.s.wait_line(r"closed \(\w+, 0 bytes in")

    def test_exit_typed_ends_the_session(self):
        c = self.client()
        c.expect(rb"> ")
        c.type(b"exit\n")
        self.assertEqual(c.wait(), 0, c.stderr())
        self.assertIn(b"closed", c.stderr())


# ---------------------------------------------------------------------------------------
# The seeds' programs (seeds/ts_*.py for 002, seeds/command_*.py for 004) and netdemo


class SeedClientsAgainstNetdemo(RolesTestCase):

    def test_seed_ts_tcp_client_vs_timestamp_server(self):
        s = self.server("timestamp-server")
        t0 = time.time()
        r = run_python("ts_tcp_client.py", ["127.0.0.1", str(s.port)],
                       input="hello\nworld wide\nhéllo\n\n".encode())
        t1 = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        out = r.stdout.decode()
        m = re.fullmatch(r"> \[(.*)\] hello\n> \[(.*)\] world wide\n> \[(.*)\] héllo\n> ", out)
        self.assertIsNotNone(m, out)
        for stamp in m.groups():
            self.assertIn(stamp, stamps_between(t0, t1))

    def test_seed_ts_udp_client_vs_timestamp_server_udp(self):
        s = self.server("timestamp-server", "--udp")
        t0 = time.time()
        r = run_python("ts_udp_client.py", ["127.0.0.1", str(s.port)], input=b"hello\nworld\n\n")
        t1 = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        m = re.fullmatch(r"> \[(.*)\] hello\n> \[(.*)\] world\n> ", out)
        self.assertIsNotNone(m, out)
        for stamp in m.groups():
            self.assertIn(stamp, stamps_between(t0, t1))

    def test_seed_command_client_vs_command_server(self):
        root = make_tree(self.tempdir())
        s = self.server("command-server", "--root", root)
        # Each run sends one message: the lines typed before EOF, joined. (A Python start
        # costs about half a second here: few runs.)
        for typed, want in ((b"date\n", None),
                            (b"ls\n dir\n", "['inner.txt', 'sub']"),  # "ls" + " dir"
                            (b"ls ..\n", "ERR outside the root: '..'"),
                            (b"hello\n", "welcome")):
            with self.subTest(typed=typed):
                t0 = time.time()
                r = run_python("command_client.py", ["127.0.0.1", str(s.port)], input=typed)
                t1 = time.time()
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, b"")
                prompts = ">" * (typed.count(b"\n") + 1)
                m = re.fullmatch(re.escape(prompts) + r"(.*)\n>", r.stdout.decode())
                self.assertIsNotNone(m, r.stdout)
                if want is None:
                    self.assertIn(m.group(1), ["[%s] date" % t for t in stamps_between(t0, t1)])
                else:
                    self.assertEqual(m.group(1), want)


class NetdemoClientsAgainstSeeds(RolesTestCase):

    def test_tcp_client_vs_seed_ts_tcp_server(self):
        seed = self.seed_server("ts_tcp_server.py")
        t0 = time.time()
        r = run(["tcp-client", "--port", str(seed.port), *FAST_TCP, "hello", "world wide"])
        t1 = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.fullmatch(r"\[(.*)\] hello\n\[(.*)\] world wide\n", r.stdout.decode())
        self.assertIsNotNone(m, r.stdout)
        for stamp in m.groups():
            self.assertIn(stamp, stamps_between(t0, t1))
        seed.wait_line(r"^\.\.\. connect from: \('127\.0\.0\.1', \d+\)$")
        # The client half-closes at the end: the seed's recv() gets b'' and it waits again.
        self.assertTrue(h.wait_until(
            lambda: seed.lines().count("waiting for connection...") == 2, 3), seed.text())

    def test_udp_client_vs_seed_ts_udp_server(self):
        seed = self.seed_server("ts_udp_server.py")
        t0 = time.time()
        r = run(["udp-client", "--port", str(seed.port), *FAST_UDP, "hello", "world"])
        t1 = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.fullmatch(r"\[(.*)\] hello\n\[(.*)\] world\n", r.stdout.decode())
        self.assertIsNotNone(m, r.stdout)
        for stamp in m.groups():
            self.assertIn(stamp, stamps_between(t0, t1))
        self.assertTrue(h.wait_until(lambda: len([
            l for l in seed.lines()
            if re.match(r"^\.\.\.received from and returned to: \('127\.0\.0\.1', \d+\)$", l)]) == 2, 2),
            seed.text())

    def test_command_client_vs_seed_command_server(self):
        root = make_tree(self.tempdir())
        with working_directory(root):  # the seed lists paths relative to its working directory
            seed = self.seed_server("command_server.py")
        t0 = time.time()
        r = run(["command-client", "--port", str(seed.port), *FAST_TCP,
                 "date", "os", "ls", "ls dir", "hello"])
        t1 = time.time()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        lines = r.stdout.decode().split("\n")
        self.assertEqual(len(lines), 6, lines)
        self.assertIn(lines[0], ["[%s] date" % s for s in stamps_between(t0, t1)])
        # The seed's answers, which have no line ending: one line each all the same.
        self.assertEqual(lines[1:], ["[posix]", "[.]", "[%s]" % os.listdir(os.path.join(root, "dir")),
                                     "welcome", ""])
        # Each command arrived alone (the seed prints what it got and its length).
        for got in ("date  4", "os  2", "ls  2", "ls dir  6", "hello  5"):
            seed.wait_line("^%s$" % re.escape(got), timeout=2)
        seed.wait_line(r"^\('127\.0\.0\.1', \d+\) connection closed$", timeout=2)

    def test_command_client_when_the_seed_server_hangs_up(self):
        # The seed ends the connection when a command fails (ls of a missing path).
        root = make_tree(self.tempdir())
        with working_directory(root):
            seed = self.seed_server("command_server.py")
        r = run(["command-client", "--port", str(seed.port), *FAST_TCP, "hello", "ls nope", "date"])
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stdout, b"welcome\n")
        self.assertIn(b"closed the connection after 'ls nope'", r.stderr)


if __name__ == "__main__":
    h.main()
