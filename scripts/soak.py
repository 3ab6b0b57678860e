#!/usr/bin/env python3
"""Soak load for netdemo's servers (docs/reliability.md, "Soak"). Python 3 standard library only.

Starts one netdemo server process per role and transport (ten in all) on 127.0.0.1, port 0,
and runs a mixed load against them for --duration:

* legitimate clients, from 127.0.0.1 only, that check every reply byte for byte against
  docs/protocols.md (timestamps against every second the request was in flight);
* attackers, from 127.0.0.2 ... 127.0.0.9 only: connect/disconnect churn, idle holders,
  garbage (random bytes, overlong lines, NULs, CR/LF mixes, hostile `ls` paths, resets),
  never-readers (pipelined requests, no reads), slow drippers (a byte every few seconds),
  UDP garbage and UDP never-readers.

Keeping the two apart matters: the servers' defences against slowloris (per-address limits,
line time limits, eviction) must never hit a legitimate client, and must never be credited
for protecting one that was in fact an attacker.

Samples each server's VmRSS every second, writes rss.csv (and rss.png through gnuplot when it
is installed) and the server logs into --out, and prints one JSON line on stdout. Exit status:
0 when no reply was lost, none was wrong, no server died and every server stopped cleanly;
1 otherwise; 2 when the servers could not be started; 130 when interrupted (Ctrl+C, SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import errno
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Tuple

LEGIT_ADDR = "127.0.0.1"
ATTACK_ADDRS = ["127.0.0.%d" % i for i in range(2, 10)]

# Load shape: about 140 TCP connections at once in all, far under the servers' default
# --max-conns 1024, and a few per attacking address and server.
LEGIT_TCP_PER_SERVER = 2
LEGIT_UDP_PER_SERVER = 1
NEVER_READERS_PER_SERVER = 8
DRIPPERS_PER_SERVER = 6
IDLERS_PER_SERVER = 4
CHURNERS = 3
GARBAGE_TCP = 3
GARBAGE_UDP = 2
UDP_NEVER_READERS = 2

# A never-reader sends at most this much, then only holds its connection, so the soak's cost
# is bounded whatever the server does: what a server does not read waits in the kernel's
# socket buffers. A server without backpressure holds, per stalled session, the replies to
# what it has read (today one 64 KiB read: about 1 MB of short timestamp lines, ~30x for `ls`);
# with backpressure, at most its high-water mark and one reply.
NEVER_READER_CAP = {"command": 256 * 1024, "default": 1024 * 1024}
# A legitimate reply that has not come after this long is lost.
REPLY_TIMEOUT = 10.0
UDP_REPLY_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
MAX_LINE = 65536  # the servers' default --max-line
MARKER = "SOAK_MARKER_OUTSIDE_ROOT"

LISTENING_RE = re.compile(r"Listening on (tcp|udp) 127\.0\.0\.1:(\d+) \(role ([a-z]+)")


def log(msg: str) -> None:
    print("soak: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# Servers

try:  # resolved once in the parent: the forked child only makes the call
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except Exception:  # pragma: no cover - not Linux
    _prctl = None


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL the server if the soak itself is killed, so nothing is left."""
    if _prctl is not None:
        _prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


