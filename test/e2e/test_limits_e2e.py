#!/usr/bin/env python3
"""The protective limits and the robustness of the servers, end to end: line cap,
connection cap, idle timeout, graceful stop, datagram cap, resets and garbage.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_limits_e2e.py
"""

import os
import re
import signal
import socket
import sys
import struct
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase, run


def rst_close(sock: socket.socket) -> None:
    """Closes with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class LineLimit(NetdemoTestCase):
    ERR16 = b"ERR line too long (max 16 bytes)\n"

    def test_long_line_gets_error_then_eof(self):
        s = self.tcp_server("--max-line", "16")
        c = self.connect(s)
        c.sendall(b"A" * 100 + b"\n")
        self.assertEqual(h.recv_until_eof(c, 3), b"Welcome!" + self.ERR16)
        s.wait_line(r"Refused 127\.0\.0\.1:\d+: limit:line")
        s.wait_line(r"closed \(limit:line,")

    def test_long_unterminated_data_is_cut_too(self):
        # No line ending at all: the cap still holds (no buffering without bound).
        s = self.tcp_server("--max-line", "16", "--role", "upper")
        c = self.connect(s)
        c.sendall(b"b" * 100)
        self.assertEqual(h.recv_until_eof(c, 3), self.ERR16)

    def test_exactly_max_line_is_fine_and_earlier_lines_are_answered(self):
        s = self.tcp_server("--max-line", "16")
        c = self.connect(s)
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        c.sendall(b"x" * 16 + b"\n")
        want = b"Hello, " + b"x" * 16 + b"!\n"
        self.assertEqual(h.recv_exactly(c, want), want)
        # A good line and a too-long one in the same write: the first is answered, in order.
        c.sendall(b"ok\n" + b"y" * 17 + b"\n")
        self.assertEqual(h.recv_until_eof(c, 3), b"Hello, ok!\n" + self.ERR16)

    def test_long_line_from_one_client_does_not_affect_another(self):
        s = self.tcp_server("--max-line", "16")
        good = self.connect(s)
        self.assertEqual(h.recv_exactly(good, b"Welcome!"), b"Welcome!")
        bad = self.connect(s)
        bad.sendall(b"z" * 1000)
        self.assertEqual(h.recv_until_eof(bad, 3), b"Welcome!" + self.ERR16)
        good.sendall(b"still here\n")
        self.assertEqual(h.recv_exactly(good, b"Hello, still here!\n"), b"Hello, still here!\n")


class ConnectionLimit(NetdemoTestCase):

    def test_third_connection_refused_first_two_work(self):
        s = self.tcp_server("--max-conns", "2")
        a = self.connect(s)
        b = self.connect(s)
        # Each of the two is a session before the third arrives.
        self.assertEqual(h.recv_exactly(a, b"Welcome!"), b"Welcome!")
        self.assertEqual(h.recv_exactly(b, b"Welcome!"), b"Welcome!")
        c = self.connect(s)
        self.assertEqual(h.recv_until_eof(c, 3), b"ERR too many connections (max 2)\n")
        s.wait_line(r"Refused 127\.0\.0\.1:%d: limit:connections" % c.getsockname()[1])
        for sock, name in ((a, b"a"), (b, b"b")):
            sock.sendall(name + b"\n")
            want = b"Hello, " + name + b"!\n"
            self.assertEqual(h.recv_exactly(sock, want), want)

    def test_a_freed_slot_is_reused(self):
        s = self.tcp_server("--max-conns", "1")
        a = self.connect(s)
        self.assertEqual(h.recv_exactly(a, b"Welcome!"), b"Welcome!")
        r = run(["tcp-client", "--port", str(s.port), "--timeout", "1s", "x"])
        self.assertIn(b"ERR too many connections (max 1)", r.stdout + r.stderr)
        a.sendall(b"exit\n")
        self.assertEqual(h.recv_until_eof(a), b"")
        a.close()
        s.wait_line(r"Connection from 127\.0\.0\.1:\d+ closed \(exit")
        r = self.run_ok(["tcp-client", "--port", str(s.port), "Michael"])
        self.assertEqual(r.stdout, b"Welcome!\nHello, Michael!\n")


class IdleTimeout(NetdemoTestCase):

    def test_silent_connection_closed(self):
        s = self.tcp_server("--idle-timeout", "200ms")
        c = self.connect(s)
        t0 = time.monotonic()
        self.assertEqual(h.recv_until_eof(c, 3), b"Welcome!")
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 3.0)
        self.assertGreaterEqual(elapsed, 0.15, "closed before the idle timeout")
        s.wait_line(r"closed \(idle,")

    def test_active_connection_kept(self):
        s = self.tcp_server("--idle-timeout", "300ms")
        c = self.connect(s)
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        t_end = time.monotonic() + 1.0  # more than three idle timeouts
        i = 0
        while time.monotonic() < t_end:
            msg = b"m%d\n" % i
            c.sendall(msg)
            want = b"Hello, m%d!\n" % i
            self.assertEqual(h.recv_exactly(c, want, 2), want)
            time.sleep(0.1)
            i += 1
        # Then silence: now it goes.
        self.assertEqual(h.recv_until_eof(c, 3), b"")

    def test_idle_unix_connection_closed(self):
        path = self.tempdir() + "/idle.sock"
        s = self.tcp_server("--idle-timeout", "200ms", "--role", "echo", unix=path)
        c = self.connect(s)
        self.assertEqual(h.recv_until_eof(c, 3), b"")


class GracefulStop(NetdemoTestCase):

    def test_reply_to_a_line_sent_just_before_sigint_arrives(self):
        s = self.tcp_server()
        c = self.connect(s)
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        c.sendall(b"Michael\n")
        s.signal(signal.SIGINT)
        self.assertEqual(h.recv_until_eof(c, 3), b"Hello, Michael!\n")
        c.close()
        self.assertEqual(s.wait(5), 130)

    def test_bare_word_waiting_for_pause_is_answered_on_stop(self):
        s = self.tcp_server("--pause", "300ms")
        c = self.connect(s)
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        c.sendall(b"Michael")
        time.sleep(0.1)  # the server has read it and waits for the pause
        s.signal(signal.SIGINT)
        got = h.recv_until_eof(c, 3)
        c.close()
        self.assertEqual(s.wait(5), 130)
        self.assertEqual(got, b"Hello, Michael!")

    def test_replies_being_written_are_delivered_in_full(self):
        s = self.tcp_server("--role", "echo", "--grace", "5s")
        c = socket.socket()
        self.addCleanup(c.close)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        c.settimeout(10)
        c.connect(("127.0.0.1", s.port))
        pattern = bytes(range(256)) * 256  # 64 KiB; the position of every byte is checkable
        stats = {"sent": 0, "stop": False}

        def stuff():
            try:
                while not stats["stop"]:
                    c.sendall(pattern)
                    stats["sent"] += len(pattern)
            except OSError:
                pass

        t = threading.Thread(target=stuff, daemon=True)
        t.start()
        self.addCleanup(lambda: stats.__setitem__("stop", True))
        # Wait until the server is stuck writing to us (we do not read): sending stalls.
        self.assertTrue(h.wait_until_sending_stalls(stats), "the echo server never stopped reading")
        s.signal(signal.SIGINT)
        s.wait_line("Stopping")
        stats["stop"] = True
        got = bytearray()
        end = time.monotonic() + 8
        while time.monotonic() < end:
            d = c.recv(1 << 20)
            if not d:
                break
            got += d
        else:
            self.fail("no EOF after the stop")
        self.assertEqual(s.wait(5), 130)
        s.join_output()
        m = re.search(r"closed \((\w+), (\d+) bytes in, (\d+) out\)", s.text())
        self.assertIsNotNone(m, s.text())
        reason, bytes_in, bytes_out = m.group(1), int(m.group(2)), int(m.group(3))
        self.assertEqual(reason, "shutdown", s.text())
        # Everything the server read came back, whole and in order, before the EOF.
        self.assertEqual(bytes_out, bytes_in)
        self.assertEqual(len(got), bytes_out)
        self.assertGreater(len(got), 100_000)
        whole, rest = divmod(len(got), len(pattern))
        self.assertTrue(got == pattern * whole + pattern[:rest], "echoed bytes are corrupted")

    def test_udp_server_stops_promptly(self):
        s = self.udp_server()
        u = self.udp()
        u.sendto(b"x", ("127.0.0.1", s.port))
        self.assertEqual(u.recvfrom(100)[0], b"Hello, x!")
        t0 = time.monotonic()
        self.assertEqual(s.stop(signal.SIGINT), 130)
        self.assertLess(time.monotonic() - t0, 2)


class DatagramLimit(NetdemoTestCase):

    def test_oversized_datagram_dropped_next_answered(self):
        s = self.udp_server("--max-datagram", "100")
        u = self.udp()
        addr = ("127.0.0.1", s.port)
        u.sendto(b"B" * 200, addr)
        u.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            u.recvfrom(65536)
        s.wait_line(r"Dropped a datagram from 127\.0\.0\.1:%d" % u.getsockname()[1])
        u.settimeout(2)
        u.sendto(b"small", addr)
        self.assertEqual(u.recvfrom(65536)[0], b"Hello, small!")
        # The cap itself is allowed.
        u.sendto(b"C" * 100, addr)
        self.assertEqual(u.recvfrom(65536)[0], b"Hello, " + b"C" * 100 + b"!")
        u.sendto(b"D" * 101, addr)
        u.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            u.recvfrom(65536)

    def test_large_datagram_within_default_limit(self):
        s = self.udp_server("--role", "echo")
        u = self.udp()
        payload = bytes(range(256)) * 200  # 51200 bytes, under the 64 KiB default
        u.sendto(payload, ("127.0.0.1", s.port))
        self.assertEqual(u.recvfrom(65536)[0], payload)


def stuck_echo_session(test, s):
    """A client of the echo server `s` that sends without reading until both directions
    are full: the server is left in the middle of writing a reply it cannot finish."""
    c = socket.socket()
    test.addCleanup(c.close)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    c.settimeout(10)
    c.connect(("127.0.0.1", s.port))
    stats = {"sent": 0, "stop": False}

    def stuff():
        try:
            while not stats["stop"]:
                c.sendall(b"z" * 65536)
                stats["sent"] += 65536
        except OSError:
            pass

    threading.Thread(target=stuff, daemon=True).start()
    test.addCleanup(lambda: stats.__setitem__("stop", True))
    test.assertTrue(h.wait_until_sending_stalls(stats), "the echo server never stopped reading")
    return c


class StopExitCodes(NetdemoTestCase):
    """A stop that had to cut sessions off is not a success (docs/exit-codes.md)."""

    def assert_aborted(self, s, rc, cause):
        s.join_output()
        self.assertEqual(rc, 1, s.text("stderr"))
        self.assertRegex(s.text("stderr"),
                         r"^netdemo tcp-server: the stop cut off 1 session\(s\) \(%s\)$" % cause)
        self.assertRegex(s.text(), r"closed \(aborted, \d+ bytes in, \d+ out\)")

    def test_second_sigterm_during_the_grace_exits_1(self):
        s = self.tcp_server("--role", "echo", "--grace", "30s")
        stuck_echo_session(self, s)
        s.signal(signal.SIGTERM)
        s.wait_line("Stopping")
        s.signal(signal.SIGTERM)
        self.assert_aborted(s, s.wait(5), "a second signal")

    def test_second_sigint_exits_1_not_130(self):
        s = self.tcp_server("--role", "echo", "--grace", "30s")
        stuck_echo_session(self, s)
        s.signal(signal.SIGINT)
        s.wait_line("Stopping")
        s.signal(signal.SIGINT)
        self.assert_aborted(s, s.wait(5), "a second signal")

    def test_grace_running_out_exits_1(self):
        s = self.tcp_server("--role", "echo", "--grace", "300ms")
        stuck_echo_session(self, s)
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        rc = s.wait(5)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25, "aborted before the grace ended")
        self.assert_aborted(s, rc, r"still open when the grace of 300 ms ran out")

    def test_grace_running_out_with_threads_exits_1(self):
        s = self.tcp_server("--role", "echo", "--grace", "300ms", "--threads", "2")
        stuck_echo_session(self, s)
        s.signal(signal.SIGTERM)
        self.assert_aborted(s, s.wait(5), r"still open when the grace of 300 ms ran out")

    def test_clean_stop_with_sessions_open_keeps_0_and_130(self):
        for sig, want in ((signal.SIGTERM, 0), (signal.SIGINT, 130)):
            with self.subTest(sig=sig):
                s = self.tcp_server("--grace", "5s")
                idle = self.connect(s)
                busy = self.connect(s)
                self.assertEqual(h.recv_exactly(idle, b"Welcome!"), b"Welcome!")
                self.assertEqual(h.recv_exactly(busy, b"Welcome!"), b"Welcome!")
                busy.sendall(b"last words\n")
                s.signal(sig)
                self.assertEqual(h.recv_until_eof(busy), b"Hello, last words!\n")
                self.assertEqual(h.recv_until_eof(idle), b"")
                self.assertEqual(s.wait(5), want)
                s.join_output()
                self.assertEqual(s.text("stderr"), "")
                self.assertNotIn("aborted", s.text())

    def test_second_signal_that_cuts_off_only_a_lingering_close_is_still_0(self):
        # The session had its last reply and its FIN; the server waits (lingering close) for
        # the client, which keeps its socket open. Ending that wait loses nothing.
        s = self.tcp_server("--grace", "5s")
        c = self.connect(s)
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        s.signal(signal.SIGTERM)
        self.assertEqual(h.recv_until_eof(c), b"")  # c stays open: the server lingers
        self.assertTrue(s.alive())
        s.signal(signal.SIGTERM)
        self.assertEqual(s.wait(5), 0, s.text("stderr"))
        s.join_output()
        self.assertRegex(s.text(), r"closed \(shutdown, ")

    def test_udp_server_sigterm_exits_0(self):
        s = self.udp_server()
        u = self.udp()
        u.sendto(b"x", ("127.0.0.1", s.port))
        self.assertEqual(u.recvfrom(100)[0], b"Hello, x!")
        self.assertEqual(s.stop(signal.SIGTERM), 0, s.text("stderr"))


def reply_bound(request_size):
    """docs/limits.md: a UDP reply is at most 3 times the request plus 64 bytes."""
    return 3 * request_size + 64


class NoAmplifier(NetdemoTestCase):
    """No UDP role answers a datagram with more than reply_bound() bytes (issue 11, #6)."""

    def big_root(self):
        root = self.tempdir()
        for i in range(1000):
            open(os.path.join(root, "f%04d" % i), "w").close()
        os.mkdir(os.path.join(root, "small"))
        open(os.path.join(root, "small", "a"), "w").close()
        return root

    def test_ls_of_a_big_directory_is_refused_use_tcp(self):
        s = self.udp_server("--role", "command", "--root", self.big_root())
        u = self.udp()
        addr = ("127.0.0.1", s.port)
        for req, want in ((b"ls", b"ERR too large for UDP, use TCP"),
                          (b"ls\n", b"ERR too large for UDP, use TCP\n"),
                          (b"ls small", b"['a']")):
            with self.subTest(req=req):
                u.sendto(req, addr)
                got = u.recvfrom(65536)[0]
                self.assertEqual(got, want)
                self.assertLessEqual(len(got), reply_bound(len(req)))
        s.wait_line(r"Refused 127\.0\.0\.1:%d: limit:reply \(\d+ bytes for a 2-byte datagram, "
                    r"at most 70\)" % u.getsockname()[1])

    def test_every_role_stays_within_the_bound(self):
        root = self.big_root()
        for role in ("hello", "echo", "upper", "timestamp", "command"):
            with self.subTest(role=role):
                args = ["--role", role] + (["--root", root] if role == "command" else [])
                s = self.udp_server(*args)
                u = self.udp()
                u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
                u.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)
                for req in (b"", b"\n", b"ls", b"ls .\r\n", b"help", b"os", b"date", b"x" * 1000,
                            b"y" * 65499, b"y" * 65500, b"z" * 65507):
                    u.sendto(req, ("127.0.0.1", s.port))
                    got = u.recvfrom(65536)[0]
                    self.assertLessEqual(len(got), reply_bound(len(req)), (req[:10], got[:60]))

    def test_largest_datagram_to_hello_gets_err_not_silence(self):
        s = self.udp_server()
        u = self.udp()
        u.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)
        u.sendto(b"m" * 65507, ("127.0.0.1", s.port))
        self.assertEqual(u.recvfrom(65536)[0],
                         b"ERR reply too large for a datagram (65515 bytes, at most 65507)")
        s.wait_line(r"Refused 127\.0\.0\.1:\d+: limit:reply \(65515 bytes for a 65507-byte datagram")
        self.assertNotIn("Warning", s.text())
        # The largest request whose reply fits is answered whole.
        u.sendto(b"m" * 65499, ("127.0.0.1", s.port))
        self.assertEqual(u.recvfrom(65536)[0], b"Hello, " + b"m" * 65499 + b"!")


