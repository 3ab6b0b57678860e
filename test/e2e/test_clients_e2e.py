#!/usr/bin/env python3
"""End-to-end tests of the interactive clients (tcp-client, command-client, udp-client
reading stdin) against servers that misbehave: silent, closing mid-session, vanishing; and
stdin that is closed, empty, or never ends.

Built with AddressSanitizer, these are the regression tests of the use-after-free in the
interactive loop (issue 11, defect 1): the release build only sees the exit code and output.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_clients_e2e.py
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase, run

# AddressSanitizer reports go to stderr and make the process exit 1.
SANITIZER_MARKERS = (b"AddressSanitizer", b"runtime error:", b"LeakSanitizer")


class FakeStreamServer:
    """A TCP listener on 127.0.0.1:0 that records what it receives and answers with
    `reply(data)` (None: say nothing). `close_after` bytes received, it closes the
    connection; `greeting` is sent at accept. The client's half-close (EOF) does not end
    the connection unless `close_on_eof`: a silent server stays silent."""

    def __init__(self, test, reply=None, close_after=None, greeting=b"", close_on_eof=False):
        self.reply = reply
        self.close_on_eof = close_on_eof
        self.close_after = close_after
        self.greeting = greeting
        self.received = bytearray()
        self.lock = threading.Lock()
        self.accepted = threading.Event()
        self.closed = threading.Event()
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        test.addCleanup(self.close)

    def _serve(self):
        conn = None
        while not self.stop.is_set() and conn is None:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
        if conn is None:
            return
        self.accepted.set()
        conn.settimeout(0.1)
        with conn:
            if self.greeting:
                conn.sendall(self.greeting)
            while not self.stop.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not data:
                    if self.close_on_eof:
                        break
                    self.stop.wait()
                    break
                with self.lock:
                    self.received += data
                    total = len(self.received)
                if self.reply is not None:
                    answer = self.reply(bytes(data))
                    if answer:
                        try:
                            conn.sendall(answer)
                        except OSError:
                            break
                if self.close_after is not None and total >= self.close_after:
                    break
        self.closed.set()

    def got(self) -> bytes:
        with self.lock:
            return bytes(self.received)

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


class ClientCase(NetdemoTestCase):

    def assert_clean(self, stderr: bytes):
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, stderr, stderr.decode("utf-8", "replace"))


class SilentServer(ClientCase):
    """Defect 1: after end of input the client waits --timeout for the server, then
    returns; the coroutine printing replies must not outlive the session."""

    def test_tcp_client_stdin_against_silent_server(self):
        srv = FakeStreamServer(self)
        t0 = time.monotonic()
        r = run(["tcp-client", "--port", str(srv.port), "--timeout", "500ms",
                 "--greeting-wait", "100ms"], input=b"hi\n", timeout=15)
        elapsed = time.monotonic() - t0
        self.assert_clean(r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(r.stderr, b"")
        # The line went out; the wait for its reply and the wait after EOF are --timeout each.
        self.assertTrue(h.wait_until(lambda: srv.got() == b"hi"), srv.got())
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 8)

    def test_tcp_client_eol_lines_against_silent_server(self):
        srv = FakeStreamServer(self)
        r = run(["tcp-client", "--port", str(srv.port), "--timeout", "300ms", "--eol", "lf",
                 "--greeting-wait", "0"], input=b"one\ntwo\n", timeout=15)
        self.assert_clean(r.stderr)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))
        self.assertTrue(h.wait_until(lambda: srv.got() == b"one\ntwo\n"), srv.got())

    def test_command_client_stdin_against_silent_server(self):
        srv = FakeStreamServer(self)
        r = run(["command-client", "--port", str(srv.port), "--timeout", "300ms"],
                input=b"date\nos\n", timeout=15)
        self.assert_clean(r.stderr)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))
        self.assertTrue(h.wait_until(lambda: srv.got() == b"dateos"), srv.got())

    def test_replies_before_silence_are_all_printed(self):
        # Answers the first line only, then says nothing more.
        answered = []

        def reply(data):
            if answered:
                return None
            answered.append(data)
            return b"first\n"

        srv = FakeStreamServer(self, reply=reply)
        r = run(["tcp-client", "--port", str(srv.port), "--timeout", "300ms",
                 "--greeting-wait", "0"], input=b"a\nb\n", timeout=15)
        self.assert_clean(r.stderr)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"first\n", b""))



class ServerGoesAway(ClientCase):
    """The server closes (or resets) while stdin still has lines, or never ends."""

    def endless_input_client(self, *args):
        """A client whose stdin is a pipe the test keeps open (input that never ends)."""
        c = self.proc([h.netdemo(), *args], stdin=subprocess.PIPE)
        return c

    def test_server_closes_while_stdin_stays_open(self):
        srv = FakeStreamServer(self, reply=lambda d: b"ok " + d, close_after=4)
        c = self.endless_input_client("tcp-client", "--port", str(srv.port), "--eol", "lf",
                                      "--timeout", "3s", "--greeting-wait", "0")
        c.p.stdin.write(b"one\n")
        c.p.stdin.flush()
        c.wait_line(r"^ok one$")
        # The server has closed; the client must notice at once, not at the next line.
        t0 = time.monotonic()
        self.assertEqual(c.wait(5), 0)
        self.assertLess(time.monotonic() - t0, 2.5)
        c.join_output()
        self.assertEqual(c.lines("stderr"), ["Connection closed by the server."])
        self.assert_clean(c.text("stderr").encode())

    def test_server_closes_while_lines_keep_coming(self):
        # The client is sending as fast as it can when the server goes.
        srv = FakeStreamServer(self, close_after=100_000, close_on_eof=True)
        c = self.endless_input_client("tcp-client", "--port", str(srv.port), "--eol", "lf",
                                      "--timeout", "3s", "--greeting-wait", "0")

        def feed():
            try:
                while True:
                    c.p.stdin.write(b"x" * 99 + b"\n")
            except (BrokenPipeError, ValueError, OSError):
                pass

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        rc = c.wait(10)
        c.join_output()
        err = c.text("stderr")
        self.assert_clean(err.encode())
        # Closed cleanly (0), or our next write met the reset the close caused (1):
        # either way one clear line, never a hang.
        self.assertIn(rc, (0, 1), err)
        if rc == 0:
            self.assertEqual(c.lines("stderr"), ["Connection closed by the server."])
        else:
            self.assertRegex(err, r"^netdemo tcp-client: (receive|send) failed: ")
            self.assertEqual(len(c.lines("stderr")), 1, err)

    def test_server_reset_is_a_failure(self):
        # A server that aborts the connection (RST): the client says so and exits 1.
        lsock = socket.socket()
        self.addCleanup(lsock.close)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(1)
        lsock.settimeout(h.QUICK)
        c = self.endless_input_client("tcp-client", "--port", str(lsock.getsockname()[1]),
                                      "--eol", "lf", "--timeout", "3s", "--greeting-wait", "0")
        conn, _ = lsock.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()
        self.assertEqual(c.wait(5), 1)
        c.join_output()
        self.assertEqual(c.lines("stderr"),
                         ["netdemo tcp-client: receive failed: Connection reset by peer"])

    def test_command_client_server_gone_mid_session(self):
        srv = self.server("command-server", "--root", self.tempdir())
        c = self.endless_input_client("command-client", "--port", str(srv.port), "--timeout", "3s")
        c.p.stdin.write(b"hello\n")
        c.p.stdin.flush()
        c.wait_line(r"^welcome$")
        srv.stop(signal.SIGTERM)
        self.assertEqual(c.wait(5), 0)
        c.join_output()
        self.assertEqual(c.lines("stderr"), ["Connection closed by the server."])

    def test_udp_client_server_gone_mid_session(self):
        srv = self.udp_server("--role", "upper")
        c = self.endless_input_client("udp-client", "--port", str(srv.port), "--timeout", "300ms",
                                      "--retries", "1")
        c.p.stdin.write(b"one\n")
        c.p.stdin.flush()
        c.wait_line(r"^ONE$")
        srv.stop(signal.SIGTERM)
        c.p.stdin.write(b"two\n")
        c.p.stdin.flush()
        # Nothing listens any more: refused (7) at once, or no answer (28) within the retries.
        self.assertIn(c.wait(5), (7, 28))
        c.join_output()
        self.assertEqual(len(c.lines("stderr")), 1, c.text("stderr"))
        self.assertIn("127.0.0.1:%d" % srv.port, c.text("stderr"))


if __name__ == "__main__":
    h.main()
