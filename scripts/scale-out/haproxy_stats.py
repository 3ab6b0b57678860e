#!/usr/bin/env python3
"""Helpers for scripts/scale-out-demo.sh: HAProxy's admin socket, and the demo's report.

Standard library only. Subcommands:
  free-port                      print a free TCP port on 127.0.0.1
  snap SOCK FILE                 save `show stat` (our frontend, backend and servers) as JSON
  wait SOCK SERVER STATE SECS    wait until SERVER (or ALL) reports STATE (UP/DOWN); print the
                                 epoch time it did; exit 1 on timeout
  monitor SOCK FILE SECS         append one `show stat` sample (JSON line) every SECS until killed
  run-pty OUT LOG -- CMD...     run CMD with stdout to OUT and stderr on a pseudo-terminal, so that
                                netdemo bench shows its progress line; each line goes to LOG with
                                the epoch time it came; exit with CMD's exit code
  report DIR                     read what the demo left in DIR, print the summary, exit 0 when
                                 the demo behaved and 1 when it did not
"""
import csv
import io
import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import time

FRONTEND = "netdemo_in"
BACKEND = "netdemo_servers"
# Ports other netdemo tools default to; never hand them out.
RESERVED_PORTS = {9999, 21560, 21567}
FIELDS = ("status", "scur", "stot", "bin", "bout", "wretr", "wredis", "econ", "chkdown",
          "downtime", "check_status", "check_desc", "last_chk", "lbtot")


def free_port():
    while True:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in RESERVED_PORTS and port > 1024:
            return port


