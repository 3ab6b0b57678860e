// Shared command-line plumbing for the subcommands: option parsing, help, durations,
// logging of server events, and the error → exit-code boundary.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "exit_codes.hpp"
#include "netdemo/proto/error.hpp"
#include "netdemo/net/log.hpp"

namespace netdemo::cli {

namespace po = boost::program_options;

/// What a subcommand is, for its --help.
struct command_info {
  std::string name;      ///< "tcp-server"
  std::string synopsis;  ///< "[options]"
  std::string summary;   ///< one paragraph
  std::string examples;  ///< lines of examples
};

/// Parses `args` against `options` (+ positionals). Prints help and returns false for
/// --help; throws netdemo::error(usage) on a bad command line, which includes an empty
/// --host and a --unix path that cannot name a socket (empty, over net::max_unix_path).
bool parse(const command_info& info, const std::vector<std::string>& args,
           po::options_description& options, const po::positional_options_description& positional,
           po::variables_map& vm);

/// "300", "300s", "1.5s", "100ms" → milliseconds. Throws netdemo::error(usage).
std::chrono::milliseconds parse_duration(const std::string& text, const std::string& option);

/// A port number 0-65535. Throws netdemo::error(usage).
std::uint16_t parse_port(int value);

/// Human-readable server log on stdout, one line per event, flushed.
net::log_sink make_server_log(std::string transport, std::string role, bool quiet);

/// Prints one server log line, with the time, and flushes it.
void print_log_line(const std::string& line);

/// Runs `body`, turning every failure into one line on stderr and an exit code.
int guarded(const std::string& command, const std::function<int()>& body);

/// The subcommands.
int tcp_server(const std::vector<std::string>& args);
int udp_server(const std::vector<std::string>& args);
int timestamp_server(const std::vector<std::string>& args);
int command_server(const std::vector<std::string>& args);
int tcp_client(const std::vector<std::string>& args);
int udp_client(const std::vector<std::string>& args);
int command_client(const std::vector<std::string>& args);
int resolve(const std::vector<std::string>& args);
int info(const std::vector<std::string>& args);
int http_get(const std::vector<std::string>& args);
int bench(const std::vector<std::string>& args);

/// Puts /dev/null (read-only) on any closed standard descriptor, so that the next
/// descriptor opened (epoll, a socket) never takes its number. Call first in main.
void reserve_standard_descriptors();

}  // namespace netdemo::cli
