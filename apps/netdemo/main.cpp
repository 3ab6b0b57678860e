// netdemo: one executable, the role picked by a subcommand.
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "netdemo/version.hpp"

namespace {

struct subcommand {
  const char* name;
  int (*run)(const std::vector<std::string>&);
  const char* summary;
};

constexpr subcommand subcommands[] = {
    {"tcp-server", netdemo::cli::tcp_server, "serve a role (default hello) over TCP or a Unix stream socket"},
    {"udp-server", netdemo::cli::udp_server, "serve a role (default hello) over UDP or a Unix datagram socket"},
    {"timestamp-server", netdemo::cli::timestamp_server, "seed 002: answer '[<ctime>] <msg>' over TCP or UDP"},
    {"command-server", netdemo::cli::command_server, "seed 004: date / os / ls confined to --root"},
    {"tcp-client", netdemo::cli::tcp_client, "send messages to a stream server and print the replies"},
    {"command-client", netdemo::cli::command_client, "seed 004: interactive '> ' prompt for command-server"},
    {"udp-client", netdemo::cli::udp_client, "send datagrams and print the replies (timeout, retries)"},
    {"resolve", netdemo::cli::resolve, "look a host up (getaddrinfo) or an address up (--reverse)"},
    {"http-get", netdemo::cli::http_get, "fetch a URL over HTTP/HTTPS: headers to stdout, body to a file"},
    {"info", netdemo::cli::info, "host name, FQDN, local addresses, IPv6 availability"},
    {"bench", netdemo::cli::bench, "load generator: msgs/s, MB/s, latency; checks every reply"},
};

void print_usage(std::ostream& os) {
  os << "Usage: netdemo <command> [options]   (netdemo <command> --help for each)\n\n"
        "Asynchronous socket programs from the Python socket tutorials, in C++.\n\nCommands:\n";
  for (const auto& c : subcommands) {
    os << "  " << c.name << std::string(18 - std::strlen(c.name), ' ') << c.summary << '\n';
  }
  os << "\nExamples:\n"
        "  netdemo tcp-server --port 9999\n"
        "  netdemo tcp-client --port 9999 Michael Tracy Sarah\n"
        "  netdemo udp-server --role upper\n\n"
        "Exit codes: 0 ok, 1 runtime failure, 2 usage, 6 cannot resolve, 7 cannot connect,\n"
        "8 malformed reply, 18 partial body, 22 HTTP error (--fail), 23 write error,\n"
        "28 timeout, 47 too many redirects, 60 TLS verification failed, 130 interrupted.\n";
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout (`netdemo tcp-server | head -1`) must not kill a server through SIGPIPE;
  // sockets already use MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  // Before anything opens a descriptor: with `>&-`, log lines went into the io_context's
  // eventfd, which took number 1.
  netdemo::cli::reserve_standard_descriptors();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return 2;
  }
  std::string const command = args.front();
  if (command == "-h" || command == "--help" || command == "help") {
    return netdemo::cli::guarded("--help", [] {
      print_usage(std::cout);
      return 0;
    });
  }
  if (command == "--version" || command == "-V") {
    return netdemo::cli::guarded("--version", [] {
      std::cout << "netdemo " << NETDEMO_VERSION << '\n';
      return 0;
    });
  }
  args.erase(args.begin());
  for (const auto& c : subcommands) {
    if (command == c.name) return netdemo::cli::guarded(command, [&] { return c.run(args); });
  }
  std::cerr << "netdemo: unknown command '" << command << "'\nTry 'netdemo --help'.\n";
  return 2;
}
