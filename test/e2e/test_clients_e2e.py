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



def close_fds(*fds):
    """A preexec_fn: the child starts with `fds` closed (as `<&-` or `>&-` in a shell)."""
    def setup():
        h._die_with_parent()
        for fd in fds:
            os.close(fd)
    return setup


def run_closed(args, fds, timeout=h.QUICK):
    """Runs `netdemo ARGS` with the standard descriptors `fds` closed; the others piped."""
    return subprocess.run([h.netdemo(), *args], stdin=subprocess.DEVNULL if 0 not in fds else None,
                          stdout=subprocess.PIPE if 1 not in fds else None,
                          stderr=subprocess.PIPE if 2 not in fds else None,
                          preexec_fn=close_fds(*fds), timeout=timeout)


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
        # Reset only once the client sends: a reset that beats the client's own check of its
        # connect (SO_ERROR) is honestly "cannot connect" (exit 7), which is not this case.
        c.p.stdin.write(b"one\n")
        c.p.stdin.flush()
        conn.settimeout(h.QUICK)
        conn.recv(100)
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


class ClosedStandardDescriptors(ClientCase):
    """Defect 10: `<&-` is an end of input, not a Boost assertion text; a socket must
    never take the place of a closed stdin or stdout."""

    def test_tcp_client_closed_stdin_is_end_of_input(self):
        srv = self.tcp_server()
        r = run_closed(["tcp-client", "--port", str(srv.port), "--timeout", "2s"], [0])
        self.assert_clean(r.stderr)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"Welcome!\n", b""))

    def test_command_client_closed_stdin_is_end_of_input(self):
        srv = self.server("command-server", "--root", self.tempdir())
        r = run_closed(["command-client", "--port", str(srv.port), "--timeout", "2s"], [0])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))

    def test_udp_client_closed_stdin_is_end_of_input(self):
        srv = self.udp_server()
        r = run_closed(["udp-client", "--port", str(srv.port), "--timeout", "500ms"], [0])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))

    def test_closed_stdout_is_a_write_error_and_nothing_reaches_the_server(self):
        srv = FakeStreamServer(self, reply=lambda d: b"reply\n", close_on_eof=True)
        r = run_closed(["tcp-client", "--port", str(srv.port), "--timeout", "2s",
                        "--greeting-wait", "0", "--eol", "lf", "hi"], [1])
        self.assertEqual(r.returncode, 23, r.stderr)
        self.assertIn(b"cannot write the output", r.stderr)
        srv.closed.wait(h.QUICK)
        self.assertEqual(srv.got(), b"hi\n")


class EmptyLines(ClientCase):
    """Defect 10: an empty line must not leave the client waiting for a reply that will
    not come. Bare words (no --eol): an empty line is zero bytes, nothing to send, so it
    is skipped. With --eol it is a message (a line ending) and gets its reply."""

    def test_bare_word_empty_lines_are_skipped(self):
        srv = self.tcp_server()
        t0 = time.monotonic()
        r = run(["tcp-client", "--port", str(srv.port), "--timeout", "5s"],
                input=b"\nMichael\n\n\r\nTracy\n", timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"Welcome!\nHello, Michael!\nHello, Tracy!\n")
        self.assertLess(time.monotonic() - t0, 3.5)  # no --timeout (5 s) wait for a blank
        srv.wait_line(r"closed \(eof, 12 bytes in,")

    def test_command_client_empty_line_is_skipped(self):
        srv = self.server("command-server", "--root", self.tempdir())
        t0 = time.monotonic()
        r = run(["command-client", "--port", str(srv.port), "--timeout", "5s"],
                input=b"\nhello\n", timeout=15)
        self.assertEqual((r.returncode, r.stdout), (0, b"welcome\n"), r.stderr)
        self.assertLess(time.monotonic() - t0, 3.5)

    def test_eol_empty_line_is_a_message(self):
        srv = self.tcp_server()
        r = run(["tcp-client", "--port", str(srv.port), "--timeout", "5s", "--eol", "lf"],
                input=b"\nMichael\n", timeout=15)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"Welcome!\nHello, !\nHello, Michael!\n")

    def test_udp_empty_line_is_an_empty_datagram_and_answered(self):
        srv = self.udp_server()
        r = run(["udp-client", "--port", str(srv.port), "--timeout", "500ms", "--retries", "0"],
                input=b"\nMichael\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"Hello, !\nHello, Michael!\n")

    def test_empty_bare_word_argument_is_a_usage_error(self):
        for command in ("tcp-client", "command-client"):
            with self.subTest(command=command):
                t0 = time.monotonic()
                r = run([command, "--port", "9", "Michael", ""])
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(b"empty MESSAGE", r.stderr)
                self.assertLess(time.monotonic() - t0, 2)


if __name__ == "__main__":
    h.main()
