// bench: a load generator for netdemo's own roles (and any RFC 862 echo server), like
// redis-benchmark: many connections, every reply checked, latency percentiles.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <functional>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "bench_json.hpp"
#include "cli.hpp"
#include "netdemo/client/tls_client.hpp"
#include "netdemo/bench/load.hpp"

namespace netdemo::cli {

namespace {

using std::chrono::milliseconds;

std::atomic<bool> interrupt_requested{false};

extern "C" void on_interrupt(int) {
  if (interrupt_requested.exchange(true)) {
    // A second Ctrl+C: stop at once, the default way.
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::raise(SIGINT);
  }
}

/// SIGINT/SIGTERM end the run early (the report is still printed); restored on exit.
class interrupt_guard {
 public:
  interrupt_guard() {
    interrupt_requested = false;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~interrupt_guard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  interrupt_guard(const interrupt_guard&) = delete;
  interrupt_guard& operator=(const interrupt_guard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::size_t count_option(const po::variables_map& vm, const char* name, long long min, long long max) {
  long long const v = vm[name].as<long long>();
  if (v < min || v > max) {
    throw cli_error(exit_code::usage, "--" + std::string(name) + " must be between " + std::to_string(min) +
                                      " and " + std::to_string(max) + " (got " + std::to_string(v) + ")");
  }
  return static_cast<std::size_t>(v);
}

/// 1234567 → "1,234,567".
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

/// Nanoseconds as "850 ns", "37.2 us", "1.20 ms", "2.35 s".
std::string latency_text(std::uint64_t ns) {
  if (ns < 1000) return std::to_string(ns) + " ns";
  double const us = static_cast<double>(ns) / 1e3;
  if (us < 1000) return fixed(us, 1) + " us";
  if (us < 1e6) return fixed(us / 1e3, 2) + " ms";
  return fixed(us / 1e6, 2) + " s";
}

struct run_settings {
  std::string mode;  // tcp | udp | stream
  bench::options opt;
  std::size_t window = 0;  // stream
  bool json = false;
  bool quiet = false;
};

double per_second(std::uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; }

/// The kinds of error that occurred, as "2 mismatch, 1 closed".
std::string error_breakdown(const bench::error_counts& e) {
  std::string s;
  auto add = [&](std::uint64_t n, const char* what) {
    if (n == 0) return;
    if (!s.empty()) s.append(", ");
    s.append(grouped(n));
    s.push_back(' ');
    s.append(what);
  };
  add(e.mismatch, "wrong reply");
  add(e.unexpected, "unexpected bytes");
  add(e.truncated, "cut short");
  add(e.closed, "closed by the server");
  add(e.reset, "connection failed");
  add(e.refused, "refused");
  add(e.connect_failed, "reconnect failed");
  add(e.timeouts, "timed out");
  add(e.losses, "lost");
  return s;
}

void print_text(const run_settings& s, const bench::result& r) {
  const auto& o = s.opt;
  bool const stream = s.mode == "stream";
  std::ostringstream out;
  std::string const what = stream ? "chunks" : "messages";
  out << "netdemo bench " << s.mode << " " << o.host << ":" << o.port << ", role "
      << bench::role_name(o.kind) << (r.interrupted ? " (interrupted)" : "") << "\n";
  out << "  connections  " << o.connections << (o.proto == bench::transport::udp ? " socket" : "")
      << (o.proto == bench::transport::udp && o.connections != 1 ? "s" : "") << ", " << o.message_size
      << "-byte " << what << ", ";
  if (stream) {
    out << "window " << grouped(s.window) << " bytes";
  } else {
    out << "pipeline " << o.pipeline;
  }
  out << ", " << o.threads << " thread" << (o.threads == 1 ? "" : "s") << "\n";
  out << "  measured     " << fixed(r.measured_s, 2) << " s after a "
      << fixed(std::chrono::duration<double>(o.warmup).count(), 2) << " s warm-up\n";
  double const rate = per_second(r.messages, r.measured_s);
  double const mb_in = per_second(r.bytes_received, r.measured_s) / 1e6;
  double const mb_out = per_second(r.bytes_sent, r.measured_s) / 1e6;
  if (stream) {
    out << "  throughput   " << fixed(mb_in, 1) << " MB/s echoed (" << grouped(r.bytes_received)
        << " bytes; MB = 10^6 bytes)\n";
    out << "  " << what << "       " << grouped(r.messages) << " (" << grouped(static_cast<std::uint64_t>(rate))
        << "/s)\n";
  } else {
    out << "  " << what << "     " << grouped(r.messages) << " (" << grouped(static_cast<std::uint64_t>(rate))
        << " msg/s)\n";
    out << "  throughput   " << fixed(mb_in, 2) << " MB/s received, " << fixed(mb_out, 2)
        << " MB/s sent (MB = 10^6 bytes)\n";
  }
  const auto& h = r.latency;
  if (h.count() > 0) {
    out << "  latency      p50 " << latency_text(h.percentile(0.50)) << ", p90 " << latency_text(h.percentile(0.90))
        << ", p99 " << latency_text(h.percentile(0.99)) << ", p99.9 " << latency_text(h.percentile(0.999))
        << ", max " << latency_text(h.max()) << "\n";
  } else {
    out << "  latency      (no reply while measuring)\n";
  }
  if (r.errors.total() == 0) {
    out << "  errors       none (every reply checked)\n";
  } else {
    out << "  errors       " << grouped(r.errors.total()) << ": " << error_breakdown(r.errors) << "\n";
  }
  if (!r.first_error.empty()) out << "  first error  " << r.first_error << "\n";
  if (r.late_replies > 0) out << "  late replies " << grouped(r.late_replies) << " (after being counted lost)\n";
  if (r.measured_s > 0) {
    // Near 100 % per thread, the generator itself is the limit, not the server.
    out << "  generator    " << fixed(100.0 * r.cpu_s / r.measured_s, 0) << " % CPU";
    if (o.threads == 1) {
      out << " (of one core)\n";
    } else {
      out << " (of " << o.threads << " cores, " << 100 * o.threads << " %)\n";
    }
  }
  if (o.proto == bench::transport::tcp) {
    out << "  connections  " << r.open_at_end << " of " << o.connections << " open at the end, "
        << grouped(r.connects) << " established in all\n";
  }
  std::cout << out.str() << std::flush;
}

run_settings read_settings(const po::variables_map& vm) {
  run_settings s;
  auto& o = s.opt;
  s.mode = vm["mode"].as<std::string>();
  if (s.mode != "tcp" && s.mode != "udp" && s.mode != "stream") {
    throw cli_error(exit_code::usage, "unknown mode '" + s.mode + "' (modes: tcp, udp, stream)");
  }
  bool const stream = s.mode == "stream";
  o.proto = s.mode == "udp" ? bench::transport::udp : bench::transport::tcp;
  o.host = vm["host"].as<std::string>();
  o.port = parse_port(vm["port"].as<int>());
  if (o.port == 0) throw cli_error(exit_code::usage, "--port 0 cannot be connected to");
  auto const role = bench::parse_role(vm["role"].as<std::string>());
  if (!role) {
    throw cli_error(exit_code::usage, "unknown role '" + vm["role"].as<std::string>() + "' (roles: echo, hello, timestamp)");
  }
  o.kind = *role;
  if (stream && o.kind != bench::role::echo) throw cli_error(exit_code::usage, "stream mode needs the echo role");
  o.connections = count_option(vm, "connections", 1, 100'000);
  long long const max_size = o.proto == bench::transport::udp ? 65507 : 16 * 1024 * 1024;
  o.message_size = vm.count("size") ? count_option(vm, "size", 1, max_size) : (stream ? 16384 : 64);
  if (o.kind != bench::role::echo && o.message_size < 2) {
    throw cli_error(exit_code::usage, "--size must be at least 2 for the " + std::string(bench::role_name(o.kind)) +
                                      " role (a character and the line ending)");
  }
  if (stream) {
    if (vm.count("pipeline")) throw cli_error(exit_code::usage, "stream mode sets the bytes in flight with --window, not --pipeline");
    s.window = vm.count("window") ? count_option(vm, "window", 1, 1LL << 30) : 256 * 1024;
    if (s.window < o.message_size) {
      throw cli_error(exit_code::usage, "--window must hold at least one chunk (--size " + std::to_string(o.message_size) + ")");
    }
    o.pipeline = s.window / o.message_size;
  } else {
    if (vm.count("window")) throw cli_error(exit_code::usage, "--window applies to stream mode only");
    o.pipeline = vm.count("pipeline") ? count_option(vm, "pipeline", 1, 100'000) : 1;
  }
  o.duration = parse_duration(vm["duration"].as<std::string>(), "duration");
  if (o.duration.count() == 0) throw cli_error(exit_code::usage, "--duration must be above 0");
  o.warmup = parse_duration(vm["warmup"].as<std::string>(), "warmup");
  if (vm.count("timeout")) {
    o.timeout = parse_duration(vm["timeout"].as<std::string>(), "timeout");
  } else {
    o.timeout = o.proto == bench::transport::udp ? milliseconds(200) : milliseconds(5000);
  }
  if (o.timeout.count() == 0) throw cli_error(exit_code::usage, "--timeout must be above 0");
  // More threads than connections would leave some idle.
  o.threads = std::min(count_option(vm, "threads", 1, 64), o.connections);
  o.reconnect = vm.count("no-reconnect") == 0;
  if (o.proto == bench::transport::udp && !o.reconnect) {
    throw cli_error(exit_code::usage, "--no-reconnect applies to TCP only (UDP has no connection to lose)");
  }
  if (vm.count("tls")) {
    if (o.proto == bench::transport::udp) throw cli_error(exit_code::usage, "--tls applies to tcp and stream modes");
    client::tls_connect_options trust;
    if (vm.count("cacert")) trust.ca_file = vm["cacert"].as<std::string>();
    trust.insecure = vm.count("insecure") > 0;
    o.tls = client::make_client_context(trust);
  } else if (vm.count("cacert") || vm.count("insecure")) {
    throw cli_error(exit_code::usage, std::string(vm.count("cacert") ? "--cacert" : "--insecure") + " needs --tls");
  }
  s.json = vm.count("json") > 0;
  s.quiet = vm.count("quiet") > 0;
  return s;
}

/// bench's options.
void add_bench_options(po::options_description& o) {
  o.add_options()
      ("mode", po::value<std::string>(), "tcp, udp or stream (positional)")
      ("host", po::value<std::string>()->default_value("127.0.0.1"), "server address or name")
      ("port,p", po::value<int>()->default_value(9999), "server port")
      ("role,r", po::value<std::string>()->default_value("echo"), "what the server answers: echo, hello or timestamp")
      ("connections,c", po::value<long long>()->default_value(1), "connections (UDP: sockets), all open at once")
      ("size,m", po::value<long long>(), "bytes per message, LF included for text roles (default 64; stream: 16384)")
      ("duration,d", po::value<std::string>()->default_value("5s"), "how long to measure")
      ("warmup,w", po::value<std::string>()->default_value("1s"), "how long to run before measuring (not counted)")
      ("pipeline", po::value<long long>(), "tcp/udp: messages in flight per connection (default 1)")
      ("window", po::value<long long>(), "stream: bytes in flight per connection (default 262144)")
      ("timeout,t", po::value<std::string>(),
       "connect and reply timeout (default 5s); UDP: a reply missing this long is a loss and the message is sent again (default 200ms)")
      ("threads", po::value<long long>()->default_value(1), "generator threads, each with its own io_context")
      ("no-reconnect", "tcp/stream: a connection that drops stays closed")
      ("tls", "tcp/stream: TLS over each connection (the handshake is not measured); the server's "
              "certificate is checked against the system's CAs and --host")
      ("cacert", po::value<std::string>(), "with --tls: trust the CAs of this PEM file instead")
      ("insecure,k", "with --tls: do not check the server's certificate")
      ("json", "print one JSON object instead of the text report")
      ("quiet,q", "no live progress line on stderr");
}

/// The live progress line on stderr (a terminal only); sets `shown` once drawn.
std::function<void(const bench::progress&)> progress_line(std::size_t connections, bool& shown) {
  return [&shown, connections](const bench::progress& p) {
    std::string line = "\r";
    line.append(p.phase);
    line.append(" ");
    line.append(fixed(p.elapsed_s, 0));
    line.append(" s: ");
    line.append(grouped(static_cast<std::uint64_t>(p.msgs_per_s)));
    line.append(" msg/s");
    if (p.mb_per_s > 0) {
      line.append(", ");
      line.append(fixed(p.mb_per_s, 2));
      line.append(" MB/s");
    }
    line.append(", errors ");
    line.append(grouped(p.errors));
    line.append(", open ");
    line.append(std::to_string(p.open));
    line.append("/");
    line.append(std::to_string(connections));
    line.append("\033[K");
    std::cerr << line << std::flush;
    shown = true;
  };
}

/// The exit code of a finished run (docs/exit-codes.md).
int bench_exit_code(const run_settings& s, const bench::result& r) {
  if (r.interrupted) {
    std::cerr << "Interrupted.\n";
    return static_cast<int>(exit_code::interrupted);
  }
  // UDP has no connect step: a server that is not there shows as refusals and silence.
  if (s.opt.proto == bench::transport::udp && r.replies_total == 0 && r.errors.refused > 0) {
    throw cli_error(exit_code::cannot_connect, "no server on " + s.opt.host + ":" + std::to_string(s.opt.port) +
                                               " (every datagram was refused)");
  }
  if (r.errors.malformed() > 0) return static_cast<int>(exit_code::malformed_reply);
  if (r.errors.total() > 0) return static_cast<int>(exit_code::failure);
  return 0;
}

}  // namespace

int bench(const std::vector<std::string>& args) {
  command_info const info{
      "bench", "tcp|udp|stream [options]",
      "Load generator for netdemo's servers (and any RFC 862 echo server): -c connections\n"
      "(UDP: connected sockets) each keep --pipeline messages of --size bytes in flight for\n"
      "--duration after a --warmup. Every reply is checked byte for byte: echo must return\n"
      "the message; hello must greet 'Welcome!' (TCP) and answer 'NAME\\n' with\n"
      "'Hello, NAME!\\n'; timestamp must answer '[<time>] NAME\\n'. A wrong, missing or extra\n"
      "byte is an error (exit 8), never a faster number. 'stream' mode keeps --window bytes\n"
      "of --size chunks in flight per connection and reports the MB/s echoed. Reports\n"
      "messages/s, MB/s and round-trip latency percentiles; --json prints one object.\n"
      "A TCP connection that drops is re-established (--no-reconnect: it stays down); the\n"
      "errors are counted and reported. Live progress goes to stderr when it is a terminal.",
      "  netdemo bench tcp -p 9999 -c 50 -m 64 -d 5            # against tcp-server --role echo\n"
      "  netdemo bench tcp -p 9999 --role hello -c 10 --pipeline 16\n"
      "  netdemo bench stream -p 9999 -m 16384 --window 262144\n"
      "  netdemo bench udp -p 9999 -c 4 --timeout 200ms --json\n"
      "  netdemo bench tcp -p 8443 --tls --cacert ca.pem --host localhost -c 10\n"};
  po::options_description o("Options");
  add_bench_options(o);
  po::positional_options_description pos;
  pos.add("mode", 1);
  po::variables_map vm;
  if (!parse(info, args, o, pos, vm)) return 0;
  if (!vm.count("mode")) throw cli_error(exit_code::usage, "which mode: tcp, udp or stream?");
  run_settings s = read_settings(vm);

  interrupt_guard guard;
  s.opt.cancel = &interrupt_requested;
  bool progress_shown = false;
  if (!s.quiet && ::isatty(STDERR_FILENO) == 1) s.opt.on_progress = progress_line(s.opt.connections, progress_shown);
  bench::result const r = bench::run(s.opt);
  if (progress_shown) std::cerr << "\r\033[K" << std::flush;
  if (s.json) {
    std::cout << bench_json(s.mode, s.opt, r) << std::flush;
  } else {
    print_text(s, r);
  }
  return bench_exit_code(s, r);
}

}  // namespace netdemo::cli
