#!/usr/bin/env python3
"""End-to-end tests of the netdemo command line: help, usage errors, exit codes, the
hello/echo/upper roles over TCP, UDP and Unix sockets, signals, and address handling.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_cli.py
"""

import errno
import os
import re
import signal
import socket
import sys
import subprocess
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase, run

SUBCOMMANDS = ["tcp-server", "udp-server", "tcp-client", "udp-client"]
HELLO_OUT = b"Welcome!\nHello, Michael!\nHello, Tracy!\nHello, Sarah!\n"
# Short client timeouts keep failures fast; replies on loopback take microseconds.
FAST_TCP = ["--timeout", "2s", "--greeting-wait", "500ms"]
FAST_UDP = ["--timeout", "500ms", "--retries", "2"]
# The subcommands with --host and --unix; clients get a message so that they do not read stdin.
ADDRESS_COMMANDS = ["tcp-server", "udp-server", "timestamp-server", "command-server",
                    "tcp-client", "udp-client", "command-client"]
ONE_MESSAGE = {"tcp-client": ["hi"], "udp-client": ["hi"], "command-client": ["date"]}


class HelpAndVersion(NetdemoTestCase):

    def test_version(self):
        r = self.run_ok(["--version"])
        self.assertRegex(r.stdout.decode(), r"^netdemo \d+\.\d+\.\d+\n$")
        self.assertEqual(r.stderr, b"")

    def test_top_level_help_lists_every_command(self):
        for flag in ("--help", "-h", "help"):
            with self.subTest(flag=flag):
                r = self.run_ok([flag])
                out = r.stdout.decode()
                self.assertTrue(out.startswith("Usage: netdemo <command>"), out)
                for c in SUBCOMMANDS:
                    self.assertRegex(out, r"(?m)^  %s\s+\S" % re.escape(c))
                self.assertIn("Examples", out)
                self.assertIn("130 interrupted", out)  # the exit-code table
                self.assertEqual(r.stderr, b"")

    def test_no_arguments_is_a_usage_error(self):
        r = run([])
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"Usage: netdemo <command>", r.stderr)

    def test_every_subcommand_has_help_with_examples(self):
        for c in SUBCOMMANDS:
            for flag in ("--help", "-h"):
                with self.subTest(command=c, flag=flag):
                    r = self.run_ok([c, flag])
                    out = r.stdout.decode()
                    self.assertTrue(out.startswith("Usage: netdemo %s " % c), out[:200])
                    self.assertIn("Examples", out)
                    self.assertIn("netdemo %s" % c, out.split("Examples", 1)[1])
                    for opt in ("--host", "--port", "--unix", "--help"):
                        self.assertIn(opt, out)
                    self.assertEqual(r.stderr, b"")

    def test_help_wins_over_other_options(self):
        # --help next to a bad value still prints help and exits 0 (nothing is started).
        r = self.run_ok(["tcp-server", "--port", "1", "--help"])
        self.assertIn(b"Examples", r.stdout)


