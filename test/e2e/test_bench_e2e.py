#!/usr/bin/env python3
"""End-to-end tests of `netdemo bench`: usage errors, the --json object, the text report,
exit codes (7 nobody listening, 8 wrong replies, 1 connection errors, 130 interrupted),
reconnecting when the server is restarted mid-run, and the live progress line on a
terminal only.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_bench_e2e.py
"""

import json
import os
import select
import signal
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase, run  # noqa: E402

# Short runs: the point is the shape of what comes out, not the figures.
SHORT = ["-d", "0.4s", "-w", "0.1s"]


def bench(*args, timeout=h.QUICK * 2):
    return run(["bench", *args], timeout=timeout)


class Usage(NetdemoTestCase):

    def test_help(self):
        r = self.run_ok(["bench", "--help"])
        out = r.stdout.decode()
        self.assertTrue(out.startswith("Usage: netdemo bench tcp|udp|stream"), out)
        for option in ("--connections", "--size", "--duration", "--warmup", "--role", "--pipeline",
                       "--window", "--timeout", "--threads", "--no-reconnect", "--json", "--quiet"):
            self.assertIn(option, out)

    def test_listed_in_top_level_help(self):
        r = self.run_ok(["--help"])
        self.assertRegex(r.stdout.decode(), r"(?m)^  bench\s+\S")

    def test_usage_errors_exit_2(self):
        cases = [
            ([], "which mode"),
            (["http"], "unknown mode"),
            (["tcp", "--role", "upper"], "unknown role"),
            (["stream", "--role", "hello"], "echo role"),
            (["stream", "--pipeline", "4"], "--window"),
            (["tcp", "--window", "1000"], "stream mode only"),
            (["stream", "-m", "1000", "--window", "10"], "at least one chunk"),
            (["tcp", "--port", "0"], "port 0"),
            (["tcp", "--port", "70000"], "out of range"),
            (["tcp", "--role", "hello", "-m", "1"], "at least 2"),
            (["tcp", "-c", "0"], "--connections"),
            (["tcp", "-c", "-5"], "--connections"),
            (["tcp", "--pipeline", "0"], "--pipeline"),
            (["tcp", "-d", "soon"], "invalid duration"),
            (["tcp", "-d", "0"], "--duration"),
            (["tcp", "-t", "0"], "--timeout"),
            (["udp", "-m", "70000"], "--size"),
            (["udp", "--no-reconnect"], "TCP only"),
            (["tcp", "--bogus"], "bogus"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                r = bench(*args)
                err = r.stderr.decode()
                self.assertEqual(r.returncode, 2, err)
                self.assertIn(message, err)
                self.assertIn("Try 'netdemo bench --help'", err)
                self.assertEqual(r.stdout, b"")


class Runs(NetdemoTestCase):

    def check_json(self, r, **expect):
        self.assertEqual(r.stderr, b"", "no progress line when stderr is not a terminal")
        lines = r.stdout.decode().splitlines()
        self.assertEqual(len(lines), 1, r.stdout)
        obj = json.loads(lines[0])
        for key, kind in [("mode", str), ("host", str), ("port", int), ("role", str),
                          ("connections", int), ("message_size", int), ("pipeline", int),
                          ("threads", int), ("warmup_s", float), ("duration_s", float),
                          ("messages", int), ("msgs_per_s", float), ("bytes_sent", int),
                          ("bytes_received", int), ("mb_per_s", float), ("lat_us", dict),
                          ("errors", dict), ("late_replies", int), ("client_cpu", float), ("connects", int),
                          ("open_at_end", int), ("first_error", str), ("interrupted", bool)]:
            self.assertIsInstance(obj.get(key), kind, key)
        self.assertEqual(sorted(obj["lat_us"]), ["max", "p50", "p90", "p99", "p999"])
        self.assertEqual(sorted(obj["errors"]),
                         sorted(["total", "mismatch", "unexpected", "truncated", "closed", "reset",
                                 "refused", "connect_failed", "timeouts", "losses"]))
        self.assertEqual(obj["errors"]["total"],
                         sum(v for k, v in obj["errors"].items() if k != "total"))
        for key, value in expect.items():
            self.assertEqual(obj[key], value, key)
        return obj

    def test_tcp_echo_json(self):
        srv = self.tcp_server("--role", "echo", "-q")
        r = bench("tcp", "--port", str(srv.port), "-c", "3", "-m", "200", "--pipeline", "4",
                  "--json", *SHORT)
        self.assertEqual(r.returncode, 0, r.stdout)
        obj = self.check_json(r, mode="tcp", role="echo", connections=3, message_size=200,
                              pipeline=4, connects=3, open_at_end=3, first_error="")
        self.assertGreater(obj["messages"], 0)
        self.assertEqual(obj["errors"]["total"], 0)
        self.assertEqual(obj["bytes_received"], obj["messages"] * 200)
        lat = obj["lat_us"]
        self.assertTrue(0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"], lat)

    def test_udp_hello_json(self):
        srv = self.udp_server("--role", "hello")
        r = bench("udp", "--port", str(srv.port), "--role", "hello", "-c", "2", "--json", *SHORT)
        self.assertEqual(r.returncode, 0, r.stdout)
        obj = self.check_json(r, mode="udp", role="hello", connections=2)
        self.assertGreater(obj["messages"], 0)
        # "NAME\n" (64 bytes) comes back as "Hello, NAME!\n".
        self.assertEqual(obj["bytes_received"], obj["messages"] * (64 + 8))

    def test_stream_text_report(self):
        srv = self.tcp_server("--role", "echo", "-q")
        r = bench("stream", "--port", str(srv.port), "-m", "4096", "--window", "65536", *SHORT)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("4096-byte chunks, window 65,536 bytes", out)
        self.assertRegex(out, r"(?m)^  throughput   [\d.]+ MB/s echoed")
        self.assertRegex(out, r"(?m)^  latency      p50 .*, p90 .*, p99 .*, p99\.9 .*, max ")
        self.assertIn("errors       none (every reply checked)", out)
        self.assertRegex(out, r"(?m)^  generator    \d+ % CPU \(of one core\)$")

    def test_timestamp_over_tcp_text_report(self):
        srv = self.server("timestamp-server", "--format", "iso8601")
        r = bench("tcp", "--port", str(srv.port), "--role", "timestamp", "--pipeline", "3", *SHORT)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout.decode(), r"(?m)^  messages     [\d,]+ \([\d,]+ msg/s\)$")

    def test_wrong_replies_exit_8(self):
        srv = self.tcp_server("--role", "echo", "-q")
        r = bench("tcp", "--port", str(srv.port), "--role", "hello", "--json", *SHORT)
        self.assertEqual(r.returncode, 8, r.stdout)
        obj = self.check_json(r, messages=0)
        self.assertGreater(obj["errors"]["mismatch"], 0)
        self.assertIn("greeting", obj["first_error"])

    def test_nobody_listening_exits_7(self):
        s = h.bound_unlistened_tcp_port()
        self.addCleanup(s.close)
        r = bench("tcp", "--port", str(s.getsockname()[1]), *SHORT)
        self.assertEqual(r.returncode, 7, r.stderr)
        self.assertIn("cannot connect", r.stderr.decode())
        r = bench("udp", "--port", str(h.unused_udp_port()), *SHORT)
        self.assertEqual(r.returncode, 7, r.stdout + r.stderr)
        self.assertIn("refused", r.stderr.decode())

    def test_server_restarted_mid_run_reconnects_and_reports(self):
        srv = self.tcp_server("--role", "echo", "-q")
        port = srv.port
        p = self.proc([h.netdemo(), "bench", "tcp", "--port", str(port), "-c", "4", "-d", "2s",
                       "-w", "0", "--json"])
        time.sleep(0.6)
        srv.stop(signal.SIGKILL)
        time.sleep(0.3)
        self.tcp_server("--role", "echo", "-q", port=port)  # SO_REUSEADDR: same port again
        rc = p.wait(timeout=10)
        p.join_output()
        self.assertEqual(rc, 1, p.text() + p.text("stderr"))
        obj = json.loads(p.text())
        errors = obj["errors"]
        self.assertGreater(errors["closed"] + errors["reset"], 0, obj)
        self.assertEqual(errors["mismatch"] + errors["unexpected"], 0, obj)
        self.assertGreater(obj["connects"], 4, obj)
        self.assertEqual(obj["open_at_end"], 4, obj)
        self.assertNotEqual(obj["first_error"], "")

    def test_interrupt_prints_the_report_and_exits_130(self):
        srv = self.tcp_server("--role", "echo", "-q")
        p = self.proc([h.netdemo(), "bench", "tcp", "--port", str(srv.port), "-d", "60s", "-w", "0"])
        time.sleep(0.8)
        p.signal(signal.SIGINT)
        rc = p.wait(timeout=10)
        p.join_output()
        self.assertEqual(rc, 130)
        self.assertIn("(interrupted)", p.text())
        self.assertIn("Interrupted.", p.text("stderr"))

    def progress_output(self, *extra):
        """Runs a 1.5 s bench with stderr on a pseudo-terminal; returns what it wrote there."""
        srv = self.tcp_server("--role", "echo", "-q")
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        p = subprocess.Popen([h.netdemo(), "bench", "tcp", "--port", str(srv.port), "-d", "1.5s",
                              "-w", "0", *extra], stdout=subprocess.PIPE, stderr=slave,
                             stdin=subprocess.DEVNULL)
        os.close(slave)
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the terminal's other end closed
                    break
                if not chunk:
                    break
                data += chunk
            elif p.poll() is not None:
                break
        out, _ = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, out)
        self.assertIn(b"msg/s", out)
        return data

    def test_progress_line_on_a_terminal(self):
        data = self.progress_output()
        self.assertRegex(data, rb"\rmeasuring 1 s: [\d,]+ msg/s, [\d.]+ MB/s, errors 0, open 1/1")
        self.assertTrue(data.endswith(b"\r\x1b[K"), data)  # cleared before the report

    def test_quiet_means_no_progress(self):
        self.assertEqual(self.progress_output("-q"), b"")


if __name__ == "__main__":
    h.main()
