"""Helpers for the end-to-end tests of the `netdemo` binary.

Standard library only. The binary comes from the NETDEMO environment variable (CTest sets
it to $<TARGET_FILE:netdemo_app>). Rules every helper follows, so that nothing can hang:

* every socket gets a timeout, every subprocess.run gets timeout=, every wait a deadline;
* servers bind 127.0.0.1 / ::1 (or a Unix path in a private temporary directory) on port 0,
  and the real port is read from their "Listening on ..." line;
* everything started is stopped (signal, then SIGKILL) by a cleanup registered at start,
  and asks the kernel to SIGKILL it should the test process die first (PR_SET_PDEATHSIG);
* in a sanitizer build, a report from any netdemo process fails the test that started it
  (its stderr, or the report file when the options set log_path, as scripts/test.sh does).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Callable, List, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")

# How long a server may take to print its "Listening on" line (a Debug build under load).
START_TIMEOUT = 10.0
# Default bound for anything that should be quick.
QUICK = 5.0

LISTENING_RE = re.compile(
    r"^\d\d:\d\d:\d\d Listening on (?P<transport>tcp|tls|udp|unix|unix-dgram) (?P<where>\S+) "
    r"\(role (?P<role>[a-z-]+)(?:, (?P<threads>\d+) threads)?\); Ctrl\+C stops$"
)


def netdemo() -> str:
    """Path of the binary under test (NETDEMO), or fail loudly."""
    path = os.environ.get("NETDEMO", "")
    if not path:
        raise RuntimeError(
            "set NETDEMO to the netdemo binary, e.g. NETDEMO=build/netdemo python3 " + sys.argv[0]
        )
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError("NETDEMO=%r is not an executable file" % path)
    return path


try:  # resolved once in the parent: the forked child only makes the call
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except Exception:  # pragma: no cover - not Linux / no libc symbol
    _prctl = None


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL if the test process dies (Linux only), so a
    test runner killed on timeout leaves no server behind."""
    if _prctl is not None:
        PR_SET_PDEATHSIG = 1
        _prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


# ---------------------------------------------------------------------------------------
# Sanitizer reports (docs/reliability.md). A report stops the process (halt_on_error) with
# the sanitizer's exit code, but a test that only waits for a server, or expects a failure
# exit anyway, could still pass: so every process started here is checked for one.

_SANITIZER_VARS = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS")
SANITIZER_RE = re.compile(rb"(?:Address|Leak|Thread|UndefinedBehavior)Sanitizer|: runtime error: ")


def _private_report_dir() -> Optional[str]:
    """When the options send reports to files (log_path=DIR/report), points them at a
    directory of this test process's own under DIR: every child inherits it, so a report
    is blamed on this module's test even while other modules run at the same time."""
    base = None
    for var in _SANITIZER_VARS:
        m = re.search(r"(?:^|:)log_path=([^:]+)", os.environ.get(var, ""))
        if m:
            base = os.path.dirname(m.group(1))
            break
    if base is None or not os.path.isdir(base):
        return None
    d = os.path.join(base, "e2e-%d" % os.getpid())
    os.makedirs(d, exist_ok=True)
    for var in _SANITIZER_VARS:
        opts = re.sub(r"(?:^|:)log_path=[^:]*", "", os.environ.get(var, "")).strip(":")
        os.environ[var] = (opts + ":" if opts else "") + "log_path=" + os.path.join(d, "report")
    return d


REPORT_DIR = _private_report_dir()
_claimed_reports = set()  # report files already blamed on a test


def _report_files(pid: Optional[int] = None) -> List[str]:
    if REPORT_DIR is None:
        return []
    names = sorted(os.listdir(REPORT_DIR))
    if pid is not None:
        names = [n for n in names if n == "report.%d" % pid]
    return [os.path.join(REPORT_DIR, n) for n in names if os.path.join(REPORT_DIR, n) not in _claimed_reports]


def _claim(paths: List[str]) -> str:
    text = []
    for path in paths:
        _claimed_reports.add(path)
        with open(path, "rb") as f:
            text.append(f.read().decode("utf-8", "replace"))
    return "\n".join(text)