def admin(sock_path, command):
    """Send one command to HAProxy's admin socket and return its whole answer."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2.0)
    s.connect(sock_path)
    s.sendall(command.encode() + b"\n")
    chunks = []
    while True:
        b = s.recv(65536)
        if not b:
            break
        chunks.append(b)
    s.close()
    return b"".join(chunks).decode()


def show_stat(sock_path):
    """`show stat` as {svname: {field: value}} for our frontend, backend and its servers."""
    text = admin(sock_path, "show stat")
    text = text.lstrip("# ")
    rows = {}
    for r in csv.DictReader(io.StringIO(text)):
        if r.get("pxname") not in (FRONTEND, BACKEND):
            continue
        out = {}
        for k in FIELDS:
            v = r.get(k, "")
            out[k] = int(v) if v.isdigit() else v
        rows[r["svname"]] = out
    return rows


def cmd_wait(sock_path, server, state, secs):
    deadline = time.time() + secs
    while True:
        try:
            rows = show_stat(sock_path)
            names = [n for n in rows if n not in ("FRONTEND", "BACKEND")] if server == "ALL" else [server]
            if names and all(str(rows.get(n, {}).get("status", "")).startswith(state) for n in names):
                print("%.6f" % time.time())
                return 0
        except OSError:
            pass  # the socket is not there yet
        if time.time() > deadline:
            return 1
        time.sleep(0.05)


def cmd_monitor(sock_path, path, secs):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(path, "a") as f:
        while True:
            t = time.time()
            try:
                f.write(json.dumps({"t": t, "rows": show_stat(sock_path)}) + "\n")
                f.flush()
            except OSError:
                pass
            time.sleep(max(0.0, secs - (time.time() - t)))


def cmd_run_pty(out_path, log_path, argv):
    master, slave = pty.openpty()
    with open(out_path, "wb") as out:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=slave)
    os.close(slave)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
    buf = b""
    with open(log_path, "w") as log:
        def put(seg):
            text = seg.replace(b"\r", b"").strip().decode(errors="replace")
            if text:
                log.write("%.6f\t%s\n" % (time.time(), text))
                log.flush()
        while True:
            try:
                data = os.read(master, 4096)
            except InterruptedError:
                continue
            except OSError:
                break  # EIO: the child closed the terminal
            if not data:
                break
            buf += data
            # Each progress line is "\r<text>\033[K": it is complete at its erase-to-end-of-line.
            while b"\x1b[K" in buf or b"\n" in buf:
                cut = min(i for i in (buf.find(b"\x1b[K"), buf.find(b"\n")) if i >= 0)
                put(buf[:cut])
                buf = buf[cut + (3 if buf[cut:cut + 3] == b"\x1b[K" else 1):]
        put(buf)
    rc = child.wait()
    return rc if rc >= 0 else 128 - rc


# ---------------------------------------------------------------------------------------------
# The report.

ACCEPT_RE = re.compile(r"Accept new connection from (\S+)\.\.\.")
# The bench's JSON error keys, as its text report names them.
ERROR_KINDS = {"mismatch": "wrong reply", "unexpected": "unexpected bytes", "truncated": "cut short",
               "closed": "closed by the server", "reset": "connection failed (reset)",
               "connect_failed": "reconnect failed", "timeouts": "timed out", "refused": "refused",
               "losses": "lost"}
PROGRESS_RE = re.compile(r"^(\S+) (\d+) s: ([\d,]+) msg/s(?:, [\d.]+ MB/s)?, errors ([\d,]+), open (\d+)/(\d+)")
CLOSED_RE = re.compile(r"Connection from (\S+) closed \(([\w:]+), (\d+) bytes in, (\d+) out\)\.")


def read_kv(path):
    d = {}
    with open(path) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                d[k] = v
    return d


def read_events(path):
    ev = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                ev[parts[1]] = float(parts[0])
    return ev


def read_json(path):
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    return json.loads(line)
    except OSError:
        pass
    return None


def parse_server_log(path):
    """Count what one netdemo server logged. HAProxy's health checks are connections that send
    nothing (hello servers greet them with 8 bytes, then HAProxy resets them)."""
    r = {"accepted": 0, "checks": 0, "client_closed": 0, "bytes_in": 0, "bytes_out": 0, "reasons": {}}
    try:
        with open(path) as f:
            for line in f:
                if ACCEPT_RE.search(line):
                    r["accepted"] += 1
                    continue
                m = CLOSED_RE.search(line)
                if not m:
                    continue
                reason, bin_, bout = m.group(2), int(m.group(3)), int(m.group(4))
                if bin_ == 0:
                    r["checks"] += 1
                    continue
                r["client_closed"] += 1
                r["bytes_in"] += bin_
                r["bytes_out"] += bout
                r["reasons"][reason] = r["reasons"].get(reason, 0) + 1
    except OSError:
        pass
    # Accepted connections that never logged a close: open when the server died (or stopped).
    r["client_sessions"] = r["accepted"] - r["checks"]
    r["unclosed"] = r["accepted"] - r["checks"] - r["client_closed"]
    return r


def fmt_int(n):
    return "{:,}".format(int(n))


def mb(n):
    return "%.1f" % (n / 1e6)


def cmd_report(d):
    meta = read_kv(os.path.join(d, "meta.txt"))
    ev = read_events(os.path.join(d, "events.txt"))
    names = meta["servers"].split()
    victim = meta["victim"]
    size = int(meta["size"])
    conns = int(meta["connections"])
    warmup = float(meta["warmup"])
    restart = meta.get("restart") == "yes"
    t0 = ev["bench1_start"]
    t_kill = ev.get("kill")
    t_end = ev.get("bench1_end", t0)
    problems = []

    samples = []
    try:
        with open(os.path.join(d, "monitor.jsonl")) as f:
            for line in f:
                try:
                    samples.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass

    def snap(name):
        try:
            with open(os.path.join(d, "snap-%s.json" % name)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    s_start, s_kill, s_end = snap("bench1_start"), None, snap("bench1_end")
    b1 = read_json(os.path.join(d, "bench1.json"))
    b1_rc = int(meta.get("bench1_rc", "-1"))

    def sample_at(t):
        """The last sample taken at or before t (or the first one)."""
        best = None
        for s in samples:
            if s["t"] <= t + 1e-3:
                best = s
            else:
                break
        return best or (samples[0] if samples else None)

    # -- Timeline ----------------------------------------------------------------------------
    if t_kill is not None and samples:
        s_kill = sample_at(t_kill - 0.01)["rows"]  # the last sample before the kill
    progress = []  # (epoch, phase, msgs_per_s, errors, open, line)
    try:
        with open(os.path.join(d, "bench1.progress")) as f:
            for line in f:
                ts, _, text = line.rstrip("\n").partition("\t")
                m = PROGRESS_RE.match(text)
                if m:
                    progress.append((float(ts), m.group(1), int(m.group(3).replace(",", "")),
                                     int(m.group(4).replace(",", "")), int(m.group(5)), text))
    except OSError:
        pass
    print("== Timeline (t = seconds since the bench started; the bench's progress line, once a second,")
    print("   and, per server, its open sessions and state in HAProxy at that moment) ==")
    head = "  %6s  %-67s" % ("t", "netdemo bench progress line (its stderr is a terminal)")
    for n in names:
        head += " %-10s" % n
    print(head.rstrip())
    rows = [(ts, "p", text) for ts, _, _, _, _, text in progress]
    for key, label in (("kill", "kill -KILL %s" % victim), ("down", "HAProxy marks %s DOWN" % victim),
                       ("restart", "%s restarted" % victim), ("up", "HAProxy marks %s UP" % victim),
                       ("bench1_end", "bench done")):
        if key in ev:
            rows.append((ev[key], "e", label))
    for ts, kind, text in sorted(rows):
        if kind == "e":
            print("  %6.2f  %s" % (ts - t0, ">>> " + text))
            continue
        smp = sample_at(ts)
        line = "  %6.2f  %-67s" % (ts - t0, text)
        for n in names:
            r = smp["rows"].get(n, {}) if smp else {}
            line += " %-10s" % ("%s %s" % (r.get("scur", "?"), r.get("status", "?")))
        print(line.rstrip())
    print()

    # -- Spread ------------------------------------------------------------------------------
    print("== Load spread ==")
    print("HAProxy's counters for the bench with the kill (t=0 to the end of the bench):")
    print("  %-7s %-9s %9s %10s %9s %9s %10s %11s" % ("server", "sessions", "before kill",
          "after kill", "MB in", "MB out", "redispatch", "health"))
    for n in names:
        a = (s_start or {}).get(n, {})
        k = (s_kill or {}).get(n, {})
        e = (s_end or {}).get(n, {})
        sess = e.get("stot", 0) - a.get("stot", 0)
        before = k.get("stot", 0) - a.get("stot", 0)
        after = e.get("stot", 0) - k.get("stot", 0)
        print("  %-7s %-9s %9s %10s %9s %9s %10s %11s" % (
            n, fmt_int(sess), fmt_int(before), fmt_int(after),
            mb(e.get("bin", 0) - a.get("bin", 0)), mb(e.get("bout", 0) - a.get("bout", 0)),
            fmt_int(e.get("wredis", 0) - a.get("wredis", 0)), "%s, %s down" % (e.get("status", "?"), e.get("chkdown", 0))))
        if before <= 0:
            problems.append("%s got no session before the kill (no spread)" % n)

    print("The servers' own logs, whole run: `Accept new connection` lines, and the")
    print("`closed` lines; health checks are the connections that sent 0 bytes:")
    print("  %-13s %8s %8s %9s %12s %10s %10s" % ("log", "accepted", "checks", "clients",
          "still open*", "MB in", "MB out"))
    for n in names:
        logs = [(n, os.path.join(d, "%s.log" % n))]
        if n == victim and os.path.exists(os.path.join(d, "%s.restarted.log" % n)):
            logs.append((n + " (again)", os.path.join(d, "%s.restarted.log" % n)))
        for label, path in logs:
            r = parse_server_log(path)
            print("  %-13s %8s %8s %9s %12s %10s %10s" % (label, fmt_int(r["accepted"]), fmt_int(r["checks"]),
                  fmt_int(r["client_sessions"]), fmt_int(r["unclosed"]), mb(r["bytes_in"]), mb(r["bytes_out"])))
    print("  * accepted client sessions that never logged a close: the victim's sessions died with it,")
    print("    so its MB in/out only count sessions that closed before the kill (HAProxy's table has them all).")
    print()

    # -- The kill ----------------------------------------------------------------------------
    print("== The kill ==")
    held = (s_kill or {}).get(victim, {}).get("scur", 0)
    if t_kill is None:
        problems.append("the victim was never killed")
    else:
        print("%s (pid %s) got SIGKILL at t=%.2f s, holding %s of the %d sessions." % (
            victim, meta.get("victim_pid", "?"), t_kill - t0, held, conns))
        down = ev.get("down")
        if down is None:
            problems.append("HAProxy never marked %s DOWN" % victim)
            print("HAProxy did NOT mark it DOWN.")
        else:
            dr = (snap("down") or {}).get(victim, {})
            desc = ("%s: %s" % (dr.get("check_status", ""), dr.get("check_desc", ""))) if dr else ""
            print("HAProxy marked it DOWN at t=%.2f s, %.2f s after the kill%s." % (
                down - t0, down - t_kill, (" (" + desc + ")") if desc else ""))
        e = (s_end or {}).get(victim, {})
        k = (s_kill or {}).get(victim, {})
        redis = sum((s_end or {}).get(n, {}).get("wredis", 0) - (s_kill or {}).get(n, {}).get("wredis", 0) for n in names)
        sent = e.get("stot", 0) - k.get("stot", 0)
        if sent:
            print("Between the kill and DOWN, HAProxy sent %s new connection(s) to %s (leastconn: it had the fewest sessions);" % (
                fmt_int(sent), victim))
            print("each was refused and redispatched to a live server (%s in all: option redispatch), so" % fmt_int(redis))
            print("no client saw them.")
        else:
            print("HAProxy sent no new connection to %s after the kill." % victim)
    if b1 is None:
        problems.append("the bench printed no JSON (exit code %d)" % b1_rc)
    else:
        er = b1["errors"]
        malformed = er["mismatch"] + er["unexpected"] + er["truncated"]
        kinds = ", ".join("%d %s" % (v, ERROR_KINDS.get(k, k)) for k, v in er.items() if k != "total" and v)
        print("The bench (exit code %d) reported %d error(s)%s; malformed replies: %d." % (
            b1_rc, er["total"], (": " + kinds) if kinds else "", malformed))
        if b1.get("first_error"):
            print("  first error: %s" % b1["first_error"])
        print("It made %d connections: %d at the start and %d reconnects; %d of %d open at the end." % (
            b1["connects"], conns, b1["connects"] - conns, b1["open_at_end"], conns))
        if malformed:
            problems.append("the bench reported %d malformed replies" % malformed)
        if b1_rc not in (0, 1):
            problems.append("the bench exited %d (0 or 1 expected)" % b1_rc)
        if b1["open_at_end"] != conns:
            problems.append("only %d of %d connections open at the end" % (b1["open_at_end"], conns))
        if held and er["total"] == 0:
            problems.append("%s held %d sessions but the bench saw no error" % (victim, held))

    if t_kill is not None:
        meas = [p for p in progress if p[1] == "measuring"]
        before = [p for p in meas if p[0] <= t_kill]
        after = [p for p in meas if p[0] >= t_kill + 1.0]  # seconds wholly after the kill
        if before:
            print("Bench progress before the kill: %s msg/s on average." % fmt_int(sum(p[2] for p in before) / len(before)))
        if after:
            low = min(after, key=lambda p: p[2])
            print("After the kill: %d progress lines, %s msg/s on average, the slowest %s msg/s (t=%.1f s)." % (
                len(after), fmt_int(sum(p[2] for p in after) / len(after)), fmt_int(low[2]), low[0] - t0))
            if low[2] <= 0:
                problems.append("traffic stopped after the kill (0 msg/s at t=%.1f s)" % (low[0] - t0))
        else:
            problems.append("no progress line after the kill")
    if b1 is not None:
        print("The bench's own figure: %s messages checked in %.1f s measured, %s msg/s, latency p50 %.0f us, p99 %.0f us, max %.1f ms." % (
            fmt_int(b1["messages"]), b1["duration_s"], fmt_int(b1["msgs_per_s"]), b1["lat_us"]["p50"],
            b1["lat_us"]["p99"], b1["lat_us"]["max"] / 1000))
    print()

    # -- Restart ------------------------------------------------------------------------------
    if restart:
        print("== Back in service ==")
        if "up" in ev:
            print("%s restarted on the same port at t=%.2f s; HAProxy marked it UP at t=%.2f s (%.2f s later)." % (
                victim, ev["restart"] - t0, ev["up"] - t0, ev["up"] - ev["restart"]))
            print("Sessions already open stay where they are (a TCP session cannot move), so %s got only the" % victim)
            print("reconnects that happened after that. A second, short bench opens new connections:")
            b2 = read_json(os.path.join(d, "bench2.json"))
            b2_rc = int(meta.get("bench2_rc", "-1"))
            a, e = snap("bench2_start"), snap("bench2_end")
            if b2 is None or a is None or e is None:
                problems.append("the second bench gave no result (exit code %d)" % b2_rc)
            else:
                per = {n: e.get(n, {}).get("stot", 0) - a.get(n, {}).get("stot", 0) for n in names}
                print("  sessions per server: " + ", ".join("%s %d" % (n, per[n]) for n in names) +
                      "; %s msg/s, %d error(s), exit code %d." % (fmt_int(b2["msgs_per_s"]), b2["errors"]["total"], b2_rc))
                if per[victim] <= 0:
                    problems.append("%s got no session after coming back UP" % victim)
                if b2_rc != 0:
                    problems.append("the second bench exited %d" % b2_rc)
        else:
            problems.append("%s did not come back UP after the restart" % victim)
            print("%s did NOT come back UP." % victim)
        print()

    if problems:
        print("== Result: FAIL ==")
        for p in problems:
            print("  - " + p)
        return 1
    print("== Result: PASS: the load was spread, %s was routed around within %.1f s of its death, the bench"
          % (victim, ev["down"] - t_kill))
    print("   kept going and saw only connection errors, and every connection was open again at the end. ==")
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "free-port":
        print(free_port())
        return 0
    if cmd == "snap":
        with open(args[1], "w") as f:
            json.dump(show_stat(args[0]), f)
        return 0
    if cmd == "show":
        print(json.dumps(show_stat(args[0]), indent=1))
        return 0
    if cmd == "wait":
        return cmd_wait(args[0], args[1], args[2], float(args[3]))
    if cmd == "monitor":
        return cmd_monitor(args[0], args[1], float(args[2]))
    if cmd == "run-pty":
        return cmd_run_pty(args[0], args[1], args[3:] if args[2] == "--" else args[2:])
    if cmd == "report":
        return cmd_report(args[0])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
