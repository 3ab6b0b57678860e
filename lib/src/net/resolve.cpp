#include "netdemo/net/resolve.hpp"

#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>

#include "netdemo/proto/error.hpp"

namespace netdemo::net {

namespace {

struct addrinfo_deleter {
  void operator()(::addrinfo* p) const noexcept { ::freeaddrinfo(p); }
};
using addrinfo_ptr = std::unique_ptr<::addrinfo, addrinfo_deleter>;

struct ifaddrs_deleter {
  void operator()(::ifaddrs* p) const noexcept { ::freeifaddrs(p); }
};
using ifaddrs_ptr = std::unique_ptr<::ifaddrs, ifaddrs_deleter>;

std::string errno_text(int e) { return std::generic_category().message(e); }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

/// The numeric address of a sockaddr ("::1", "fe80::1%eth0"), or "" if it has none.
std::string numeric_host(const ::sockaddr* sa, ::socklen_t len) {
  char host[NI_MAXHOST];
  if (::getnameinfo(sa, len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) return {};
  return host;
}

std::uint16_t port_of(const ::sockaddr* sa) {
  // The port sits at the same place in sockaddr_in and sockaddr_in6; copy it out
  // rather than cast, so alignment and aliasing never matter.
  std::uint16_t net_port = 0;
  if (sa->sa_family == AF_INET) {
    std::memcpy(&net_port, reinterpret_cast<const char*>(sa) + offsetof(::sockaddr_in, sin_port),
                sizeof net_port);
  } else if (sa->sa_family == AF_INET6) {
    std::memcpy(&net_port,
                reinterpret_cast<const char*>(sa) + offsetof(::sockaddr_in6, sin6_port),
                sizeof net_port);
  }
  return ntohs(net_port);
}

::socklen_t sockaddr_size(int family) {
  return family == AF_INET6 ? static_cast<::socklen_t>(sizeof(::sockaddr_in6))
                            : static_cast<::socklen_t>(sizeof(::sockaddr_in));
}

/// Whether a getaddrinfo / getnameinfo code means "the name system has no answer" (as
/// opposed to a local failure).
bool is_not_found(int rc) {
  switch (rc) {
    case EAI_NONAME:
    case EAI_AGAIN:
    case EAI_FAIL:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
      return true;
    default:
      return false;
  }
}

[[noreturn]] void throw_gai(int rc, int saved_errno, const std::string& what) {
  if (rc == EAI_SYSTEM) throw error(std::error_code(saved_errno, std::generic_category()), what + ": " + errno_text(saved_errno));
  if (is_not_found(rc)) throw error(errc::cannot_resolve, what + ": " + ::gai_strerror(rc));
  throw error(errc::lookup_failed, what + ": " + ::gai_strerror(rc));
}

const char* family_word(family_filter f) {
  switch (f) {
    case family_filter::v4: return " as IPv4";
    case family_filter::v6: return " as IPv6";
    case family_filter::any: break;
  }
  return "";
}

}  // namespace

lookup_result lookup(const std::string& host, const std::string& service, family_filter family,
                     bool canonical) {
  if (host.empty()) throw error(errc::invalid_argument, "the host name is empty");
  ::addrinfo hints{};
  hints.ai_family = family == family_filter::v4   ? AF_INET
                    : family == family_filter::v6 ? AF_INET6
                                                  : AF_UNSPEC;
  if (canonical) hints.ai_flags |= AI_CANONNAME;
  std::string_view const sv(service);
  bool const signed_number = sv.size() > 1 && (sv[0] == '-' || sv[0] == '+') && all_digits(sv.substr(1));
  bool too_big = false;
  if (all_digits(sv)) {
    unsigned long value = 0;
    for (char const c : sv) {
      value = value * 10 + static_cast<unsigned long>(c - '0');
      if (value > 65535) {
        too_big = true;
        break;
      }
    }
  }
  if (signed_number || too_big) {
    // getaddrinfo would take 70000 as 70000 % 65536 without a word.
    throw error(errc::invalid_argument, "port " + service + " is out of range (0-65535)");
  }
  if (all_digits(sv)) hints.ai_flags |= AI_NUMERICSERV;

  ::addrinfo* raw = nullptr;
  errno = 0;
  int const rc = ::getaddrinfo(host.c_str(), service.empty() ? nullptr : service.c_str(), &hints, &raw);
  int const saved_errno = errno;
  addrinfo_ptr const list(raw);
  if (rc == EAI_SERVICE) {
    throw error(errc::cannot_resolve, "unknown service " + quoted(service) +
                                               " (not a port number, not in the services database)");
  }
  if (rc != 0) throw_gai(rc, saved_errno, "cannot resolve " + quoted(host) + family_word(family));

  lookup_result out;
  for (const ::addrinfo* p = list.get(); p != nullptr; p = p->ai_next) {
    if (canonical && out.canonical_name.empty() && p->ai_canonname != nullptr) {
      out.canonical_name = p->ai_canonname;
    }
    if (p->ai_addr == nullptr) continue;
    address_info a;
    a.family = p->ai_family;
    a.socktype = p->ai_socktype;
    a.protocol = p->ai_protocol;
    a.address = numeric_host(p->ai_addr, p->ai_addrlen);
    a.port = port_of(p->ai_addr);
    out.addresses.push_back(std::move(a));
  }
  if (out.addresses.empty()) {
    throw error(errc::cannot_resolve, "cannot resolve " + quoted(host) + family_word(family) +
                                               ": no addresses");
  }
  return out;
}

std::string reverse_lookup(const std::string& address) {
  ::addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_socktype = SOCK_STREAM;  // one result is enough
  ::addrinfo* raw = nullptr;
  int const parsed = address.empty() ? EAI_NONAME : ::getaddrinfo(address.c_str(), nullptr, &hints, &raw);
  addrinfo_ptr const list(raw);
  if (parsed != 0 || list == nullptr || list->ai_addr == nullptr) {
    if (address.find('%') != std::string::npos) {
      throw error(errc::invalid_argument, quoted(address) +
                                        " is not an IPv6 address with the scope of a local interface");
    }
    throw error(errc::invalid_argument,
                quoted(address) + " is not an IPv4 or IPv6 address (--reverse takes an address)");
  }
  char name[NI_MAXHOST];
  errno = 0;
  int const rc = ::getnameinfo(list->ai_addr, list->ai_addrlen, name, sizeof name, nullptr, 0,
                               NI_NAMEREQD);
  int const saved_errno = errno;
  if (rc != 0) throw_gai(rc, saved_errno, "no name for " + address);
  return name;
}

std::string family_name(int family) {
  switch (family) {
    case AF_INET: return "IPv4";
    case AF_INET6: return "IPv6";
    case AF_UNIX: return "unix";
    default: return "AF_" + std::to_string(family);
  }
}

std::string socktype_name(int socktype) {
  switch (socktype) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "dgram";
    case SOCK_RAW: return "raw";
    case SOCK_SEQPACKET: return "seqpacket";
    case SOCK_RDM: return "rdm";
    default: return "SOCK_" + std::to_string(socktype);
  }
}

std::string protocol_name(int protocol) {
  switch (protocol) {
    case 0: return "-";
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_DCCP: return "dccp";
    case IPPROTO_UDPLITE: return "udplite";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    default: return std::to_string(protocol);
  }
}

host_identity local_identity() {
  host_identity id;
  char buf[HOST_NAME_MAX + 1] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) {
    throw std::system_error(errno, std::generic_category(), "gethostname");
  }
  id.host_name = buf;
  id.fqdn = id.host_name;
  ::addrinfo hints{};
  hints.ai_flags = AI_CANONNAME;
  hints.ai_socktype = SOCK_STREAM;
  ::addrinfo* raw = nullptr;
  if (!id.host_name.empty() && ::getaddrinfo(id.host_name.c_str(), nullptr, &hints, &raw) == 0) {
    addrinfo_ptr const list(raw);
    if (list && list->ai_canonname != nullptr && *list->ai_canonname != '\0') {
      id.fqdn = list->ai_canonname;
      id.fqdn_resolved = true;
    }
  }
  return id;
}