def check_no_sanitizer_report(pid: int, stderr: bytes, argv: Sequence[str]) -> None:
    """Fails (AssertionError with the report) when process `pid` wrote a sanitizer report."""
    files = _report_files(pid)
    if files:
        raise AssertionError("sanitizer report from %s (pid %d):\n%s"
                             % (" ".join(argv), pid, _claim(files)))
    if SANITIZER_RE.search(stderr or b""):
        raise AssertionError("sanitizer report on the stderr of %s (pid %d):\n%s"
                             % (" ".join(argv), pid, stderr.decode("utf-8", "replace")))


def run(args: Sequence[str], input: Optional[bytes] = None, timeout: float = QUICK,
        binary: Optional[str] = None) -> subprocess.CompletedProcess:
    """Runs `netdemo ARGS...` to completion (bounded) and captures bytes output."""
    argv = [binary or netdemo(), *args]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, preexec_fn=_die_with_parent) as p:
        try:
            out, err = p.communicate(input if input is not None else b"", timeout=timeout)
        except subprocess.TimeoutExpired:  # as subprocess.run does
            p.kill()
            p.communicate()
            raise
    check_no_sanitizer_report(p.pid, err, argv)
    return subprocess.CompletedProcess(argv, p.returncode, out, err)


def run_python(script: str, args: Sequence[str] = (), input: Optional[bytes] = None,
               timeout: float = QUICK) -> subprocess.CompletedProcess:
    """Runs a seed program (`seeds/<script>`) with python3 -u, bounded."""
    argv = [sys.executable, "-u", os.path.join(SEEDS, script), *args]
    return subprocess.run(argv, input=input if input is not None else b"",
                          capture_output=True, timeout=timeout, preexec_fn=_die_with_parent)


