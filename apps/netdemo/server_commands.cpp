// tcp-server and udp-server: parse options, open sockets, run the role, handle signals.
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <system_error>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "cli.hpp"
#include "netdemo/net/datagram_server.hpp"
#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/run.hpp"
#include "netdemo/net/stream_server.hpp"
#include "netdemo/net/tls.hpp"
#include "netdemo/proto/roles.hpp"

namespace netdemo::cli {

namespace {

namespace asio = boost::asio;

struct server_settings {
  std::string host;
  std::uint16_t port = 0;
  std::string unix_path;
  std::string role;
  proto::role_settings role_settings;
  net::server_limits limits;
  std::chrono::milliseconds grace{};
  std::size_t threads = 1;
  std::string tls_cert;  // --tls-cert and --tls-key: serve TLS (TCP only)
  std::string tls_key;
  log_style log;  // --log-format, --log-time, -q
};

/// How long the stop of a datagram server waits for a reply the socket could not take at
/// once (docs/limits.md). Datagram servers have no --grace: they have no sessions.
constexpr std::chrono::milliseconds datagram_grace{1000};

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

std::string role_list() {
  std::string s;
  for (auto r : proto::role_names) {
    if (!s.empty()) s.push_back('|');
    s.append(r);
  }
  return s;
}

/// A count option that must be at least `min` (program_options would wrap "-1" into a
/// huge unsigned number, so counts are read signed and checked here).
std::size_t count_option(const po::variables_map& vm, const char* name, long long min,
                         long long max) {
  long long const v = vm[name].as<long long>();
  if (v < min || v > max) {
    throw cli_error(exit_code::usage, "--" + std::string(name) + " must be between " +
                                      std::to_string(min) + " and " + std::to_string(max) +
                                      " (got " + std::to_string(v) + ")");
  }
  return static_cast<std::size_t>(v);
}

/// Defaults that differ between the server subcommands.
struct server_defaults {
  int port = 9999;
  const char* role = "hello";
  bool fixed_role = false;  // timestamp-server and command-server serve their own role only
};

void add_server_options(po::options_description& o, bool stream, const server_defaults& d) {
  o.add_options()
      ("host", po::value<std::string>()->default_value("127.0.0.1"),
       "address or name to bind; '::' = every IPv6 and IPv4 address, '0.0.0.0' = every IPv4")
      ("port,p", po::value<int>()->default_value(d.port), "port to bind; 0 picks a free one (printed)")
      ("unix", po::value<std::string>(), "serve on a Unix socket at this path instead of IP")
      ("threads,t", po::value<long long>()->default_value(1),
       "threads, each with its own event loop and socket on the shared port (SO_REUSEPORT)");
  std::string_view const role = d.role;
  if (!d.fixed_role) {
    o.add_options()("role,r", po::value<std::string>()->default_value(d.role),
                    ("what to answer: " + role_list()).c_str());
  }
  if (!d.fixed_role || role == "timestamp") {
    o.add_options()("format", po::value<std::string>()->default_value("ctime"),
                    "timestamp role: ctime (Python's time.ctime(), local time) or iso8601 (RFC 3339)");
  }
  if (!d.fixed_role || role == "command") {
    o.add_options()("root", po::value<std::string>()->default_value("."),
                    "command role: the only directory tree 'ls' may list");
  }
  if (stream) {
    o.add_options()
        ("max-conns", po::value<long long>()->default_value(1024), "concurrent connections; when full, a new one closes the longest-idle session of the busiest address (see --evict-idle) or gets a one-line refusal")
        ("evict-idle", po::value<std::string>()->default_value("1s"), "when full, a session idle this long may be closed for a new connection (0: never)")
        ("max-unsent", po::value<long long>()->default_value(64 * 1024), "a session stops reading while this many bytes of its replies are unsent")
        ("idle-timeout", po::value<std::string>()->default_value("300s"), "close a connection silent this long")
        ("max-line", po::value<long long>()->default_value(64 * 1024), "longest line (bytes) a text role accepts")
        ("pause", po::value<std::string>()->default_value("20ms"), "quiet time after which unterminated bytes are a message")
        ("grace", po::value<std::string>()->default_value("5s"), "on Ctrl+C/SIGTERM, time open sessions get to finish (sessions cut off then: exit 1)")
        ("tls-cert", po::value<std::string>(), "serve TLS over TCP with this PEM certificate chain (leaf first; needs --tls-key)")
        ("tls-key", po::value<std::string>(), "the PEM private key of --tls-cert");
  } else {
    o.add_options()
        ("max-datagram", po::value<long long>()->default_value(64 * 1024), "largest datagram answered; longer ones are dropped");
  }
  if (stream) {
    o.add_options()("quiet,q", "do not log each connection");
  } else {
    o.add_options()("verbose,v", "log each datagram answered");
  }
  o.add_options()
      ("log-format", po::value<std::string>()->default_value("text"), "server log on stdout: text (lines for people) or json (one object per line)")
      ("log-time", po::value<std::string>(), "log timestamps: local or utc (with date and milliseconds), none; text's default is the local HH:MM:SS, json's local");
}

/// --log-format and --log-time (docs/user-guide.md, "Server log").
log_style read_log_style(const po::variables_map& vm) {
  log_style style;
  auto const format = vm["log-format"].as<std::string>();
  if (format == "json") {
    style.format = log_format::json;
  } else if (format != "text") {
    throw cli_error(exit_code::usage, "--log-format must be text or json");
  }
  if (vm.count("log-time")) {
    auto const t = vm["log-time"].as<std::string>();
    if (t == "local") {
      style.time = log_time::local;
    } else if (t == "utc") {
      style.time = log_time::utc;
    } else if (t == "none") {
      style.time = log_time::none;
    } else {
      throw cli_error(exit_code::usage, "--log-time must be local, utc or none");
    }
  }
  style.quiet = vm.count("quiet") > 0;
  return style;
}

server_settings read_server_settings(const po::variables_map& vm, bool stream,
                                     const server_defaults& d) {
  server_settings s;
  s.host = vm["host"].as<std::string>();
  s.port = parse_port(vm["port"].as<int>());
  if (vm.count("unix")) s.unix_path = vm["unix"].as<std::string>();
  s.threads = count_option(vm, "threads", 1, 256);
  if (s.threads > 1 && !s.unix_path.empty()) {
    throw cli_error(exit_code::usage, "--threads applies to TCP and UDP only (a Unix socket path cannot be shared)");
  }
  s.role = vm.count("role") ? vm["role"].as<std::string>() : std::string(d.role);
  bool known = false;
  for (auto r : proto::role_names) known = known || r == s.role;
  if (!known) throw cli_error(exit_code::usage, "unknown role '" + s.role + "' (roles: " + role_list() + ")");
  if (stream) {
    s.limits.max_connections = count_option(vm, "max-conns", 1, 10'000'000);
    s.limits.idle_timeout = parse_duration(vm["idle-timeout"].as<std::string>(), "idle-timeout");
    s.role_settings.max_line = count_option(vm, "max-line", 1, 1LL << 30);
    s.limits.max_unsent = count_option(vm, "max-unsent", 1, 1LL << 30);
    s.limits.evict_idle = parse_duration(vm["evict-idle"].as<std::string>(), "evict-idle");
    s.limits.pause = parse_duration(vm["pause"].as<std::string>(), "pause");
    s.grace = parse_duration(vm["grace"].as<std::string>(), "grace");
    if (s.limits.idle_timeout.count() == 0) throw cli_error(exit_code::usage, "--idle-timeout must be above 0");
    if (vm.count("tls-cert")) s.tls_cert = vm["tls-cert"].as<std::string>();
    if (vm.count("tls-key")) s.tls_key = vm["tls-key"].as<std::string>();
    if (s.tls_cert.empty() != s.tls_key.empty()) {
      throw cli_error(exit_code::usage, s.tls_cert.empty() ? "--tls-key needs --tls-cert" : "--tls-cert needs --tls-key");
    }
    if (!s.tls_cert.empty() && !s.unix_path.empty()) throw cli_error(exit_code::usage, "TLS is served over TCP, not --unix");
  } else {
    s.limits.max_datagram = count_option(vm, "max-datagram", 1, 16 * 1024 * 1024);
    s.grace = datagram_grace;
  }
  // An option for another role is a mistake worth saying, not something to ignore.
  auto only_for = [&](const char* option, std::string_view role) {
    if (vm.count(option) && !vm[option].defaulted() && s.role != role) {
      throw cli_error(exit_code::usage, "--" + std::string(option) + " applies to the " +
                                        std::string(role) + " role only");
    }
  };
  only_for("format", "timestamp");
  only_for("root", "command");
  auto const format =
      proto::parse_time_format(vm.count("format") ? vm["format"].as<std::string>() : "ctime");
  if (!format) throw cli_error(exit_code::usage, "--format must be ctime or iso8601");
  s.role_settings.time = *format;
  if (s.role == "command") {
    s.role_settings.commands = std::make_shared<const proto::command_config>(vm["root"].as<std::string>());
  }
  s.log = read_log_style(vm);
  s.limits.log_datagrams = vm.count("verbose") > 0;
  return s;
}

/// Runs the servers until signalled (net/run.hpp: first SIGINT/SIGTERM stops them with
/// `grace`, a second aborts) and turns the end into the exit code: 130 after SIGINT, 0
/// after SIGTERM or a normal end. Throws exit 1 when the stop cut off sessions (or a
/// datagram reply): a second signal, or the grace ran out.
template <class Server>
int run_servers(std::vector<std::unique_ptr<asio::io_context>>& iocs,
                std::vector<std::unique_ptr<Server>>& servers,
                std::chrono::milliseconds grace, const log_style& log) {
  auto const end = net::run_until_signalled(iocs, servers, grace, [&log] {
    print_log_line(log, "abort", "Second signal: closing every connection now.");
  });
  std::size_t const aborted = end.aborted;
  if (aborted > 0) {
    // Cut-off sessions may have lost replies: that is no success, whatever the signal
    // (a supervisor or script must be able to tell).
    constexpr bool stream = requires(Server& s) { s.session_count(); };
    std::string const cause =
        end.signals > 1 ? "a second signal"
                        : std::string(stream ? "still open" : "still waiting to be sent") +
                              " when the grace of " + duration_text(grace) + " ran out";
    throw cli_error(exit_code::failure, "the stop cut off " + std::to_string(aborted) +
                                        (stream ? " session(s) (" : " reply(ies) (") + cause + ")");
  }
  return end.first_signal == SIGINT ? static_cast<int>(exit_code::interrupted) : 0;
}

/// One io_context (and one server) per thread: `make(ioc, i)` builds server `i`.
template <class Server, class Make>
int serve_threads(std::size_t threads, const server_settings& s, Make make) {
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<std::unique_ptr<Server>> servers;
  for (std::size_t i = 0; i < threads; ++i) {
    iocs.push_back(std::make_unique<asio::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO));
    servers.push_back(make(*iocs.back(), i));
  }
  return run_servers(iocs, servers, s.grace, s.log);
}

/// Server `i`'s log: only the first reports `listening` and `stopping` (they share the
/// port and the connection count).
net::log_sink thread_log(const server_settings& s, const char* transport, std::size_t i) {
  auto log = make_server_log(transport, s.role, s.threads, s.log);
  if (i == 0) return log;
  return [log](const net::event& e) {
    if (e.kind != net::event_kind::listening && e.kind != net::event_kind::stopping) log(e);
  };
}

/// The TLS context of --tls-cert and --tls-key, made once for every thread's server
/// (before anything listens: a bad file is an error at start-up).
net::tls_context server_tls_context(const server_settings& s) {
  try {
    return net::tls_context::server(s.tls_cert, s.tls_key);
  } catch (const std::system_error& e) {
    throw cli_error(exit_code::failure, e.what());
  }
}

template <bool Tls, class Handler>
int serve_tcp(const server_settings& s, const Handler& prototype) {
  using server_t = net::stream_server<asio::ip::tcp, Handler, Tls>;
  std::optional<net::tls_context> tls;
  if constexpr (Tls) tls = server_tls_context(s);
  auto open = std::make_shared<net::connection_count>();
  std::uint16_t port = s.port;
  return serve_threads<server_t>(s.threads, s, [&](asio::io_context& ioc, std::size_t i) {
    auto acceptors = net::open_tcp_listeners(ioc.get_executor(), s.host, port, s.threads > 1);
    port = acceptors.front().local_endpoint().port();  // with port 0, the others join this one
    auto log = thread_log(s, Tls ? "tls" : "tcp", i);
    if constexpr (Tls) {
      return std::make_unique<server_t>(std::move(acceptors), prototype, s.limits, std::move(log), *tls, open);
    } else {
      return std::make_unique<server_t>(std::move(acceptors), prototype, s.limits, std::move(log), open);
    }
  });
}

template <class Handler>
int serve_stream(const server_settings& s, const Handler& prototype) {
  if (!s.unix_path.empty()) {
    using server_t = net::stream_server<asio::local::stream_protocol, Handler>;
    std::optional<net::unix_path_owner> owner;
    return serve_threads<server_t>(1, s, [&](asio::io_context& ioc, std::size_t i) {
      std::vector<asio::local::stream_protocol::acceptor> acceptors;
      acceptors.push_back(net::open_unix_listener(ioc.get_executor(), s.unix_path));
      owner.emplace(s.unix_path);
      return std::make_unique<server_t>(std::move(acceptors), prototype, s.limits,
                                        thread_log(s, "unix", i));
    });
  }
  if (s.tls_cert.empty()) return serve_tcp<false>(s, prototype);
  return serve_tcp<true>(s, prototype);
}

template <class Handler>
int serve_datagram(const server_settings& s, const Handler& handler) {
  if (!s.unix_path.empty()) {
    using server_t = net::datagram_server<asio::local::datagram_protocol, Handler>;
    std::optional<net::unix_path_owner> owner;
    return serve_threads<server_t>(1, s, [&](asio::io_context& ioc, std::size_t i) {
      auto socket = net::open_unix_datagram(ioc.get_executor(), s.unix_path);
      owner.emplace(s.unix_path);
      return std::make_unique<server_t>(std::move(socket), handler, s.limits,
                                        thread_log(s, "unix-dgram", i));
    });
  }
  using server_t = net::datagram_server<asio::ip::udp, Handler>;
  std::uint16_t port = s.port;
  return serve_threads<server_t>(s.threads, s, [&](asio::io_context& ioc, std::size_t i) {
    auto socket = net::open_udp_socket(ioc.get_executor(), s.host, port, s.threads > 1);
    port = socket.local_endpoint().port();
    return std::make_unique<server_t>(std::move(socket), handler, s.limits,
                                      thread_log(s, "udp", i));
  });
}

int stream_command(const command_info& info, const std::vector<std::string>& args,
                   const server_defaults& d) {
  po::options_description o("Options");
  add_server_options(o, true, d);
  po::variables_map vm;
  if (!parse(info, args, o, {}, vm)) return 0;
  auto const s = read_server_settings(vm, true, d);
  int code = 0;
  proto::with_stream_role(s.role, s.role_settings,
                          [&](auto handler) { code = serve_stream(s, std::move(handler)); });
  return code;
}

int datagram_command(const command_info& info, const std::vector<std::string>& args,
                     const server_defaults& d) {
  po::options_description o("Options");
  add_server_options(o, false, d);
  po::variables_map vm;
  if (!parse(info, args, o, {}, vm)) return 0;
  auto const s = read_server_settings(vm, false, d);
  int code = 0;
  proto::with_datagram_role(s.role, s.role_settings,
                            [&](auto handler) { code = serve_datagram(s, std::move(handler)); });
  return code;
}

}  // namespace

