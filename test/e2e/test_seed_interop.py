#!/usr/bin/env python3
"""The seed tutorials' own Python programs (tests/e2e/seeds/) against netdemo and back,
plus the nc/telnet style of use the design's framing contract promises.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_seed_interop.py
"""

import re
import shutil
import signal
import socket
import sys
import subprocess
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase, run, run_python

HELLO_OUT = b"Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\n"
UDP_HELLO_OUT = b"Hello, Michael!\nHello, Tracy!\nHello, Sarah!\n"
SEED_SLEEP = "0.2"  # the seed TCP server's time.sleep(1) per message, shortened


class SeedClientsAgainstNetdemo(NetdemoTestCase):
    def test_seed_tcp_client_vs_tcp_server(self):
        s = self.tcp_server()  # default options, only the port differs
        r = run_python("tcp_hello_client.py", ["127.0.0.1", str(s.port)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, HELLO_OUT)
        self.assertEqual(r.stderr, b"")
        # The seed ends with send(b'exit') and close(): the server sees "exit".
        m = s.wait_line(r"Connection from 127\.0\.0\.1:\d+ closed \((\w+),")
        self.assertEqual(m.group(1), "exit")

    def test_seed_tcp_client_repeatedly(self):
        # Bare words with no line ending, one recv each: must not merge or split, every time.
        s = self.tcp_server()
        for i in range(5):
            with self.subTest(run=i):
                r = run_python("tcp_hello_client.py", ["127.0.0.1", str(s.port)])
                self.assertEqual(r.stdout, HELLO_OUT)

    def test_seed_udp_client_vs_udp_server(self):
        s = self.udp_server()
        r = run_python("udp_hello_client.py", ["127.0.0.1", str(s.port)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, UDP_HELLO_OUT)

    def test_seed_upper_client_vs_udp_server_upper(self):
        s = self.udp_server("--role", "upper")
        typed = ["hello", "World 42", "mixed Ünïcode"]
        r = run_python("udp_upper_client.py", ["127.0.0.1", str(s.port)],
                       input="".join(t + "\n" for t in typed).encode())
        # The seed loops on input() forever: end of stdin ends it with EOFError.
        self.assertIn(b"EOFError", r.stderr)
        addr = "('127.0.0.1', %d)" % s.port
        expected = "".join(">>:%s\ndata from %%s %s\n" % (reply, addr)
                           # the seed server's bytes.upper(): ASCII letters only
                           for reply in ("HELLO", "WORLD 42", "MIXED ÜNïCODE")) + ">>:"
        self.assertEqual(r.stdout.decode(), expected)


class NetdemoClientsAgainstSeeds(NetdemoTestCase):
    def test_tcp_client_vs_seed_tcp_server(self):
        seed = self.seed_server("tcp_hello_server.py", SEED_SLEEP)
        r = run(["tcp-client", "--port", str(seed.port), "Michael", "Tracy", "Sarah"], timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, HELLO_OUT)
        # The client half-closes at the end, so the seed's recv() returns b'' and it closes.
        seed.wait_line(r"^Waiting for connection\.\.\.$")
        seed.wait_line(r"^Accept new connection from 127\.0\.0\.1:\d+\.\.\.$")
        seed.wait_line(r"^Connection from 127\.0\.0\.1:\d+ closed\.$", timeout=3)

    def test_udp_client_vs_seed_udp_server(self):
        seed = self.seed_server("udp_hello_server.py")
        r = run(["udp-client", "--port", str(seed.port), "--timeout", "1s", "Michael", "Tracy", "Sarah"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, UDP_HELLO_OUT)
        seed.wait_line(r"^Bind UDP on \d+\.\.\.$")
        self.assertTrue(h.wait_until(
            lambda: len([l for l in seed.lines() if re.match(r"^Received from 127\.0\.0\.1:\d+\.$", l)]) == 3, 2),
            seed.text())

    def test_udp_client_vs_seed_upper_server(self):
        seed = self.seed_server("udp_upper_server.py")
        r = run(["udp-client", "--port", str(seed.port), "--timeout", "1s", "hello", "World"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"HELLO\nWORLD\n")
        seed.wait_line(r"^hello$")
        seed.wait_line(r"^data from \('127\.0\.0\.1', \d+\)$")


class LineStyleUse(NetdemoTestCase):
    """nc / telnet / scripts: newline-terminated lines, possibly several per write."""

    def test_several_lines_in_one_write(self):
        s = self.tcp_server()
        c = self.connect(s)
        c.sendall(b"a\nb\r\nexit\r\n")
        self.assertEqual(h.recv_until_eof(c), b"Welcome!Hello, a!\nHello, b!\r\n")

    def test_lines_typed_one_at_a_time(self):
        s = self.tcp_server()
        c = self.connect(s)
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        for msg, reply in ((b"Michael\n", b"Hello, Michael!\n"),
                           (b"Tracy\r\n", b"Hello, Tracy!\r\n"),
                           (b"Sarah", b"Hello, Sarah!"),  # seed style: bare word, then a pause
                           (b"\n", b"Hello, !\n"),
                           (b"two words\n", b"Hello, two words!\n")):
            with self.subTest(msg=msg):
                c.sendall(msg)
                self.assertEqual(h.recv_exactly(c, reply), reply)
                # Exactly one reply per line: nothing else follows.
                self.assertEqual(h.recv_nothing_for(c, 0.1), b"")
        c.sendall(b"exit\n")
        self.assertEqual(h.recv_until_eof(c), b"")

    def test_exit_forms_all_close(self):
        s = self.tcp_server()
        for form in (b"exit", b"exit\n", b"exit\r\n"):
            with self.subTest(form=form):
                c = self.connect(s)
                c.sendall(form)
                self.assertEqual(h.recv_until_eof(c, 2), b"Welcome!")

    def test_half_close_answers_the_tail(self):
        # "printf 'Michael' | nc": the bare word arrives together with EOF.
        s = self.tcp_server()
        c = self.connect(s)
        c.sendall(b"Michael")
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(h.recv_until_eof(c, 2), b"Welcome!Hello, Michael!")


@unittest.skipUnless(shutil.which("nc"), "nc (netcat-openbsd) is not installed")
class WithNetcat(NetdemoTestCase):
    def nc(self, args, data, timeout=5):
        return subprocess.run(["nc", *args], input=data, capture_output=True, timeout=timeout,
                              preexec_fn=h._die_with_parent)

    def test_nc_tcp(self):
        s = self.tcp_server()
        r = self.nc(["-q1", "127.0.0.1", str(s.port)], b"Michael\nTracy\nexit\n")
        self.assertEqual(r.stdout, b"Welcome!Hello, Michael!\nHello, Tracy!\n", r.stderr)

    def test_nc_tcp_without_exit(self):
        # End of nc's input is a half-close; the server answers what came, then closes.
        s = self.tcp_server()
        t0 = time.monotonic()
        r = self.nc(["-N", "127.0.0.1", str(s.port)], b"Michael\nSarah")
        self.assertEqual(r.stdout, b"Welcome!Hello, Michael!\nHello, Sarah!", r.stderr)
        self.assertLess(time.monotonic() - t0, 3)

    def test_nc_unix_echo(self):
        path = self.tempdir() + "/echo.sock"
        self.tcp_server("--role", "echo", unix=path)
        r = self.nc(["-N", "-U", path], b"binary\x00\xff\r\nsafe\n")
        self.assertEqual(r.stdout, b"binary\x00\xff\r\nsafe\n", r.stderr)

    def test_nc_udp(self):
        s = self.udp_server()
        # -w1 alone: with -q1 too, this nc quits at end of input before the reply comes.
        r = self.nc(["-u", "-w1", "127.0.0.1", str(s.port)], b"Michael\n")
        self.assertEqual(r.stdout, b"Hello, Michael!\n", r.stderr)


if __name__ == "__main__":
    h.main()
