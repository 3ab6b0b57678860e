// A stream server (TCP or Unix stream): listener coroutines plus one session per
// connection (detail/stream_session.hpp), all on one executor. Limits, timeouts, graceful
// stop and per-session error isolation live here and in the session, nowhere else.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "netdemo/net/detail/stream_session.hpp"
#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/limits.hpp"
#include "netdemo/net/log.hpp"
#include "netdemo/net/tls.hpp"
#include "netdemo/net/tls_stream.hpp"
#include "netdemo/net/stream_handler.hpp"

namespace netdemo::net {

namespace asio = boost::asio;

/// Serves one stream role on one or more listening sockets.
///
/// `Protocol` is `asio::ip::tcp` or `asio::local::stream_protocol`; `Handler` is copied
/// from the prototype for each connection. The acceptors must use an `io_context`'s
/// executor (sessions keep that concrete executor: smaller sockets and operations).
/// Not thread safe: construct it, call `run()`, `stop()` and `abort()` on that executor.
/// A session's failure (an I/O error, a handler that throws) ends that session only; it
/// is reported as an `error` or `closed` event.
///
/// With `Tls` true (TCP only), every session is a net::basic_tls_stream over the accepted
/// socket: the handshake is the session's first step (bounded by the idle timeout, ended
/// by a stop), a failed handshake closes that connection only (close reason `handshake`),
/// and everything else (limits, eviction, graceful stop) is as over plain TCP. A refusal
/// over TLS writes no line (there is no TLS channel yet): the connection is just closed.
template <class Protocol, stream_handler Handler, bool Tls = false>
class stream_server {
 public:
  /// The listening socket type.
  using acceptor_type = typename Protocol::acceptor;
  /// The connected socket type of `Protocol`, on any executor.
  using socket_type = typename Protocol::socket;
  /// The executor every session runs on.
  using executor_type = asio::io_context::executor_type;
  /// The socket a session owns.
  using session_socket = typename socket_type::template rebind_executor<executor_type>::other;
  /// What a session reads and writes: the socket, or TLS over it.
  using stream_type = std::conditional_t<Tls, basic_tls_stream<session_socket>, session_socket>;

  /// Takes the bound acceptors (at least one, on an io_context's executor; else throws
  /// `std::invalid_argument`). `open`, when given, is shared with the servers of other
  /// threads so that `limits.max_connections` holds for all of them together.
  stream_server(std::vector<acceptor_type> acceptors, Handler prototype, server_limits limits,
                log_sink log, std::shared_ptr<connection_count> open = {})
    requires(!Tls)
      : stream_server(std::move(acceptors), std::move(prototype), limits, std::move(log), std::nullopt,
                      std::move(open)) {}

  /// A TLS server: the same, with the server context every session's handshake uses
  /// (net::tls_context::server; one context may serve the servers of every thread).
  stream_server(std::vector<acceptor_type> acceptors, Handler prototype, server_limits limits,
                log_sink log, tls_context context, std::shared_ptr<connection_count> open = {})
    requires Tls
      : stream_server(std::move(acceptors), std::move(prototype), limits, std::move(log),
                      std::optional<tls_context>(std::move(context)), std::move(open)) {}

 private:
  stream_server(std::vector<acceptor_type> acceptors, Handler prototype, server_limits limits,
                log_sink log, std::optional<tls_context> context, std::shared_ptr<connection_count> open)
      : acceptors_(std::move(acceptors)),
        ex_(io_context_executor(acceptors_)),
        shared_(ex_, std::move(prototype), limits, std::move(log),
                open ? std::move(open) : std::make_shared<connection_count>()),
        sweep_timer_(ex_),
        grace_timer_(ex_),
        tls_(std::move(context)) {
    static_assert(!Tls || std::is_same_v<Protocol, asio::ip::tcp>, "TLS is served over TCP");
  }

 public:
  stream_server(const stream_server&) = delete;
  stream_server& operator=(const stream_server&) = delete;

  /// The bound endpoints (the real port when 0 was asked for).
  std::vector<typename Protocol::endpoint> local_endpoints() const {
    std::vector<typename Protocol::endpoint> out;
    for (const auto& a : acceptors_) out.push_back(a.local_endpoint());
    return out;
  }

