#!/usr/bin/env python3
"""End-to-end tests of `netdemo resolve` and `netdemo info` (the socket module's utility
functions of seeds 001 and 002). Python's own socket.getaddrinfo / getnameinfo /
gethostname ask the same C library, so they are the oracle.

No internet needed: only localhost, numeric addresses and /etc/services are looked up for
real answers; names that must fail are bounded and the test is skipped if the resolver
hangs.

Run alone: NETDEMO=/path/to/netdemo python3 test/e2e/test_util.py
"""

import os
import re
import socket
import subprocess
import sys
import unittest

# Short DNS waits for the lookups that are meant to fail (glibc reads this at start-up).
os.environ.setdefault("RES_OPTIONS", "timeout:1 attempts:1")

sys.dont_write_bytecode = True  # keep the source tree clean when run by hand
import netdemo_harness as h  # noqa: E402
from netdemo_harness import NetdemoTestCase, run  # noqa: E402

# Lookups that may go to DNS get this long before the test is skipped.
DNS_BOUND = 10.0

FAMILIES = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}
SOCKTYPES = {socket.SOCK_STREAM: "stream", socket.SOCK_DGRAM: "dgram", socket.SOCK_RAW: "raw"}
PROTOCOLS = {0: "-", socket.IPPROTO_TCP: "tcp", socket.IPPROTO_UDP: "udp"}
ROW_RE = re.compile(r"^(IPv4|IPv6)\s+(stream|dgram|raw)\s+(tcp|udp|-)\s+(\S+)\s+(\d+)$")


def expected_rows(host, service=None, family=0):
    """What getaddrinfo says, in netdemo's words and order."""
    rows = []
    for fam, typ, proto, _canon, addr in socket.getaddrinfo(host, service, family):
        rows.append((FAMILIES[fam], SOCKTYPES.get(typ, str(typ)), PROTOCOLS.get(proto, str(proto)),
                     addr[0], str(addr[1])))
    return rows


def column_starts(line):
    return [m.start() for m in re.finditer(r"(?:(?<=  )|^)\S", line)]


