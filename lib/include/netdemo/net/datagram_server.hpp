// A datagram server (UDP or Unix datagram): one receive loop answering each datagram.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
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

/// Serves one role on one datagram socket.
///
/// `Protocol` is `asio::ip::udp` or `asio::local::datagram_protocol`. Datagrams longer
/// than `max_datagram` are dropped (and reported), never answered truncated. Not thread
/// safe: call everything on the socket's executor.
template <class Protocol, datagram_handler Handler>
class datagram_server {
 public:
  using socket_type = typename Protocol::socket;
  using endpoint_type = typename Protocol::endpoint;

  datagram_server(socket_type socket, Handler handler, server_limits limits, log_sink log)
      : socket_(std::move(socket)),
        handler_(std::move(handler)),
        limits_(limits),
        log_(std::move(log)),
        // One byte more than the cap: a datagram that fills it is known to be too long.
        in_buf_(limits.max_datagram + 1) {}

  endpoint_type local_endpoint() const { return socket_.local_endpoint(); }

  /// Receives and answers until stopped.
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
        // ICMP errors from earlier replies surface here; they end nothing.
        report(event_kind::warning, {}, "receive failed: " + rec.message());
        if (rec == asio::error::bad_descriptor) break;
        continue;
      }
      // The usual case is synchronous: the reply needs no suspension.
      if (answer_now(std::string_view(in_buf_.data(), n), from)) {
        auto [sec, sent] = co_await socket_.async_send_to(asio::buffer(out_), from,
                                                         asio::as_tuple(asio::use_awaitable));
        replied(sec, n, from);
      }
    }
  }

  /// Stops receiving. Datagram replies are never left half-sent, so there is nothing to
  /// wait for; `grace` is accepted for symmetry with the stream server.
  void stop(std::chrono::milliseconds /*grace*/ = {}) {
    if (stopping_) return;
    stopping_ = true;
    report(event_kind::stopping, to_string(local_endpoint_or_empty()), "no more datagrams");
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }

  void abort() { stop(); }

 private:
  endpoint_type local_endpoint_or_empty() const {
    boost::system::error_code ec;
    return socket_.local_endpoint(ec);
  }

  void report(event_kind k, std::string_view peer, std::string_view detail = {},
              std::uint64_t in = 0, std::uint64_t out = 0) const {
    if (log_) log_(event{k, peer, detail, in, out});
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
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(out_), from, 0, ec);
    if (would_block(ec)) return true;
    replied(ec, in.size(), from);
    return false;
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
  std::vector<char> in_buf_;
  std::string out_;
  bool stopping_ = false;
};

}  // namespace netdemo::net