class Server:
    def __init__(self, name: str, transport: str, role: str, argv: List[str], out: str):
        self.name, self.transport, self.role = name, transport, role
        self.argv = argv
        self.log_path = os.path.join(out, name + ".log")
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0
        self.rss: List[Optional[int]] = []
        self.died_at: Optional[float] = None
        self.exit_code: Optional[int] = None
        self.stop_ok = False

    def start(self, env: Dict[str, str]) -> None:
        with open(self.log_path, "wb") as logf:
            # A session of its own: Ctrl+C at the terminal reaches the soak only, which then
            # stops the servers itself (after closing the load, so the stop is a clean one).
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=logf,
                                         stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True, preexec_fn=_die_with_parent)

    def wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                m = LISTENING_RE.search(f.read().decode("utf-8", "replace"))
            if m:
                self.port = int(m.group(2))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        with open(self.log_path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        raise RuntimeError("%s did not report 'Listening on' (exit %s): %s\n%s"
                           % (self.name, self.proc.poll(), " ".join(self.argv), text))

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def vmrss_kib(self) -> Optional[int]:
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; stop_ok only for a timely exit 0."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.exit_code = self.proc.wait(timeout)
                self.stop_ok = self.died_at is None and self.exit_code == 0
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self.exit_code = self.proc.returncode
        else:
            self.exit_code = self.proc.returncode

    def log_counts(self) -> Dict[str, int]:
        counts = {"error_lines": 0, "warning_lines": 0}
        try:
            with open(self.log_path, "rb") as f:
                for raw in f:
                    if b" Error: " in raw:
                        counts["error_lines"] += 1
                    elif b" Warning: " in raw:
                        counts["warning_lines"] += 1
        except OSError:
            pass
        return counts


def make_root(base: str) -> Tuple[str, str]:
    """The command role's --root, and a sibling directory with a marker that must never be
    listed. Names are plain enough for Python's repr() to be the listing's spelling."""
    root = os.path.join(base, "root")
    outside = os.path.join(base, "outside")
    os.makedirs(os.path.join(root, "sub"))
    os.makedirs(outside)
    for name in ("a.txt", "it's", "notes.md", "caf\u00e9", os.path.join("sub", "b.txt")):
        with open(os.path.join(root, name), "w") as f:
            f.write("soak\n")
    with open(os.path.join(outside, MARKER), "w") as f:
        f.write("must never be listed\n")
    os.symlink("sub", os.path.join(root, "link-in"))
    os.symlink(os.path.join("..", "outside"), os.path.join(root, "link-out"))
    return os.path.realpath(root), outside


def listing(path: str) -> bytes:
    names = sorted(os.listdir(path), key=os.fsencode)
    return ("[" + ", ".join(repr(n) for n in names) + "]").encode("utf-8")


def server_specs(nd: str, root: str, out: str) -> List[Server]:
    common = ["--host", LEGIT_ADDR, "--port", "0"]
    specs = [
        ("tcp-hello", "tcp", "hello", ["tcp-server", "--role", "hello"]),
        ("tcp-upper", "tcp", "upper", ["tcp-server", "--role", "upper"]),
        ("tcp-echo", "tcp", "echo", ["tcp-server", "--role", "echo"]),
        ("tcp-timestamp", "tcp", "timestamp", ["timestamp-server"]),
        ("tcp-command", "tcp", "command", ["command-server", "--root", root]),
        ("udp-hello", "udp", "hello", ["udp-server", "--role", "hello"]),
        ("udp-upper", "udp", "upper", ["udp-server", "--role", "upper"]),
        ("udp-echo", "udp", "echo", ["udp-server", "--role", "echo"]),
        ("udp-timestamp", "udp", "timestamp", ["timestamp-server", "--udp"]),
        ("udp-command", "udp", "command", ["udp-server", "--role", "command", "--root", root]),
    ]
    return [Server(n, t, r, [nd] + a + common, out) for n, t, r, a in specs]


# ---------------------------------------------------------------------------------------
# What the protocol must answer (docs/protocols.md)

STAMP_LEN = 24  # time.ctime() is always 24 bytes


class Expect:
    """One expected reply: its exact length, and whether given bytes are it. A stamped reply
    (`timestamp`, command `date`) is `[` + ctime + `] ` + rest, the ctime of any second
    the request was in flight (with a second of slack either side)."""

    __slots__ = ("fixed", "rest")

    def __init__(self, fixed: Optional[bytes] = None, stamped_rest: Optional[bytes] = None):
        self.fixed, self.rest = fixed, stamped_rest

    def length(self) -> int:
        if self.fixed is not None:
            return len(self.fixed)
        return 1 + STAMP_LEN + 2 + len(self.rest)

    def matches(self, got: bytes, t0: float, t1: float) -> bool:
        if self.fixed is not None:
            return got == self.fixed
        if len(got) != self.length() or got[0:1] != b"[" or got[1 + STAMP_LEN:] != b"] " + self.rest:
            return False
        stamp = got[1:1 + STAMP_LEN]
        return any(time.ctime(s).encode() == stamp
                   for s in range(int(t0) - 1, int(math.floor(t1)) + 2))

    def describe(self) -> bytes:
        return self.fixed if self.fixed is not None else b"[<ctime>] " + self.rest


class Protocol:
    def __init__(self, root: str):
        u = os.uname()
        self.os_reply = ("[posix] %s %s %s" % (u.sysname, u.release, u.machine)).encode()
        root_list = listing(root)
        sub_list = listing(os.path.join(root, "sub"))
        rootb = root.encode()
        # Commands and their answers; anything not here is answered `welcome`.
        self.commands: Dict[bytes, Optional[bytes]] = {
            b"date": None,  # stamped
            b"os": self.os_reply,
            b"help": b"commands: date | os | ls [path] | help | exit",
            b"ls": root_list,
            b"ls ": root_list,
            b"ls .": root_list,
            b"ls sub/..": root_list,
            b"ls " + rootb: root_list,
            b"ls sub": sub_list,
            b"ls ./sub": sub_list,
            b"ls sub/": sub_list,
            b"ls link-in": sub_list,
            b"ls " + rootb + b"/sub": sub_list,
            b"ls missing": b"ERR no such directory: 'missing'",
            b"ls a.txt": b"ERR not a directory: 'a.txt'",
            b"ls a.txt/x": b"ERR not a directory: 'a.txt/x'",
            b"ls ..": b"ERR outside the root: '..'",
            b"ls ../outside": b"ERR outside the root: '../outside'",
            b"ls link-out": b"ERR outside the root: 'link-out'",
            b"ls /etc": b"ERR outside the root: '/etc'",
            b"ls a\x00b": b"ERR invalid path: 'a\\x00b'",
        }
        self.not_commands = [b"hello", b"LS", b"lsx", b"date ", b"Date", b"os ", b"", b"HELP",
                             b"exit ", b"ls\t", b"\x00", b"welcome"]
        self.command_keys = list(self.commands)

    def text_reply(self, role: str, msg: bytes, eol: bytes) -> Expect:
        if role == "hello":
            return Expect(b"Hello, " + msg + b"!" + eol)
        if role == "upper":
            return Expect(msg.upper() + eol)  # bytes.upper() is ASCII-only, as the role is
        if role == "timestamp":
            return Expect(stamped_rest=msg + eol)
        if role == "command":
            if msg in self.commands:
                ans = self.commands[msg]
                return Expect(stamped_rest=b"date" + eol) if ans is None else Expect(ans + eol)
            return Expect(b"welcome" + eol)
        raise ValueError(role)

    def datagram_reply(self, role: str, dgram: bytes) -> Expect:
        if role == "echo":
            return Expect(dgram)
        for eol in (b"\r\n", b"\n", b"\r"):
            if dgram.endswith(eol):
                msg = dgram[:-len(eol)]
                break
        else:
            eol, msg = b"", dgram
        if role == "command" and msg == b"exit":
            return Expect(b"welcome" + eol)
        return self.text_reply(role, msg, eol)


NAMES = [b"Michael", b"Tracy", b"Sarah", b"Bob", b"Mixed Case \xc3\xa9", b"h\xc3\xa9llo w\xc3\xb6rld"]
NOT_CRLF = bytes(b for b in range(256) if b not in (10, 13))
_NO_CRLF = bytes.maketrans(b"\r\n", b"  ")


def text_bytes(rng: random.Random, n: int) -> bytes:
    """n random bytes of any value but CR and LF (NULs and high bytes included)."""
    return rng.randbytes(n).translate(_NO_CRLF)


def random_message(rng: random.Random, role: str, proto: Protocol, big_ok: bool = True) -> bytes:
    """A message for a text role: never contains CR or LF, never is a command that closes."""
    if role == "command":
        if rng.random() < 0.75:
            return rng.choice(proto.command_keys)
        if rng.random() < 0.5:
            return rng.choice(proto.not_commands)
        m = text_bytes(rng, rng.randint(1, 60))
        return m if m not in proto.commands and m != b"exit" else b"welcome?"
    r = rng.random()
    if r < 0.35:
        m = rng.choice(NAMES)
    elif r < 0.65:
        m = bytes(rng.randint(32, 126) for _ in range(rng.randint(0, 80)))
    elif r < 0.90:
        m = text_bytes(rng, rng.randint(0, 300))  # NULs, high bytes
    elif r < 0.99 or not big_ok:
        m = text_bytes(rng, rng.randint(1000, 8000))
    else:
        m = b"L" * MAX_LINE  # exactly the longest line allowed
    return b"exit!" if m == b"exit" else m


# ---------------------------------------------------------------------------------------
# Counters

class Stats:
    def __init__(self):
        self.c: Dict[str, int] = {}
        self.samples: List[str] = []
        self.latencies: List[float] = []
        self.latency_by: Dict[str, List[float]] = {}

    def latency(self, name: str, seconds: float) -> None:
        self.latencies.append(seconds)
        self.latency_by.setdefault(name, []).append(seconds)

    def add(self, key: str, n: int = 1) -> None:
        self.c[key] = self.c.get(key, 0) + n

    def get(self, key: str) -> int:
        return self.c.get(key, 0)

    def error(self, key: str, what: str) -> None:
        """A failure of the server seen by a legitimate client (counted in `errors`)."""
        self.add("errors")
        self.add("error:" + key)
        if len(self.samples) < 20:
            self.samples.append("%.1fs %s" % (time.monotonic() - T0[0], what[:400]))
            log("ERROR " + what)

    def lost(self, n: int, what: str) -> None:
        self.add("replies_lost", n)
        if len(self.samples) < 20:
            self.samples.append("%.1fs lost %d: %s" % (time.monotonic() - T0[0], n, what[:400]))
            log("LOST %d %s" % (n, what))


T0 = [time.monotonic()]


def short(b: bytes, n: int = 80) -> str:
    r = repr(b[:n])
    return r + ("...(%d bytes)" % len(b) if len(b) > n else "")


# ---------------------------------------------------------------------------------------
# Socket helpers

def tcp_socket(src: str, rcvbuf: int = 0, sndbuf: int = 0) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if sndbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    s.bind((src, 0))
    return s


async def connect(loop, src: str, port: int, **kw) -> socket.socket:
    s = tcp_socket(src, **kw)
    try:
        await asyncio.wait_for(loop.sock_connect(s, (LEGIT_ADDR, port)), CONNECT_TIMEOUT)
    except BaseException:
        s.close()
        raise
    return s


def reset_close(s: socket.socket) -> None:
    """Close with RST instead of FIN (SO_LINGER 0)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


TCP_CLOSE_WAIT = 8


def peer_closed(s: socket.socket) -> bool:
    """Whether the server has closed its side, without reading (TCP_INFO's state)."""
    try:
        return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == TCP_CLOSE_WAIT
    except OSError:
        return True


def drain(s: socket.socket, stats: Stats) -> Optional[bool]:
    """Reads what is there without waiting; True at EOF/reset, None when nothing was there."""
    got_any = None
    while True:
        try:
            d = s.recv(65536)
        except BlockingIOError:
            return got_any
        except OSError:
            return True
        if not d:
            return True
        got_any = False
        if MARKER.encode() in d:
            stats.error("confinement", "a reply named the marker outside the root")


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleeps; True when the soak is stopping."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    except asyncio.TimeoutError:
        return stop.is_set()


# ---------------------------------------------------------------------------------------
# Legitimate clients

class ReplyReader:
    """Reads one connection's replies into a buffer; never more than asked for."""

    def __init__(self, loop, sock: socket.socket):
        self.loop, self.sock = loop, sock
        self.buf = b""
        self.eof = False
        self.reset = False

    async def fill(self, n: int, deadline: float) -> None:
        while len(self.buf) < n and not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                d = await asyncio.wait_for(self.loop.sock_recv(self.sock, n - len(self.buf)), left)
            except asyncio.TimeoutError:
                return
            except (ConnectionError, OSError):
                self.eof = self.reset = True
                return
            if not d:
                self.eof = True
            self.buf += d

    async def wait_eof(self, deadline: float) -> bytes:
        """Reads until EOF (or the deadline); returns the bytes that came before it."""
        extra = b""
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                d = await asyncio.wait_for(self.loop.sock_recv(self.sock, 65536), left)
            except asyncio.TimeoutError:
                break
            except (ConnectionError, OSError):
                self.eof = self.reset = True
                break
            if not d:
                self.eof = True
            extra += d
        return extra


def make_batch(rng: random.Random, role: str, proto: Protocol, prev_eol: bytes
               ) -> Tuple[bytes, List[Tuple[bytes, Expect]], bytes]:
    """Pipelined messages with mixed endings, as one write: (bytes, [(msg, expect)], last eol).
    Only the last message may lack an ending (it becomes a message after the pause)."""
    if role == "echo":
        r = rng.random()
        n = rng.randint(1, 200) if r < 0.5 else rng.randint(200, 8000) if r < 0.98 else 65536
        data = rng.randbytes(n)
        return data, [(data, Expect(data))], b""
    n = rng.choice([1, 1, 2, 3, 5, 8, 13, 30])
    parts, expects = [], []
    for i in range(n):
        msg = random_message(rng, role, proto, big_ok=(n == 1))
        last = i == n - 1
        eol = rng.choice([b"\n", b"\r\n", b"\r", b""] if last else [b"\n", b"\r\n", b"\r"])
        if eol == b"" and msg == b"":
            eol = b"\n"  # nothing would be sent at all
        if prev_eol == b"\r" and msg == b"" and eol == b"\n":
            eol = b"\r\n"  # CR then LF would be one CRLF ending, not two messages
        parts.append(msg + eol)
        expects.append((msg, proto.text_reply(role, msg, eol)))
        prev_eol = eol
    return b"".join(parts), expects, prev_eol


async def legit_tcp(loop, srv: Server, proto: Protocol, stats: Stats, rng: random.Random,
                    stop: asyncio.Event) -> None:
    role = srv.role
    while not stop.is_set() and srv.alive():
        try:
            sock = await connect(loop, LEGIT_ADDR, srv.port, sndbuf=1 << 20)
        except (OSError, asyncio.TimeoutError) as e:
            if srv.alive() and not stop.is_set():
                stats.error("connect", "%s: legit connect failed: %r" % (srv.name, e))
            await sleep_or_stop(stop, 0.5)
            continue
        stats.add("legit_tcp_connections")
        rd = ReplyReader(loop, sock)
        ok = True
        try:
            if role == "hello":
                await rd.fill(8, time.monotonic() + REPLY_TIMEOUT)
                if rd.buf != b"Welcome!":
                    stats.error("greeting", "%s: greeting %s" % (srv.name, short(rd.buf)))
                    ok = False
                rd.buf = b""
            prev_eol = b""
            batches = rng.randint(1, 25)
            for _ in range(batches if ok else 0):
                if stop.is_set():
                    break
                ok = await legit_batch(loop, srv, proto, stats, rng, sock, rd, prev_eol)
                if not ok:
                    break
                prev_eol = ok if isinstance(ok, bytes) else b""
                await asyncio.sleep(rng.uniform(0.005, 0.05))
            if ok:
                await legit_finish(loop, srv, stats, rng, sock, rd)
        finally:
            sock.close()


async def legit_batch(loop, srv, proto, stats, rng, sock, rd: ReplyReader, prev_eol: bytes):
    data, expects, last_eol = make_batch(rng, srv.role, proto, prev_eol)
    need = sum(e.length() for _, e in expects)
    t0 = time.time()
    m0 = time.monotonic()
    # Sending and reading at once: a large batch must not wait on its own replies.
    sender = asyncio.ensure_future(loop.sock_sendall(sock, data))
    await rd.fill(need, m0 + REPLY_TIMEOUT)
    t1 = time.time()
    send_error = None
    try:
        await asyncio.wait_for(sender, 1.0)
    except (asyncio.TimeoutError, OSError) as e:
        send_error = e  # the replies that did not come are counted below
    stats.add("legit_requests", len(expects))
    got, rd.buf = rd.buf, b""
    pos = 0
    for i, (msg, exp) in enumerate(expects):
        n = exp.length()
        if pos + n > len(got):
            part = got[pos:]
            # A beginning that cannot be this reply is a wrong reply, not a lost one.
            if part and ((exp.fixed is not None and not exp.fixed.startswith(part))
                         or part[:1] != b"["):
                stats.add("replies_wrong")
                stats.error("reply", "%s: to %s got %s, want %s" % (
                    srv.name, short(msg), short(got[pos:]), short(exp.describe())))
                return False
            why = "reset" if rd.reset else "eof" if rd.eof else "timeout %.0fs" % REPLY_TIMEOUT
            if send_error is not None:
                why += " (sending: %r)" % (send_error,)
            stats.lost(len(expects) - i, "%s: %s after %d of %d replies (request %s)" % (
                srv.name, why, i, len(expects), short(msg)))
            return False
        if not exp.matches(got[pos:pos + n], t0, t1):
            stats.add("replies_wrong")
            stats.error("reply", "%s: to %s got %s, want %s" % (
                srv.name, short(msg), short(got[pos:pos + n]), short(exp.describe())))
            return False
        stats.add("replies_ok")
        pos += n
    stats.latency(srv.name, time.monotonic() - m0)
    return last_eol or True


async def legit_finish(loop, srv, stats, rng, sock, rd: ReplyReader) -> None:
    """Ends the connection one of the ways a client may: `exit`, half-close, or close."""
    r = rng.random()
    if srv.role != "echo" and r < 0.4:
        await loop.sock_sendall(sock, b"exit" + rng.choice([b"", b"\n", b"\r\n", b"\r"]))
        how = "exit"
    elif r < 0.7:
        sock.shutdown(socket.SHUT_WR)
        how = "half-close"
    else:
        # Nothing may be waiting: every request has had its reply.
        await asyncio.sleep(0.05)
        extra = drain(sock, stats)
        if extra is False:
            stats.error("extra", "%s: bytes after the last reply" % srv.name)
        elif extra:
            stats.error("closed", "%s: the server closed a legitimate connection unasked"
                        % srv.name)
        else:
            stats.add("legit_closed_by_client")
        return
    extra = await rd.wait_eof(time.monotonic() + REPLY_TIMEOUT)
    if extra:
        stats.error("extra", "%s: %s after the last reply, then %s" % (
            srv.name, short(extra), how))
    elif not rd.eof:
        stats.error("no-close", "%s: no close within %.0fs after %s" % (srv.name, REPLY_TIMEOUT, how))
    else:  # a reset instead of FIN is counted apart: the lingering close should prevent it
        stats.add(("legit_reset_after_" if rd.reset else "legit_closed_") + how.replace("-", "_"))


def udp_datagram(rng: random.Random, role: str, proto: Protocol) -> bytes:
    if role == "echo":
        return rng.randbytes(rng.choice([0, 1, 10, 100, 1000, 8000]))
    msg = random_message(rng, role, proto, big_ok=False)
    if role != "command" and rng.random() < 0.1:
        msg = msg + rng.choice([b"\n", b"\r", b"\r\n"]) + b"inside"  # endings inside: part of it
    return msg + rng.choice([b"", b"\n", b"\r\n", b"\r"])


async def legit_udp(loop, srv: Server, proto: Protocol, stats: Stats, rng: random.Random,
                    stop: asyncio.Event) -> None:
    addr = (LEGIT_ADDR, srv.port)
    sock = None
    while not stop.is_set() and srv.alive():
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
            sock.bind((LEGIT_ADDR, 0))
            sock.connect(addr)  # only the server's datagrams are received
        dgram = udp_datagram(rng, srv.role, proto)
        exp = proto.datagram_reply(srv.role, dgram)
        t0, m0 = time.time(), time.monotonic()
        try:
            await loop.sock_sendall(sock, dgram)
            got = await asyncio.wait_for(loop.sock_recv(sock, 70000), UDP_REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            if srv.alive():
                stats.add("legit_requests")
                stats.lost(1, "%s: no datagram within %.0fs for %s" % (
                    srv.name, UDP_REPLY_TIMEOUT, short(dgram)))
            sock.close()
            sock = None  # a late reply must not be taken for the next one
            continue
        except OSError as e:
            if srv.alive():
                stats.add("legit_requests")
                stats.error("udp", "%s: %r for %s" % (srv.name, e, short(dgram)))
            sock.close()
            sock = None
            await sleep_or_stop(stop, 0.5)
            continue
        stats.add("legit_requests")
        if exp.matches(got, t0, time.time()):
            stats.add("replies_ok")
            stats.latency(srv.name, time.monotonic() - m0)
        else:
            stats.add("replies_wrong")
            stats.error("reply", "%s: to datagram %s got %s, want %s" % (
                srv.name, short(dgram), short(got), short(exp.describe())))
        await asyncio.sleep(rng.uniform(0.005, 0.03))
    if sock is not None:
        sock.close()


# ---------------------------------------------------------------------------------------
# Attackers (never from 127.0.0.1)

def attacker(rng: random.Random) -> str:
    return rng.choice(ATTACK_ADDRS)


def pipelined(rng: random.Random, role: str, n: int) -> bytes:
    if role == "command":
        unit = rng.choice([b"ls\n", b"ls sub\n", b"date\n", b"help\n"])
    elif role == "echo":
        return rng.randbytes(n)
    else:
        unit = rng.choice([b"Michael\n", b"x\n", b"\n", b"a longer line of text to answer\r\n"])
    return (unit * (n // len(unit) + 1))[:n]


async def churner(loop, tcp: List[Server], stats: Stats, rng: random.Random, stop) -> None:
    """Connects and disconnects: at once, with a reset, after the greeting, or a little later."""
    while not stop.is_set():
        srv = rng.choice(tcp)
        try:
            s = await connect(loop, attacker(rng), srv.port)
        except (OSError, asyncio.TimeoutError):
            stats.add("attack_connect_failed")
            await sleep_or_stop(stop, 0.2)
            continue
        stats.add("churn_connections")
        r = rng.random()
        try:
            if 0.5 <= r:
                await asyncio.sleep(rng.uniform(0.0, 0.5 if r < 0.8 else 3.0))
                drain(s, stats)
        finally:
            (reset_close if 0.3 <= r < 0.5 or rng.random() < 0.15 else socket.socket.close)(s)
        await asyncio.sleep(rng.uniform(0.01, 0.06))


def garbage_payload(rng: random.Random, role: str) -> Tuple[str, bytes]:
    r = rng.random()
    if r < 0.25:
        return "random", rng.randbytes(rng.randint(1, 16384))
    if r < 0.35:
        return "overlong", b"A" * rng.randint(MAX_LINE + 1, MAX_LINE + 8000)
    if r < 0.45:
        return "overlong-after-lines", b"ok\n" * 10 + text_bytes(rng, MAX_LINE + 10)
    if r < 0.55:
        return "nuls", b"".join(b"\x00" * rng.randint(0, 50) + rng.choice([b"\n", b"\r", b"\r\n", b""])
                                 for _ in range(rng.randint(1, 200)))
    if r < 0.70:
        return "crlf-mix", bytes(rng.choice(b"\r\n\r\nab\x00 ") for _ in range(rng.randint(1, 4000)))
    if r < 0.80:
        return "escapes", b"\x1b[2J\x1b]0;pwned\x07\xc2\x9b31m\xe2\x80\xae" * rng.randint(1, 50) + b"\n"
    if r < 0.90 and role == "command":
        # The marker's name is never sent, so any reply that holds it has listed it.
        paths = [b"../" * rng.randint(1, 30), b"/proc/self/cwd", b"/proc/self/root/etc",
                 b"link-out/", b"link-out/.", b"sub/../../outside", b"a" * 5000,
                 b"sub\x00/../..", b"//etc", b"\xff\xfe", b"link-in/../../outside",
                 ("x/" * 2100).encode()]
        return "paths", b"".join(b"ls " + rng.choice(paths) + b"\n" for _ in range(rng.randint(1, 50)))
    if r < 0.95:
        return "pipelined-reset", pipelined(rng, role, rng.randint(1000, 60000))
    return "half-close", text_bytes(rng, rng.randint(0, 500))


async def garbage_tcp(loop, tcp: List[Server], stats: Stats, rng: random.Random, stop) -> None:
    """Sends one kind of garbage, reads what comes back for a while, and goes."""
    while not stop.is_set():
        srv = rng.choice(tcp)
        kind, data = garbage_payload(rng, srv.role)
        try:
            s = await connect(loop, attacker(rng), srv.port)
        except (OSError, asyncio.TimeoutError):
            stats.add("attack_connect_failed")
            await sleep_or_stop(stop, 0.2)
            continue
        stats.add("garbage_connections")
        stats.add("garbage:" + kind)
        try:
            await asyncio.wait_for(loop.sock_sendall(s, data), 3.0)
            stats.add("garbage_bytes", len(data))
            if kind == "pipelined-reset":
                reset_close(s)
                s = None
            else:
                if kind == "half-close":
                    s.shutdown(socket.SHUT_WR)
                end = time.monotonic() + rng.uniform(0.2, 2.0)
                while time.monotonic() < end:
                    if drain(s, stats):
                        stats.add("garbage_closed_by_server")
                        break
                    await asyncio.sleep(0.05)
        except (OSError, asyncio.TimeoutError):
            stats.add("garbage_send_failed")  # the server closed on us: expected for some
        finally:
            if s is not None:
                (reset_close if rng.random() < 0.3 else socket.socket.close)(s)
        await asyncio.sleep(rng.uniform(0.02, 0.15))


async def never_reader(loop, srv: Server, stats: Stats, rng: random.Random, stop) -> None:
    """Pipelines requests without ever reading, up to NEVER_READER_CAP, holds, resets."""
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.0, 2.0))
        try:
            s = await connect(loop, attacker(rng), srv.port, rcvbuf=65536)
        except (OSError, asyncio.TimeoutError):
            stats.add("attack_connect_failed")
            await sleep_or_stop(stop, 1.0)
            continue
        stats.add("never_reader_connections")
        sent = 0
        cap = NEVER_READER_CAP.get(srv.role, NEVER_READER_CAP["default"])
        hold_until = time.monotonic() + rng.uniform(15.0, 40.0)
        closed = False
        try:
            while not stop.is_set() and time.monotonic() < hold_until:
                while sent < cap:
                    try:
                        n = s.send(pipelined(rng, srv.role, min(16384, cap - sent)))
                    except BlockingIOError:
                        break  # the server has stopped reading us: backpressure
                    except OSError:
                        closed = True
                        break
                    sent += n
                    stats.add("never_reader_bytes", n)
                if closed or peer_closed(s):
                    stats.add("never_reader_closed_by_server")
                    break
                await sleep_or_stop(stop, 1.0)
            if sent < cap and not closed:
                stats.add("never_reader_blocked")  # could not even send the cap
        finally:
            reset_close(s)


async def dripper(loop, srv: Server, stats: Stats, rng: random.Random, stop) -> None:
    """Slowloris: a byte every few seconds, forever, reconnecting when dropped."""
    text = b"GET /" + b"a" * 1000
    while not stop.is_set():
        try:
            s = await connect(loop, attacker(rng), srv.port)
        except (OSError, asyncio.TimeoutError):
            stats.add("attack_connect_failed")
            await sleep_or_stop(stop, 1.0)
            continue
        stats.add("dripper_connections")
        i = 0
        try:
            while not stop.is_set():
                if await sleep_or_stop(stop, rng.uniform(2.0, 5.0)):
                    break
                if drain(s, stats) or peer_closed(s):
                    stats.add("dripper_closed_by_server")
                    break
                try:
                    s.send(text[i % len(text):i % len(text) + 1])
                    stats.add("dripper_bytes")
                except OSError:
                    stats.add("dripper_closed_by_server")
                    break
                i += 1
        finally:
            s.close()


async def idler(loop, srv: Server, stats: Stats, rng: random.Random, stop) -> None:
    """Connects and says nothing for 20-90 s (reads the greeting, if any, so it is no
    never-reader)."""
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.0, 3.0))
        try:
            s = await connect(loop, attacker(rng), srv.port)
        except (OSError, asyncio.TimeoutError):
            stats.add("attack_connect_failed")
            await sleep_or_stop(stop, 1.0)
            continue
        stats.add("idle_connections")
        until = time.monotonic() + rng.uniform(20.0, 90.0)
        try:
            while not stop.is_set() and time.monotonic() < until:
                if drain(s, stats):
                    stats.add("idle_closed_by_server")
                    break
                await sleep_or_stop(stop, 1.0)
        finally:
            s.close()


async def garbage_udp(loop, udp: List[Server], stats: Stats, rng: random.Random, stop) -> None:
    socks = {}
    try:
        while not stop.is_set():
            src = attacker(rng)
            if src not in socks:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setblocking(False)
                s.bind((src, 0))
                socks[src] = s
            s = socks[src]
            srv = rng.choice(udp)
            r = rng.random()
            if r < 0.01:
                d = b"B" * 65507  # the largest IPv4 datagram
            elif r < 0.2 and srv.role == "command":
                d = b"ls" + rng.choice([b"", b" ..", b" /", b" " + b"../" * 20, b"\n"])
            else:
                d = rng.randbytes(rng.choice([0, 1, 50, 500, 1400]))
            try:
                s.sendto(d, (LEGIT_ADDR, srv.port))
                stats.add("udp_garbage_datagrams")
            except OSError:
                stats.add("udp_garbage_send_failed")
            for sock in socks.values():  # read and drop the replies
                try:
                    while True:
                        sock.recv(70000)
                except OSError:
                    pass
            await asyncio.sleep(rng.uniform(0.01, 0.04))
    finally:
        for s in socks.values():
            s.close()


async def udp_never_reader(loop, udp: List[Server], stats: Stats, rng: random.Random, stop) -> None:
    """Requests big replies (command `ls`) and never reads them."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.bind((attacker(rng), 0))
    try:
        while not stop.is_set():
            srv = rng.choice(udp)
            try:
                s.sendto(b"ls" if srv.role == "command" else b"x" * 1000, (LEGIT_ADDR, srv.port))
                stats.add("udp_never_reader_datagrams")
            except OSError:
                pass
            await asyncio.sleep(rng.uniform(0.02, 0.1))
    finally:
        s.close()


# ---------------------------------------------------------------------------------------
# The run

async def sampler(servers: List[Server], times: List[float], stats: Stats, stop, duration) -> None:
    start = time.monotonic()
    k = 0
    while True:
        now = time.monotonic() - start
        times.append(round(now, 2))
        for srv in servers:
            srv.rss.append(srv.vmrss_kib() if srv.alive() else None)
            if srv.died_at is None and not srv.alive():
                srv.died_at = now
                stats.add("servers_died")
                log("SERVER DIED: %s exit %s at %.1fs" % (srv.name, srv.proc.poll(), now))
        try:  # the driver's open sockets (and a few files): how many connections at once
            fds = len(os.listdir("/proc/self/fd"))
            stats.c["driver_fds_max"] = max(stats.get("driver_fds_max"), fds)
        except OSError:
            pass
        if k % 10 == 0:
            tot = sum(x for x in (s.rss[-1] for s in servers) if x)
            log("%5.0fs  rss %d KiB  ok %d  lost %d  errors %d  conns: never-readers %d, "
                "drippers %d, garbage %d, churn %d" % (
                    now, tot, stats.get("replies_ok"), stats.get("replies_lost"),
                    stats.get("errors"), stats.get("never_reader_connections"),
                    stats.get("dripper_connections"), stats.get("garbage_connections"),
                    stats.get("churn_connections")))
        if now >= duration or stop.is_set():
            return
        k += 1
        await sleep_or_stop(stop, max(0.0, start + k - time.monotonic()))


async def run_load(servers: List[Server], proto: Protocol, stats: Stats, duration: float,
                   seed: int, times: List[float]) -> bool:
    """Runs the load; returns True when it was interrupted."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    interrupted = []

    def on_signal(signame):
        if not interrupted:
            log("%s: stopping the load" % signame)
        interrupted.append(signame)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig.name)
    tcp = [s for s in servers if s.transport == "tcp"]
    udp = [s for s in servers if s.transport == "udp"]
    master = random.Random(seed)
    legit, attack = [], []

    def spawn(group, fn, *args):
        group.append(asyncio.ensure_future(fn(loop, *args, stats, random.Random(master.random()),
                                                 stop)))

    for srv in tcp:
        for _ in range(LEGIT_TCP_PER_SERVER):
            spawn(legit, legit_tcp, srv, proto)
        for _ in range(NEVER_READERS_PER_SERVER):
            spawn(attack, never_reader, srv)
        for _ in range(DRIPPERS_PER_SERVER):
            spawn(attack, dripper, srv)
        for _ in range(IDLERS_PER_SERVER):
            spawn(attack, idler, srv)
    for srv in udp:
        for _ in range(LEGIT_UDP_PER_SERVER):
            spawn(legit, legit_udp, srv, proto)
    for _ in range(CHURNERS):
        spawn(attack, churner, tcp)
    for _ in range(GARBAGE_TCP):
        spawn(attack, garbage_tcp, tcp)
    for _ in range(GARBAGE_UDP):
        spawn(attack, garbage_udp, udp)
    for _ in range(UDP_NEVER_READERS):
        spawn(attack, udp_never_reader, udp)

    await sampler(servers, times, stats, stop, duration)
    stop.set()
    # Legitimate clients finish the batch in flight (its replies count); attackers just go.
    for t in attack:
        t.cancel()
    done, pending = await asyncio.wait(legit, timeout=REPLY_TIMEOUT + 5)
    for t in pending:
        t.cancel()
    await asyncio.gather(*attack, *legit, return_exceptions=True)
    for t in done:
        if not t.cancelled() and t.exception() is not None:
            e = t.exception()
            stats.error("driver", "a legitimate client failed: %r" % (e,))
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    return bool(interrupted)


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|min|h)?", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("not a duration: %r (e.g. 60, 90s, 3m)" % text)
    v = float(m.group(1))
    return v * {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60, "h": 3600}[m.group(2)]


