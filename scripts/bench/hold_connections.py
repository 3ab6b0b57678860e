#!/usr/bin/env python3
"""Holds many idle connections to a netdemo server and reports its RSS per connection.

../shared/bench/c10k.sh does this for echo servers; its load generator takes any byte it did
not send as an error, so it cannot hold a `hello` session (which greets first). This one reads
each greeting, holds every connection idle, reads the server's VmRSS from /proc, then checks
that every connection still answers (one message, one exact reply) and closes them.

  hold_connections.py --pid PID --port PORT [--conns 10000] [--greeting Welcome!]
                      [--send 'x\\n' --expect 'Hello, x!\\n'] [--hold 3] [--json]
"""
import argparse
import json
import resource
import selectors
import socket
import sys
import time


def rss_bytes(pid: int) -> int:
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS for pid %d" % pid)


def read_exactly_all(socks, want: bytes, timeout: float):
    """Reads `want` from every socket (concurrently); returns how many got exactly it."""
    if not want:
        return len(socks)
    sel = selectors.DefaultSelector()
    got = {}
    for s in socks:
        got[s] = b""
        sel.register(s, selectors.EVENT_READ)
    ok = 0
    deadline = time.monotonic() + timeout
    while got and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            try:
                data = s.recv(len(want) - len(got[s]) + 1)
            except OSError:
                data = b""
            got[s] += data
            if not data or len(got[s]) >= len(want):
                ok += got[s] == want
                sel.unregister(s)
                del got[s]
    sel.close()
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pid", type=int, required=True, help="the server's process id (for VmRSS)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--greeting", default="", help="bytes the server sends first (hello: Welcome!)")
    ap.add_argument("--send", default="x\n", help="probe message after the hold")
    ap.add_argument("--expect", default=None, help="exact reply to the probe (default: the probe)")
    ap.add_argument("--hold", type=float, default=3.0, help="seconds to hold before the probe")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    greeting = a.greeting.encode()
    probe = a.send.encode().decode("unicode_escape").encode()
    expect = probe if a.expect is None else a.expect.encode().decode("unicode_escape").encode()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rss_before = rss_bytes(a.pid)
    socks = []
    t0 = time.monotonic()
    failed = 0
    for _ in range(a.conns):
        s = socket.socket(socket.AF_INET6 if ":" in a.host else socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((a.host, a.port))
        except OSError:
            failed += 1
            s.close()
            continue
        s.setblocking(False)
        socks.append(s)
    greeted = read_exactly_all(socks, greeting, 30)
    open_s = time.monotonic() - t0
    time.sleep(a.hold)
    rss_held = rss_bytes(a.pid)
    for s in socks:
        try:
            s.send(probe)
        except OSError:
            pass
    alive = read_exactly_all(socks, expect, 30)
    for s in socks:
        s.close()
    per_conn = (rss_held - rss_before) / max(1, len(socks))
    result = {"conns": a.conns, "established": len(socks), "failed": failed, "greeted": greeted,
              "alive_after_hold": alive, "open_s": round(open_s, 3), "rss_before": rss_before,
              "rss_held": rss_held, "rss_per_conn": round(per_conn)}
    if a.json:
        print(json.dumps(result))
    else:
        print("%d/%d connections held, %d greeted, %d answered after %.1f s; server RSS %.1f -> %.1f MiB,"
              " %d bytes per connection" % (len(socks), a.conns, greeted, alive, a.hold,
                                            rss_before / 1048576, rss_held / 1048576, per_conn))
    return 0 if alive == a.conns else 1


if __name__ == "__main__":
    sys.exit(main())
