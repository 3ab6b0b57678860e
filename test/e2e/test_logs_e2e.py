#!/usr/bin/env python3
"""The server log a machine reads: --log-format json (every stdout line one JSON object,
each close record matching what the client did) and --log-time (local, utc, none).

stdout goes to a file and is read as bytes, so a line that is not strict UTF-8 JSON
fails (the harness's Proc decodes with replacement, which would hide that).

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_logs_e2e.py
"""

import datetime
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase  # noqa: E402
from tls_support import TlsCase, recv_until  # noqa: E402

ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"
COMMON_KEYS = {"event", "transport", "role"}


class LogServer:
    """A netdemo server whose stdout is a file, read back as raw lines."""

    def __init__(self, tc: NetdemoTestCase, argv, env=None):
        d = tc.tempdir()
        self.out_path = os.path.join(d, "stdout")
        self.err_path = os.path.join(d, "stderr")
        self.argv = [h.netdemo()] + list(argv)
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.p = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                      env=env, preexec_fn=h._die_with_parent)
        tc.addCleanup(self.close)
        self.tc = tc

    def raw_lines(self):
        with open(self.out_path, "rb") as f:
            data = f.read()
        return data.split(b"\n")[:-1]  # complete lines only

    def records(self):
        """Every stdout line as JSON; fails the test on the first line that is not."""
        out = []
        for raw in self.raw_lines():
            try:
                rec = json.loads(raw.decode("utf-8", "strict"))
            except (UnicodeDecodeError, ValueError) as e:
                self.tc.fail("not a JSON line (%s): %r" % (e, raw))
            self.tc.assertIsInstance(rec, dict, raw)
            out.append(rec)
        return out

    def wait_for(self, pred, what, timeout=h.QUICK):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for r in self.records():
                if pred(r):
                    return r
            if self.p.poll() is not None:
                break
            time.sleep(0.02)
        self.tc.fail("no record %s within %.1f s; log:\n%s\nstderr:\n%s"
                     % (what, timeout, b"\n".join(self.raw_lines()).decode("utf-8", "replace"),
                        self.stderr()))

    def wait_raw(self, pattern, timeout=h.QUICK):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for raw in self.raw_lines():
                if rx.search(raw):
                    return raw
            time.sleep(0.02)
        self.tc.fail("no line matching %r; log: %r" % (pattern, self.raw_lines()))

    def port(self):
        rec = self.wait_for(lambda r: r.get("event") == "listening", "listening", h.START_TIMEOUT)
        return int(rec["address"].rsplit(":", 1)[1])

    def close_of(self, sock_port):
        peer = "127.0.0.1:%d" % sock_port
        return self.wait_for(lambda r: r.get("event") == "close" and r.get("peer") == peer,
                             "close of " + peer)

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(h.QUICK)
        except subprocess.TimeoutExpired:
            self.p.kill()
            raise AssertionError("server did not stop")
        h.check_no_sanitizer_report(self.p.pid, self.stderr().encode(), self.argv)
        return rc

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(h.QUICK)


def check_common(tc, records, transport, role):
    for r in records:
        tc.assertRegex(r["time"], "^" + ISO_MS + "$")
        if r["event"] == "abort":  # the CLI's own line: no server behind it
            tc.assertEqual(set(r), {"time", "event", "message"}, r)
        else:
            tc.assertTrue(COMMON_KEYS <= set(r), r)
            tc.assertEqual((r["transport"], r["role"]), (transport, role), r)


