#!/usr/bin/env bash
# http-get vs curl and wget, on loopback, in one run (docs/benchmarks.md).
#
# Starts its own nginx on 127.0.0.1 (free high ports, http and https with a self-signed
# certificate made here, sendfile on), makes a 1 GiB file, a 100 MiB file and a small page,
# and measures for netdemo http-get, curl and wget:
#   (a) 1 GiB over http to a file: MB/s (median of RUNS, the clients taking turns) and peak RSS
#   (b) 100 MiB over https to a file (--cacert for all three): MB/s and peak RSS
#   (c) FETCHES separate fetches of the small page (hyperfine -N): time per fetch and peak
#       RSS, next to a bare process spawn (/bin/true)
# Prints markdown tables on stdout; progress notes on stderr.
#
# Usage: scripts/http-bench.sh [path/to/netdemo]   (default: build/netdemo)
# Needs: nginx (nginx-light), curl, wget, hyperfine, GNU time, openssl, python3.
# Environment: RUNS (default 3), FETCHES (default 200), BIG_MIB (1024), TLS_MIB (100),
#              WORK (a directory for nginx and its files; default: a new one under /tmp),
#              OUT_DIR (where the clients write; default /dev/shm, a tmpfs, so that the
#              figures are about the clients and not the disk's write-back).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
netdemo="$(realpath "${1:-$root/build/netdemo}")"
runs="${RUNS:-3}"
fetches="${FETCHES:-200}"
big_mib="${BIG_MIB:-1024}"
tls_mib="${TLS_MIB:-100}"

for tool in nginx curl wget hyperfine openssl python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin" command -v "$tool" >/dev/null || {
    echo "http-bench: $tool is missing (apt-get install nginx-light curl wget hyperfine time)" >&2
    exit 2
  }
done
[ -x "$netdemo" ] || { echo "http-bench: $netdemo is not an executable" >&2; exit 2; }
nginx_bin="$(PATH="$PATH:/usr/sbin" command -v nginx)"

work="${WORK:-$(mktemp -d /tmp/http-bench.XXXXXX)}"
mkdir -p "$work"/{www,out,logs}
chmod 755 "$work" "$work/www"  # nginx workers run as an unprivileged user
out_dir="${OUT_DIR:-/dev/shm}"
[ -d "$out_dir" ] && [ -w "$out_dir" ] || out_dir="$work/out"
out_dir="$(mktemp -d "$out_dir/http-bench-out.XXXXXX")"
nginx_pid=""
cleanup() {
  if [ -n "$nginx_pid" ] && kill -0 "$nginx_pid" 2>/dev/null; then
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$work" "$out_dir"
}
trap cleanup EXIT INT TERM

note() { echo "http-bench: $*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http_port="$(free_port)"
https_port="$(free_port)"
while [ "$https_port" = "$http_port" ]; do https_port="$(free_port)"; done

note "nginx files in $work, client output in $out_dir"
# Sparse files read from the page cache: the figures are about the clients, not the disk.
truncate -s "${big_mib}M" "$work/www/big.bin"
head -c "$((tls_mib * 1024 * 1024))" /dev/urandom > "$work/www/tls.bin"
printf '<html><body>%s</body></html>\n' "$(head -c 600 /dev/zero | tr '\0' 'x')" > "$work/www/small.html"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1

cat > "$work/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 5;
  default_type application/octet-stream;
  client_body_temp_path $work/logs/body;
  proxy_temp_path $work/logs/proxy;
  fastcgi_temp_path $work/logs/fastcgi;
  uwsgi_temp_path $work/logs/uwsgi;
  scgi_temp_path $work/logs/scgi;
  server {
    listen 127.0.0.1:$http_port;
    listen 127.0.0.1:$https_port ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    root $work/www;
  }
}
EOF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" 2>"$work/logs/stderr" &
nginx_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$http_port/small.html" && break
  sleep 0.05
done
curl -s -o /dev/null "http://127.0.0.1:$http_port/small.html" || {
  echo "http-bench: nginx did not start:" >&2
  cat "$work/logs/stderr" "$work/logs/error.log" >&2
  exit 1
}
note "nginx $nginx_pid on 127.0.0.1:$http_port (http) and :$https_port (https)"

http="http://127.0.0.1:$http_port"
https="https://localhost:$https_port"
ca="$work/cert.pem"