def write_plot(out: str, servers: List[Server], times: List[float], warmup: float) -> Optional[str]:
    csv_path = os.path.join(out, "rss.csv")
    with open(csv_path, "w") as f:
        f.write("t_s," + ",".join(s.name for s in servers) + ",total\n")
        for i, t in enumerate(times):
            vals = [s.rss[i] if i < len(s.rss) else None for s in servers]
            total = sum(v for v in vals if v)
            f.write("%s,%s,%d\n" % (t, ",".join("" if v is None else str(v) for v in vals), total))
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        log("gnuplot is not installed: no plot (the data is in %s)" % csv_path)
        return None
    png = os.path.join(out, "rss.png")
    n = len(servers)
    script = """
set terminal pngcairo size 1200,900 noenhanced font ',10'
set output '{png}'
set datafile separator ','
set key outside right top
set rmargin at screen 0.84
set grid
set xlabel 'seconds since the load started'
set multiplot layout 2,1 title 'netdemo soak: server RSS (VmRSS, sampled every second)'
set yrange [0:*]
set ylabel 'all {n} servers (MiB)'
set arrow 1 from {warm},graph 0 to {warm},graph 1 nohead dashtype 2
set label 1 'warm-up' at {warm},graph 0.95 right offset -0.5,0
plot '{csv}' using 1:(${tot}/1024) with lines linewidth 2 title 'total'
set ylabel 'each server (MiB)'
plot {each}
unset multiplot
""".format(png=png, csv=csv_path, n=n, tot=n + 2, warm=warmup, each=", ".join(
        # TCP solid, UDP dashed, one colour per role.
        "'{csv}' using 1:(${col}/1024) with lines linetype {lt} dashtype {dt} linewidth 1.5 "
        "title '{name}'".format(csv=csv_path, col=i + 2, name=srv.name, dt=1 if srv.transport == "tcp" else 2,
                                lt=1 + ["hello", "upper", "echo", "timestamp", "command"].index(srv.role)
                                if srv.role in ("hello", "upper", "echo", "timestamp", "command") else 6)
        for i, srv in enumerate(servers)))
    try:
        # A terminal without cairo falls back to the plain png one.
        r = subprocess.run([gnuplot], input=script.encode(), capture_output=True, timeout=60)
        if r.returncode != 0 and b"pngcairo" in r.stderr:
            r = subprocess.run([gnuplot], input=script.replace("pngcairo", "png").encode(),
                               capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        log("gnuplot failed: %r" % (e,))
        return None
    if r.returncode != 0 or not os.path.exists(png):
        log("gnuplot failed: %s" % r.stderr.decode("utf-8", "replace").strip())
        return None
    return png


def percentile(xs: List[float], p: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser(description="Soak netdemo's servers (see docs/reliability.md).")
    ap.add_argument("--duration", type=parse_duration, default=60.0,
                    help="how long the load runs: 60, 90s, 3m (default 60 s)")
    ap.add_argument("--out", default="build/soak", help="directory for rss.csv, rss.png, logs")
    ap.add_argument("--netdemo", default=os.environ.get("NETDEMO", "build/netdemo"),
                    help="the netdemo binary (default $NETDEMO or build/netdemo)")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: the time)")
    args = ap.parse_args()
    nd = os.path.abspath(args.netdemo)
    if not (os.path.isfile(nd) and os.access(nd, os.X_OK)):
        log("no netdemo binary at %s (build it: cmake --build build --target netdemo_app)" % nd)
        return 2
    if args.duration <= 0:
        ap.error("--duration must be above 0")
    seed = args.seed if args.seed is not None else int(time.time())
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    # One clock for the servers and the checks: stamps are compared as text.
    os.environ["TZ"] = "UTC"
    time.tzset()
    env = dict(os.environ)
    base = tempfile.mkdtemp(prefix="netdemo-soak-")
    servers: List[Server] = []
    stats = Stats()
    times: List[float] = []
    interrupted = False
    try:
        root, _ = make_root(base)
        proto = Protocol(root)
        servers = server_specs(nd, root, out)
        for s in servers:
            s.start(env)
        for s in servers:
            s.wait_listening()
        log("servers: " + ", ".join("%s :%d pid %d" % (s.name, s.port, s.proc.pid) for s in servers))
        log("load for %.0f s, seed %d; output in %s" % (args.duration, seed, out))
        T0[0] = time.monotonic()
        interrupted = asyncio.run(run_load(servers, proto, stats, args.duration, seed, times))
    except KeyboardInterrupt:  # before the load's own handlers were in place
        interrupted = True
    except (RuntimeError, OSError) as e:
        log(str(e))
        for s in servers:
            s.stop(2.0)
        shutil.rmtree(base, ignore_errors=True)
        print(json.dumps({"ok": False, "error": "the servers could not be started: %s"
                          % str(e).splitlines()[0]}), flush=True)
        return 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stop must not be cut short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for s in servers:
            s.stop()
        shutil.rmtree(base, ignore_errors=True)

    warmup = min(60.0, args.duration / 4)
    per = {}
    for s in servers:
        vals = [v for v in s.rss if v is not None]
        warm = [v for t, v in zip(times, s.rss) if v is not None and t >= warmup]
        per[s.name] = {
            "port": s.port,
            "rss_kib_start": vals[0] if vals else None,
            "rss_kib_after_warmup": warm[0] if warm else None,
            "rss_kib_end": vals[-1] if vals else None,
            "rss_kib_max": max(vals) if vals else None,
            "legit_latency_ms_p99": round(percentile(stats.latency_by.get(s.name, []), 0.99) * 1000, 1),
            "legit_latency_ms_max": round(max(stats.latency_by.get(s.name, [0])) * 1000, 1),
            "died": s.died_at is not None,
            "exit_code": s.exit_code,
            "stopped_cleanly": s.stop_ok,
            **s.log_counts(),
        }
    totals = [sum(s.rss[i] or 0 for s in servers) for i in range(len(times))]
    warm_i = next((i for i, t in enumerate(times) if t >= warmup), len(times) - 1)
    plot = write_plot(out, servers, times, warmup) if times else None
    not_stopped = [s.name for s in servers if not s.stop_ok and s.died_at is None]
    lat = stats.latencies
    result = {
        "ok": False,
        "duration_s": round(times[-1], 1) if times else 0,
        "seed": seed,
        "interrupted": interrupted,
        "replies_ok": stats.get("replies_ok"),
        "replies_lost": stats.get("replies_lost"),
        "replies_wrong": stats.get("replies_wrong"),
        "errors": stats.get("errors"),
        "servers_died": stats.get("servers_died"),
        "servers_not_stopped_cleanly": not_stopped,
        "rss_is": "sum of the %d servers' VmRSS in KiB; per server under 'servers'" % len(servers),
        "rss_kib_start": totals[0] if totals else None,
        "rss_kib_after_warmup": totals[warm_i] if totals else None,
        "rss_kib_end": totals[-1] if totals else None,
        "rss_kib_max": max(totals) if totals else None,
        "warmup_s": warmup,
        "driver_cpu_s": round(sum(os.times()[:2]), 1),
        "legit_latency_ms": {"p50": round(percentile(lat, 0.5) * 1000, 1),
                             "p99": round(percentile(lat, 0.99) * 1000, 1),
                             "max": round(max(lat) * 1000, 1) if lat else 0.0},
        "load": {k: v for k, v in sorted(stats.c.items())
                 if k not in ("replies_ok", "replies_lost", "replies_wrong", "errors",
                              "servers_died")},
        "error_samples": stats.samples,
        "servers": per,
        "plot": plot,
        "csv": os.path.join(out, "rss.csv"),
        "logs": out,
    }
    failed = (result["replies_lost"] or result["errors"] or result["servers_died"]
              or not_stopped)
    result["ok"] = not failed and not interrupted
    print(json.dumps(result, separators=(",", ":")), flush=True)
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