int tcp_server(const std::vector<std::string>& args) {
  command_info const info{
      "tcp-server", "[options]",
      "Serve a role over TCP (or a Unix stream socket with --unix). The default role 'hello'\n"
      "greets with 'Welcome!' and answers each message with 'Hello, <msg>!'; 'exit' closes.\n"
      "Messages are lines (LF, CRLF or CR) or bare words followed by a pause; replies end\n"
      "the way the request ended. 'echo' returns bytes unchanged; 'upper' upper-cases;\n"
      "'timestamp' answers '[<ctime>] <msg>'; 'command' runs date/os/ls/help (seed 004).",
      "  netdemo tcp-server                      # hello on 127.0.0.1:9999\n"
      "  netdemo tcp-server --host :: --port 0   # every address, a free port\n"
      "  netdemo tcp-server --role echo --unix /tmp/echo.sock\n"
      "  netdemo tcp-server --tls-cert cert.pem --tls-key key.pem --port 8443\n"};
  return stream_command(info, args, {});
}

int udp_server(const std::vector<std::string>& args) {
  command_info const info{
      "udp-server", "[options]",
      "Serve a role over UDP (or a Unix datagram socket with --unix). Each datagram is one\n"
      "message; one trailing line ending is kept off the message and put back on the reply.\n"
      "'hello' answers 'Hello, <msg>!', 'upper' upper-cases (seed 001), 'echo' returns the\n"
      "datagram unchanged, 'timestamp' and 'command' as over TCP. Datagrams over\n"
      "--max-datagram are dropped, never answered cut. A UDP reply is at most 3x the\n"
      "request + 64 bytes (no amplifier): a larger one becomes a short ERR line.",
      "  netdemo udp-server                      # hello on 127.0.0.1:9999/udp\n"
      "  netdemo udp-server --role upper --port 8080\n"
      "  netdemo udp-server --role echo --unix /tmp/echo.dgram\n"};
  return datagram_command(info, args, {});
}