class UsageErrors(NetdemoTestCase):

    def assert_usage_error(self, args, *needles):
        r = run(args)
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 2, "netdemo %s: exit %d, stderr=%r" % (args, r.returncode, err))
        self.assertEqual(r.stdout, b"", "a usage error prints nothing on stdout")
        lines = err.splitlines()
        self.assertTrue(lines, "no message on stderr")
        first = lines[0]
        self.assertTrue(first.startswith("netdemo"), first)
        for n in needles:
            self.assertIn(n, first)
        return lines

    def test_unknown_command(self):
        lines = self.assert_usage_error(["frobnicate"], "unknown command 'frobnicate'")
        self.assertEqual(lines[1:], ["Try 'netdemo --help'."])

    def test_bad_option_each_subcommand(self):
        for c in SUBCOMMANDS:
            with self.subTest(command=c):
                lines = self.assert_usage_error([c, "--bogus"], "netdemo %s:" % c, "--bogus")
                # One message line, then at most a pointer to --help.
                self.assertLessEqual(len(lines), 2, lines)
                if len(lines) == 2:
                    self.assertIn("--help", lines[1])

    def test_option_missing_its_value(self):
        self.assert_usage_error(["tcp-server", "--port"], "--port")

    def test_bad_role(self):
        for c in ("tcp-server", "udp-server"):
            with self.subTest(command=c):
                self.assert_usage_error([c, "--role", "nope"], "unknown role 'nope'", "hello")

    def test_bad_port(self):
        for c in SUBCOMMANDS:
            for value, needle in (("70000", "70000"), ("65536", "65536"), ("abc", "abc"),
                                  ("-1", "")):
                with self.subTest(command=c, port=value):
                    self.assert_usage_error([c, "--port", value], needle)

    def test_bad_durations(self):
        cases = [
            (["tcp-server", "--idle-timeout", "5x"], "5x"),
            (["tcp-server", "--grace", "soon"], "soon"),
            (["tcp-server", "--pause", "-3"], ""),
            (["tcp-server", "--idle-timeout", "0"], "idle-timeout"),
            (["tcp-client", "--timeout", "abc"], "abc"),
            (["tcp-client", "--timeout", "0"], "timeout"),
            (["tcp-client", "--connect-timeout", "1h"], "1h"),
            (["tcp-client", "--greeting-wait", "ms"], "ms"),
            (["udp-client", "--timeout", "2 s"], "2 s"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                self.assert_usage_error(args, needle)

    def test_other_bad_values(self):
        self.assert_usage_error(["tcp-client", "--eol", "xx"], "--eol")
        self.assert_usage_error(["udp-client", "--retries", "-1"], "--retries")
        self.assert_usage_error(["tcp-server", "--max-line", "0"], "--max-line")
        self.assert_usage_error(["udp-server", "--max-datagram", "0"], "--max-datagram")

    def test_negative_limits_are_usage_errors(self):
        for opt in ("--max-line", "--max-conns"):
            with self.subTest(option=opt):
                try:
                    r = run(["tcp-server", "--port", "0", opt, "-1"], timeout=1.5)
                except subprocess.TimeoutExpired:
                    self.fail("tcp-server %s -1 started a server" % opt)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(opt.encode(), r.stderr)

    def test_empty_host_is_a_usage_error(self):
        # It used to mean 127.0.0.1 to a client and every address to a server.
        for command in ADDRESS_COMMANDS:
            with self.subTest(command=command):
                try:
                    r = run([command, "--host", "", "--port", "0", *ONE_MESSAGE.get(command, [])],
                            timeout=3)
                except subprocess.TimeoutExpired:
                    self.fail("%s --host '' started" % command)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, b"")
                self.assertIn(b"--host is empty", r.stderr)

    def test_empty_unix_path_is_a_usage_error(self):
        # It used to mean TCP on 127.0.0.1.
        for command in ADDRESS_COMMANDS:
            with self.subTest(command=command):
                try:
                    r = run([command, "--unix", "", "--port", "0", *ONE_MESSAGE.get(command, [])],
                            timeout=3)
                except subprocess.TimeoutExpired:
                    self.fail("%s --unix '' started" % command)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, b"")
                self.assertIn(b"--unix: the Unix socket path is empty", r.stderr)

    def test_unix_path_over_sun_path_is_a_usage_error(self):
        d = self.tempdir()
        path = os.path.join(d, "s" * (108 - len(d) - 1))
        self.assertEqual(len(path), 108)
        for command in ADDRESS_COMMANDS:
            with self.subTest(command=command):
                r = run([command, "--unix", path, *ONE_MESSAGE.get(command, [])], timeout=3)
                self.assertEqual(r.returncode, 2, r.stderr)
                lines = r.stderr.decode().splitlines()
                self.assertEqual(lines[0], "netdemo %s: --unix: the Unix socket path is 108 bytes "
                                 "long; the limit is 107 (sockaddr_un.sun_path)" % command)
                self.assertNotIn("File name too long", r.stderr.decode())
                self.assertFalse(os.path.exists(path))

    def test_longest_unix_path_works(self):
        d = self.tempdir()
        for command, client in (("tcp-server", "tcp-client"), ("udp-server", "udp-client")):
            with self.subTest(command=command):
                path = os.path.join(d, command[0] * (107 - len(d) - 1))
                self.assertEqual(len(path), 107)
                s = self.server(command, unix=path)
                r = run([client, "--unix", path, "--timeout", "2s", "Michael"])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(b"Hello, Michael!", r.stdout)
                s.stop()

    def test_negative_max_datagram_is_a_usage_error(self):
        self.assert_usage_error(["udp-server", "--max-datagram", "-1"], "--max-datagram")

    def test_server_unresolvable_host(self):
        for command in ("tcp-server", "udp-server"):
            with self.subTest(command=command):
                try:
                    r = run([command, "--host", "nosuch.invalid", "--port", "0"], timeout=10)
                except subprocess.TimeoutExpired:
                    self.skipTest("the resolver hangs here")
                err = r.stderr.decode()
                self.assertIn("cannot resolve 'nosuch.invalid'", err)
                self.assertNotIn("Operation not permitted", err)
                self.assertEqual(r.returncode, 6, err)

    def test_client_unresolvable_host_exits_6(self):
        for command in ("tcp-client", "udp-client"):
            with self.subTest(command=command):
                try:
                    r = run([command, "--host", "nosuch.invalid", "--timeout", "1s", "x"], timeout=10)
                except subprocess.TimeoutExpired:
                    self.skipTest("the resolver hangs here")
                self.assertEqual(r.returncode, 6, r.stderr)
                self.assertIn(b"cannot resolve 'nosuch.invalid'", r.stderr)

    def test_duration_forms_are_accepted(self):
        # 300 (seconds), 2.5s and 100ms all parse: the server starts.
        s = self.tcp_server("--idle-timeout", "300", "--grace", "2.5s", "--pause", "100ms")
        self.assertEqual(s.stop(signal.SIGTERM), 0)


