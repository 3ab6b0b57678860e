#!/usr/bin/env bash
# Scale-out demo (docs/scale-out.md): N netdemo tcp-servers behind HAProxy in TCP mode with
# health checks, `netdemo bench` through HAProxy, one server killed (SIGKILL) mid-run and routed
# around, then restarted and taken back into service. Loopback only; about 20 s (--quick: 10 s).
#
#   scripts/scale-out-demo.sh [--quick] [--servers N] [--connections C] [--duration S]
#                             [--kill-at S] [--no-restart] [--keep]
#
#   --servers N      netdemo servers behind HAProxy (default 3, at least 2)
#   --connections C  bench connections (default 20)
#   --duration S     seconds the bench measures, after a 1 s warm-up (default 10; --quick: 4)
#   --kill-at S      seconds after the bench starts to SIGKILL the second server (default 3;
#                    --quick: 2). It is restarted 3 s later (--quick: 1.5 s), unless --no-restart.
#   --keep           keep the temporary directory (config, logs, stats) even when all went well
#
# Environment: NETDEMO (the netdemo executable; default $BUILD_DIR/netdemo, built with
# scripts/build.sh when missing), BUILD_DIR (default build/ in the repository).
# Installs haproxy with apt-get when it is missing. Starts only its own processes, and stops
# every one of them when it exits, whatever the reason.
# Exit codes: 0 the demo behaved; 1 it did not (the report says why); 2 usage; 3 setup failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
helper="$root/scripts/scale-out/haproxy_stats.py"

servers=3 conns=20 duration="" kill_at="" restart=true keep=false quick=false
role=hello size=64 warmup=1
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=true ;;
    --servers|-n) servers="${2:?}"; shift ;;
    --connections|-c) conns="${2:?}"; shift ;;
    --duration|-d) duration="${2:?}"; shift ;;
    --kill-at) kill_at="${2:?}"; shift ;;
    --no-restart) restart=false ;;
    --keep) keep=true ;;
    -h|--help) usage; exit 0 ;;
    *) echo "scale-out-demo: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if $quick; then duration="${duration:-4}" kill_at="${kill_at:-2}" restart_after=1.5 bench2_d=1
else duration="${duration:-10}" kill_at="${kill_at:-3}" restart_after=3 bench2_d=2; fi
if ! [[ "$servers" =~ ^[0-9]+$ ]] || [ "$servers" -lt 2 ] || [ "$servers" -gt 20 ]; then
  echo "scale-out-demo: --servers must be 2 to 20" >&2; exit 2
fi
if ! [[ "$conns" =~ ^[0-9]+$ ]] || [ "$conns" -lt 1 ]; then
  echo "scale-out-demo: --connections must be a positive number" >&2; exit 2
fi
awk -v d="$duration" -v k="$kill_at" -v w="$warmup" \
  'BEGIN { exit !(d+0 >= 2 && k+0 > 0 && k+0 <= w+d-1.5) }' \
  || { echo "scale-out-demo: need --duration >= 2 and 0 < --kill-at <= duration - 0.5" >&2; exit 2; }