# The command for tool $1 fetching URL $2 into file $3 (the CA option only for https).
command_for() {
  local tls=""
  case "$1:$2" in
    netdemo:https*) tls="--cacert $ca " ;;
    curl:https*) tls="--cacert $ca " ;;
    wget:https*) tls="--ca-certificate=$ca " ;;
  esac
  case "$1" in
    netdemo) echo "$netdemo http-get -s ${tls}-o $3 $2" ;;
    curl) echo "curl -s ${tls}-o $3 $2" ;;
    wget) echo "wget -q ${tls}-O $3 $2" ;;
  esac
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max() { sort -g | tail -1; }

# One timed fetch of URL $2 by tool $1 into a file of $3 bytes; prints "MB/s peak_KiB".
fetch_once() {
  local tool=$1 url=$2 bytes=$3 out="$out_dir/$1.out" secs kib
  rm -f "$out"
  # shellcheck disable=SC2046
  /usr/bin/time -f "%e %M" -o "$work/time.txt" $(command_for "$tool" "$url" "$out") >/dev/null
  [ "$(stat -c %s "$out" 2>/dev/null)" = "$bytes" ] || { echo "http-bench: $tool got a wrong size" >&2; kill $$; exit 1; }
  rm -f "$out"
  read -r secs kib < "$work/time.txt"
  echo "$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? b / s / 1e6 : 0) }') $kib"
}

# Runs every tool on URL $1 ($2 bytes) $runs times, in rounds (netdemo, curl, wget, then
# again), so that a change in the machine's load hits them alike; prints a table row each.
transfer_table() {
  local url=$1 bytes=$2 i tool rate kib
  declare -A rates=() rss=()
  # Untimed: the first read of the file fills nginx's page cache (sparse pages included).
  curl -s -k -o /dev/null "$url" || true
  for i in $(seq "$runs"); do
    for tool in netdemo curl wget; do
      note "$tool, run $i"
      read -r rate kib <<< "$(fetch_once "$tool" "$url" "$bytes")"
      rates[$tool]+="$rate "
      rss[$tool]+="$kib "
    done
  done
  for tool in netdemo curl wget; do
    # shellcheck disable=SC2086
    printf '| %s | %s | %s | %.1f |\n' "$tool" "$(printf '%s\n' ${rates[$tool]} | median)" \
      "${rates[$tool]% }" "$(printf '%s\n' ${rss[$tool]} | max | awk '{ print $1 / 1024 }')"
  done
}

echo "## Results ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r))"
echo
echo "Output files in $(df --output=fstype "$out_dir" | tail -1) ($out_dir)."
echo
echo "netdemo: $("$netdemo" --version); $(curl --version | head -1 | cut -d' ' -f1-2); $(wget --version | head -1 | cut -d' ' -f1-3); $("$nginx_bin" -v 2>&1 | cut -d' ' -f3)"
echo

for part in a b; do
  if [ "$part" = a ]; then
    url="$http/big.bin"; bytes=$((big_mib * 1024 * 1024))
    echo "### (a) ${big_mib} MiB over http to a file (median of $runs)"
  else
    url="$https/tls.bin"; bytes=$((tls_mib * 1024 * 1024))
    echo "### (b) ${tls_mib} MiB over https to a file, --cacert (median of $runs)"
  fi
  echo
  echo "| client | MB/s (median) | each run | peak RSS MiB (max) |"
  echo "|---|---|---|---|"
  note "($part)"
  transfer_table "$url" "$bytes"
  echo
done

echo "### (c) $fetches fetches of a $(stat -c %s "$work/www/small.html")-byte page over http, one process each"
echo
echo "| command | mean ms | median ms | min ms | peak RSS MiB |"
echo "|---|---|---|---|---|"
small="$http/small.html"
for tool in /bin/true netdemo curl wget; do
  note "(c) $tool"
  if [ "$tool" = /bin/true ]; then
    cmd="/bin/true"
  else
    cmd="$(command_for "$tool" "$small" /dev/null)"
  fi
  hyperfine -N --style none --warmup 10 --runs "$fetches" --export-json "$work/h.json" "$cmd" >/dev/null 2>&1
  # shellcheck disable=SC2086
  /usr/bin/time -f "%M" -o "$work/time.txt" $cmd >/dev/null
  python3 - "$work/h.json" "$(cat "$work/time.txt")" "$tool" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("| %s | %.2f | %.2f | %.2f | %.1f |" % (sys.argv[3], r["mean"] * 1e3, r["median"] * 1e3,
                                             r["min"] * 1e3, int(sys.argv[2]) / 1024))
EOF
done
echo