class Resolve(NetdemoTestCase):

    def resolve_rows(self, args, canonical=False):
        """Runs `netdemo resolve ARGS`, checks the format, returns (canonical name, rows)."""
        r = self.run_ok(["resolve", *args])
        self.assertEqual(r.stderr, b"")
        lines = r.stdout.decode().splitlines()
        canon = None
        if canonical:
            self.assertTrue(lines and lines[0].startswith("canonical name: "), lines)
            canon = lines.pop(0)[len("canonical name: "):]
        self.assertTrue(lines, "no results printed")
        rows = []
        for line in lines:
            m = ROW_RE.match(line)
            self.assertIsNotNone(m, "unexpected line %r" % line)
            rows.append(m.groups())
        # Aligned columns: every field starts at the same offset on every line.
        starts = {tuple(column_starts(line)) for line in lines}
        self.assertEqual(len(starts), 1, "columns not aligned:\n" + "\n".join(lines))
        return canon, rows

    def test_localhost_matches_getaddrinfo(self):
        _, rows = self.resolve_rows(["localhost"])
        self.assertEqual(rows, expected_rows("localhost"))
        self.assertIn(("IPv4", "stream", "tcp", "127.0.0.1", "0"), rows)
        for row in rows:
            self.assertTrue(row[3].startswith("127.") or row[3] == "::1", row)

    def test_numeric_ipv4_with_port(self):
        _, rows = self.resolve_rows(["127.0.0.1", "8080"])
        self.assertEqual(rows, expected_rows("127.0.0.1", "8080"))
        self.assertIn(("IPv4", "stream", "tcp", "127.0.0.1", "8080"), rows)
        self.assertIn(("IPv4", "dgram", "udp", "127.0.0.1", "8080"), rows)
        self.assertTrue(all(r[0] == "IPv4" and r[4] == "8080" for r in rows), rows)

    def test_numeric_ipv6(self):
        _, rows = self.resolve_rows(["::1", "443"])
        self.assertEqual(rows, expected_rows("::1", "443"))
        self.assertIn(("IPv6", "stream", "tcp", "::1", "443"), rows)
        self.assertTrue(all(r[0] == "IPv6" for r in rows), rows)

    def test_service_name(self):
        try:
            port = socket.getservbyname("http", "tcp")
        except OSError:
            self.skipTest("no 'http' in the services database")
        _, rows = self.resolve_rows(["localhost", "http"])
        self.assertEqual(rows, expected_rows("localhost", "http"))
        self.assertIn(("IPv4", "stream", "tcp", "127.0.0.1", str(port)), rows)
        self.assertEqual(port, 80)
        self.assertTrue(all(r[4] == "80" for r in rows), rows)

    def test_canonical_name(self):
        canon, rows = self.resolve_rows(["--canonical", "localhost", "http"], canonical=True)
        want = socket.getaddrinfo("localhost", "http", 0, 0, 0, socket.AI_CANONNAME)[0][3]
        self.assertEqual(canon, want)
        self.assertTrue(canon.startswith("localhost"), canon)
        self.assertEqual(rows, expected_rows("localhost", "http"))
        # Without --canonical there is no such line.
        r = self.run_ok(["resolve", "localhost", "http"])
        self.assertNotIn(b"canonical", r.stdout)

    def test_family_restriction(self):
        _, rows = self.resolve_rows(["-4", "localhost"])
        self.assertEqual(rows, expected_rows("localhost", None, socket.AF_INET))
        _, rows = self.resolve_rows(["-6", "::1", "7"])
        self.assertEqual(rows, expected_rows("::1", "7", socket.AF_INET6))
        _, rows = self.resolve_rows(["--ipv4", "127.0.0.1"])
        self.assertTrue(all(r[0] == "IPv4" for r in rows))

    def test_wrong_family_exits_6(self):
        for args, needle in ((["-6", "127.0.0.1"], "'127.0.0.1' as IPv6"),
                             (["-4", "::1"], "'::1' as IPv4")):
            with self.subTest(args=args):
                r = run(["resolve", *args])
                err = r.stderr.decode()
                self.assertEqual(r.returncode, 6, err)
                self.assertEqual(r.stdout, b"")
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertTrue(err.startswith("netdemo resolve: cannot resolve"), err)
                self.assertIn(needle, err)

    def test_reverse_localhost(self):
        want = socket.getnameinfo(("127.0.0.1", 0), socket.NI_NAMEREQD)[0]
        for flag in ("--reverse", "-r"):
            with self.subTest(flag=flag):
                r = self.run_ok(["resolve", flag, "127.0.0.1"])
                self.assertEqual(r.stdout.decode(), want + "\n")
                self.assertTrue(want.startswith("localhost"), want)
                self.assertEqual(r.stderr, b"")

    def bounded(self, args):
        try:
            return run(args, timeout=DNS_BOUND)
        except subprocess.TimeoutExpired:
            self.skipTest("the resolver hangs here")

    def test_unresolvable_name_exits_6(self):
        r = self.bounded(["resolve", "nosuch.invalid"])
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 6, err)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertTrue(err.startswith("netdemo resolve: cannot resolve 'nosuch.invalid'"), err)

    def test_address_without_name_exits_6(self):
        # TEST-NET-2 (RFC 5737): no hosts entry, and DNS has no PTR for it.
        r = self.bounded(["resolve", "--reverse", "198.51.100.7"])
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 6, err)
        self.assertEqual(r.stdout, b"")
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("no name for 198.51.100.7", err)

    def test_unknown_service_exits_6(self):
        r = run(["resolve", "127.0.0.1", "no-such-service-xyz"])
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 6, err)
        self.assertIn("unknown service 'no-such-service-xyz'", err)
        self.assertEqual(r.stdout, b"")