class ClientExitCodes(NetdemoTestCase):

    def test_tcp_client_to_closed_port_exits_7(self):
        blocker = h.bound_unlistened_tcp_port()  # bound, not listening: refused for sure
        self.addCleanup(blocker.close)
        port = blocker.getsockname()[1]
        t0 = time.monotonic()
        r = run(["tcp-client", "--port", str(port), "hi"])
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertLess(time.monotonic() - t0, 4)
        err = r.stderr.decode()
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("cannot connect to 127.0.0.1:%d" % port, err)
        self.assertIn("refused", err.lower())
        self.assertEqual(r.stdout, b"")

    def test_udp_client_without_server_is_bounded(self):
        port = h.unused_udp_port()
        t0 = time.monotonic()
        r = run(["udp-client", "--port", str(port), "--timeout", "200ms", "--retries", "1", "hi"])
        elapsed = time.monotonic() - t0
        self.assertIn(r.returncode, (7, 28), r.stderr)
        self.assertLess(elapsed, 3.0)
        self.assertEqual(len(r.stderr.decode().splitlines()), 1, r.stderr)
        self.assertIn(b"127.0.0.1:%d" % port, r.stderr)  # says which server
        self.assertEqual(r.stdout, b"")

    def test_udp_client_silent_server_times_out_28(self):
        # A bound UDP socket that never answers: no ICMP, so only the timeout can end it.
        silent = self.udp()
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        r = run(["udp-client", "--port", str(port), "--timeout", "200ms", "--retries", "1", "hi"])
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 28, r.stderr)
        self.assertGreaterEqual(elapsed, 0.35)  # two attempts of 200 ms
        self.assertLess(elapsed, 3.0)
        self.assertIn(b"2 attempt", r.stderr)
        self.assertIn(b"127.0.0.1:%d" % port, r.stderr)
        # Both attempts reached the "server".
        silent.settimeout(1)
        self.assertEqual(silent.recvfrom(100)[0], b"hi")
        self.assertEqual(silent.recvfrom(100)[0], b"hi")

    def test_tcp_client_silent_server_times_out_28(self):
        # A listening socket nobody accepts on: the handshake completes, no reply ever comes.
        silent = socket.socket()
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        r = run(["tcp-client", "--port", str(port), "--timeout", "300ms", "--greeting-wait",
                 "100ms", "hi"])
        self.assertEqual(r.returncode, 28, r.stderr)
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertIn(b"no reply to 'hi'", r.stderr)

    def test_unix_client_to_missing_path_exits_7(self):
        path = os.path.join(self.tempdir(), "nobody.sock")
        r = run(["tcp-client", "--unix", path, "hi"])
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertIn(path.encode(), r.stderr)
        r = run(["udp-client", "--unix", path, "--timeout", "200ms", "--retries", "0", "hi"])
        self.assertEqual(r.returncode, 7, r.stderr)


