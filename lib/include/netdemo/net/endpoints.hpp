// Opening listeners: name resolution, SO_REUSEADDR, dual stack, Unix paths.
#pragma once

#include <sys/un.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/local/stream_protocol.hpp>

namespace netdemo::net {

namespace asio = boost::asio;

/// "127.0.0.1:9999", "[::1]:9999".
std::string to_string(const asio::ip::tcp::endpoint& ep);
std::string to_string(const asio::ip::udp::endpoint& ep);
/// A Unix socket's path, or "unix:(unnamed)" for an unbound peer.
std::string to_string(const asio::local::stream_protocol::endpoint& ep);
std::string to_string(const asio::local::datagram_protocol::endpoint& ep);

/// The longest Unix socket path: sockaddr_un's sun_path, less its terminating NUL.
inline constexpr std::size_t max_unix_path = sizeof(sockaddr_un::sun_path) - 1;

/// Why `path` cannot name a Unix socket (it is empty, or longer than max_unix_path), as
/// one sentence; empty when it can.
std::string unix_path_problem(std::string_view path);

/// Throws netdemo::error(usage) saying `unix_path_problem`, if there is one. Every function
/// here and in netdemo/client that takes a Unix path checks it so, instead of letting the
/// kernel's "File name too long" through.
void check_unix_path(std::string_view path);

/// Binds TCP listeners for `host` (an address or a name; every address it resolves to
/// gets a listener, all on the same port). `::` is dual-stack (IPV6_V6ONLY off; where
/// the system refuses that, an IPv4 listener is added). Port 0 picks a free port.
/// SO_REUSEADDR is on. With `share_port`, SO_REUSEPORT is on too, so that the
/// listeners of several threads (each opened with it) take turns on one port. Throws
/// std::system_error with the address in the message, or netdemo::error(cannot_resolve)
/// when the name does not resolve.
std::vector<asio::ip::tcp::acceptor> open_tcp_listeners(const asio::any_io_executor& ex,
                                                        const std::string& host,
                                                        std::uint16_t port,
                                                        bool share_port = false);

/// Binds one UDP socket for `host` (its first address; `::` is dual-stack). No
/// SO_REUSEADDR: a port already taken is an error. `share_port` as for TCP (the
/// kernel then spreads senders over the sockets by address and port).
asio::ip::udp::socket open_udp_socket(const asio::any_io_executor& ex, const std::string& host,
                                      std::uint16_t port, bool share_port = false);

/// Binds a Unix stream listener at `path` after `check_unix_path` and `claim_unix_path`.
asio::local::stream_protocol::acceptor open_unix_listener(const asio::any_io_executor& ex,
                                                          const std::string& path);

/// Binds a Unix datagram socket at `path` after `check_unix_path` and `claim_unix_path`.
asio::local::datagram_protocol::socket open_unix_datagram(const asio::any_io_executor& ex,
                                                          const std::string& path);

/// Makes `path` free for a new socket: nothing there → fine; a socket nobody answers on
/// (left by a dead server) → removed; a live socket or any other kind of file → throws
/// std::system_error saying so. `datagram` chooses how liveness is probed. A path that
/// cannot name a socket throws as `check_unix_path` does.
void claim_unix_path(const std::string& path, bool datagram);

/// Removes the socket file at `path` when destroyed, if it is still the one bound here
/// (same inode): a later server that replaced it keeps its file.
class unix_path_owner {
 public:
  unix_path_owner() = default;
  /// Owns the socket file just bound at `path` (records its inode; when the file cannot
  /// be found, owns nothing). Does not throw beyond allocation.
  explicit unix_path_owner(std::string path);
  /// Takes over `other`'s file; `other` then removes nothing.
  unix_path_owner(unix_path_owner&& other) noexcept;
  /// Removes the file owned now (as the destructor does), then takes over `other`'s.
  unix_path_owner& operator=(unix_path_owner&& other) noexcept;
  unix_path_owner(const unix_path_owner&) = delete;
  unix_path_owner& operator=(const unix_path_owner&) = delete;
  ~unix_path_owner();

 private:
  void release() noexcept;
  std::string path_;
  std::uint64_t inode_ = 0;
  std::uint64_t device_ = 0;
};

}  // namespace netdemo::net
