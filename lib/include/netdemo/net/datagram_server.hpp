// A datagram server (UDP or Unix datagram): one receive loop answering each datagram.
// Its steps: receive, answer_now (check, ask the handler, bound the reply, send at once),
// send_late (only when the socket is full), replied (report).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/limits.hpp"
#include "netdemo/net/log.hpp"
#include "netdemo/net/would_block.hpp"

namespace netdemo::net {

namespace asio = boost::asio;

/// What a datagram handler must offer (see proto/handlers.hpp).
template <class H>
concept datagram_handler = requires(H& h, std::string_view in, std::string& out) {
  { h.on_datagram(in, out) } -> std::convertible_to<bool>;
};

/// A datagram handler that words the refusal of a reply too large for a datagram itself
/// (`reason` is the server's generic wording, e.g. to mirror the request's line ending).
/// Other handlers get `ERR <reason>`.
template <class H>
concept words_oversized_replies =
    requires(H& h, std::string_view in, std::string_view reason, std::string& out) {
      h.on_reply_too_large(in, reason, out);
    };

/// The largest UDP reply to a request of `request` bytes: three times the request plus
/// 64 bytes (docs/limits.md). Anyone can put a victim's address on a UDP datagram; this
/// keeps a netdemo server from being a reflection amplifier (QUIC's anti-amplification
/// limit is 3x too). The 64 bytes let a short request get its short reply (`Hello, !`,
/// a time stamp, `help`), and on the wire a reply is still at most 3.3 times its
/// request: an IPv4 datagram carries 28 bytes of headers besides the payload.
constexpr std::size_t max_udp_reply(std::size_t request) noexcept { return 3 * request + 64; }

/// Serves one role on one datagram socket.
///
/// `Protocol` is `asio::ip::udp` or `asio::local::datagram_protocol`. Datagrams longer
/// than `max_datagram` are dropped (and reported), never answered truncated. A reply
/// over UDP is at most `max_udp_reply(request)` bytes and must fit in one datagram; a
/// larger one is replaced by a short `ERR` line (reported as `limit:reply`). Not thread
/// safe: call everything on the socket's executor.
template <class Protocol, datagram_handler Handler>
class datagram_server {
 public:
  /// The bound datagram socket the server owns.
  using socket_type = typename Protocol::socket;
  /// A peer's (or the local) address.
  using endpoint_type = typename Protocol::endpoint;

  /// Takes a bound socket; `limits.max_datagram` sizes the receive buffer.
  datagram_server(socket_type socket, Handler handler, server_limits limits, log_sink log)
      : socket_(std::move(socket)),
        handler_(std::move(handler)),
        limits_(limits),
        log_(std::move(log)),
        grace_timer_(socket_.get_executor()),
        // One byte more than the cap: a datagram that fills it is known to be too long.
        in_buf_(limits.max_datagram + 1) {}

  /// The bound address (the real port when 0 was asked for). Throws when the socket is
  /// closed.
  endpoint_type local_endpoint() const { return socket_.local_endpoint(); }

  /// Receives and answers until stopped. Run it once, on the socket's executor. A failed
  /// receive (an ICMP error from an earlier reply) or send is reported as a `warning`
  /// and serving goes on; only a closed socket ends it early. Does not throw.
  asio::awaitable<void> run() {
    boost::system::error_code ec;
    socket_.non_blocking(true, ec);
    report(event_kind::listening, to_string(socket_.local_endpoint()));
    // A receive kept pending in the server's one buffer: Asio queues it without a system
    // call, where a readiness wait (`async_wait`) re-arms epoll with `epoll_ctl` every
    // time in Asio 1.26. Datagrams already queued are taken at once (Asio tries the
    // receive before it waits), so a burst needs no `epoll_wait` per datagram either.
    while (!stopping_) {
      endpoint_type from;
      auto [rec, n] = co_await socket_.async_receive_from(asio::buffer(in_buf_), from,
                                                          asio::as_tuple(asio::use_awaitable));
      if (stopping_) break;
      if (rec) {
        if (!receive_failed(rec)) break;
        continue;
      }
      // The usual case is synchronous: the reply needs no suspension.
      if (answer_now(std::string_view(in_buf_.data(), n), from)) co_await send_late(n, from);
    }
    grace_timer_.cancel();
  }