class Robustness(NetdemoTestCase):

    def assert_still_serving(self, s):
        r = self.run_ok(["tcp-client", "--port", str(s.port), "--timeout", "2s", "Michael"])
        self.assertEqual(r.stdout, b"Welcome!\nHello, Michael!\n")
        self.assertTrue(s.alive())

    def test_reset_right_after_connect(self):
        s = self.tcp_server()
        for _ in range(20):
            c = socket.socket()
            c.settimeout(2)
            c.connect(("127.0.0.1", s.port))
            rst_close(c)
        self.assert_still_serving(s)

    def test_reset_while_message_pending(self):
        s = self.tcp_server("--pause", "200ms")
        c = self.connect(s)
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        c.sendall(b"half a mess")  # waits for the pause
        rst_close(c)
        s.wait_line(r"closed \(reset")
        self.assert_still_serving(s)

    def test_reset_while_server_writes(self):
        s = self.tcp_server("--role", "echo")
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        c.settimeout(0.5)
        c.connect(("127.0.0.1", s.port))
        try:
            for _ in range(200):  # until the server stops reading (it writes to a full window)
                c.send(b"y" * 65536)
        except (socket.timeout, BlockingIOError):
            pass
        rst_close(c)
        s.wait_line(r"closed \((reset|error)")
        r = self.run_ok(["tcp-client", "--port", str(s.port), "--timeout", "2s",
                         "--greeting-wait", "100ms", "ping"])
        self.assertEqual(r.stdout, b"ping\n")

    def test_garbage_bytes(self):
        for role in ("hello", "upper", "echo"):
            with self.subTest(role=role):
                s = self.tcp_server("--role", role)
                other = self.connect(s)  # a well-behaved client, already connected
                if role == "hello":
                    self.assertEqual(h.recv_exactly(other, b"Welcome!"), b"Welcome!")
                g = self.connect(s)
                g.sendall(bytes(range(256)) * 8 + bytes(range(255, -1, -1)) * 8)
                g.shutdown(socket.SHUT_WR)
                h.recv_until_eof(g, 3)  # any answer, but the server must close
                other.sendall(b"fine\n")
                want = {"hello": b"Hello, fine!\n", "upper": b"FINE\n", "echo": b"fine\n"}[role]
                self.assertEqual(h.recv_exactly(other, want), want)
                self.assertTrue(s.alive())

    def test_garbage_datagrams(self):
        s = self.udp_server()
        u = self.udp(timeout=2)
        addr = ("127.0.0.1", s.port)
        for payload in (bytes(range(256)), b"\x00", b"\r\n", b"\xff" * 1000, b""):
            with self.subTest(payload=payload[:8]):
                u.sendto(payload, addr)
                u.recvfrom(65536)  # answered, whatever it is
        r = self.run_ok(["udp-client", "--port", str(s.port), "--timeout", "1s", "Michael"])
        self.assertEqual(r.stdout, b"Hello, Michael!\n")

    def test_udp_server_survives_unreachable_reply_target(self):
        # The client's port is gone before the reply: the ICMP error must not stop the server.
        s = self.udp_server()
        for _ in range(5):
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.settimeout(1)
            u.sendto(b"ghost", ("127.0.0.1", s.port))
            u.close()
        time.sleep(0.2)
        r = self.run_ok(["udp-client", "--port", str(s.port), "--timeout", "1s", "Michael"])
        self.assertEqual(r.stdout, b"Hello, Michael!\n")

    def test_many_concurrent_clients(self):
        s = self.tcp_server()
        socks = [self.connect(s) for _ in range(50)]
        for i, c in enumerate(socks):
            c.sendall(b"c%d\n" % i)
        for i, c in enumerate(socks):
            want = b"Welcome!Hello, c%d!\n" % i
            self.assertEqual(h.recv_exactly(c, want), want)


if __name__ == "__main__":
    h.main()
