#include "netdemo/net/endpoints.hpp"

#include "netdemo/proto/error.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/v6_only.hpp>

namespace netdemo::net {

namespace {

template <class Endpoint>
std::string ip_to_string(const Endpoint& ep) {
  auto a = ep.address();
  // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; show them as users know them.
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  std::string s = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  s += ':';
  s += std::to_string(ep.port());
  return s;
}

template <class Endpoint>
std::string local_to_string(const Endpoint& ep) {
  std::string p = ep.path();
  if (p.empty()) return "unix:(unnamed)";
  if (p.front() == '\0') p.front() = '@';  // Linux abstract name, shown as ss(8) does
  return p;
}

[[noreturn]] void throw_at(const boost::system::error_code& ec, const std::string& what) {
  throw std::system_error(std::error_code(ec.value(), std::system_category()), what);
}

template <class Protocol>
std::vector<typename Protocol::endpoint> resolve_passive(const asio::any_io_executor& ex,
                                                         const std::string& host,
                                                         std::uint16_t port) {
  std::vector<typename Protocol::endpoint> out;
  boost::system::error_code ec;
  auto const addr = asio::ip::make_address(host, ec);
  if (!ec) {
    out.emplace_back(addr, port);
    return out;
  }
  typename Protocol::resolver resolver(ex);
  auto const results = resolver.resolve(host, std::to_string(port),
                                        Protocol::resolver::passive |
                                            Protocol::resolver::numeric_service,
                                        ec);
  if (ec) throw error(errc::cannot_resolve, "cannot resolve '" + host + "': " + ec.message());
  for (const auto& r : results) {
    bool seen = false;
    for (const auto& e : out) seen = seen || e == r.endpoint();
    if (!seen) out.push_back(r.endpoint());
  }
  return out;
}

using reuse_port_option = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

template <class Socket, class Endpoint>
void bind_one(Socket& s, const Endpoint& ep, bool reuse, bool share_port) {
  boost::system::error_code ec;
  s.open(ep.protocol(), ec);
  if (ec) throw_at(ec, "cannot open a socket for " + ip_to_string(ep));
  if (reuse) s.set_option(asio::socket_base::reuse_address(true), ec);
  if (share_port) {
    s.set_option(reuse_port_option(true), ec);
    if (ec) throw_at(ec, "cannot share the port (SO_REUSEPORT)");
  }
  if (ep.address().is_v6() && ep.address().is_unspecified()) {
    // Dual stack: "::" also takes IPv4 (as ::ffff:a.b.c.d) unless the system forbids it.
    s.set_option(asio::ip::v6_only(false), ec);
  }
  s.bind(ep, ec);
  if (ec) throw_at(ec, "cannot bind " + ip_to_string(ep));
}

bool is_dual_stack(const asio::ip::tcp::acceptor& a) {
  asio::ip::v6_only v6;
  boost::system::error_code ec;
  a.get_option(v6, ec);
  return !ec && !v6.value();
}

}  // namespace

std::string to_string(const asio::ip::tcp::endpoint& ep) { return ip_to_string(ep); }
std::string to_string(const asio::ip::udp::endpoint& ep) { return ip_to_string(ep); }
std::string to_string(const asio::local::stream_protocol::endpoint& ep) {
  return local_to_string(ep);
}
std::string to_string(const asio::local::datagram_protocol::endpoint& ep) {
  return local_to_string(ep);
}

std::vector<asio::ip::tcp::acceptor> open_tcp_listeners(const asio::any_io_executor& ex,
                                                        const std::string& host,
                                                        std::uint16_t port, bool share_port) {
  using asio::ip::tcp;
  auto endpoints = resolve_passive<tcp>(ex, host, port);
  std::vector<tcp::acceptor> out;
  for (auto ep : endpoints) {
    // Every listener of one server shares the first one's port, also when it was 0.
    if (!out.empty()) ep.port(out.front().local_endpoint().port());
    tcp::acceptor a(ex);
    try {
      bind_one(a, ep, true, share_port);
    } catch (const std::system_error& e) {
      // A name such as "localhost" may list ::1 on a host without IPv6: serve the
      // addresses that work. A failure on the only address (or on all) is an error.
      bool const unusable = e.code() == std::errc::address_not_available ||
                            e.code() == std::errc::address_family_not_supported;
      if (endpoints.size() > 1 && unusable && (!out.empty() || ep != endpoints.back())) continue;
      throw;
    }
    boost::system::error_code ec;
    a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw_at(ec, "cannot listen on " + ip_to_string(ep));
    bool const need_v4 = ep.address().is_v6() && ep.address().is_unspecified() &&
                         !is_dual_stack(a);
    std::uint16_t const bound_port = a.local_endpoint().port();
    out.push_back(std::move(a));
    if (need_v4) {
      tcp::acceptor v4(ex);
      bind_one(v4, tcp::endpoint(tcp::v4(), bound_port), true, share_port);
      v4.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) throw_at(ec, "cannot listen on 0.0.0.0");
      out.push_back(std::move(v4));
    }
  }
  return out;
}

