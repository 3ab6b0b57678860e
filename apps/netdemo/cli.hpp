// Shared command-line plumbing for the subcommands: option parsing, help, durations,
// logging of server events, and the error → exit-code boundary.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
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

/// --log-format: lines for people, or one JSON object per line for programs.
enum class log_format : std::uint8_t { text, json };

/// --log-time. `clock` is the text log's default, today's `HH:MM:SS`; `local` and `utc`
/// add the date and milliseconds; JSON always has them (`clock` is `local` there).
enum class log_time : std::uint8_t { clock, local, utc, none };

/// How a server log is written (docs/user-guide.md, "Server log").
struct log_style {
  log_format format = log_format::text;  ///< --log-format
  log_time time = log_time::clock;       ///< --log-time
  bool quiet = false;                    ///< -q: no open and close events
};

/// The server log on stdout, one line per event, flushed. `role` is the role's name and
/// `threads` the number of server threads (named when above 1). Each thread's server gets
/// its own sink, called on that thread only; nothing is shared between sinks. A line that
/// cannot be written is lost (the exit code says so later); the sink never throws.
net::log_sink make_server_log(std::string transport, std::string role, std::size_t threads,
                              log_style style);

/// Prints one log line the CLI writes itself (not a server event), with the time, and
/// flushes it: `event` names it in JSON ("abort"), `text` is the text line and the JSON
/// "message". Call from any one thread at a time.
void print_log_line(const log_style& style, std::string_view event, const std::string& text);

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