class JsonTcp(NetdemoTestCase):
    def session(self, port, send, pause=0.0):
        """One session: sends `send` (then half-closes when it does not end in exit), reads
        to EOF, closes. Returns (local port, bytes received, connect time)."""
        t0 = time.monotonic()
        c = self.connect(port)
        local = c.getsockname()[1]
        self.assertEqual(h.recv_exactly(c, b"Welcome!"), b"Welcome!")
        got = b"Welcome!"
        if pause:
            time.sleep(pause)
        if send:
            c.sendall(send)
            if not send.startswith(b"exit") and not len(send) > 16:
                c.shutdown(socket.SHUT_WR)
        got += h.recv_until_eof(c, h.QUICK)
        c.close()  # ends the server's lingering close after `exit` or an error at once
        return local, got, t0

    def check_close(self, s, local, reason, bytes_in, received, t0, at_least_ms=0):
        """The close record of the session from port `local` (started at `t0`)."""
        rec = s.close_of(local)
        elapsed = time.monotonic() - t0  # the session cannot have lasted longer
        self.assertEqual(rec["reason"], reason, rec)
        if isinstance(bytes_in, tuple):
            self.assertTrue(bytes_in[0] <= rec["bytes_in"] <= bytes_in[1], rec)
        else:
            self.assertEqual(rec["bytes_in"], bytes_in, rec)
        self.assertEqual(rec["bytes_out"], len(received), rec)
        self.assertIsInstance(rec["duration_ms"], int)
        self.assertGreaterEqual(rec["duration_ms"], at_least_ms, rec)
        self.assertLessEqual(rec["duration_ms"], elapsed * 1000 + 5, rec)

    def test_sessions_and_limits_as_json(self):
        s = LogServer(self, ["tcp-server", "--port", "0", "--log-format", "json",
                             "--max-line", "16", "--idle-timeout", "300ms"])
        port = s.port()

        local, got, el = self.session(port, b"Michael\n", pause=0.2)
        self.assertEqual(got, b"Welcome!Hello, Michael!\n")
        self.check_close(s, local, "eof", 8, got, el, at_least_ms=150)

        local, got, el = self.session(port, b"exit\n")
        self.check_close(s, local, "exit", 5, got, el)

        local, got, el = self.session(port, b"A" * 100 + b"\n")
        self.assertTrue(got.startswith(b"Welcome!ERR line too long"), got)
        self.check_close(s, local, "limit:line", (17, 101), got, el)
        peer = "127.0.0.1:%d" % local
        s.wait_for(lambda r: r["event"] == "refused" and r.get("peer") == peer
                   and r["limit"] == "limit:line", "refused limit:line")

        local, got, el = self.session(port, b"")
        self.assertEqual(got, b"Welcome!")
        self.check_close(s, local, "idle", 0, got, el, at_least_ms=250)

        self.assertEqual(s.stop(), 0)
        recs = s.records()
        check_common(self, recs, "tcp", "hello")
        self.assertEqual(recs[0]["event"], "listening")
        self.assertEqual(recs[0]["threads"], 1)
        self.assertEqual(recs[-1]["event"], "stopping", recs[-1])
        self.assertIn("no new connections", recs[-1]["message"])
        opens = [r for r in recs if r["event"] == "open"]
        closes = [r for r in recs if r["event"] == "close"]
        self.assertEqual(len(opens), 4)
        for r in opens:  # an open record has no empty "message"
            self.assertEqual(set(r), {"time", "event", "transport", "role", "peer"}, r)
        self.assertEqual(sorted(r["peer"] for r in opens), sorted(r["peer"] for r in closes))

    def test_refusal_and_shutdown_as_json(self):
        s = LogServer(self, ["tcp-server", "--port", "0", "--log-format", "json",
                             "--max-conns", "1", "--evict-idle", "0"])
        port = s.port()
        held = self.connect(port)
        self.assertEqual(h.recv_exactly(held, b"Welcome!"), b"Welcome!")
        turned = self.connect(port)
        answer = h.recv_until_eof(turned, h.QUICK)
        self.assertTrue(answer.startswith(b"ERR"), answer)
        peer = "127.0.0.1:%d" % turned.getsockname()[1]
        rec = s.wait_for(lambda r: r["event"] == "refused" and r.get("peer") == peer, "refusal")
        self.assertEqual(rec["limit"], "limit:connections")
        held.sendall(b"x\n")
        h.recv_exactly(held, b"Hello, x!\n")
        self.assertEqual(s.stop(), 0)
        rec = s.close_of(held.getsockname()[1])
        self.assertEqual((rec["reason"], rec["bytes_in"], rec["bytes_out"]), ("shutdown", 2, 18))
        recs = s.records()
        check_common(self, recs, "tcp", "hello")
        self.assertFalse(any(r["event"] == "close" and r.get("peer") == peer for r in recs),
                         "a refusal is no session")

    def test_unix_path_with_a_quote_and_invalid_utf8_is_valid_json(self):
        d = self.tempdir().encode()
        path = d + b'/a"b\\\xff\x01.sock'
        s = LogServer(self, ["tcp-server", "--log-format", "json", "--unix", path])
        rec = s.wait_for(lambda r: r["event"] == "listening", "listening", h.START_TIMEOUT)
        self.assertEqual(rec["transport"], "unix")
        self.assertEqual(rec["address"], d.decode() + '/a"b\\\ufffd\x01.sock')
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(c.close)
        c.settimeout(h.QUICK)
        c.connect(path)
        h.recv_exactly(c, b"Welcome!")
        c.shutdown(socket.SHUT_WR)
        h.recv_until_eof(c)
        rec = s.wait_for(lambda r: r["event"] == "close", "close")
        self.assertEqual((rec["peer"], rec["reason"], rec["bytes_out"]), ("unix:(unnamed)", "eof", 8))
        self.assertEqual(s.stop(), 0)
        s.records()

    def test_second_signal_is_an_abort_record(self):
        s = LogServer(self, ["tcp-server", "--port", "0", "--log-format", "json",
                             "--role", "echo", "--grace", "30s"])
        port = s.port()
        c = socket.socket()
        self.addCleanup(c.close)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        c.settimeout(15)
        c.connect(("127.0.0.1", port))
        stats = {"sent": 0, "stop": False}

        def stuff():  # writes and never reads: the server's session gets stuck writing
            try:
                while not stats["stop"]:
                    c.sendall(b"x" * 65536)
                    stats["sent"] += 65536
            except OSError:
                pass
        threading.Thread(target=stuff, daemon=True).start()
        self.addCleanup(lambda: stats.__setitem__("stop", True))
        self.assertTrue(h.wait_until_sending_stalls(stats), "the echo server never stopped reading")
        s.p.send_signal(signal.SIGTERM)
        s.wait_for(lambda r: r["event"] == "stopping", "stopping")
        self.assertEqual(s.stop(signal.SIGINT), 1)
        recs = s.records()
        check_common(self, recs, "tcp", "echo")
        abort = [r for r in recs if r["event"] == "abort"]
        self.assertEqual(len(abort), 1, recs)
        self.assertEqual(abort[0]["message"], "Second signal: closing every connection now.")
        self.assertEqual(set(abort[0]), {"time", "event", "message"})
        close = [r for r in recs if r["event"] == "close"]
        self.assertEqual([r["reason"] for r in close], ["aborted"], recs)
        self.assertGreater(close[0]["bytes_in"], 0)

    def test_quiet_keeps_listening_and_stopping(self):
        s = LogServer(self, ["tcp-server", "--port", "0", "--log-format", "json", "-q"])
        port = s.port()
        self.session(port, b"exit\n")
        self.assertEqual(s.stop(), 0)
        self.assertEqual([r["event"] for r in s.records()], ["listening", "stopping"])