  /// Stops receiving. A reply waiting for room in the socket gets `grace` to go out, then
  /// it is aborted; with none, the server stops at once. A second call aborts.
  void stop(std::chrono::milliseconds grace = {}) {
    if (stopping_) {
      abort();
      return;
    }
    stopping_ = true;
    report(event_kind::stopping, to_string(local_endpoint_or_empty()),
           sending_ ? "no more datagrams; 1 reply waiting to be sent" : "no more datagrams");
    if (!sending_) {
      boost::system::error_code ignored;
      socket_.cancel(ignored);
      return;
    }
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) abort();
    });
  }

  /// Stops now: a reply still waiting to be sent is dropped (counted in
  /// `aborted_sessions`).
  void abort() {
    stopping_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }

  /// Replies the stop dropped (0 or 1: one at most waits to be sent), once `run()` has
  /// completed. Named as the stream server's count, so that a program treats both alike.
  std::size_t aborted_sessions() const noexcept { return aborted_; }

 private:
  endpoint_type local_endpoint_or_empty() const {
    boost::system::error_code ec;
    return socket_.local_endpoint(ec);
  }

  void report(event_kind k, std::string_view peer, std::string_view detail = {},
              std::uint64_t in = 0, std::uint64_t out = 0) const {
    if (log_) log_(event{k, peer, detail, in, out});
  }

  /// ICMP errors from earlier replies surface as failed receives; they end nothing.
  /// @return false when the socket is gone (the server ends).
  bool receive_failed(const boost::system::error_code& ec) {
    report(event_kind::warning, {}, "receive failed: " + ec.message());
    return ec != asio::error::bad_descriptor;
  }

  /// Sends the reply in `out_` that the socket could not take at once; a stop may drop it
  /// (after the grace).
  asio::awaitable<void> send_late(std::size_t in_size, const endpoint_type& from) {
    sending_ = true;
    auto [ec, sent] = co_await socket_.async_send_to(asio::buffer(out_), from,
                                                     asio::as_tuple(asio::use_awaitable));
    sending_ = false;
    if (ec == asio::error::operation_aborted && stopping_) {
      ++aborted_;
      report(event_kind::dropped, to_string(from), "aborted: the reply was still waiting to be sent");
    } else {
      replied(ec, in_size, from);
    }
  }

  /// Answers one datagram; a reply the socket cannot take at once is left in `out_` and
  /// `true` returned, and the caller sends it asynchronously (then calls `replied`).
  bool answer_now(std::string_view in, const endpoint_type& from) {
    if (in.size() > limits_.max_datagram) {
      report(event_kind::dropped, to_string(from),
             "limit:datagram (over " + std::to_string(limits_.max_datagram) + " bytes)");
      return false;
    }
    out_.clear();
    if (!handler_.on_datagram(in, out_)) return false;
    if (from.size() <= sizeof(unsigned short)) {  // unnamed Unix peer: no address to answer
      report(event_kind::dropped, to_string(from), "unnamed sender cannot be answered");
      return false;
    }
    std::size_t const limit = reply_limit(in.size(), from);
    if (out_.size() > limit && !refuse_reply(in, from, limit)) return false;
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(out_), from, 0, ec);
    // Only the kernel knows how large a Unix datagram may be (about the send buffer).
    if (ec == asio::error::message_size && refuse_reply(in, from, no_limit)) {
      socket_.send_to(asio::buffer(out_), from, 0, ec);
    }
    if (would_block(ec)) return true;
    replied(ec, in.size(), from);
    return false;
  }

  static constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

  /// The largest reply to `request` bytes from `from`: within the amplification bound,
  /// and in one UDP datagram (65,507 bytes of payload over IPv4, 65,527 over IPv6). A
  /// Unix datagram peer cannot be spoofed (the kernel names the sender): only the socket
  /// limits those.
  static std::size_t reply_limit(std::size_t request, const endpoint_type& from) {
    if constexpr (std::is_same_v<Protocol, asio::ip::udp>) {
      auto const a = from.address();
      bool const v4 = a.is_v4() || a.to_v6().is_v4_mapped();
      return std::min<std::size_t>(max_udp_reply(request), v4 ? 65507 : 65527);
    } else {
      return no_limit;
    }
  }

  /// Replaces the reply in `out_` (too large: over `limit`, or refused by the socket when
  /// `limit` is `no_limit`) with a short `ERR`.
  /// @return false when even that does not fit (the datagram is then not answered).
  bool refuse_reply(std::string_view in, const endpoint_type& from, std::size_t limit) {
    std::string reason =
        "reply too large for a datagram (" + std::to_string(out_.size()) + " bytes";
    if (limit != no_limit) reason += ", at most " + std::to_string(limit);
    reason += ')';
    report(event_kind::refused, to_string(from),
           "limit:reply (" + std::to_string(out_.size()) + " bytes for a " +
               std::to_string(in.size()) + "-byte datagram" +
               (limit != no_limit ? ", at most " + std::to_string(limit) : std::string()) + ")");
    out_.clear();
    if constexpr (words_oversized_replies<Handler>) {
      handler_.on_reply_too_large(in, reason, out_);
    } else {
      out_.append("ERR ").append(reason);
    }
    return out_.size() <= limit;
  }

  void replied(const boost::system::error_code& ec, std::size_t in_size, const endpoint_type& from) {
    if (ec) {
      report(event_kind::warning, to_string(from), "reply failed: " + ec.message());
    } else if (limits_.log_datagrams) {
      report(event_kind::datagram, to_string(from), {}, in_size, out_.size());
    }
  }

  socket_type socket_;
  Handler handler_;
  server_limits limits_;
  log_sink log_;
  asio::steady_timer grace_timer_;  // how long a reply waiting to be sent may delay a stop
  std::vector<char> in_buf_;
  std::string out_;
  std::size_t aborted_ = 0;
  bool sending_ = false;
  bool stopping_ = false;
};

}  // namespace netdemo::net