int prefix_length(const unsigned char* mask, std::size_t size) noexcept {
  int bits = 0;
  bool ended = false;
  for (std::size_t i = 0; i < size; ++i) {
    for (int b = 7; b >= 0; --b) {
      bool const one = ((mask[i] >> b) & 1U) != 0;
      if (one && ended) return -1;  // a one after a zero: not a prefix
      if (one) ++bits;
      else ended = true;
    }
  }
  return bits;
}

std::vector<interface_address> local_interfaces() {
  ::ifaddrs* raw = nullptr;
  if (::getifaddrs(&raw) != 0) throw std::system_error(errno, std::generic_category(), "getifaddrs");
  ifaddrs_ptr const list(raw);

  // Interface names in the order the system lists them (its AF_PACKET entries come first,
  // by index), then each interface's IPv4 and IPv6 addresses.
  std::vector<std::string> names;
  for (const ::ifaddrs* p = list.get(); p != nullptr; p = p->ifa_next) {
    if (p->ifa_name != nullptr && std::find(names.begin(), names.end(), p->ifa_name) == names.end()) {
      names.emplace_back(p->ifa_name);
    }
  }
  std::vector<interface_address> out;
  for (const auto& name : names) {
    std::size_t const before = out.size();
    unsigned flags = 0;
    for (int const family : {AF_INET, AF_INET6}) {
      for (const ::ifaddrs* p = list.get(); p != nullptr; p = p->ifa_next) {
        if (p->ifa_name == nullptr || name != p->ifa_name) continue;
        flags = p->ifa_flags;
        if (p->ifa_addr == nullptr || p->ifa_addr->sa_family != family) continue;
        interface_address a;
        a.name = name;
        a.family = family;
        a.address = numeric_host(p->ifa_addr, sockaddr_size(family));
        if (p->ifa_netmask != nullptr && p->ifa_netmask->sa_family == family) {
          if (family == AF_INET) {
            ::sockaddr_in m{};
            std::memcpy(&m, p->ifa_netmask, sizeof m);
            a.prefix_length = prefix_length(reinterpret_cast<const unsigned char*>(&m.sin_addr),
                                            sizeof m.sin_addr);
          } else {
            ::sockaddr_in6 m{};
            std::memcpy(&m, p->ifa_netmask, sizeof m);
            a.prefix_length = prefix_length(reinterpret_cast<const unsigned char*>(&m.sin6_addr),
                                            sizeof m.sin6_addr);
          }
        }
        out.push_back(std::move(a));
      }
    }
    if (out.size() == before) {
      interface_address a;
      a.name = name;
      out.push_back(std::move(a));
    }
    for (std::size_t i = before; i < out.size(); ++i) {
      out[i].up = (flags & IFF_UP) != 0;
      out[i].running = (flags & IFF_RUNNING) != 0;
      out[i].loopback = (flags & IFF_LOOPBACK) != 0;
    }
  }
  return out;
}

ipv6_status probe_ipv6(const std::vector<interface_address>& interfaces) {
  ipv6_status s;
  for (const auto& i : interfaces) {
    if (i.family == AF_INET6) ++s.addresses;
  }
  int const fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    s.bind_error = errno_text(errno);
    return s;
  }
  ::sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  sa.sin6_port = 0;
  if (::bind(fd, reinterpret_cast<const ::sockaddr*>(&sa), sizeof sa) == 0) {
    s.loopback_bindable = true;
  } else {
    s.bind_error = errno_text(errno);
  }
  ::close(fd);
  return s;
}

}  // namespace netdemo::net