class Roles(NetdemoTestCase):

    def test_tcp_hello_seed_output_exactly(self):
        s = self.tcp_server()
        self.assertEqual((s.transport, s.host, s.role), ("tcp", "127.0.0.1", "hello"))
        r = self.run_ok(["tcp-client", "--port", str(s.port), "Michael", "Tracy", "Sarah"])
        self.assertEqual(r.stdout, HELLO_OUT)
        self.assertEqual(r.stderr, b"")

    def test_tcp_hello_with_line_endings(self):
        s = self.tcp_server()
        for eol in ("lf", "crlf"):
            with self.subTest(eol=eol):
                r = self.run_ok(["tcp-client", "--port", str(s.port), "--eol", eol, *FAST_TCP,
                                 "Michael", "Tracy"])
                end = b"\n" if eol == "lf" else b"\r\n"
                self.assertEqual(r.stdout, b"Welcome!\nHello, Michael!" + end + b"Hello, Tracy!" + end)

    def test_udp_hello(self):
        s = self.udp_server()
        self.assertEqual(s.transport, "udp")
        r = self.run_ok(["udp-client", "--port", str(s.port), *FAST_UDP, "Michael", "Tracy", "Sarah"])
        self.assertEqual(r.stdout, b"Hello, Michael!\nHello, Tracy!\nHello, Sarah!\n")
        self.assertEqual(r.stderr, b"")

    def test_udp_upper(self):
        s = self.udp_server("--role", "upper")
        self.assertEqual(s.role, "upper")
        r = self.run_ok(["udp-client", "--port", str(s.port), *FAST_UDP, "hello", "World 42", "ÄbC"])
        self.assertEqual(r.stdout, "HELLO\nWORLD 42\nÄBC\n".encode())

    def test_tcp_upper(self):
        s = self.tcp_server("--role", "upper")
        r = self.run_ok(["tcp-client", "--port", str(s.port), "--greeting-wait", "100ms",
                         "--timeout", "2s", "--eol", "lf", "hello", "mIxEd"])
        self.assertEqual(r.stdout, b"HELLO\nMIXED\n")

    def test_echo_tcp(self):
        s = self.tcp_server("--role", "echo")
        r = self.run_ok(["tcp-client", "--port", str(s.port), "--greeting-wait", "100ms",
                         "--timeout", "2s", "ping", "pong"])
        self.assertEqual(r.stdout, b"ping\npong\n")
        # Binary-safe and unframed: every byte value, CR/LF/NUL included, comes back as sent.
        c = self.connect(s)
        payload = bytes(range(256)) * 64
        c.sendall(payload)
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(h.recv_until_eof(c), payload)

    def test_echo_udp(self):
        s = self.udp_server("--role", "echo")
        r = self.run_ok(["udp-client", "--port", str(s.port), *FAST_UDP, "ping", "pong"])
        self.assertEqual(r.stdout, b"ping\npong\n")
        u = self.udp()
        payload = bytes(range(256)) * 16 + b"\r\n"
        u.sendto(payload, ("127.0.0.1", s.port))
        self.assertEqual(u.recvfrom(65536)[0], payload)

    def test_echo_unix_stream(self):
        path = os.path.join(self.tempdir(), "echo.sock")
        s = self.tcp_server("--role", "echo", unix=path)
        self.assertEqual(s.transport, "unix")
        self.assertEqual(s.where, path)
        r = self.run_ok(["tcp-client", "--unix", path, "--greeting-wait", "100ms", "--timeout",
                         "2s", "--eol", "lf", "hello", "there"])
        self.assertEqual(r.stdout, b"hello\nthere\n")
        c = self.connect(s)
        c.sendall(b"\x00\xff\r\n")
        c.shutdown(socket.SHUT_WR)
        self.assertEqual(h.recv_until_eof(c), b"\x00\xff\r\n")

    def test_echo_unix_datagram(self):
        path = os.path.join(self.tempdir(), "echo.dgram")
        s = self.udp_server("--role", "echo", unix=path)
        self.assertEqual(s.transport, "unix-dgram")
        self.assertEqual(s.where, path)
        r = self.run_ok(["udp-client", "--unix", path, *FAST_UDP, "ping", "pong"])
        self.assertEqual(r.stdout, b"ping\npong\n")

    def test_hello_unix_stream_and_datagram(self):
        d = self.tempdir()
        st = self.tcp_server(unix=os.path.join(d, "hello.sock"))
        r = self.run_ok(["tcp-client", *st.client_args(), "Michael", "Tracy", "Sarah"])
        self.assertEqual(r.stdout, HELLO_OUT)
        dg = self.udp_server(unix=os.path.join(d, "hello.dgram"))
        r = self.run_ok(["udp-client", *dg.client_args(), *FAST_UDP, "Michael"])
        self.assertEqual(r.stdout, b"Hello, Michael!\n")

    def test_udp_datagram_line_ending_mirrored(self):
        s = self.udp_server()
        u = self.udp()
        for msg, reply in ((b"a", b"Hello, a!"), (b"b\n", b"Hello, b!\n"), (b"c\r\n", b"Hello, c!\r\n")):
            with self.subTest(msg=msg):
                u.sendto(msg, ("127.0.0.1", s.port))
                self.assertEqual(u.recvfrom(1024)[0], reply)