  /// Accepts and serves until stopped; completes when every session has ended. Run it on
  /// the acceptors' executor, once. Failures of a listener are reported as `error`
  /// events; the awaitable itself does not throw.
  asio::awaitable<void> run() {
    auto ex = co_await asio::this_coro::executor;
    for (auto& a : acceptors_) {
      report(event_kind::listening, to_string(a.local_endpoint()));
      spawn_task(ex, accept_loop(a));
    }
    spawn_task(ex, sweep_idle());
    while (shared_.tasks > 0 || !shared_.sessions.empty()) {
      shared_.wake.expires_at(asio::steady_timer::time_point::max());
      co_await shared_.wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    grace_timer_.cancel();
    shared_.pauses.stop();
    shared_.lingers.stop();
  }

  /// Graceful stop: stop accepting, close idle sessions (reason `shutdown`), let replies
  /// being written finish; after `grace`, abort what is left. A second call aborts at once.
  void stop(std::chrono::milliseconds grace) {
    if (shared_.stopping) {
      abort();
      return;
    }
    shared_.stopping = true;
    report(event_kind::stopping, {},
           "no new connections; " + std::to_string(shared_.open->open()) + " session(s) open");
    boost::system::error_code ignored;
    for (auto& a : acceptors_) a.close(ignored);
    sweep_timer_.cancel();
    for (auto& s : shared_.sessions) {
      if (s.state == detail::session_state::reading || s.state == detail::session_state::pausing) {
        s.reason = close_reason::shutdown;
        s.stream.cancel(ignored);
      }
    }
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) abort();
    });
  }

  /// Closes every session now (reason `aborted`, except those already in their
  /// lingering close, which have sent everything).
  void abort() {
    shared_.stopping = true;
    boost::system::error_code ignored;
    for (auto& a : acceptors_) a.close(ignored);
    sweep_timer_.cancel();
    for (auto& s : shared_.sessions) {
      if (s.state != detail::session_state::closing && s.reason != close_reason::aborted) {
        s.reason = close_reason::aborted;
        ++aborted_;
      }
      s.stream.close(ignored);
    }
  }

  /// Sessions `abort()` cut off (a second stop, the grace running out); 0 after a clean
  /// stop. A program can make its exit status say so.
  std::size_t aborted_sessions() const noexcept { return aborted_; }

  /// Serves one already-connected socket (from a socketpair, an inherited descriptor, a
  /// test) as a session of this server: same limits, logging and stop. Call on the
  /// server's executor while `run()` is running. After a stop began it is closed and
  /// reported as `refused` ("shutdown").
  void adopt(session_socket socket, std::string peer) {
    if (shared_.stopping) {
      boost::system::error_code ec;
      socket.close(ec);
      report(event_kind::refused, peer, "shutdown");
      return;
    }
    shared_.open->add();
    start_session(std::move(socket), std::move(peer));
  }

  /// The same for a socket on another executor type (it moves to the server's).
  void adopt(socket_type socket, std::string peer) {
    auto const protocol = socket.local_endpoint().protocol();
    adopt(session_socket(ex_, protocol, socket.release()), std::move(peer));
  }

  /// Sessions open right now.
  std::size_t session_count() const noexcept { return shared_.session_count; }

  /// Sessions reading into a buffer of their own right now (busy ones; see
  /// detail/stream_session.hpp, `wait_step`).
  std::size_t busy_session_count() const noexcept { return shared_.busy_buffers.lent(); }

  /// Bytes the sessions hold for their peers right now: replies not yet sent and input
  /// not yet answered (see `server_limits::max_unsent`).
  std::size_t held_bytes() const noexcept {
    std::size_t n = 0;
    for (const auto& s : shared_.sessions) {
      n += s.unsent.size();
      if constexpr (requires { s.handler.backlog_size(); }) n += s.handler.backlog_size();
    }
    return n;
  }

  /// The most sessions that read into a buffer of their own at one time.
  static constexpr std::size_t busy_sessions_max = 64;

 private:
  using session = detail::stream_session<stream_type, Handler>;
  static_assert(session::shared_type::busy_sessions_max == busy_sessions_max);

  static executor_type io_context_executor(std::vector<acceptor_type>& acceptors) {
    if (acceptors.empty()) throw std::invalid_argument("stream_server: no listening socket");
    auto const* ex = acceptors.front().get_executor().template target<executor_type>();
    if (ex == nullptr) throw std::invalid_argument("stream_server: acceptors must run on an io_context");
    return *ex;
  }

  /// Starts a session already counted in `open`; it counts itself out of `tasks`.
  void start_session(session_socket socket, std::string peer) {
    if constexpr (Tls) {
      std::optional<stream_type> stream;
      try {
        stream.emplace(std::move(socket), *tls_);
      } catch (const std::exception& e) {  // the module could not make a connection
        shared_.open->remove();
        report(event_kind::error, peer, e.what());
        return;
      }
      ++shared_.tasks;
      session::start(shared_, std::move(*stream), std::move(peer));
    } else {
      ++shared_.tasks;
      session::start(shared_, std::move(socket), std::move(peer));
    }
  }

  void report(event_kind k, std::string_view peer, std::string_view detail = {}) const {
    shared_.report(k, peer, detail);
  }

  /// Every coroutine this server starts reports its end here: nothing is detached.
  template <class Awaitable>
  void spawn_task(const asio::any_io_executor& ex, Awaitable task) {
    ++shared_.tasks;
    asio::co_spawn(ex, std::move(task), [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          report(event_kind::error, {}, x.what());
        } catch (...) {
          report(event_kind::error, {}, "unknown exception");
        }
      }
      shared_.task_ended();
    });
  }

  static bool out_of_descriptors(const boost::system::error_code& ec) {
    return ec == asio::error::no_descriptors ||
           ec == boost::system::errc::too_many_files_open_in_system ||
           ec == asio::error::no_buffer_space || ec == asio::error::no_memory;
  }

  asio::awaitable<void> accept_loop(acceptor_type& acceptor) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer backoff(ex);
    while (!shared_.stopping) {
      auto [ec, sock] = co_await acceptor.async_accept(ex_, asio::as_tuple(asio::use_awaitable));
      if (shared_.stopping || ec == asio::error::operation_aborted) break;
      if (ec) {
        // Never spin and never give up: out of descriptors (or any other accept error)
        // means wait a little and try again.
        accept_failed(ec);
        backoff.expires_after(shared_.limits.accept_backoff);
        co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      admit(std::move(sock));
    }
  }

  /// Reports a failed accept, once per 5 s at most.
  void accept_failed(const boost::system::error_code& ec) {
    auto const now = std::chrono::steady_clock::now();
    if (now - last_accept_warning_ < std::chrono::seconds(5)) {
      ++accept_failures_;
      return;
    }
    std::string text = "accept failed: " + ec.message();
    if (out_of_descriptors(ec)) text += "; backing off";
    if (accept_failures_ > 0) text += " (" + std::to_string(accept_failures_) + " more since the last report)";
    report(event_kind::warning, {}, text);
    last_accept_warning_ = now;
    accept_failures_ = 0;
  }

  /// A new connection: a session, after an eviction when full, or a refusal.
  void admit(session_socket sock) {
    boost::system::error_code pe;
    auto const remote = sock.remote_endpoint(pe);
    std::string peer = pe ? std::string("(gone)") : to_string(remote);
    if (!shared_.open->try_add(shared_.limits.max_connections)) {
      if (!evict_one()) {
        refuse(sock, peer);
        return;
      }
      // The evicted session counts itself out when it has closed, in a moment.
      shared_.open->add();
    }
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      sock.set_option(asio::ip::tcp::no_delay(true), pe);
    }
    start_session(std::move(sock), std::move(peer));
  }

  /// The address part of a peer name ("127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" ->
  /// "[::1]"; a Unix peer is its whole name).
  static std::string_view peer_address(std::string_view peer) noexcept {
    auto const colon = peer.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return peer;
    return peer.substr(0, colon);
  }

  /// The session to evict: idle longest (at least `evict_idle`) of the address that has
  /// the most sessions; nullptr when none qualifies. `count` gets its address's sessions.
  session* eviction_victim(std::chrono::steady_clock::time_point now, std::size_t& count) {
    std::unordered_map<std::string_view, std::size_t> per_address;
    for (const auto& s : shared_.sessions) ++per_address[peer_address(s.peer)];
    session* victim = nullptr;
    for (auto& s : shared_.sessions) {
      if (s.reason != close_reason::none || s.state == detail::session_state::closing) continue;
      if (now - s.last_input < shared_.limits.evict_idle) continue;
      std::size_t const n = per_address[peer_address(s.peer)];
      if (victim == nullptr || n > count || (n == count && s.last_input < victim->last_input)) {
        victim = &s;
        count = n;
      }
    }
    return victim;
  }

  /// Full: closes the `eviction_victim`, so that one address filling the server with idle
  /// or dripping connections cannot lock the others out. The scan runs only when full.
  /// @return false when no session qualifies (the new connection is then refused).
  bool evict_one() {
    if (shared_.limits.evict_idle <= std::chrono::milliseconds::zero()) return false;
    auto const now = std::chrono::steady_clock::now();
    std::size_t victim_count = 0;
    session* const victim = eviction_victim(now, victim_count);
    if (victim == nullptr) return false;
    auto const idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - victim->last_input);
    report(event_kind::refused, victim->peer,
           "evicted: the server is full and this session was idle " + std::to_string(idle_ms.count()) +
               " ms (" + std::to_string(victim_count) + " session(s) from its address)");
    victim->reason = close_reason::evicted;
    boost::system::error_code ignored;
    if (victim->state != detail::session_state::writing && established(*victim)) {
      // Best effort, like the refusal: the peer learns why, if its socket takes the line
      // at once. (Not in the middle of a reply that is still being written.)
      static constexpr std::string_view line = "ERR server full: closing this idle connection\n";
      victim->stream.write_some(asio::buffer(line.data(), line.size()), ignored);
    }
    victim->stream.cancel(ignored);
    return true;
  }

  /// Whether a line can be written to `s` now (a TLS session: once its handshake is done).
  static bool established(session& s) noexcept {
    if constexpr (Tls) {
      return s.stream.established();
    } else {
      return true;
    }
  }

  /// Turns a connection away. Over TLS no line is written (a plain-text line on a TLS port
  /// reads as garbage, and a handshake costs more than the whole refusal): it is closed.
  void refuse(session_socket& sock, const std::string& peer) {
    std::string const line =
        "ERR too many connections (max " + std::to_string(shared_.limits.max_connections) + ")\n";
    boost::system::error_code ec;
    sock.non_blocking(true, ec);
    if (!Tls) sock.write_some(asio::buffer(line), ec);
    sock.shutdown(asio::socket_base::shutdown_both, ec);
    sock.close(ec);
    report(event_kind::refused, peer, "limit:connections");
  }

  asio::awaitable<void> sweep_idle() {
    auto const interval = std::clamp(shared_.limits.idle_timeout / 4,
                                     std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
    while (!shared_.stopping) {
      sweep_timer_.expires_after(interval);
      co_await sweep_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      auto const now = std::chrono::steady_clock::now();
      for (auto& s : shared_.sessions) sweep(s, now, interval);
    }
  }

  /// Closes `s` when idle too long; takes its buffer back when quiet for a sweep (it goes
  /// back to waiting without one).
  void sweep(session& s, std::chrono::steady_clock::time_point now,
             std::chrono::milliseconds interval) {
    boost::system::error_code ignored;
    if (now - s.last_input >= shared_.limits.idle_timeout && s.reason == close_reason::none) {
      s.reason = close_reason::idle;
      s.stream.cancel(ignored);
    } else if (s.buffer && !s.cooling && s.state == detail::session_state::reading &&
               now - s.last_input >= interval) {
      s.cooling = true;
      s.stream.cancel(ignored);
    }
  }

  std::vector<acceptor_type> acceptors_;
  executor_type ex_;
  typename session::shared_type shared_;
  asio::steady_timer sweep_timer_;  // idle sweep
  asio::steady_timer grace_timer_;  // end of the grace period
  std::size_t accept_failures_ = 0;  // not yet reported
  std::size_t aborted_ = 0;          // sessions cut off by abort()
  std::chrono::steady_clock::time_point last_accept_warning_{};
  std::optional<tls_context> tls_;  // a TLS server's context
};

}  // namespace netdemo::net