class JsonTls(TlsCase):
    def test_handshake_failure_has_reason_and_detail(self):
        s = LogServer(self, ["tcp-server", "--port", "0", "--log-format", "json",
                             "--tls-cert", self.certs.cert, "--tls-key", self.certs.key])
        port = s.port()
        plain = self.connect(port)
        local = plain.getsockname()[1]
        plain.sendall(b"GET / HTTP/1.0\r\n\r\n")
        try:
            h.recv_until_eof(plain, h.QUICK)
        except ConnectionResetError:
            pass
        rec = s.close_of(local)
        self.assertEqual(rec["reason"], "tls handshake", rec)
        self.assertTrue(rec["detail"].startswith("tls handshake: "), rec)
        raw = self.connect(port)
        tls_port = raw.getsockname()[1]
        c = ssl.create_default_context(cafile=self.certs.ca).wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(c.close)
        self.assertEqual(recv_until(c, lambda d: d.endswith(b"Welcome!")), b"Welcome!")
        c.sendall(b"exit\n")
        recv_until(c, lambda d: False, timeout=1)
        c.close()
        rec = s.close_of(tls_port)
        self.assertEqual((rec["reason"], rec["bytes_in"], rec["bytes_out"]), ("exit", 5, 8), rec)
        self.assertNotIn("detail", rec)
        self.assertEqual(s.stop(), 0)
        check_common(self, s.records(), "tls", "hello")