asio::ip::udp::socket open_udp_socket(const asio::any_io_executor& ex, const std::string& host,
                                      std::uint16_t port, bool share_port) {
  using asio::ip::udp;
  auto endpoints = resolve_passive<udp>(ex, host, port);
  udp::socket s(ex);
  // No SO_REUSEADDR: for UDP it would let a second server bind the same port and
  // silently take datagrams, and UDP has no TIME_WAIT that it would help with.
  bind_one(s, endpoints.front(), false, share_port);
  return s;
}

std::string unix_path_problem(std::string_view path) {
  if (path.empty()) return "the Unix socket path is empty";
  if (path.size() > max_unix_path) {
    return "the Unix socket path is " + std::to_string(path.size()) + " bytes long; the limit is " +
           std::to_string(max_unix_path) + " (sockaddr_un.sun_path)";
  }
  return {};
}

void check_unix_path(std::string_view path) {
  auto problem = unix_path_problem(path);
  if (!problem.empty()) throw error(errc::invalid_argument, problem + ": '" + std::string(path) + "'");
}

void claim_unix_path(const std::string& path, bool datagram) {
  check_unix_path(path);
  struct ::stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::system_error(errno, std::system_category(), "cannot use " + path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw std::system_error(std::make_error_code(std::errc::file_exists),
                            path + " exists and is not a socket; not touching it");
  }
  // A socket file: is anybody listening on it?
  asio::io_context probe_ctx;
  boost::system::error_code ec;
  if (datagram) {
    asio::local::datagram_protocol::socket probe(probe_ctx);
    probe.open(asio::local::datagram_protocol(), ec);
    if (!ec) probe.connect(asio::local::datagram_protocol::endpoint(path), ec);
  } else {
    asio::local::stream_protocol::socket probe(probe_ctx);
    probe.connect(asio::local::stream_protocol::endpoint(path), ec);
  }
  if (!ec) {
    throw std::system_error(std::make_error_code(std::errc::address_in_use),
                            path + " is in use by a running server");
  }
  if (ec != asio::error::connection_refused) {
    throw std::system_error(std::error_code(ec.value(), std::system_category()),
                            "cannot probe " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw std::system_error(errno, std::system_category(), "cannot remove stale " + path);
  }
}

asio::local::stream_protocol::acceptor open_unix_listener(const asio::any_io_executor& ex,
                                                          const std::string& path) {
  claim_unix_path(path, false);
  asio::local::stream_protocol::acceptor a(ex);
  boost::system::error_code ec;
  a.open(asio::local::stream_protocol(), ec);
  if (!ec) a.bind(asio::local::stream_protocol::endpoint(path), ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw_at(ec, "cannot listen on " + path);
  return a;
}

asio::local::datagram_protocol::socket open_unix_datagram(const asio::any_io_executor& ex,
                                                          const std::string& path) {
  claim_unix_path(path, true);
  asio::local::datagram_protocol::socket s(ex);
  boost::system::error_code ec;
  s.open(asio::local::datagram_protocol(), ec);
  if (!ec) s.bind(asio::local::datagram_protocol::endpoint(path), ec);
  if (ec) throw_at(ec, "cannot bind " + path);
  return s;
}

unix_path_owner::unix_path_owner(std::string path) : path_(std::move(path)) {
  struct ::stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    inode_ = st.st_ino;
    device_ = st.st_dev;
  } else {
    path_.clear();
  }
}

unix_path_owner::unix_path_owner(unix_path_owner&& other) noexcept
    : path_(std::move(other.path_)), inode_(other.inode_), device_(other.device_) {
  other.path_.clear();
}

unix_path_owner& unix_path_owner::operator=(unix_path_owner&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    inode_ = other.inode_;
    device_ = other.device_;
    other.path_.clear();
  }
  return *this;
}

unix_path_owner::~unix_path_owner() { release(); }

void unix_path_owner::release() noexcept {
  if (path_.empty()) return;
  struct ::stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == inode_ &&
      st.st_dev == device_) {
    ::unlink(path_.c_str());
  }
  path_.clear();
}

}  // namespace netdemo::net
