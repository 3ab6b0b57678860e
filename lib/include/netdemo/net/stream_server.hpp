// A stream server (TCP or Unix stream): listener coroutines plus one session coroutine per
// connection, all on one executor. Limits, timeouts, graceful stop and per-session error
// isolation live here and nowhere else.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/intrusive/list.hpp>

#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/limits.hpp"
#include "netdemo/net/log.hpp"
#include "netdemo/proto/handlers.hpp"

namespace netdemo::net {

namespace asio = boost::asio;

/// What a stream session handler must offer (see proto/handlers.hpp).
template <class H>
concept stream_handler = std::copy_constructible<H> &&
    requires(H& h, const H& ch, std::string_view in, std::string& out) {
      ch.greet(out);
      { h.on_bytes(in, out) } -> std::same_as<proto::verdict>;
      { h.on_pause(out) } -> std::same_as<proto::verdict>;
      { ch.wants_pause() } -> std::convertible_to<bool>;
    };

/// Serves one stream role on one or more listening sockets.
///
/// `Protocol` is `asio::ip::tcp` or `asio::local::stream_protocol`; `Handler` is copied
/// from the prototype for each connection. Not thread safe: construct it, call `run()`,
/// `stop()` and `abort()` on the executor of its acceptors.
template <class Protocol, stream_handler Handler>
class stream_server {
 public:
  using acceptor_type = typename Protocol::acceptor;
  using socket_type = typename Protocol::socket;

  stream_server(std::vector<acceptor_type> acceptors, Handler prototype, server_limits limits,
                log_sink log)
      : acceptors_(std::move(acceptors)),
        prototype_(std::move(prototype)),
        limits_(limits),
        log_(std::move(log)),
        wake_(acceptors_.front().get_executor()),
        sweep_timer_(acceptors_.front().get_executor()),
        grace_timer_(acceptors_.front().get_executor()),
        in_buf_(read_chunk) {}

  stream_server(const stream_server&) = delete;
  stream_server& operator=(const stream_server&) = delete;

  /// The bound endpoints (the real port when 0 was asked for).
  std::vector<typename Protocol::endpoint> local_endpoints() const {
    std::vector<typename Protocol::endpoint> out;
    for (const auto& a : acceptors_) out.push_back(a.local_endpoint());
    return out;
  }

