#include "cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <system_error>

// Boost.JSON's definitions are compiled once, in bench_json.cpp (header-only mode).
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "netdemo/net/endpoints.hpp"
#include "netdemo/proto/text.hpp"

namespace netdemo::cli {

namespace {

bool is_positional(const po::positional_options_description& positional, const std::string& name) {
  for (unsigned i = 0; i < positional.max_total_count() && i < 8; ++i) {
    if (positional.name_for_position(i) == name) return true;
  }
  return false;
}

/// --host and --unix mean one thing in every subcommand that has them, and are checked
/// here once for all: an empty --host would otherwise mean 127.0.0.1 to a client and every
/// address to a server, and an empty --unix would quietly mean TCP.
void check_address_options(const po::variables_map& vm,
                           const po::positional_options_description& positional) {
  if (vm.count("host") && !is_positional(positional, "host") &&
      vm["host"].as<std::string>().empty()) {
    throw cli_error(exit_code::usage,
                "--host is empty: give an address or a host name (the default is 127.0.0.1)");
  }
  if (vm.count("unix")) {
    auto const problem = net::unix_path_problem(vm["unix"].as<std::string>());
    if (!problem.empty()) throw cli_error(exit_code::usage, "--unix: " + problem);
  }
}

}  // namespace

bool parse(const command_info& info, const std::vector<std::string>& args,
           po::options_description& options, const po::positional_options_description& positional,
           po::variables_map& vm) {
  options.add_options()("help,h", "show this help and exit");
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      // Positional arguments are in the synopsis, not in the option list.
      po::options_description shown("Options");
      for (const auto& opt : options.options()) {
        if (!is_positional(positional, opt->long_name())) shown.add(opt);
      }
      std::cout << "Usage: netdemo " << info.name << ' ' << info.synopsis << "\n\n"
                << info.summary << "\n\n"
                << shown << "\nExamples:\n"
                << info.examples << "\nExit codes: see 'netdemo --help' or docs/exit-codes.md.\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw cli_error(exit_code::usage, e.what());
  }
  check_address_options(vm, positional);
  return true;
}

std::chrono::milliseconds parse_duration(const std::string& text, const std::string& option) {
  auto bad = [&] {
    return cli_error(exit_code::usage, "invalid duration '" + text + "' for --" + option +
                                       " (examples: 300, 2.5s, 100ms)");
  };
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  std::string const unit = text.substr(used);
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = value * 1000.0;
  } else if (unit == "ms") {
    ms = value;
  } else {
    throw bad();
  }
  if (!std::isfinite(ms) || ms < 0 || ms > 1e12) throw bad();
  return std::chrono::milliseconds(static_cast<long long>(netdemo::round_to_ll(ms)));
}

std::uint16_t parse_port(int value) {
  if (value < 0 || value > 65535) {
    throw cli_error(exit_code::usage, "port " + std::to_string(value) + " is out of range (0-65535)");
  }
  return static_cast<std::uint16_t>(value);
}

namespace {

/// The time of a log line. Text keeps today's `HH:MM:SS` unless --log-time is given (the
/// e2e harness and scripts read that prefix); then, and always in JSON, the date and
/// milliseconds too, JSON as ISO 8601 with the UTC offset.
std::string log_stamp(log_time t, log_format f) {
  using namespace std::chrono;
  auto const now = system_clock::now();
  auto const ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t const secs = system_clock::to_time_t(now);
  std::tm tm{};
  if (t == log_time::utc) {
    ::gmtime_r(&secs, &tm);
  } else {
    ::localtime_r(&secs, &tm);
  }
  bool const json = f == log_format::json;
  char buf[64];
  if (t == log_time::clock && !json) {
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
  }
  std::strftime(buf, sizeof buf, json ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
  std::string out = buf;
  std::snprintf(buf, sizeof buf, ".%03d", static_cast<int>(ms));
  out += buf;
  if (json) {
    long const off = tm.tm_gmtoff / 60;  // minutes east of UTC; 0 for UTC
    std::snprintf(buf, sizeof buf, "%c%02ld:%02ld", off < 0 ? '-' : '+', std::labs(off) / 60,
                  std::labs(off) % 60);
    out += buf;
  } else if (t == log_time::utc) {
    out += 'Z';
  }
  return out;
}

/// `s` as valid UTF-8: each byte that does not start a well-formed sequence becomes
/// U+FFFD. Peers and details can carry any bytes (a Unix path), and a JSON line with
/// invalid UTF-8 is no JSON to a strict reader; Boost.JSON passes bytes through unchecked.
std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    auto const at = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(s[i + k])); };
    unsigned const c = at(0);
    std::size_t const n = c < 0x80                  ? 1
                          : c >= 0xC2 && c <= 0xDF ? 2
                          : c >= 0xE0 && c <= 0xEF ? 3
                          : c >= 0xF0 && c <= 0xF4 ? 4
                                                   : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (std::size_t k = 1; ok && k < n; ++k) ok = (at(k) & 0xC0U) == 0x80U;
    // Overlong forms, UTF-16 surrogates and code points over U+10FFFF are not UTF-8.
    if (ok && n >= 3) {
      ok = !((c == 0xE0 && at(1) < 0xA0) || (c == 0xED && at(1) > 0x9F) ||
             (c == 0xF0 && at(1) < 0x90) || (c == 0xF4 && at(1) > 0x8F));
    }
    if (ok) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

boost::json::string json_text(std::string_view s) {
  std::string const v = valid_utf8(s);
  return boost::json::string(boost::json::string_view(v.data(), v.size()));
}