int timestamp_server(const std::vector<std::string>& args) {
  command_info const info{
      "timestamp-server", "[--udp] [options]",
      "Seed 002's tsTserv / tsUserv: every message comes back as '[<ctime>] <msg>', the\n"
      "time in Python's time.ctime() format and local time ('Sun Nov  1 19:55:07 2026').\n"
      "--format iso8601 writes RFC 3339 instead. TCP by default; --udp serves datagrams.\n"
      "The same as 'tcp-server --role timestamp --port 21567' (or udp-server).\n\n"
      "  --udp                 serve UDP (or a Unix datagram socket with --unix)",
      "  netdemo timestamp-server                # TCP on 127.0.0.1:21567\n"
      "  netdemo timestamp-server --udp\n"
      "  netdemo tcp-client --port 21567 hi      # [Sun Nov 22 01:55:07 2026] hi\n"};
  std::vector<std::string> rest;
  bool udp = false;
  for (const auto& a : args) {
    if (a == "--udp") {
      udp = true;
    } else {
      rest.push_back(a);
    }
  }
  server_defaults const d{21567, "timestamp", true};
  return udp ? datagram_command(info, rest, d) : stream_command(info, rest, d);
}

int command_server(const std::vector<std::string>& args) {
  command_info const info{
      "command-server", "[options]",
      "Seed 004's command server, without a shell: 'date' answers '[<ctime>] date', 'os'\n"
      "'[posix] <system> <release> <machine>', 'ls [path]' a one-line listing such as\n"
      "['a.txt', 'dir'] of a directory inside --root (never outside it), 'help' the list of\n"
      "commands, anything else 'welcome'. The same as 'tcp-server --role command --port 21560'.",
      "  netdemo command-server --root ~/public  # TCP on 127.0.0.1:21560\n"
      "  netdemo command-client date os 'ls .'\n"};
  return stream_command(info, args, server_defaults{21560, "command", true});
}

}  // namespace netdemo::cli
