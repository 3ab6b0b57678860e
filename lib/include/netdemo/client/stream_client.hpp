// A client for stream roles (TCP or Unix stream): connect with a timeout, send messages,
// read replies that end at a line ending or when the server pauses.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "netdemo/net/lookup.hpp"
#include "netdemo/net/tls.hpp"
#include "netdemo/proto/error.hpp"

namespace netdemo::client {

namespace asio = boost::asio;

/// What `read_reply` got.
struct reply {
  std::string data;        ///< the bytes, line ending included
  bool eof = false;        ///< the server closed its side
  bool timed_out = false;  ///< nothing arrived in time
  bool unclean = false;    ///< with `eof`: over TLS, the server closed TCP without close_notify
};

/// How replies are delimited.
enum class reply_framing : std::uint8_t {
  pause,  ///< a reply is whatever arrives until the server goes quiet (seed style)
  line,   ///< a reply ends with LF
};

/// A connected stream with message helpers. Errors are `netdemo::error`s
/// (std::system_error) with a netdemo::errc code, or the system's code for a failed send
/// or receive.
///
/// `Stream` is the protocol's socket by default; any stream with the socket's
/// `async_read_some`, `async_write_some` and `shutdown(shutdown_type, error_code&)` works
/// too (net::tls_stream: see connect_tls()). Not thread safe: use one client from one
/// coroutine at a time, on the stream's executor.
template <class Protocol, class Stream = typename Protocol::socket>
class stream_client {
 public:
  /// The connected stream's type: the protocol's socket, or a TLS stream over it.
  using socket_type = Stream;

  /// Takes a connected socket (connect_tcp, connect_unix make one).
  explicit stream_client(socket_type socket) : socket_(std::move(socket)) {}

  /// The socket, for options or to close it. Threading: the client's executor only.
  socket_type& socket() noexcept { return socket_; }

  /// Sends all of `bytes`.
  asio::awaitable<void> send(std::string_view bytes) {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                                              asio::as_tuple(asio::use_awaitable));
    if (ec) throw error(ec, "send failed: " + ec.message());
  }

  /// Waits up to `wait` for a reply to begin, then reads until it is complete: a line
  /// ending (line framing) or `pause` without more bytes (pause framing).
  asio::awaitable<reply> read_reply(std::chrono::milliseconds wait,
                                    std::chrono::milliseconds pause, reply_framing framing) {
    using namespace asio::experimental::awaitable_operators;
    reply r;
    if (framing == reply_framing::line && take_line(r.data)) co_return r;
    r.data = std::exchange(leftover_, {});
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer(ex);
    char buf[16 * 1024];
    for (;;) {
      timer.expires_after(r.data.empty() || framing == reply_framing::line ? wait : pause);
      auto res = co_await (socket_.async_read_some(asio::buffer(buf),
                                                   asio::as_tuple(asio::use_awaitable)) ||
                           timer.async_wait(asio::as_tuple(asio::use_awaitable)));
      if (res.index() == 1) {
        r.timed_out = r.data.empty() || framing == reply_framing::line;
        if (framing == reply_framing::line) leftover_ = std::exchange(r.data, {});
        co_return r;
      }
      auto [ec, n] = std::get<0>(res);
      if (ec == asio::error::eof || ec == net::tls_errc::truncated) {
        // Many TLS servers close without close_notify; the bytes that came are kept and
        // the caller decides what an unclean end means.
        r.eof = true;
        r.unclean = ec != asio::error::eof;
        co_return r;
      }
      if (ec) throw error(ec, "receive failed: " + ec.message());
      r.data.append(buf, n);
      if (framing == reply_framing::line) {
        leftover_ = std::exchange(r.data, {});
        if (take_line(r.data)) co_return r;
      }
    }
  }

  /// Half-closes: the server sees EOF (over TLS: close_notify first) and can still answer.
  void shutdown_send() {
    boost::system::error_code ec;
    socket_.shutdown(asio::socket_base::shutdown_send, ec);
  }

 private:
  bool take_line(std::string& out) {
    auto const nl = leftover_.find('\n');
    if (nl == std::string::npos) return false;
    out.assign(leftover_, 0, nl + 1);
    leftover_.erase(0, nl + 1);
    return true;
  }

  socket_type socket_;
  std::string leftover_;
};

/// Looks `host` up and connects to the first of its addresses that answers: the lookup
/// and the connect together within `timeout` (net::async_lookup: a lookup that stalls
/// counts against it and is abandoned at the deadline).
///
/// Threading: co_await it on the executor the client will use. Cancellation: cancelling
/// the awaiting operation abandons the lookup, or closes the connecting socket.
/// @param lookup the blocking lookup to use; empty: the system's (net::system_lookup).
/// @throws netdemo::error with errc::cannot_resolve, errc::cannot_connect, or
///         errc::timeout ("cannot connect to H:P: no answer within T", the lookup included).
asio::awaitable<stream_client<asio::ip::tcp>> connect_tcp(std::string host, std::uint16_t port,
                                                          std::chrono::milliseconds timeout,
                                                          net::lookup_function lookup = {});

/// Connects to a Unix stream socket at `path`. Errors: usage (2) for a path that cannot
/// name a socket (net::check_unix_path), cannot_connect (7), timeout (28).
asio::awaitable<stream_client<asio::local::stream_protocol>> connect_unix(
    std::string path, std::chrono::milliseconds timeout);

}  // namespace netdemo::client
