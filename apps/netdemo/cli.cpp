#include "cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <system_error>

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

std::string clock_now() {
  std::time_t const t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

}  // namespace

net::log_sink make_server_log(std::string transport, std::string role, bool quiet) {
  return [transport = std::move(transport), role = std::move(role), quiet](const net::event& e) {
    using net::event_kind;
    std::string line;
    std::string const peer(e.peer);
    std::string const detail(e.detail);
    switch (e.kind) {
      case event_kind::listening:
        line = "Listening on " + transport + " " + peer + " (role " + role + "); Ctrl+C stops";
        break;
      case event_kind::opened:
        if (quiet) return;
        line = "Accept new connection from " + peer + "...";
        break;
      case event_kind::closed:
        if (quiet) return;
        line = "Connection from " + peer + " closed (" + detail + ", " +
               std::to_string(e.bytes_in) + " bytes in, " + std::to_string(e.bytes_out) +
               " out).";
        break;
      case event_kind::refused:
        line = "Refused " + peer + ": " + detail;
        break;
      case event_kind::dropped:
        line = "Dropped a datagram from " + peer + ": " + detail;
        break;
      case event_kind::datagram:
        line = "Received from " + peer + " (" + std::to_string(e.bytes_in) + " bytes), replied " +
               std::to_string(e.bytes_out) + " bytes.";
        break;
      case event_kind::warning:
        line = "Warning: " + (peer.empty() ? "" : peer + ": ") + detail;
        break;
      case event_kind::error:
        line = "Error: " + (peer.empty() ? "" : peer + ": ") + detail;
        break;
      case event_kind::stopping:
        line = "Stopping: " + detail;
        break;
    }
    print_log_line(line);
  };
}

void print_log_line(const std::string& line) {
  std::printf("%s %s\n", clock_now().c_str(), line.c_str());
  std::fflush(stdout);
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