class UsageAndHelp(NetdemoTestCase):

    def assert_usage_error(self, args, needle):
        r = run(args)
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 2, "netdemo %s: exit %d, stderr=%r" % (args, r.returncode, err))
        self.assertEqual(r.stdout, b"")
        lines = err.splitlines()
        self.assertTrue(lines and lines[0].startswith("netdemo %s: " % args[0]), err)
        self.assertIn(needle, lines[0])
        self.assertLessEqual(len(lines), 2, lines)

    def test_resolve_usage_errors(self):
        cases = [
            (["resolve"], "missing HOST"),
            (["resolve", "-4", "-6", "localhost"], "-4 and -6"),
            (["resolve", "localhost", "http", "extra"], "too many"),
            (["resolve", "--reverse", "127.0.0.1", "localhost"], "--reverse"),
            (["resolve", "--reverse", "127.0.0.1", "--canonical"], "--reverse"),
            (["resolve", "--reverse", "localhost"], "'localhost' is not an IPv4 or IPv6 address"),
            (["resolve", "--reverse"], "reverse"),
            (["resolve", "localhost", "70000"], "70000"),
            (["resolve", ""], "empty"),
            (["resolve", "--bogus", "localhost"], "--bogus"),
            (["info", "--bogus"], "--bogus"),
            (["info", "extra"], "too many"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                self.assert_usage_error(args, needle)

    def test_help(self):
        for command, needles in (("resolve", ["--reverse", "--canonical", "-4", "-6", "SERVICE"]),
                                 ("info", ["gethostname", "getifaddrs"])):
            for flag in ("--help", "-h"):
                with self.subTest(command=command, flag=flag):
                    r = self.run_ok([command, flag])
                    out = r.stdout.decode()
                    self.assertTrue(out.startswith("Usage: netdemo %s " % command), out[:200])
                    self.assertIn("netdemo %s" % command, out.split("Examples", 1)[1])
                    for n in needles:
                        self.assertIn(n, out)
                    self.assertEqual(r.stderr, b"")

    def test_top_level_help_lists_them(self):
        out = self.run_ok(["--help"]).stdout.decode()
        for c in ("resolve", "info"):
            self.assertRegex(out, r"(?m)^  %s\s+\S" % c)


class Info(NetdemoTestCase):

    @classmethod
    def setUpClass(cls):
        # One run serves every test; the FQDN lookup may ask DNS for the host name.
        try:
            cls.result = run(["info"], timeout=DNS_BOUND)
        except subprocess.TimeoutExpired:
            cls.result = None

    def setUp(self):
        if self.result is None:
            self.skipTest("netdemo info did not finish in %.0f s (the resolver hangs here)" % DNS_BOUND)
        r = self.result
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        self.lines = r.stdout.decode().splitlines()
        self.fields = {}
        for line in self.lines:
            m = re.match(r"^(Host name|FQDN|IPv6):\s+(.*)$", line)
            if m:
                self.fields[m.group(1)] = m.group(2)

    def interface_rows(self):
        i = self.lines.index("Interfaces:")
        table = self.lines[i + 1:]
        self.assertTrue(table, "no interface table")
        header = table[0].split()
        self.assertEqual(header, ["NAME", "FAMILY", "ADDRESS", "PREFIX", "STATE"])
        starts = column_starts(table[0])
        rows = []
        for line in table[1:]:
            self.assertTrue(line.startswith("  "), line)
            parts = line.split()
            self.assertGreaterEqual(len(parts), 5, line)
            # Aligned: each of the first four fields starts under its header.
            self.assertEqual(column_starts(line)[:5], starts, "not aligned:\n%s\n%s" % (table[0], line))
            name, family, address, prefix = parts[:4]
            if address == "(no":  # "(no address)"
                name, family, address, prefix = parts[0], parts[1], "(no address)", parts[4]
                state = parts[5:]
            else:
                state = parts[4:]
            rows.append((name, family, address, prefix, state))
        return rows

    def test_host_name(self):
        self.assertEqual(self.fields.get("Host name"), socket.gethostname())

    def test_fqdn(self):
        fqdn = self.fields.get("FQDN", "")
        self.assertTrue(fqdn, self.lines)
        try:
            want = socket.getaddrinfo(socket.gethostname(), None, 0, socket.SOCK_STREAM, 0,
                                      socket.AI_CANONNAME)[0][3] or socket.gethostname()
        except OSError:
            want = socket.gethostname()
        self.assertEqual(fqdn.split(" (")[0], want)

    def test_ipv6_line(self):
        v6 = self.fields.get("IPv6", "")
        bindable = h.ipv6_loopback_available()
        if bindable:
            self.assertTrue(v6.startswith("available ("), v6)
            self.assertIn("::1 can be bound", v6)
        else:
            self.assertIn("cannot bind ::1", v6)
        try:
            with open("/proc/net/if_inet6") as f:
                count = sum(1 for line in f if line.strip())
        except OSError:
            return
        self.assertIn("; %d IPv6 address" % count, v6)
        if count == 0 and not bindable:
            self.assertTrue(v6.startswith("not available"), v6)

    def test_interfaces(self):
        rows = self.interface_rows()
        self.assertIn(("lo", "IPv4", "127.0.0.1", "8", ["up", "loopback"]),
                      [r for r in rows if r[0] == "lo"])
        names = [r[0] for r in rows]
        for _index, name in socket.if_nameindex():
            self.assertIn(name, names)
        # Grouped: an interface's rows are next to each other.
        seen = []
        for n in names:
            if not seen or seen[-1] != n:
                self.assertNotIn(n, seen, "rows of %s are not together: %s" % (n, names))
                seen.append(n)
        for name, family, address, prefix, state in rows:
            self.assertIn(family, ("IPv4", "IPv6", "-"))
            self.assertIn(state[0], ("up", "down"))
            if family == "IPv4":
                socket.inet_pton(socket.AF_INET, address)
                self.assertTrue(0 <= int(prefix) <= 32, prefix)
            elif family == "IPv6":
                socket.inet_pton(socket.AF_INET6, address.split("%")[0])
                self.assertTrue(0 <= int(prefix) <= 128, prefix)
            else:
                self.assertEqual(address, "(no address)")

    def test_ipv6_loopback_listed_when_present(self):
        try:
            with open("/proc/net/if_inet6") as f:
                has_lo6 = any(line.split()[0] == "0" * 31 + "1" for line in f if line.strip())
        except OSError:
            self.skipTest("no /proc/net/if_inet6")
        rows = self.interface_rows()
        self.assertEqual(any(r[1] == "IPv6" and r[2] == "::1" and r[3] == "128" for r in rows), has_lo6)


if __name__ == "__main__":
    h.main()
