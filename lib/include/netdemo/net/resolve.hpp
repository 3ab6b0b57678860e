// Name resolution and host facts for `netdemo resolve` and `netdemo info`: the socket
// module's utility functions of the seed tutorials (gethostname, getaddrinfo, getfqdn,
// getnameinfo / gethostbyaddr, getservbyname), on the C library calls directly.
//
// Every call here blocks (getaddrinfo has no portable asynchronous form); that suits the
// one-shot subcommands. Inside an io_context use asio::ip::tcp::resolver instead.
// Nothing here prints: failures are netdemo::error with an exit code and one line of text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netdemo::net {

/// Which address families a lookup may return (`-4` / `-6`).
enum class family_filter { any, v4, v6 };

/// One getaddrinfo result.
struct address_info {
  int family = 0;            ///< AF_INET or AF_INET6
  int socktype = 0;          ///< SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, ...
  int protocol = 0;          ///< IPPROTO_TCP, IPPROTO_UDP, 0, ...
  std::string address;       ///< numeric: "127.0.0.1", "::1", "fe80::1%eth0"
  std::uint16_t port = 0;    ///< 0 when no service was asked for
};

/// Everything one getaddrinfo call returned, in its order (duplicates kept).
struct lookup_result {
  std::string canonical_name;  ///< AI_CANONNAME's answer; empty unless asked for
  std::vector<address_info> addresses;  ///< every address, in getaddrinfo's order
};

/// getaddrinfo(host, service). `service` may be empty (port 0), a number 0-65535 or a
/// name from the services database ("http"). A numeric address needs no DNS. With
/// `canonical`, AI_CANONNAME is set and the canonical name returned.
/// Throws netdemo::error: usage (empty host, port number out of range), cannot_resolve
/// (unknown name or service, no address of the wanted family, DNS failure), failure
/// (anything else).
lookup_result lookup(const std::string& host, const std::string& service = {},
                     family_filter family = family_filter::any, bool canonical = false);

/// The name of a numeric address (IPv4, or IPv6 with an optional %scope), as
/// getnameinfo with NI_NAMEREQD finds it (hosts file, then DNS).
/// Throws netdemo::error: usage (not a numeric address), cannot_resolve (no name).
std::string reverse_lookup(const std::string& address);

/// "IPv4", "IPv6", "unix", or "AF_<n>".
std::string family_name(int family);
/// "stream", "dgram", "raw", "seqpacket", or "SOCK_<n>".
std::string socktype_name(int socktype);
/// "tcp", "udp", "sctp", ... "-" for 0 (any), or the number.
std::string protocol_name(int protocol);

/// Who this host says it is.
struct host_identity {
  std::string host_name;  ///< gethostname()
  std::string fqdn;       ///< AI_CANONNAME of the host name, or the host name itself
  bool fqdn_resolved = false;  ///< false: the lookup failed and fqdn is the host name
};

/// gethostname(), then getaddrinfo(host name, AI_CANONNAME); the lookup failing is not an
/// error (the host name stands in). Throws std::system_error if gethostname fails.
host_identity local_identity();

/// One address of a local interface, or an interface with no IP address at all.
struct interface_address {
  std::string name;         ///< "lo", "eth0"
  int family = 0;           ///< AF_INET, AF_INET6, or 0 for an interface without address
  std::string address;      ///< numeric, link-local IPv6 with its %scope; empty if family 0
  int prefix_length = -1;   ///< from the netmask; -1 unknown
  bool up = false;          ///< IFF_UP
  bool running = false;     ///< IFF_RUNNING
  bool loopback = false;    ///< IFF_LOOPBACK
};

/// getifaddrs(): every IPv4 and IPv6 address, grouped by interface in the system's
/// interface order (IPv4 before IPv6, otherwise as listed); interfaces that have no IP
/// address appear once with family 0. Throws std::system_error if getifaddrs fails.
std::vector<interface_address> local_interfaces();

/// Whether this host can use IPv6.
struct ipv6_status {
  bool loopback_bindable = false;  ///< a TCP socket could bind [::1]:0
  std::string bind_error;          ///< why not, when it could not
  std::size_t addresses = 0;       ///< IPv6 addresses on the local interfaces
  /// True when IPv6 can be used here: [::1] binds, or an interface has an IPv6 address.
  bool available() const noexcept { return loopback_bindable || addresses > 0; }
};

/// Tries to bind [::1]:0 and counts the IPv6 addresses in `interfaces`.
ipv6_status probe_ipv6(const std::vector<interface_address>& interfaces);

/// Netmask → prefix length: 255.255.255.0 → 24; -1 if the mask is not contiguous.
/// `mask` points at `size` bytes in network order.
int prefix_length(const unsigned char* mask, std::size_t size) noexcept;

}  // namespace netdemo::net
