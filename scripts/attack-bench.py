#!/usr/bin/env python3
"""Measures what an attacker costs a netdemo server (issue 11; figures in docs/limits.md):

  never-readers  RSS of a server with N clients that pipeline requests and never read,
                 minus its RSS with N idle clients: the memory one never-reader costs.
  flood-wait     round-trip times of a client on 127.0.0.2 sending `date` while a client on
                 127.0.0.1 floods pipelined `ls` (a root of 1,000 files) and reads nothing.

Usage: scripts/attack-bench.py [--netdemo build/netdemo] [--clients 1000] [--rounds 3]
Loopback only; every server and socket it opens is closed at the end.
"""

import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def start(netdemo, args):
    p = subprocess.Popen([netdemo, *args, "--port", "0", "--quiet"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    m = re.search(r":(\d+) \(role", line)
    if not m:
        p.kill()
        raise SystemExit("no Listening line: %r" % line)
    return p, int(m.group(1))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connect(port, source="127.0.0.1"):
    s = socket.socket()
    # Small kernel buffers: a thousand never-readers with the default autotuning (up to
    # 4 MiB to send and 32 MiB to receive each) exhaust the machine's tcp_mem, and then the
    # kernel resets connections of every process. The server's own memory is what counts here.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def flood_until_full(s, data, seconds=0.02):
    s.setblocking(False)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            s.send(data)
        except BlockingIOError:
            time.sleep(0.002)
        except OSError:
            return


def never_readers(netdemo, role_args, request, clients):
    p, port = start(netdemo, ["tcp-server", *role_args, "--max-conns", str(clients + 10)])
    socks = []
    try:
        for _ in range(clients):
            socks.append(connect(port))
        time.sleep(0.5)
        idle = rss_kib(p.pid)
        data = request * (65536 // len(request))
        for _ in range(3):
            for s in socks:
                flood_until_full(s, data)
        time.sleep(0.5)
        busy = rss_kib(p.pid)
        return idle, busy
    finally:
        for s in socks:
            s.close()
        p.kill()
        p.wait()


def flood_wait(netdemo, root, seconds=3.0):
    p, port = start(netdemo, ["command-server", "--root", root])
    try:
        flooder = connect(port)
        flooder.setblocking(False)
        data = b"ls\n" * 21845
        other = connect(port, "127.0.0.2")
        other.settimeout(30)
        waits = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                flooder.send(data)
            except BlockingIOError:
                pass
            t0 = time.perf_counter()
            other.sendall(b"date\n")
            got = b""
            while not got.endswith(b"\n"):
                got += other.recv(4096)
            waits.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.01)
        rss = rss_kib(p.pid)
        flooder.close()
        other.close()
        return waits, rss
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--netdemo", action="append", help="binary to measure (repeat to compare)")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    binaries = a.netdemo or ["build/netdemo"]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, a.clients * 2 + 100)), hard))
    root = tempfile.mkdtemp(prefix="attack-bench-")
    try:
        for i in range(1000):
            open(os.path.join(root, "file-%04d-%s" % (i, "x" * 40)), "w").close()
        cases = [("hello", ["--role", "hello"], b"x\n"),
                 ("timestamp", ["--role", "timestamp"], b"x\n"),
                 ("echo", ["--role", "echo"], b"x" * 64)]
        for r in range(a.rounds):
            for b in binaries:  # interleaved: the binaries take turns round by round
                for name, args, req in cases:
                    idle, busy = never_readers(b, args, req, a.clients)
                    print("round %d %s never-readers %-9s idle %6d KiB, flooding %7d KiB: %6.1f KiB per never-reader"
                          % (r, b, name, idle, busy, (busy - idle) / a.clients), flush=True)
                waits, rss = flood_wait(b, root)
                print("round %d %s flood-wait: %d round trips, median %.2f ms, p99 %.2f ms, max %.1f ms; server RSS %d KiB"
                      % (r, b, len(waits), statistics.median(waits),
                         sorted(waits)[int(len(waits) * 0.99) - 1] if waits else 0, max(waits), rss), flush=True)
    finally:
        shutil.rmtree(root, True)


if __name__ == "__main__":
    main()