std::string text_line(const net::event& e, const std::string& transport, const std::string& role) {
  using net::event_kind;
  std::string const peer(e.peer);
  std::string const detail(e.detail);
  switch (e.kind) {
    case event_kind::listening:
      return "Listening on " + transport + " " + peer + " (role " + role + "); Ctrl+C stops";
    case event_kind::opened: return "Accept new connection from " + peer + "...";
    case event_kind::closed:
      return "Connection from " + peer + " closed (" + detail + ", " + std::to_string(e.bytes_in) +
             " bytes in, " + std::to_string(e.bytes_out) + " out).";
    case event_kind::refused: return "Refused " + peer + ": " + detail;
    case event_kind::dropped: return "Dropped a datagram from " + peer + ": " + detail;
    case event_kind::datagram:
      return "Received from " + peer + " (" + std::to_string(e.bytes_in) + " bytes), replied " +
             std::to_string(e.bytes_out) + " bytes.";
    case event_kind::warning: return "Warning: " + (peer.empty() ? "" : peer + ": ") + detail;
    case event_kind::error: return "Error: " + (peer.empty() ? "" : peer + ": ") + detail;
    case event_kind::stopping: return "Stopping: " + detail;
  }
  return detail;
}

/// The keys of one event after "time", "event", "transport" and "role" (docs/user-guide.md).
void add_json_fields(boost::json::object& o, const net::event& e, std::size_t threads) {
  using net::event_kind;
  if (e.kind == event_kind::listening) {
    o["address"] = json_text(e.peer);
    o["threads"] = threads;
    return;
  }
  // A datagram server's stopping event names its own address, not a peer.
  if (!e.peer.empty()) o[e.kind == event_kind::stopping ? "address" : "peer"] = json_text(e.peer);
  switch (e.kind) {
    case event_kind::closed:
      o["reason"] = json_text(net::to_string(e.reason));
      // The TLS handshake's failure, for one: "tls handshake: http request".
      if (e.detail != net::to_string(e.reason)) o["detail"] = json_text(e.detail);
      o["bytes_in"] = e.bytes_in;
      o["bytes_out"] = e.bytes_out;
      o["duration_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(e.duration).count();
      break;
    case event_kind::refused: o["limit"] = json_text(e.detail); break;
    case event_kind::dropped: o["reason"] = json_text(e.detail); break;
    case event_kind::datagram:
      o["bytes_in"] = e.bytes_in;
      o["bytes_out"] = e.bytes_out;
      break;
    case event_kind::opened: break;  // the peer says it all
    default: o["message"] = json_text(e.detail); break;  // warning, error, stopping
  }
}

std::string stamp_prefix(const log_style& style) {
  return style.time == log_time::none ? std::string() : log_stamp(style.time, style.format) + " ";
}

boost::json::object json_head(const log_style& style, std::string_view event) {
  boost::json::object o;
  if (style.time != log_time::none) o["time"] = log_stamp(style.time, style.format);
  o["event"] = event;
  return o;
}

void write_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

net::log_sink make_server_log(std::string transport, std::string role, std::size_t threads,
                              log_style style) {
  std::string text_role = role;
  if (threads > 1) text_role += ", " + std::to_string(threads) + " threads";
  return [transport = std::move(transport), role = std::move(role),
          text_role = std::move(text_role), threads, style](const net::event& e) {
    bool const session = e.kind == net::event_kind::opened || e.kind == net::event_kind::closed;
    if (style.quiet && session) return;
    try {
      if (style.format == log_format::text) {
        write_line(stamp_prefix(style) + text_line(e, transport, text_role) + "\n");
        return;
      }
      auto o = json_head(style, net::to_string(e.kind));
      o["transport"] = transport;
      o["role"] = role;
      add_json_fields(o, e, threads);
      write_line(boost::json::serialize(o) + "\n");
    } catch (const std::exception&) {
      // Out of memory while formatting: this line is lost, serving goes on (a sink must not throw).
    }
  };
}

void print_log_line(const log_style& style, std::string_view event, const std::string& text) {
  if (style.format == log_format::text) {
    write_line(stamp_prefix(style) + text + "\n");
    return;
  }
  auto o = json_head(style, event);
  o["message"] = json_text(text);
  write_line(boost::json::serialize(o) + "\n");
}

namespace {

/// The one line of a failure on stderr (with a hint after a usage error); its exit code.
int report(const std::string& command, const char* what, exit_code code) {
  std::cerr << "netdemo " << command << ": " << what << '\n';
  if (code == exit_code::usage) std::cerr << "Try 'netdemo " << command << " --help'.\n";
  return static_cast<int>(code);
}

}  // namespace

int guarded(const std::string& command, const std::function<int()>& body) {
  try {
    int const code = body();
    // Output that could not be written (a full disk, a closed pipe) is a failure too.
    std::cout.flush();
    if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
      throw cli_error(exit_code::write_error, "cannot write the output");
    }
    return code;
  } catch (const cli_error& e) {
    return report(command, e.what(), e.code());
  } catch (const std::system_error& e) {
    return report(command, e.what(), to_exit_code(e.code()));
  } catch (const std::exception& e) {
    std::cerr << "netdemo " << command << ": " << e.what() << '\n';
    return static_cast<int>(exit_code::failure);
  }
}

/// A standard descriptor that is closed (`<&-`, `>&-`) would be taken by the next one
/// opened (the io_context's epoll descriptor, a socket) and read or written as if it were
/// the terminal. /dev/null takes each such place first, opened read-only: as stdin it
/// reads as an immediate end of input; as stdout or stderr every write fails (EBADF) as
/// it would on the closed descriptor, so a lost output is still reported (exit 23).
/// Call it before anything opens a descriptor.
void reserve_standard_descriptors() {
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int const got = ::open("/dev/null", O_RDONLY);  // the lowest free number: `fd`
    if (got > fd) {
      ::dup2(got, fd);
      ::close(got);
    }
  }
}

}  // namespace netdemo::cli
