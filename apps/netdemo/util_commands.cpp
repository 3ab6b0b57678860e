// resolve and info: the socket utility functions of the seed tutorials (001, 002):
// getaddrinfo / getnameinfo, gethostname, the FQDN, the local interfaces.
#include <sys/socket.h>

#include <algorithm>
#include <iostream>

#include "cli.hpp"
#include "netdemo/net/resolve.hpp"

namespace netdemo::cli {

namespace {

using row = std::vector<std::string>;

/// Prints rows as columns two spaces apart, each line starting with `indent`; the last
/// column is not padded.
void print_table(const std::vector<row>& rows, const std::string& indent = {}) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line = indent;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << '\n';
  }
}

std::string optional_value(const po::variables_map& vm, const char* name) {
  return vm.count(name) ? vm[name].as<std::string>() : std::string();
}

}  // namespace

int resolve(const std::vector<std::string>& args) {
  command_info const info{
      "resolve", "[options] HOST [SERVICE] | --reverse ADDR",
      "Look HOST up with getaddrinfo and print every result on its own line: family\n"
      "(IPv4/IPv6), socket type (stream/dgram/raw), protocol (tcp/udp, '-' for any),\n"
      "address and port, in the resolver's order. SERVICE is a port number or a service\n"
      "name from /etc/services ('http'); without it the port is 0. A numeric address is\n"
      "taken as it is, without DNS. --reverse looks an address up the other way\n"
      "(getnameinfo, a name required) and prints the name. Like Python's\n"
      "socket.getaddrinfo / gethostbyname / gethostbyaddr / getservbyname (seeds 001, 002).\n"
      "A name or address that does not resolve exits 6.",
      "  netdemo resolve localhost               # IPv4  stream  tcp  127.0.0.1  0 ...\n"
      "  netdemo resolve --canonical localhost http\n"
      "  netdemo resolve -6 ::1 443\n"
      "  netdemo resolve --reverse 127.0.0.1     # localhost\n"};
  po::options_description o("Options");
  o.add_options()
      ("ipv4,4", po::bool_switch(), "IPv4 addresses only")
      ("ipv6,6", po::bool_switch(), "IPv6 addresses only")
      ("canonical", po::bool_switch(), "also ask for the canonical name (AI_CANONNAME) and print it first")
      ("reverse,r", po::value<std::string>()->value_name("ADDR"),
       "print the name of address ADDR instead (reverse lookup)")
      ("host", po::value<std::string>()->value_name("HOST"), "host name or address to look up (positional)")
      ("service", po::value<std::string>()->value_name("SERVICE"), "service name or port number (positional, after HOST)");
  po::positional_options_description pos;
  pos.add("host", 1).add("service", 1);
  po::variables_map vm;
  if (!parse(info, args, o, pos, vm)) return 0;

  bool const v4 = vm["ipv4"].as<bool>();
  bool const v6 = vm["ipv6"].as<bool>();
  bool const canonical = vm["canonical"].as<bool>();
  std::string const host = optional_value(vm, "host");
  std::string const service = optional_value(vm, "service");
  if (v4 && v6) throw cli_error(exit_code::usage, "-4 and -6 exclude each other");

  if (vm.count("reverse")) {
    if (vm.count("host") || vm.count("service")) {
      throw cli_error(exit_code::usage, "--reverse takes one address and no HOST or SERVICE");
    }
    if (v4 || v6 || canonical) {
      throw cli_error(exit_code::usage, "-4, -6 and --canonical do not apply to --reverse");
    }
    std::cout << net::reverse_lookup(vm["reverse"].as<std::string>()) << '\n';
    return 0;
  }
  if (!vm.count("host")) throw cli_error(exit_code::usage, "missing HOST (or --reverse ADDR)");

  auto const family = v4 ? net::family_filter::v4 : v6 ? net::family_filter::v6 : net::family_filter::any;
  auto const result = net::lookup(host, service, family, canonical);
  if (canonical) {
    std::cout << "canonical name: "
              << (result.canonical_name.empty() ? "(none given)" : result.canonical_name) << '\n';
  }
  std::vector<row> rows;
  for (const auto& a : result.addresses) {
    rows.push_back({net::family_name(a.family), net::socktype_name(a.socktype),
                    net::protocol_name(a.protocol), a.address, std::to_string(a.port)});
  }
  print_table(rows);
  return 0;
}

int info(const std::vector<std::string>& args) {
  command_info const info{
      "info", "[options]",
      "Print what this host says about itself: the host name (gethostname), the FQDN\n"
      "(the canonical name getaddrinfo gives for the host name; the host name itself when\n"
      "that lookup fails), whether IPv6 is usable (a socket can bind ::1, or an interface\n"
      "has an IPv6 address), and every address of every local interface (getifaddrs) with\n"
      "its prefix length and state. Interfaces without an IP address are listed too.\n"
      "Like Python's socket.gethostname / getfqdn (seeds 001, 002).",
      "  netdemo info\n"
      "  netdemo info | grep IPv6\n"};
  po::options_description o("Options");
  po::positional_options_description pos;
  po::variables_map vm;
  if (!parse(info, args, o, pos, vm)) return 0;

  auto const id = net::local_identity();
  auto const interfaces = net::local_interfaces();
  auto const v6 = net::probe_ipv6(interfaces);

  std::string ipv6 = v6.available() ? "available" : "not available";
  std::string detail = v6.loopback_bindable ? "::1 can be bound" : "cannot bind ::1: " + v6.bind_error;
  detail += "; " + std::to_string(v6.addresses) + (v6.addresses == 1 ? " IPv6 address" : " IPv6 addresses");
  ipv6 += " (" + detail + ")";
  std::string fqdn = id.fqdn;
  if (!id.fqdn_resolved) fqdn += " (the host name does not resolve; shown as is)";

  print_table({{"Host name:", id.host_name}, {"FQDN:", fqdn}, {"IPv6:", ipv6}});
  std::cout << "Interfaces:\n";
  std::vector<row> rows{{"NAME", "FAMILY", "ADDRESS", "PREFIX", "STATE"}};
  for (const auto& i : interfaces) {
    std::string state = i.up ? "up" : "down";
    if (i.loopback) state += " loopback";
    rows.push_back({i.name, i.family == 0 ? "-" : net::family_name(i.family),
                    i.family == 0 ? "(no address)" : i.address,
                    i.prefix_length < 0 ? "-" : std::to_string(i.prefix_length), state});
  }
  print_table(rows, "  ");
  return 0;
}

}  // namespace netdemo::cli