class InteractiveClient(NetdemoTestCase):

    def test_interactive_lines_then_eof(self):
        s = self.tcp_server()
        r = run(["tcp-client", "--port", str(s.port), "--eol", "lf", "--timeout", "3s"],
                input=b"Michael\nTracy\nSarah\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The greeting and every reply, in order, each on its own line; EOF on stdin
        # half-closes, the server then closes: expected, so nothing is reported.
        self.assertEqual(r.stdout, HELLO_OUT)
        self.assertEqual(r.stderr, b"")

    def test_interactive_exit_line_closes(self):
        s = self.tcp_server()
        r = run(["tcp-client", "--port", str(s.port), "--eol", "lf", "--timeout", "3s"],
                input=b"Michael\nexit\nnever sent\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Hello, Michael!\n", r.stdout)
        self.assertNotIn(b"never", r.stdout)

    def test_interactive_echo_prints_what_arrives_after_eof(self):
        s = self.tcp_server("--role", "echo")
        t0 = time.monotonic()
        r = run(["tcp-client", "--port", str(s.port), "--eol", "lf", "--timeout", "3s"],
                input=b"one\ntwo\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"one\ntwo\n")
        # The echo server closes at our half-close, so the client does not sit out --timeout.
        self.assertLess(time.monotonic() - t0, 2.5)

    def test_interactive_sigint_exits_130(self):
        s = self.tcp_server()
        c = self.proc([h.netdemo(), "tcp-client", "--port", str(s.port)], stdin=subprocess.PIPE)
        c.wait_line(r"Welcome!")  # connected; stdin stays open, so it would wait forever
        c.signal(signal.SIGINT)
        self.assertEqual(c.wait(3), 130)
        c.join_output()
        self.assertIn("Interrupted", c.text("stderr"))

    def test_udp_client_interactive(self):
        s = self.udp_server("--role", "upper")
        r = run(["udp-client", "--port", str(s.port), *FAST_UDP], input=b"one\ntwo words\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"ONE\nTWO WORDS\n")

    def test_interactive_default_eol_one_message_per_line(self):
        # Bare words (the default, like the seed) piped in at once must not merge into one
        # message: each stdin line gets its own reply, greeting first.
        s = self.tcp_server()
        r = run(["tcp-client", "--port", str(s.port), "--timeout", "3s"],
                input=b"Michael\nTracy\nSarah\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, HELLO_OUT)


class ServerLog(NetdemoTestCase):

    def test_accept_and_close_lines(self):
        s = self.tcp_server()
        c = self.connect(s)
        local_port = c.getsockname()[1]
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        s.wait_line(r"^\d\d:\d\d:\d\d Accept new connection from 127\.0\.0\.1:%d\.\.\.$" % local_port)
        c.sendall(b"exit\n")
        self.assertEqual(h.recv_until_eof(c), b"")
        c.close()
        m = s.wait_line(r"^\d\d:\d\d:\d\d Connection from 127\.0\.0\.1:%d closed \((.*)\)\.$" % local_port)
        self.assertIn("exit", m.group(1))
        self.assertRegex(m.group(1), r"5 bytes in, 8 out")

    def test_quiet_hides_connection_lines(self):
        s = self.tcp_server("--quiet")
        self.run_ok(["tcp-client", "--port", str(s.port), "Michael"])
        s.stop(signal.SIGTERM)
        self.assertNotIn("Accept new connection", s.text())
        self.assertNotIn("Connection from", s.text())

    def test_udp_verbose_logs_datagrams(self):
        s = self.udp_server("--verbose")
        self.run_ok(["udp-client", "--port", str(s.port), *FAST_UDP, "Michael"])
        s.wait_line(r"Received from 127\.0\.0\.1:\d+ \(7 bytes\), replied 15 bytes\.")


class ClosedStandardDescriptors(NetdemoTestCase):
    def test_server_with_stdout_closed_never_writes_into_its_own_descriptors(self):
        # With `>&-`, descriptor 1 was taken by the io_context's eventfd and every log line
        # was written into it. Now /dev/null holds the place; the server serves, and says
        # on stderr that its log could not be written.
        d = self.tempdir()
        path = os.path.join(d, "s.sock")
        p = subprocess.Popen([h.netdemo(), "tcp-server", "--unix", path], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             pass_fds=(), close_fds=True,
                             preexec_fn=lambda: os.close(1))
        self.addCleanup(lambda: (p.poll() is None and p.kill(), p.wait(), p.stderr.close()))
        deadline = time.monotonic() + h.QUICK
        while not os.path.exists(path) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if p.poll() is None:
            self.assertEqual(os.readlink("/proc/%d/fd/1" % p.pid), "/dev/null")
        err = p.communicate(timeout=h.QUICK)[1] if p.poll() is not None else b""
        self.assertNotIn(b"Sanitizer", err)


class Signals(NetdemoTestCase):

    def test_sigint_exits_130_and_closes_idle_sessions(self):
        for command in ("tcp-server", "udp-server"):
            with self.subTest(command=command):
                s = self.server(command)
                c = self.connect(s) if command == "tcp-server" else None
                if c:
                    self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
                    s.wait_line("Accept new connection")
                t0 = time.monotonic()
                rc = s.stop(signal.SIGINT, timeout=4)
                self.assertEqual(rc, 130, s.text("stderr"))
                # An idle session does not hold the stop for the 5 s grace.
                self.assertLess(time.monotonic() - t0, 3.0)
                self.assertIn("Stopping", s.text())
                if c:
                    self.assertEqual(h.recv_until_eof(c, 2), b"")

    def test_sigterm_exits_0(self):
        for command in ("tcp-server", "udp-server"):
            with self.subTest(command=command):
                s = self.server(command)
                self.assertEqual(s.stop(signal.SIGTERM, timeout=4), 0, s.text("stderr"))

    def test_stopped_server_refuses_new_connections(self):
        s = self.tcp_server()
        port = s.port
        s.stop(signal.SIGTERM)
        with self.assertRaises(ConnectionRefusedError):
            self.connect(port)

    def _stuff(self, sock, stats):
        """Sends until the server stops reading (it is stuck writing back to us)."""
        chunk = b"x" * 65536
        try:
            while not stats["stop"]:
                sock.sendall(chunk)
                stats["sent"] += len(chunk)
        except OSError as e:
            stats["error"] = e

    def _stuck_echo_session(self, *server_args):
        """An echo server with one session stuck writing to a client that does not read."""
        s = self.tcp_server("--role", "echo", *server_args)
        c = socket.socket()
        self.addCleanup(c.close)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        c.settimeout(15)
        c.connect(("127.0.0.1", s.port))
        stats = {"sent": 0, "stop": False, "error": None}
        t = threading.Thread(target=self._stuff, args=(c, stats), daemon=True)
        t.start()
        self.addCleanup(lambda: stats.__setitem__("stop", True))
        # Wait until sending stalls for 300 ms: both directions are full.
        stalled = h.wait_until_sending_stalls(stats)
        self.assertGreater(stats["sent"], 0)
        self.assertTrue(stalled, "the echo server never stopped reading")
        return s, c, stats

    def test_grace_bounds_a_stuck_session(self):
        s, c, stats = self._stuck_echo_session("--grace", "700ms")
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        rc = s.wait(5)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 1)  # a stop that cut a session off (docs/exit-codes.md)
        # The busy session was given the grace period, then cut.
        self.assertGreaterEqual(elapsed, 0.5, s.text())
        self.assertLess(elapsed, 3.5, s.text())

    def test_second_signal_aborts_at_once(self):
        s, c, stats = self._stuck_echo_session("--grace", "30s")
        s.signal(signal.SIGTERM)
        s.wait_line("Stopping")
        time.sleep(0.2)
        self.assertTrue(s.alive(), "a writing session must hold the server during the grace")
        t0 = time.monotonic()
        s.signal(signal.SIGINT)
        s.wait(4)
        self.assertLess(time.monotonic() - t0, 3.0)
        s.join_output()
        self.assertIn("Second signal", s.text())


class AddressHandling(NetdemoTestCase):

    def test_second_tcp_server_on_same_port_fails(self):
        s = self.tcp_server()
        r = run(["tcp-server", "--port", str(s.port)])
        self.assertEqual(r.returncode, 1, r.stderr)
        err = r.stderr.decode()
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("127.0.0.1:%d" % s.port, err)
        self.assertIn("in use", err.lower())
        # The first one is unharmed.
        r = self.run_ok(["tcp-client", "--port", str(s.port), "Michael"])
        self.assertEqual(r.stdout, b"Welcome!\nHello, Michael!\n")

    def test_second_udp_server_on_same_port_fails(self):
        s = self.udp_server()
        try:
            r = run(["udp-server", "--port", str(s.port)], timeout=1.5)
        except subprocess.TimeoutExpired:
            self.fail("a second udp-server on port %d started and kept running" % s.port)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"in use", r.stderr.lower())

    def test_restart_on_same_port_with_time_wait(self):
        a = self.tcp_server()
        port = a.port
        # The server closes first (after "exit"), so its side of the connection ends in
        # TIME_WAIT on the listening port.
        c = self.connect(a)
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        c.sendall(b"exit\n")
        self.assertEqual(h.recv_until_eof(c), b"")
        c.close()
        a.wait_line("closed")
        self.assertEqual(a.stop(signal.SIGTERM), 0)
        self.assertTrue(h.wait_until(lambda: "06" in h.tcp_states_on_port(port), 2),
                        "no TIME_WAIT on port %d: %s" % (port, h.tcp_states_on_port(port)))
        # Without SO_REUSEADDR the port cannot be bound now, which is what makes this test mean
        # something.
        probe = socket.socket()
        try:
            with self.assertRaises(OSError) as cm:
                probe.bind(("127.0.0.1", port))
            self.assertEqual(cm.exception.errno, errno.EADDRINUSE)
        finally:
            probe.close()
        b = self.tcp_server(port=port)
        self.assertEqual(b.port, port)
        r = self.run_ok(["tcp-client", "--port", str(port), "Michael"])
        self.assertEqual(r.stdout, b"Welcome!\nHello, Michael!\n")

    def test_unix_socket_file_removed_on_clean_stop(self):
        for command in ("tcp-server", "udp-server"):
            with self.subTest(command=command):
                path = os.path.join(self.tempdir(), "s.sock")
                s = self.server(command, unix=path)
                self.assertTrue(os.path.exists(path))
                self.assertEqual(s.stop(signal.SIGTERM), 0)
                self.assertFalse(os.path.exists(path))

    def test_stale_unix_socket_is_replaced(self):
        for command, client in (("tcp-server", "tcp-client"), ("udp-server", "udp-client")):
            with self.subTest(command=command):
                path = os.path.join(self.tempdir(), "stale.sock")
                a = self.server(command, "--role", "echo", unix=path)
                a.kill()  # SIGKILL: no chance to remove its socket file
                self.assertTrue(os.path.exists(path), "SIGKILL should leave the socket file")
                b = self.server(command, "--role", "echo", unix=path)
                r = self.run_ok([client, "--unix", path, "--timeout", "1s", "--eol", "lf", "ping"])
                self.assertEqual(r.stdout, b"ping\n")
                b.stop()

    def test_live_unix_socket_is_refused(self):
        for command, client in (("tcp-server", "tcp-client"), ("udp-server", "udp-client")):
            with self.subTest(command=command):
                path = os.path.join(self.tempdir(), "live.sock")
                a = self.server(command, "--role", "echo", unix=path)
                r = run([command, "--unix", path])
                self.assertEqual(r.returncode, 1, r.stderr)
                err = r.stderr.decode()
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn(path, err)
                self.assertIn("in use", err)
                # Still the first server's socket, still working.
                r = self.run_ok([client, "--unix", path, "--timeout", "1s", "--eol", "lf", "ping"])
                self.assertEqual(r.stdout, b"ping\n")
                self.assertTrue(a.alive())

    def test_regular_file_at_unix_path_is_refused_and_kept(self):
        for command in ("tcp-server", "udp-server"):
            with self.subTest(command=command):
                path = os.path.join(self.tempdir(), "precious.txt")
                with open(path, "w") as f:
                    f.write("keep me\n")
                r = run([command, "--unix", path])
                self.assertEqual(r.returncode, 1, r.stderr)
                err = r.stderr.decode()
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn(path, err)
                self.assertIn("not a socket", err)
                with open(path) as f:
                    self.assertEqual(f.read(), "keep me\n")

    @unittest.skipUnless(h.ipv6_loopback_available(), "no IPv6 loopback on this machine")

    def test_dual_stack_tcp(self):
        s = self.tcp_server(host="::")
        self.assertEqual(s.host, "::")
        for host in ("127.0.0.1", "::1"):
            with self.subTest(host=host):
                r = self.run_ok(["tcp-client", "--host", host, "--port", str(s.port), "Michael"])
                self.assertEqual(r.stdout, b"Welcome!\nHello, Michael!\n")
        c4 = self.connect(s.port, host="127.0.0.1")
        self.assertEqual(h.recv_exactly(c4, b"Welcome!"), b"Welcome!")
        c6 = self.connect(s.port, host="::1")
        self.assertEqual(h.recv_exactly(c6, b"Welcome!"), b"Welcome!")
        s.wait_line(r"Accept new connection from \[::1\]:%d" % c6.getsockname()[1])

    @unittest.skipUnless(h.ipv6_loopback_available(), "no IPv6 loopback on this machine")

    def test_dual_stack_udp(self):
        s = self.udp_server(host="::")
        for host in ("127.0.0.1", "::1"):
            with self.subTest(host=host):
                r = self.run_ok(["udp-client", "--host", host, "--port", str(s.port), *FAST_UDP, "Michael"])
                self.assertEqual(r.stdout, b"Hello, Michael!\n")

    @unittest.skipUnless(h.ipv6_loopback_available(), "no IPv6 loopback on this machine")

    def test_ipv6_only_loopback(self):
        s = self.tcp_server(host="::1")
        self.assertEqual(s.host, "::1")
        r = self.run_ok(["tcp-client", "--host", "::1", "--port", str(s.port), "Tracy"])
        self.assertEqual(r.stdout, b"Welcome!\nHello, Tracy!\n")


if __name__ == "__main__":
    h.main()