say() { printf '%s\n' "$*"; }
die() { printf 'scale-out-demo: %s\n' "$*" >&2; exit 3; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- What it needs ---------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is needed (scripts/setup.sh installs it)"
if ! command -v haproxy >/dev/null; then
  say "Installing haproxy (Debian package)..."
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y -qq haproxy >/dev/null 2>&1 \
    || { as_root apt-get update -qq && as_root apt-get install -y -qq haproxy >/dev/null; } \
    || die "cannot install haproxy"
fi
nd="${NETDEMO:-${BUILD_DIR:-$root/build}/netdemo}"
if [ ! -x "$nd" ]; then
  [ -n "${NETDEMO:-}" ] && die "NETDEMO=$NETDEMO is not an executable"
  say "Building netdemo (Release) into ${BUILD_DIR:-$root/build}..."
  "$root/scripts/setup.sh"
  "$root/scripts/build.sh" -DNETDEMO_BUILD_TESTS=OFF >/dev/null || die "the build failed"
fi

# --- Everything this script starts is in pids[]; the EXIT trap stops exactly those -------------
tmp="$(mktemp -d "${TMPDIR:-/tmp}/netdemo-scale-out.XXXXXX")"
declare -A pids=()   # name -> pid, for processes not yet reaped (so the pid cannot be reused)
result=3
# shellcheck disable=SC2317  # called by the traps
cleanup() {
  local name pid
  for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null || true; done
  for name in "${!pids[@]}"; do
    pid="${pids[$name]}"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$result" -eq 0 ] && ! $keep; then rm -rf "$tmp"
  else say "(files kept in $tmp)"; fi
}
trap cleanup EXIT
# shellcheck disable=SC2317
on_signal() { exit "$1"; }
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

stats() { python3 "$helper" "$@"; }
snap() { stats snap "$tmp/admin.sock" "$tmp/snap-$1.json"; }
event() { echo "${2:-$EPOCHREALTIME} $1" >>"$tmp/events.txt"; }
rel() { awk -v a="$1" -v b="$t0" 'BEGIN { printf "%5.2f", a - b }'; }
sleep_until() { sleep "$(awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { d = a - b; printf "%.3f", d < 0 ? 0 : d }')"; }

# start_server NAME PORT LOG: a hello server on 127.0.0.1:PORT (0: a free port); sets port_of.
declare -A port_of=()
start_server() {
  local name=$1 port=$2 log=$3
  : >"$log"
  "$nd" tcp-server --host 127.0.0.1 --port "$port" --role "$role" >"$log" 2>&1 &
  pids[$name]=$!
  for _ in $(seq 100); do
    if grep -q '^.* Listening on tcp ' "$log"; then
      port_of[$name]=$(sed -n 's/.* Listening on tcp 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log" | head -1)
      return 0
    fi
    kill -0 "${pids[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  cat "$log" >&2
  die "server $name did not start"
}

# --- N netdemo servers ---------------------------------------------------------------------
names=()
for i in $(seq "$servers"); do
  names+=("s$i")
  start_server "s$i" 0 "$tmp/s$i.log"
done
victim=s2

# --- HAProxy in front of them --------------------------------------------------------------
fport=$(stats free-port)
{
  cat <<EOF
# Written by scripts/scale-out-demo.sh; docs/scale-out.md explains each line.
global
    stats socket $tmp/admin.sock mode 600 level admin
    maxconn 4096

defaults
    mode tcp
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout check 1s
    retries 2
    option redispatch 1

frontend netdemo_in
    bind 127.0.0.1:$fport
    default_backend netdemo_servers

backend netdemo_servers
    balance leastconn
    option tcp-check
    tcp-check connect
    tcp-check expect string Welcome!
    default-server check inter 1s fastinter 250ms downinter 1s fall 2 rise 2
EOF
  for n in "${names[@]}"; do printf '    server %s 127.0.0.1:%s\n' "$n" "${port_of[$n]}"; done
} >"$tmp/haproxy.cfg"
haproxy -c -q -f "$tmp/haproxy.cfg" || die "haproxy rejected $tmp/haproxy.cfg"
haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
pids[haproxy]=$!
stats wait "$tmp/admin.sock" ALL UP 10 >/dev/null || { cat "$tmp/haproxy.log" >&2; die "the servers did not all come UP"; }

say "netdemo scale-out demo: $servers netdemo tcp-servers (role $role) behind $(haproxy -v | head -1 | cut -d' ' -f1-3)"
for n in "${names[@]}"; do say "  $n  127.0.0.1:${port_of[$n]}  pid ${pids[$n]}"; done
say "  haproxy 127.0.0.1:$fport  pid ${pids[haproxy]}  (mode tcp, balance leastconn, tcp-check expects 'Welcome!')"
say "  all $servers servers UP; config, logs and stats in $tmp"

{
  echo "servers=${names[*]}"; echo "victim=$victim"; echo "size=$size"; echo "connections=$conns"
  echo "warmup=$warmup"; echo "restart=$($restart && echo yes || echo no)"
} >"$tmp/meta.txt"

# --- The bench, with a kill in the middle ------------------------------------------------------
python3 "$helper" monitor "$tmp/admin.sock" "$tmp/monitor.jsonl" 0.25 &
pids[monitor]=$!
sleep 0.3
# No -q: the bench's stderr is a pseudo-terminal, so it writes its progress line once a second,
# and the helper keeps each line with the time it came (bench1.progress).
bench_cmd=("$nd" bench tcp --host 127.0.0.1 -p "$fport" -c "$conns" -m "$size" -d "${duration}s"
           -w "${warmup}s" --role "$role" --json)
say ""
say "\$ netdemo bench tcp --host 127.0.0.1 -p $fport -c $conns -m $size -d ${duration}s --role $role --json"
snap bench1_start
t0=$EPOCHREALTIME
event bench1_start "$t0"
python3 "$helper" run-pty "$tmp/bench1.json" "$tmp/bench1.progress" -- "${bench_cmd[@]}" &
pids[bench]=$!

t_kill=$(awk -v a="$t0" -v k="$kill_at" 'BEGIN { printf "%.6f", a + k }')
sleep_until "$t_kill"
victim_pid=${pids[$victim]}
kill -KILL "$victim_pid"
tk=$EPOCHREALTIME
event kill "$tk"
{ wait "$victim_pid"; } 2>/dev/null || true
unset "pids[$victim]"
echo "victim_pid=$victim_pid" >>"$tmp/meta.txt"
say "  t=$(rel "$tk") s  kill -KILL $victim_pid ($victim)"

t_restart=$(awk -v a="$tk" -v r="$restart_after" 'BEGIN { printf "%.6f", a + r }')
wait_s=$(awk -v a="$t_restart" -v b="$EPOCHREALTIME" 'BEGIN { d = a - b - 0.1; printf "%.2f", d < 0.5 ? 0.5 : d }')
$restart || wait_s=5
if td=$(stats wait "$tmp/admin.sock" "$victim" DOWN "$wait_s"); then
  event down "$td"
  snap down
  say "  t=$(rel "$td") s  haproxy: $victim is DOWN: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[sys.argv[2]]; print(r["check_status"], "-", r["check_desc"])' "$tmp/snap-down.json" "$victim")"
else
  say "  haproxy did not mark $victim DOWN within ${wait_s} s"
fi

if $restart; then
  sleep_until "$t_restart"
  tr=$EPOCHREALTIME
  start_server "$victim" "${port_of[$victim]}" "$tmp/$victim.restarted.log"
  event restart "$tr"
  say "  t=$(rel "$tr") s  $victim restarted on 127.0.0.1:${port_of[$victim]} (pid ${pids[$victim]})"
  if tu=$(stats wait "$tmp/admin.sock" "$victim" UP 5); then
    event up "$tu"
    say "  t=$(rel "$tu") s  haproxy: $victim is UP again"
  else
    say "  haproxy did not mark $victim UP within 5 s"
  fi
fi

bench_rc=0
wait "${pids[bench]}" || bench_rc=$?
unset "pids[bench]"
te=$EPOCHREALTIME
event bench1_end "$te"
snap bench1_end
echo "bench1_rc=$bench_rc" >>"$tmp/meta.txt"
say "  t=$(rel "$te") s  bench done, exit code $bench_rc"
say "$(cat "$tmp/bench1.json")"

# --- New connections reach the restarted server --------------------------------------------------
if $restart && grep -q ' up$' "$tmp/events.txt"; then
  say ""
  say "\$ netdemo bench tcp --host 127.0.0.1 -p $fport -c $conns -m $size -d ${bench2_d}s -w 0.5s --role $role --json"
  snap bench2_start
  b2_rc=0
  "$nd" bench tcp --host 127.0.0.1 -p "$fport" -c "$conns" -m "$size" -d "${bench2_d}s" -w 0.5s \
    --role "$role" --json -q >"$tmp/bench2.json" 2>"$tmp/bench2.err" || b2_rc=$?
  snap bench2_end
  echo "bench2_rc=$b2_rc" >>"$tmp/meta.txt"
  say "$(cat "$tmp/bench2.json")"
fi

kill -TERM "${pids[monitor]}" 2>/dev/null || true
wait "${pids[monitor]}" 2>/dev/null || true
unset "pids[monitor]"

say ""
say "HAProxy's 'show stat' (admin socket) right after the bench, the columns that matter:"
python3 - "$tmp/snap-bench1_end.json" "${names[@]}" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
print("  %-9s %-6s %5s %6s %12s %12s %7s %8s  %s" % ("svname", "status", "scur", "stot", "bin", "bout", "chkdown", "wredis", "check_desc"))
for n in ["FRONTEND"] + sys.argv[2:]:
    r = rows.get(n, {})
    print(("  %-9s %-6s %5s %6s %12s %12s %7s %8s  %s" % (n, r.get("status"), r.get("scur"), r.get("stot"), r.get("bin"),
          r.get("bout"), r.get("chkdown", ""), r.get("wredis", ""), r.get("check_desc", ""))).rstrip())
EOF
say ""
say "HAProxy's own log (its stderr; health-check state changes):"
sed 's/^/  /' "$tmp/haproxy.log"
say ""
result=0
stats report "$tmp" || result=1
exit "$result"