  /// Accepts and serves until stopped; completes when every session has ended.
  asio::awaitable<void> run() {
    auto ex = co_await asio::this_coro::executor;
    for (auto& a : acceptors_) {
      report(event_kind::listening, to_string(a.local_endpoint()));
      spawn_task(ex, accept_loop(a));
    }
    spawn_task(ex, sweep_idle());
    while (tasks_ > 0 || !sessions_.empty()) {
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    grace_timer_.cancel();
  }

  /// Graceful stop: stop accepting, close idle sessions, let replies being written
  /// finish; after `grace`, abort what is left. A second call aborts at once.
  void stop(std::chrono::milliseconds grace) {
    if (stopping_) {
      abort();
      return;
    }
    stopping_ = true;
    report(event_kind::stopping, {},
           "no new connections; " + std::to_string(session_count_) + " session(s) open");
    boost::system::error_code ignored;
    for (auto& a : acceptors_) a.close(ignored);
    sweep_timer_.cancel();
    for (auto& s : sessions_) {
      if (s.state == session_state::reading || s.state == session_state::pausing) {
        s.reason = "shutdown";
        s.socket.cancel(ignored);
      }
    }
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) abort();
    });
  }

  /// Closes every session now (reason `aborted`).
  void abort() {
    stopping_ = true;
    boost::system::error_code ignored;
    for (auto& a : acceptors_) a.close(ignored);
    sweep_timer_.cancel();
    for (auto& s : sessions_) {
      if (s.state != session_state::closing) s.reason = "aborted";
      s.socket.close(ignored);
    }
  }

  /// Serves one already-connected socket (from a socketpair, an inherited descriptor, a
  /// test) as a session of this server: same limits, logging and stop. Call on the
  /// server's executor while `run()` is running.
  void adopt(socket_type socket, std::string peer) {
    boost::system::error_code ec;
    if (stopping_) {
      socket.close(ec);
      report(event_kind::refused, peer, "shutdown");
      return;
    }
    socket.non_blocking(true, ec);
    ++tasks_;
    auto ex = socket.get_executor();
    // serve() catches everything itself and logs it with the peer.
    asio::co_spawn(ex, serve(std::move(socket), std::move(peer)), [this](std::exception_ptr) {
      --tasks_;
      wake_.cancel();
    });
  }

  /// Sessions open right now.
  std::size_t session_count() const noexcept { return session_count_; }

 private:
  static constexpr std::size_t read_chunk = 64 * 1024;
  static constexpr std::chrono::milliseconds linger{1000};
  enum class session_state : std::uint8_t { reading, pausing, writing, closing };

  using hook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<
      boost::intrusive::auto_unlink>>;

  /// One connection. Lives in its session coroutine's frame; linked into `sessions_`
  /// so that stop, abort and the idle sweep can reach it.
  struct session : hook {
    session(socket_type s, std::string p, Handler h)
        : socket(std::move(s)), peer(std::move(p)), handler(std::move(h)) {}
    socket_type socket;
    std::string peer;
    Handler handler;
    std::string pending;  // output the kernel would not take at once
    std::chrono::steady_clock::time_point last_input = std::chrono::steady_clock::now();
    std::string_view reason = "eof";
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    session_state state = session_state::reading;
  };

  void report(event_kind k, std::string_view peer, std::string_view detail = {},
              std::uint64_t in = 0, std::uint64_t out = 0) const {
    if (log_) log_(event{k, peer, detail, in, out});
  }

  /// Every coroutine this server starts reports its end here: nothing is detached.
  template <class Awaitable>
  void spawn_task(const asio::any_io_executor& ex, Awaitable task) {
    ++tasks_;
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
      --tasks_;
      wake_.cancel();
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
    while (!stopping_) {
      auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (stopping_ || ec == asio::error::operation_aborted) break;
      if (ec) {
        // Never spin and never give up: out of descriptors (or any other accept error)
        // means wait a little and try again. Reported once per 5 s at most.
        auto const now = std::chrono::steady_clock::now();
        if (now - last_accept_warning_ >= std::chrono::seconds(5)) {
          std::string text = "accept failed: " + ec.message();
          if (out_of_descriptors(ec)) text += "; backing off";
          if (accept_failures_ > 0) text += " (" + std::to_string(accept_failures_) + " more since the last report)";
          report(event_kind::warning, {}, text);
          last_accept_warning_ = now;
          accept_failures_ = 0;
        } else {
          ++accept_failures_;
        }
        backoff.expires_after(limits_.accept_backoff);
        co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      boost::system::error_code pe;
      auto const remote = sock.remote_endpoint(pe);
      std::string peer = pe ? std::string("(gone)") : to_string(remote);
      if (session_count_ >= limits_.max_connections) {
        refuse(sock, peer);
        continue;
      }
      if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
        sock.set_option(asio::ip::tcp::no_delay(true), pe);
      }
      adopt(std::move(sock), std::move(peer));
    }
  }

  void refuse(socket_type& sock, const std::string& peer) {
    std::string const line =
        "ERR too many connections (max " + std::to_string(limits_.max_connections) + ")\n";
    boost::system::error_code ec;
    sock.non_blocking(true, ec);
    sock.write_some(asio::buffer(line), ec);
    sock.shutdown(asio::socket_base::shutdown_both, ec);
    sock.close(ec);
    report(event_kind::refused, peer, "limit:connections");
  }

  asio::awaitable<void> sweep_idle() {
    auto const interval = std::clamp(limits_.idle_timeout / 4,
                                     std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
    while (!stopping_) {
      sweep_timer_.expires_after(interval);
      co_await sweep_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      auto const now = std::chrono::steady_clock::now();
      for (auto& s : sessions_) {
        if (now - s.last_input >= limits_.idle_timeout && s.reason == "eof") {
          s.reason = "idle";
          boost::system::error_code ignored;
          s.socket.cancel(ignored);
        }
      }
    }
  }

  /// Runs one session; every failure ends only this session and is logged.
  asio::awaitable<void> serve(socket_type sock, std::string peer) {
    session s(std::move(sock), std::move(peer), prototype_);
    sessions_.push_back(s);
    ++session_count_;
    report(event_kind::opened, s.peer);
    try {
      co_await session_loop(s);
      if (s.reason == "exit" || s.reason == "limit:line" || s.reason == "shutdown") {
        co_await linger_close(s);
      }
    } catch (const std::exception& e) {
      s.reason = "error";
      report(event_kind::error, s.peer, e.what());
    }
    boost::system::error_code ignored;
    s.socket.close(ignored);
    s.unlink();
    --session_count_;
    report(event_kind::closed, s.peer, s.reason, s.bytes_in, s.bytes_out);
  }

  asio::awaitable<void> session_loop(session& s) {
    std::string& out = out_buf_;
    out.clear();
    s.handler.greet(out);
    if (!co_await send(s, out)) co_return;
    for (;;) {
      if (stopping_) {
        if (s.reason == "eof") s.reason = "shutdown";
        co_return;
      }
      boost::system::error_code ec;
      if (s.handler.wants_pause()) {
        // An unterminated tail: it becomes a message unless more bytes come soon.
        using namespace asio::experimental::awaitable_operators;
        s.state = session_state::pausing;
        asio::steady_timer pause(s.socket.get_executor(), limits_.pause);
        auto r = co_await (
            s.socket.async_wait(socket_type::wait_read, asio::as_tuple(asio::use_awaitable)) ||
            pause.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (r.index() == 1) {
          if (s.reason != "eof") co_return;  // idle/shutdown cancelled us meanwhile
          auto const [v, sent] = co_await answer_tail(s);
          if (!sent) co_return;
          if (v != proto::verdict::keep_open) {
            s.reason = "exit";
            co_return;
          }
          continue;
        }
        ec = std::get<0>(std::get<0>(r));
      } else {
        s.state = session_state::reading;
        std::tie(ec) = co_await s.socket.async_wait(socket_type::wait_read,
                                                    asio::as_tuple(asio::use_awaitable));
      }
      if (ec) {
        if (s.reason == "eof") s.reason = ec == asio::error::operation_aborted ? "cancelled" : "reset";
        if (s.reason == "shutdown" && s.handler.wants_pause()) {
          // Stopping: a bare word already read is still answered.
          co_await answer_tail(s);
        }
        co_return;
      }
      // Read into the server's buffer, shared by all sessions: an idle session owns none.
      std::size_t const n = s.socket.read_some(asio::buffer(in_buf_), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
      if (ec == asio::error::eof) {
        // Half-close: a tail still waiting for a pause is a message; answer, then close.
        auto const [v, sent] = co_await answer_tail(s);
        if (v == proto::verdict::quit) s.reason = "exit";
        co_return;
      }
      if (ec) {
        s.reason = ec == asio::error::connection_reset ? "reset" : "error";
        co_return;
      }
      s.bytes_in += n;
      s.last_input = std::chrono::steady_clock::now();
      out.clear();
      auto const v = s.handler.on_bytes(std::string_view(in_buf_.data(), n), out);
      if (!co_await send(s, out)) co_return;
      if (v == proto::verdict::quit) {
        s.reason = "exit";
        co_return;
      }
      if (v == proto::verdict::too_long) {
        s.reason = "limit:line";
        report(event_kind::refused, s.peer, "limit:line");
        co_return;
      }
    }
  }

  struct tail_answer {
    proto::verdict verdict;
    bool sent;
  };

  /// The peer paused, closed or we are stopping: an unterminated tail becomes a message;
  /// its reply is sent at once.
  asio::awaitable<tail_answer> answer_tail(session& s) {
    out_buf_.clear();
    auto const v = s.handler.on_pause(out_buf_);
    bool const sent = co_await send(s, out_buf_);
    co_return tail_answer{v, sent};
  }

  /// Closing while the peer's bytes are still unread makes the kernel send RST, and the
  /// peer may then lose our last reply. So: send FIN, and read and discard what the peer
  /// still sends until it closes too, for at most `linger`.
  asio::awaitable<void> linger_close(session& s) {
    using namespace asio::experimental::awaitable_operators;
    s.state = session_state::closing;
    boost::system::error_code ec;
    s.socket.shutdown(asio::socket_base::shutdown_send, ec);
    if (ec) co_return;
    asio::steady_timer deadline(s.socket.get_executor(), linger);
    co_await (discard_until_eof(s) || deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
  }

  asio::awaitable<void> discard_until_eof(session& s) {
    for (;;) {
      auto [ec] = co_await s.socket.async_wait(socket_type::wait_read,
                                               asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      s.socket.read_some(asio::buffer(in_buf_), ec);
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return;
    }
  }

  /// Writes `out` (which may be the shared buffer): what the kernel takes at once goes
  /// now; the rest is copied into the session and written asynchronously.
  /// @return false when the session must end (write failed).
  asio::awaitable<bool> send(session& s, std::string_view out) {
    if (out.empty()) co_return true;
    boost::system::error_code ec;
    std::size_t written = s.socket.write_some(asio::buffer(out), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      written = 0;
      ec.clear();
    }
    if (ec) {
      if (s.reason == "eof") s.reason = "reset";
      co_return false;
    }
    s.bytes_out += written;
    if (written == out.size()) co_return true;
    s.pending.assign(out.substr(written));
    auto const before = s.state;
    s.state = session_state::writing;
    auto [wec, n] = co_await asio::async_write(s.socket, asio::buffer(s.pending),
                                               asio::as_tuple(asio::use_awaitable));
    s.bytes_out += n;
    std::string().swap(s.pending);
    s.state = before;
    if (wec) {
      if (s.reason == "eof") s.reason = wec == asio::error::operation_aborted ? "cancelled" : "reset";
      co_return false;
    }
    co_return true;
  }

  std::vector<acceptor_type> acceptors_;
  Handler prototype_;
  server_limits limits_;
  log_sink log_;
  boost::intrusive::list<session, boost::intrusive::constant_time_size<false>> sessions_;
  asio::steady_timer wake_;         // run() sleeps on it until every task has ended
  asio::steady_timer sweep_timer_;  // idle sweep
  asio::steady_timer grace_timer_;  // end of the grace period
  std::vector<char> in_buf_;        // shared read buffer (see session_loop)
  std::string out_buf_;             // shared reply buffer
  std::size_t tasks_ = 0;
  std::size_t session_count_ = 0;
  std::size_t accept_failures_ = 0;  // not yet reported
  std::chrono::steady_clock::time_point last_accept_warning_{};
  bool stopping_ = false;
};

}  // namespace netdemo::net