class JsonUdp(NetdemoTestCase):
    def test_datagrams_and_drops_as_json(self):
        s = LogServer(self, ["udp-server", "--port", "0", "--log-format", "json", "-v",
                             "--max-datagram", "16"])
        port = s.port()
        u = self.udp()
        u.sendto(b"Michael", ("127.0.0.1", port))
        self.assertEqual(u.recvfrom(100)[0], b"Hello, Michael!")
        peer = "127.0.0.1:%d" % u.getsockname()[1]
        rec = s.wait_for(lambda r: r["event"] == "datagram", "datagram")
        self.assertEqual((rec["peer"], rec["bytes_in"], rec["bytes_out"]), (peer, 7, 15))
        u.sendto(b"B" * 100, ("127.0.0.1", port))
        rec = s.wait_for(lambda r: r["event"] == "dropped", "dropped")
        self.assertEqual(rec["peer"], peer)
        self.assertTrue(rec["reason"].startswith("limit:datagram"), rec)
        self.assertEqual(s.stop(), 0)
        recs = s.records()
        check_common(self, recs, "udp", "hello")
        self.assertEqual(recs[-1]["event"], "stopping")
        self.assertEqual(recs[-1]["address"], "127.0.0.1:%d" % port)
        self.assertNotIn("peer", recs[-1])


class LogTime(NetdemoTestCase):
    def start(self, *args, tz="XST-8"):
        env = dict(os.environ, TZ=tz)
        return LogServer(self, ["tcp-server", "--port", "0"] + list(args), env=env)

    def first_line(self, s):
        return s.wait_raw(rb"Listening on|listening", h.START_TIMEOUT).decode()

    def test_json_local_has_the_offset(self):
        s = self.start("--log-format", "json")
        t = json.loads(self.first_line(s))["time"]
        self.assertRegex(t, "^" + ISO_MS + "$")
        self.assertTrue(t.endswith("+08:00"), t)
        s2 = self.start("--log-format", "json", "--log-time", "local")
        self.assertTrue(json.loads(self.first_line(s2))["time"].endswith("+08:00"))

    def test_json_utc_is_now(self):
        s = self.start("--log-format", "json", "--log-time", "utc")
        t = json.loads(self.first_line(s))["time"]
        self.assertTrue(t.endswith("+00:00"), t)
        when = datetime.datetime.fromisoformat(t)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), 60)

    def test_json_none_has_no_time(self):
        s = self.start("--log-format", "json", "--log-time", "none")
        self.assertNotIn("time", json.loads(self.first_line(s)))

    def test_text_shapes(self):
        stamps = {
            None: r"\d\d:\d\d:\d\d ",  # today's default, which the harness reads
            "local": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ",
            "utc": r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z ",
            "none": r"",
        }
        for opt, stamp in stamps.items():
            with self.subTest(opt):
                s = self.start(*(["--log-time", opt] if opt else []))
                self.assertRegex(self.first_line(s), "^" + stamp + "Listening on tcp ")
                self.assertEqual(s.stop(), 0)
                self.assertRegex(s.raw_lines()[-1].decode(), "^" + stamp + "Stopping: ")

    def test_text_utc_is_utc(self):
        s = self.start("--log-time", "utc")
        line = self.first_line(s)
        when = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc)
        self.assertLess(abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()), 60)

    def test_bad_values_are_usage_errors(self):
        for args in (["--log-format", "xml"], ["--log-time", "gmt"]):
            with self.subTest(args):
                r = h.run(["tcp-server", "--port", "0"] + args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(b"--log-", r.stderr)


if __name__ == "__main__":
    h.main()