class Proc:
    """A background process whose stdout/stderr lines are collected by reader threads."""

    def __init__(self, argv: Sequence[str], stdin: Optional[int] = subprocess.DEVNULL):
        self.argv = list(argv)
        self.p = subprocess.Popen(self.argv, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, preexec_fn=_die_with_parent)
        self._cond = threading.Condition()
        self._lines = {"stdout": [], "stderr": []}
        self._closed = {"stdout": False, "stderr": False}
        self._checked = False
        self._threads = [
            threading.Thread(target=self._reader, args=("stdout", self.p.stdout), daemon=True),
            threading.Thread(target=self._reader, args=("stderr", self.p.stderr), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _reader(self, name: str, pipe) -> None:
        try:
            for raw in iter(pipe.readline, b""):
                with self._cond:
                    self._lines[name].append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._closed[name] = True
                self._cond.notify_all()

    @property
    def pid(self) -> int:
        return self.p.pid

    def lines(self, stream: str = "stdout") -> List[str]:
        with self._cond:
            return list(self._lines[stream])

    def text(self, stream: str = "stdout") -> str:
        return "\n".join(self.lines(stream))

    def wait_line(self, pattern: str, timeout: float = QUICK, stream: str = "stdout",
                  start: int = 0) -> re.Match:
        """Waits for a line (index >= start) matching `pattern` (re.search); fails on timeout."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines[stream][start:]:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self._closed[stream]:
                    break
                self._cond.wait(min(left, 0.1))
        raise AssertionError("no %s line matching %r within %.1f s from %s; %s so far:\n%s\nstderr:\n%s"
                             % (stream, pattern, timeout, " ".join(self.argv), stream,
                                self.text(stream), self.text("stderr")))

    def alive(self) -> bool:
        return self.p.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.p.send_signal(sig)

    def wait(self, timeout: float = QUICK) -> int:
        """Waits for exit; fails (after killing it) if it does not exit in time."""
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("%s did not exit within %.1f s" % (" ".join(self.argv), timeout))
        self.check_sanitizers()
        return rc

    def check_sanitizers(self) -> None:
        """Fails when the (exited) process left a sanitizer report; checks once."""
        if self._checked or self.p.poll() is None:
            return
        self._checked = True
        self.join_output()
        check_no_sanitizer_report(self.pid, self.text("stderr").encode(), self.argv)

    def join_output(self, timeout: float = 2.0) -> None:
        for t in self._threads:
            t.join(timeout)

    def kill(self) -> None:
        if self.alive():
            self.p.kill()
        try:
            self.p.wait(timeout=QUICK)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie that will not die
            pass

    def close(self) -> None:
        """Kills the process if still running, reaps it and closes the pipes."""
        self.kill()
        self.join_output()
        for f in (self.p.stdout, self.p.stderr, self.p.stdin):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass
        self.check_sanitizers()


class Server(Proc):
    """A netdemo server (`tcp-server` / `udp-server`) started on port 0 or a Unix path.

    Attributes after start: transport ('tcp', 'udp', 'unix', 'unix-dgram'), host, port,
    path (Unix), role, listening (every parsed Listening line, for dual listeners).
    """

    def __init__(self, command: str, *args: str, port: Optional[int] = 0,
                 host: Optional[str] = None, unix: Optional[str] = None,
                 start_timeout: float = START_TIMEOUT):
        argv = [netdemo(), command]
        if unix is not None:
            argv += ["--unix", unix]
        else:
            if host is not None:
                argv += ["--host", host]
            if port is not None:
                argv += ["--port", str(port)]
        argv += list(args)
        super().__init__(argv)
        self.command = command
        self.path = unix
        self.host = None
        self.port = None
        try:
            m = self._wait_listening(start_timeout)
        except BaseException:
            self.close()
            raise
        self.transport = m.group("transport")
        self.role = m.group("role")
        where = m.group("where")
        if self.transport in ("tcp", "tls", "udp"):
            hm = re.match(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<v4>[^:]+)):(?P<port>\d+)$", where)
            if not hm:
                self.close()
                raise AssertionError("cannot parse address %r in the Listening line" % where)
            self.host = hm.group("v6") or hm.group("v4")
            self.port = int(hm.group("port"))
        else:
            self.where = where

    def _wait_listening(self, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines["stdout"]:
                    m = LISTENING_RE.match(line)
                    if m:
                        return m
                if self._closed["stdout"] or time.monotonic() > deadline:
                    break
                self._cond.wait(0.05)
        # Not listening: report why (exit code, stderr) and make sure it is gone.
        rc = self.p.poll()
        self.kill()
        self.join_output()
        raise AssertionError("server did not report 'Listening on' within %.1f s (exit %s): %s\n"
                             "stdout:\n%s\nstderr:\n%s" % (timeout, rc, " ".join(self.argv),
                                                           self.text(), self.text("stderr")))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = QUICK) -> int:
        """Sends `sig` and waits (bounded) for the exit code."""
        self.signal(sig)
        rc = self.wait(timeout)
        self.join_output()
        return rc

    def client_args(self) -> List[str]:
        """The options that point a netdemo client at this server."""
        if self.path is not None:
            return ["--unix", self.path]
        return ["--host", self.host, "--port", str(self.port)]


class NetdemoTestCase(unittest.TestCase):
    """Base class: servers and sockets opened through it are cleaned up automatically."""

    maxDiff = 4000

    def run(self, result=None):
        """Runs the test, then fails it for any sanitizer report left by a process it
        started some other way (subprocess directly, a pty)."""
        result = super().run(result)
        files = _report_files()
        if files and result is not None:
            try:
                raise AssertionError("sanitizer report during this test:\n" + _claim(files))
            except AssertionError:
                result.addFailure(self, sys.exc_info())
        return result

    def server(self, command: str, *args: str, **kw) -> Server:
        s = Server(command, *args, **kw)
        self.addCleanup(s.close)
        return s

    def tcp_server(self, *args: str, **kw) -> Server:
        return self.server("tcp-server", *args, **kw)

    def udp_server(self, *args: str, **kw) -> Server:
        return self.server("udp-server", *args, **kw)

    def proc(self, argv: Sequence[str], stdin: Optional[int] = subprocess.DEVNULL) -> Proc:
        p = Proc(argv, stdin=stdin)
        self.addCleanup(p.close)
        return p

    def seed_server(self, script: str, *args: str) -> "SeedServer":
        s = SeedServer(script, *args)
        self.addCleanup(s.close)
        return s

    def tempdir(self) -> str:
        # Short paths: sun_path is limited to 108 bytes.
        d = tempfile.mkdtemp(prefix="nde2e-", dir="/tmp")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def connect(self, server_or_port, host: str = "127.0.0.1", timeout: float = QUICK,
                family: int = socket.AF_INET) -> socket.socket:
        """A connected TCP (or Unix stream, for a Unix server) socket with a timeout."""
        if isinstance(server_or_port, Server) and server_or_port.path is not None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr = server_or_port.path
        else:
            port = server_or_port.port if isinstance(server_or_port, Server) else server_or_port
            if ":" in host:
                family = socket.AF_INET6
            s = socket.socket(family, socket.SOCK_STREAM)
            addr = (host, port)
        self.addCleanup(s.close)
        s.settimeout(timeout)
        s.connect(addr)
        return s

    def udp(self, timeout: float = QUICK, family: int = socket.AF_INET) -> socket.socket:
        s = socket.socket(family, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.settimeout(timeout)
        return s

    def run_ok(self, args: Sequence[str], **kw) -> subprocess.CompletedProcess:
        """Runs netdemo and asserts exit 0, showing stderr if not."""
        r = run(args, **kw)
        self.assertEqual(r.returncode, 0, "netdemo %s exited %d; stdout=%r stderr=%r"
                         % (" ".join(args), r.returncode, r.stdout, r.stderr))
        return r


class SeedServer(Proc):
    """A seed Python server from seeds/, on port 0; the port comes from its stderr."""

    def __init__(self, script: str, *args: str):
        super().__init__([sys.executable, "-u", os.path.join(SEEDS, script), "127.0.0.1", "0",
                          *args])
        try:
            m = self.wait_line(r"^PORT (\d+)$", START_TIMEOUT, stream="stderr")
        except BaseException:
            self.close()
            raise
        self.port = int(m.group(1))


# ---------------------------------------------------------------------------------------
# Socket helpers (all bounded)


def recv_until(sock: socket.socket, done, timeout: float = QUICK, limit: int = 0):
    """Reads until `done(got)` is true, EOF, or `timeout`; never more than `limit` bytes in
    all when `limit` > 0. Returns (got, eof)."""
    deadline = time.monotonic() + timeout
    got = b""
    while not done(got):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        sock.settimeout(left)
        try:
            d = sock.recv(limit - len(got) if limit > 0 else 65536)
        except socket.timeout:
            break
        if not d:
            return got, True
        got += d
    return got, False


def recv_until_eof(sock: socket.socket, timeout: float = QUICK) -> bytes:
    """Everything until the peer closes; fails if it does not close within `timeout`."""
    got, eof = recv_until(sock, lambda _: False, timeout)
    if not eof:
        raise AssertionError("no EOF within %.1f s; got %r" % (timeout, got))
    return got


def recv_exactly(sock: socket.socket, expected: bytes, timeout: float = QUICK) -> bytes:
    """Reads len(expected) bytes (or until EOF/timeout) and returns them, for assertEqual."""
    n = len(expected)
    return recv_until(sock, lambda got: len(got) >= n, timeout, limit=n)[0]


def recv_nothing_for(sock: socket.socket, seconds: float) -> bytes:
    """Returns what arrives within `seconds` (b'' when nothing does). EOF counts as b''."""
    sock.settimeout(seconds)
    try:
        return sock.recv(65536)
    except socket.timeout:
        return b""


def wait_until(predicate: Callable[[], bool], timeout: float = QUICK, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def wait_until_sending_stalls(stats: dict, quiet: float = 0.3, timeout: float = 8.0) -> bool:
    """Waits until stats["sent"] (bumped by a sender thread) stops growing for `quiet`
    seconds, i.e. both directions of a connection are full. False after `timeout`."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if stats["sent"] != last:
            last, since = stats["sent"], time.monotonic()
        elif time.monotonic() - since > quiet:
            return True
    return False


def ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def bound_unlistened_tcp_port() -> socket.socket:
    """A TCP socket bound to 127.0.0.1:<port> but not listening: connecting gets refused,
    and nobody else can take the port while the socket lives. Close it when done."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    return s


def unused_udp_port() -> int:
    """A UDP port that was free a moment ago (bind, read, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_states_on_port(port: int) -> List[str]:
    """Kernel TCP states (hex, e.g. '06' = TIME_WAIT) of IPv4 sockets with local port `port`."""
    out = []
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                local, state = parts[1], parts[3]
                if int(local.split(":")[1], 16) == port:
                    out.append(state)
    except OSError:
        pass
    return out


def main() -> None:
    """unittest.main with the binary checked first (a clear error instead of 40 failures)."""
    try:
        netdemo()
    except RuntimeError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(2)
    unittest.main(verbosity=2)
