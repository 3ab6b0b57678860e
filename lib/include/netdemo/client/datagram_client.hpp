// A request/reply client for datagram roles (UDP or Unix datagram), with a timeout and
// retries: the seed's client waits forever for a lost datagram; this one does not.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>

#include "netdemo/net/lookup.hpp"
#include "netdemo/proto/error.hpp"

namespace netdemo::client {

namespace asio = boost::asio;

/// Largest reply taken whole; a longer one is reported as truncated.
inline constexpr std::size_t max_reply_datagram = 64 * 1024;

/// One answered request.
struct datagram_reply {
  std::string data;        ///< the reply's bytes (at most max_reply_datagram)
  int attempts = 1;        ///< datagrams sent before the reply came
  bool truncated = false;  ///< the reply was longer than max_reply_datagram
};

/// A connected datagram socket (so ICMP "port unreachable" is reported as refused).
template <class Protocol>
class datagram_client {
 public:
  /// The connected socket's type.
  using socket_type = typename Protocol::socket;

  /// Takes a connected socket (connect_udp, connect_unix_datagram make one).
  explicit datagram_client(socket_type socket)
      : socket_(std::move(socket)), buf_(max_reply_datagram + 1) {}

  /// The socket, for options or to close it. Threading: the client's executor only.
  socket_type& socket() noexcept { return socket_; }

  /// Sends `msg` and waits `timeout` for the reply, resending up to `retries` times.
  /// Errors: timeout (28) when no reply came, cannot_connect (7) when refused.
  asio::awaitable<datagram_reply> request(std::string_view msg, std::chrono::milliseconds timeout,
                                          int retries);

 private:
  void drain_stale() noexcept;
  std::string peer_text() const;
  std::string refused_text() const;

  socket_type socket_;
  std::vector<char> buf_;
};

extern template class datagram_client<asio::ip::udp>;
extern template class datagram_client<asio::local::datagram_protocol>;

/// Looks `host` up (net::async_lookup, abandoned after `lookup_timeout`) and connects a
/// UDP socket to its first address.
///
/// Threading: co_await it on the executor the client will use. Cancellation: cancelling
/// the awaiting operation abandons the lookup.
/// @throws netdemo::error with errc::cannot_resolve, errc::timeout (no answer from the
///         lookup in time) or errc::cannot_connect (the socket cannot be opened or connected).
asio::awaitable<datagram_client<asio::ip::udp>> connect_udp(
    std::string host, std::uint16_t port,
    std::chrono::milliseconds lookup_timeout = std::chrono::seconds(5));

/// Connects a Unix datagram socket to `path`, bound to an automatic abstract address
/// so that the server can answer. Errors: usage (2) for a path that cannot name a socket
/// (net::check_unix_path), cannot_connect (7).
asio::awaitable<datagram_client<asio::local::datagram_protocol>> connect_unix_datagram(
    std::string path);

}  // namespace netdemo::client
