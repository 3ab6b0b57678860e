// A stream server (TCP or Unix stream): listener coroutines plus one session coroutine per
// connection, all on one executor. Limits, timeouts, graceful stop and per-session error
// isolation live here and nowhere else.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
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
#include <boost/asio/write.hpp>
#include <boost/intrusive/list.hpp>

#include "netdemo/net/detail/buffer_pool.hpp"
#include "netdemo/net/detail/fifo_deadlines.hpp"
#include "netdemo/net/detail/session_task.hpp"
#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/limits.hpp"
#include "netdemo/net/log.hpp"
#include "netdemo/net/would_block.hpp"
#include "netdemo/proto/handlers.hpp"

namespace netdemo::net {

namespace asio = boost::asio;

/// What a stream session handler must offer (see proto/handlers.hpp).
template <class H>
concept stream_handler = std::copy_constructible<H> &&
    requires(H& h, const H& ch, std::string_view in, std::string& out, std::size_t budget) {
      ch.greet(out);
      { h.on_bytes(in, out, budget) } -> std::same_as<proto::verdict>;
      { h.on_pause(out) } -> std::same_as<proto::verdict>;
      { ch.wants_pause() } -> std::convertible_to<bool>;
    };

/// A handler whose reply is always its input (echo): the server sends the input itself.
template <class H>
concept replies_with_input = H::replies_with_input;

/// Serves one stream role on one or more listening sockets.
///
/// `Protocol` is `asio::ip::tcp` or `asio::local::stream_protocol`; `Handler` is copied
/// from the prototype for each connection. The acceptors must use an `io_context`'s
/// executor (sessions keep that concrete executor: smaller sockets and operations).
/// Not thread safe: construct it, call `run()`, `stop()` and `abort()` on that executor.
template <class Protocol, stream_handler Handler>
class stream_server {
 public:
  using acceptor_type = typename Protocol::acceptor;
  using socket_type = typename Protocol::socket;
  using executor_type = asio::io_context::executor_type;
  /// The socket a session owns.
  using session_socket = typename socket_type::template rebind_executor<executor_type>::other;

  /// `open`, when given, is shared with the servers of other threads so that
  /// `limits.max_connections` holds for all of them together.
  stream_server(std::vector<acceptor_type> acceptors, Handler prototype, server_limits limits,
                log_sink log, std::shared_ptr<connection_count> open = {})
      : acceptors_(std::move(acceptors)),
        prototype_(std::move(prototype)),
        limits_(limits),
        log_(std::move(log)),
        open_(open ? std::move(open) : std::make_shared<connection_count>()),
        ex_(io_context_executor(acceptors_)),
        wake_(acceptors_.front().get_executor()),
        sweep_timer_(acceptors_.front().get_executor()),
        grace_timer_(acceptors_.front().get_executor()),
        pauses_(acceptors_.front().get_executor(), limits_.pause, &pause_expired),
        lingers_(acceptors_.front().get_executor(), linger, &linger_expired),
        busy_buffers_(read_chunk, busy_sessions_max),
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
    pauses_.stop();
    lingers_.stop();
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
           "no new connections; " + std::to_string(open_->open()) + " session(s) open");
    boost::system::error_code ignored;
    for (auto& a : acceptors_) a.close(ignored);
    sweep_timer_.cancel();
    for (auto& s : sessions_) {
      if (s.state == session_state::reading || s.state == session_state::pausing) {
        s.reason = close_reason::shutdown;
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
      // A session in its lingering close has sent everything: ending it loses nothing.
      if (s.state != session_state::closing && s.reason != close_reason::aborted) {
        s.reason = close_reason::aborted;
        ++aborted_;
      }
      s.socket.close(ignored);
    }
  }

  /// Sessions `abort()` cut off (a second stop, the grace running out); 0 after a clean
  /// stop. A program can make its exit status say so.
  std::size_t aborted_sessions() const noexcept { return aborted_; }

  /// Serves one already-connected socket (from a socketpair, an inherited descriptor, a
  /// test) as a session of this server: same limits, logging and stop. Call on the
  /// server's executor while `run()` is running.
  void adopt(session_socket socket, std::string peer) {
    if (stopping_) {
      boost::system::error_code ec;
      socket.close(ec);
      report(event_kind::refused, peer, "shutdown");
      return;
    }
    open_->add();
    start_session(std::move(socket), std::move(peer));
  }

  /// The same for a socket on another executor type (it moves to the server's).
  void adopt(socket_type socket, std::string peer) {
    auto const protocol = socket.local_endpoint().protocol();
    adopt(session_socket(ex_, protocol, socket.release()), std::move(peer));
  }

  /// Sessions open right now.
  std::size_t session_count() const noexcept { return session_count_; }

  /// Sessions reading into a buffer of their own right now (busy ones; see `serve`).
  std::size_t busy_session_count() const noexcept { return busy_buffers_.lent(); }

  /// Bytes the sessions hold for their peers right now: replies not yet sent and input
  /// not yet answered (see `server_limits::max_unsent`).
  std::size_t held_bytes() const noexcept {
    std::size_t n = 0;
    for (const auto& s : sessions_) {
      n += s.unsent.size();
      if constexpr (requires { s.handler.backlog_size(); }) n += s.handler.backlog_size();
    }
    return n;
  }

  /// The most sessions that read into a buffer of their own at one time.
  static constexpr std::size_t busy_sessions_max = 64;

 private:
  /// Starts a session already counted in `open_`.
  void start_session(session_socket socket, std::string peer) {
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    ++tasks_;
    // Runs until its first wait, then lives on in its own frame; it catches everything
    // itself, logs it with the peer and counts itself out of `tasks_`.
    serve(std::move(socket), std::move(peer));
  }

  static constexpr std::size_t read_chunk = 64 * 1024;
  // A text session's reads start at 4 KiB and double with each full read answered in one
  // batch, up to `read_chunk`; a batch that reaches `max_unsent` sets them back to 4 KiB.
  // So the input a session holds unanswered stays below what its replies amplify to the
  // mark (hello: under 13 KiB; a 61 KiB `ls`: a few bytes), not a whole 64 KiB read.
  static constexpr std::size_t first_read = 4 * 1024;
  static constexpr std::uint8_t max_read_shift = 4;  // first_read << 4 == read_chunk
  static constexpr std::chrono::milliseconds linger{1000};
  enum class session_state : std::uint8_t { reading, pausing, writing, closing };

  using hook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<
      boost::intrusive::auto_unlink>>;

  /// One connection. Lives in its session coroutine's frame; linked into `sessions_`
  /// so that stop, abort and the idle sweep can reach it.
  static executor_type io_context_executor(std::vector<acceptor_type>& acceptors) {
    if (acceptors.empty()) throw std::invalid_argument("stream_server: no listening socket");
    auto const* ex = acceptors.front().get_executor().template target<executor_type>();
    if (ex == nullptr) throw std::invalid_argument("stream_server: acceptors must run on an io_context");
    return *ex;
  }

  struct session : hook {
    session(session_socket s, std::string p, Handler h)
        : socket(std::move(s)), peer(std::move(p)), handler(std::move(h)) {}
    session(const session&) = delete;
    session& operator=(const session&) = delete;
    session_socket socket;
    std::string peer;
    Handler handler;
    std::string pending;     // a copy of output the kernel would not take at once
    std::string_view unsent;  // what write_pending sends: in `pending`, or in `buffer`
    detail::buffer_pool::buffer buffer;  // while busy: the buffer its reads go to
    detail::io_result io;                // of the last operation awaited
    std::chrono::steady_clock::time_point last_input = std::chrono::steady_clock::now();
    close_reason reason = close_reason::none;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
    detail::deadline_hook deadline_link;  // in `pauses_` or `lingers_` while waiting there
    std::chrono::steady_clock::time_point deadline;
    session_state state = session_state::reading;
    std::uint8_t read_shift = replies_with_input<Handler> ? max_read_shift : 0;
    bool timed_out = false;  // the pause passed (set before the wait is cancelled)
    bool cooling = false;    // the sweep cancelled its read to take `buffer` back

    std::size_t read_size() const noexcept { return first_read << read_shift; }
  };

  /// Acts on what the handler said about input (on the session's last input when `last`).
  /// @return true when the handler holds input it has not answered yet.
  bool on_verdict(session& s, proto::verdict v, bool& last, std::string& out) {
    if (last && v == proto::verdict::keep_open) v = s.handler.on_pause(out);
    if (v == proto::verdict::quit) {
      s.reason = close_reason::exit;
      last = true;
    } else if (v == proto::verdict::too_long) {
      s.reason = close_reason::too_long;
      report(event_kind::refused, s.peer, "limit:line");
      last = true;
    }
    return v == proto::verdict::more;
  }

  static void pause_expired(session& s) {
    s.timed_out = true;
    boost::system::error_code ignored;
    s.socket.cancel(ignored);
  }

  static void linger_expired(session& s) {
    boost::system::error_code ignored;
    s.socket.cancel(ignored);
  }

  void report(event_kind k, std::string_view peer, std::string_view detail = {},
              std::uint64_t in = 0, std::uint64_t out = 0,
              close_reason reason = close_reason::none) const {
    if (log_) log_(event{k, peer, detail, in, out, reason});
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
      auto [ec, sock] = co_await acceptor.async_accept(ex_, asio::as_tuple(asio::use_awaitable));
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
      if (!open_->try_add(limits_.max_connections)) {
        if (!evict_one()) {
          refuse(sock, peer);
          continue;
        }
        // The evicted session counts itself out when it has closed, in a moment.
        open_->add();
      }
      if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
        sock.set_option(asio::ip::tcp::no_delay(true), pe);
      }
      start_session(std::move(sock), std::move(peer));
    }
  }

  /// The address part of a peer name ("127.0.0.1:5000" -> "127.0.0.1", "[::1]:5000" ->
  /// "[::1]"; a Unix peer is its whole name).
  static std::string_view peer_address(std::string_view peer) noexcept {
    auto const colon = peer.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return peer;
    return peer.substr(0, colon);
  }

  /// Full: closes the session idle longest (at least `evict_idle`) of the address that has
  /// the most sessions, so that one address filling the server with idle or dripping
  /// connections cannot lock the others out. The scan runs only when the server is full.
  /// @return false when no session qualifies (the new connection is then refused).
  bool evict_one() {
    if (limits_.evict_idle <= std::chrono::milliseconds::zero()) return false;
    std::unordered_map<std::string_view, std::size_t> per_address;
    for (const auto& s : sessions_) ++per_address[peer_address(s.peer)];
    auto const now = std::chrono::steady_clock::now();
    session* victim = nullptr;
    std::size_t victim_count = 0;
    for (auto& s : sessions_) {
      if (s.reason != close_reason::none || s.state == session_state::closing) continue;
      if (now - s.last_input < limits_.evict_idle) continue;
      std::size_t const count = per_address[peer_address(s.peer)];
      if (victim == nullptr || count > victim_count ||
          (count == victim_count && s.last_input < victim->last_input)) {
        victim = &s;
        victim_count = count;
      }
    }
    if (victim == nullptr) return false;
    auto const idle_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - victim->last_input);
    report(event_kind::refused, victim->peer,
           "evicted: the server is full and this session was idle " + std::to_string(idle_ms.count()) +
               " ms (" + std::to_string(victim_count) + " session(s) from its address)");
    victim->reason = close_reason::evicted;
    boost::system::error_code ignored;
    if (victim->state != session_state::writing) {
      // Best effort, like the refusal: the peer learns why, if its socket takes the line
      // at once. (Not in the middle of a reply that is still being written.)
      static constexpr std::string_view line = "ERR server full: closing this idle connection\n";
      victim->socket.write_some(asio::buffer(line.data(), line.size()), ignored);
    }
    victim->socket.cancel(ignored);
    return true;
  }

  void refuse(session_socket& sock, const std::string& peer) {
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
        boost::system::error_code ignored;
        if (now - s.last_input >= limits_.idle_timeout && s.reason == close_reason::none) {
          s.reason = close_reason::idle;
          s.socket.cancel(ignored);
        } else if (s.buffer && !s.cooling && s.state == session_state::reading &&
                   now - s.last_input >= interval) {
          // Quiet for a sweep: it goes back to waiting without a buffer.
          s.cooling = true;
          s.socket.cancel(ignored);
        }
      }
    }
  }

  /// Runs one session; every failure ends only this session and is logged. A lean
  /// coroutine (see detail/session_task.hpp): an idle session is this frame, one pending
  /// wait and the socket's reactor entry, nothing more.
  ///
  /// The parameters are references, not copies in the frame: the body moves from them
  /// before its first suspension, while the caller's objects are still alive.
  detail::session_task serve(session_socket&& sock, std::string&& peer) {
    session s(std::move(sock), std::move(peer), prototype_);
    sessions_.push_back(s);
    ++session_count_;
    report(event_kind::opened, s.peer);
    try {
      // `out` is the server's reply buffer: filled and sent (or copied into the session)
      // with no suspension in between, so sessions can share it.
      std::string& out = out_buf_;
      out.clear();
      s.handler.greet(out);
      bool last = false;  // close after sending `out`
      bool busy = false;  // input came since the session last waited without a buffer
      bool more = false;  // the handler holds input it has not answered (its budget was reached)
      std::string_view echoed;  // the input, as the reply of a `replies_with_input` handler
      for (;;) {
        if (!out.empty() || !echoed.empty()) {
          // (A handler that replies with its input never writes to `out`.)
          std::string_view const reply = echoed.empty() ? std::string_view(out) : echoed;
          // Input in the session's own buffer stays put while the rest is written.
          bool const stable = !echoed.empty() && s.buffer;
          echoed = {};
          if (!write_now(s, reply, stable)) break;
          if (!s.unsent.empty()) {
            // Backpressure: nothing more is read or answered until the peer has taken
            // this batch (at most `max_unsent` plus one reply).
            auto const before = s.state;
            s.state = session_state::writing;
            co_await write_pending(s);
            s.state = before;
            if (!finish_write(s)) break;
          }
        }
        if (more) {
          // The next batch of held input, after every other ready session has had its
          // turn: one peer's pipelined flood costs the others one batch at a time.
          auto const before = s.state;
          s.state = session_state::writing;
          co_await yield_now(s);
          s.state = before;
          out.clear();
          more = on_verdict(s, s.handler.on_bytes({}, out, limits_.max_unsent), last, out);
          continue;
        }
        if (s.buffer && !last && busy_buffers_.lent() > 1) {
          // Let the other sessions that are ready run before reading again. Asio 1.26
          // tries a read at once after every successful one; on an empty socket that is a
          // failed recv (EAGAIN), a system call per message. After the others have had
          // their turn, the peer's next message has often arrived, and that read finds
          // it: with 50 busy connections, 1.05 recv per message instead of 2.0. (With no
          // other busy session there is nothing to wait for.)
          auto const before = s.state;
          s.state = session_state::writing;
          co_await yield_now(s);
          s.state = before;
        }
        if (last) break;
        if (stopping_) {
          if (s.reason == close_reason::none) s.reason = close_reason::shutdown;
          break;
        }
        // Two ways to wait for input. A session that has just had some borrows a buffer
        // (while the pool has one) and keeps a read pending in it: Asio queues a read
        // without a system call, while every readiness wait re-arms epoll (epoll_ctl).
        // The others, and the busy ones once the sweep finds them quiet, wait for
        // readability and then read into the server's buffer, shared by all sessions:
        // an idle session owns no buffer. (A pending read cannot use the shared buffer:
        // the reactor performs the reads of several sessions before any of them runs.)
        if (busy && !s.buffer) s.buffer = busy_buffers_.take();
        // An unterminated tail becomes a message unless more bytes come within `pause`.
        bool const pausing = s.handler.wants_pause();
        s.timed_out = false;
        s.state = pausing ? session_state::pausing : session_state::reading;
        if (pausing) pauses_.add(s);
        if (s.buffer) {
          co_await read_some(s);
        } else {
          co_await wait_readable(s);
        }
        auto& ec = s.io.ec;
        bool read_done = s.buffer != nullptr;  // else the read follows the wait
        pauses_.remove(s);
        out.clear();
        bool const cancelled = ec && ec == asio::error::operation_aborted;
        if (std::exchange(s.cooling, false) && cancelled && s.reason == close_reason::none) {
          busy = false;
          busy_buffers_.give_back(s.buffer);
          continue;
        }
        if (cancelled || (ec && !read_done)) {
          if (pausing && s.timed_out && s.reason == close_reason::none) {
            last = s.handler.on_pause(out) != proto::verdict::keep_open;
            if (last) s.reason = close_reason::exit;
            continue;
          }
          if (s.reason == close_reason::none) s.reason = cancelled ? close_reason::cancelled : close_reason::reset;
          if (s.reason != close_reason::shutdown) break;
          // Stopping: what the peer sent before the stop is still answered (one read's
          // worth, a bare word included), then the session closes.
          last = true;
          read_done = false;
        }
        char* const in = s.buffer ? s.buffer.get() : in_buf_.data();
        if (!read_done) s.io.bytes = s.socket.read_some(asio::buffer(in, s.read_size()), ec);
        std::size_t const n = s.io.bytes;
        if (would_block(ec)) {
          if (last) s.handler.on_pause(out);
          continue;
        }
        if (ec && ec == asio::error::eof) {
          // Half-close: a tail still waiting for a pause is a message; answer, then close.
          if (s.handler.on_pause(out) == proto::verdict::quit) {
            s.reason = close_reason::exit;
          } else if (s.reason == close_reason::none) {
            s.reason = close_reason::eof;
          }
          last = true;
          continue;
        }
        if (ec) {
          s.reason = ec == asio::error::connection_reset ? close_reason::reset : close_reason::error;
          break;
        }
        s.bytes_in += n;
        s.last_input = std::chrono::steady_clock::now();
        busy = true;
        if constexpr (replies_with_input<Handler>) {
          echoed = std::string_view(in, n);
        } else {
          more = on_verdict(s, s.handler.on_bytes(std::string_view(in, n), out, limits_.max_unsent),
                            last, out);
          if (more) {
            s.read_shift = 0;
          } else if (n == s.read_size() && s.read_shift < max_read_shift) {
            ++s.read_shift;
          }
        }
      }
      if (s.reason == close_reason::exit || s.reason == close_reason::too_long ||
          s.reason == close_reason::shutdown) {
        // Closing while the peer's bytes are still unread makes the kernel send RST, and
        // the peer may then lose our last reply. So: send FIN, and read and discard what
        // the peer still sends until it closes too, for at most `linger`.
        s.state = session_state::closing;
        busy_buffers_.give_back(s.buffer);
        auto& ec = s.io.ec;
        s.socket.shutdown(asio::socket_base::shutdown_send, ec);
        if (!ec) lingers_.add(s);
        while (!ec) {
          co_await wait_readable(s);
          if (!ec) s.socket.read_some(asio::buffer(in_buf_), ec);
          if (would_block(ec)) ec.clear();
        }
        lingers_.remove(s);
      }
    } catch (const std::exception& e) {
      s.reason = close_reason::error;
      report(event_kind::error, s.peer, e.what());
    }
    boost::system::error_code ignored;
    s.socket.close(ignored);
    busy_buffers_.give_back(s.buffer);
    s.unlink();
    --session_count_;
    open_->remove();
    report(event_kind::closed, s.peer, to_string(s.reason), s.bytes_in, s.bytes_out, s.reason);
    --tasks_;
    wake_.cancel();
  }

  static auto wait_readable(session& s) {
    return detail::start_io(s.io, [&s](detail::resume_handler h) {
      s.socket.async_wait(session_socket::wait_read, std::move(h));
    });
  }

  static auto read_some(session& s) {
    return detail::start_io(s.io, [&s](detail::resume_handler h) {
      s.socket.async_read_some(asio::buffer(s.buffer.get(), s.read_size()), std::move(h));
    });
  }

  /// Resumes the session after the handlers already queued on its io_context.
  static auto yield_now(session& s) {
    return detail::start_io(s.io, [&s](detail::resume_handler h) {
      asio::post(s.socket.get_executor(), detail::resume_later{std::move(h)});
    });
  }

  static auto write_pending(session& s) {
    return detail::start_io(s.io, [&s](detail::resume_handler h) {
      asio::async_write(s.socket, asio::buffer(s.unsent), std::move(h));
    });
  }

  /// Writes what the kernel takes at once; the rest of `out` is left in `s.unsent` for
  /// `write_pending`: as it is when `stable` (it stays put until then), else copied into
  /// `s.pending` (the shared buffers are about to be reused).
  /// @return false when the session must end (write failed).
  bool write_now(session& s, std::string_view out, bool stable) {
    boost::system::error_code ec;
    std::size_t written = s.socket.write_some(asio::buffer(out), ec);
    if (would_block(ec)) {
      written = 0;
      ec.clear();
    }
    if (ec) {
      if (s.reason == close_reason::none) s.reason = close_reason::reset;
      return false;
    }
    s.bytes_out += written;
    if (written < out.size()) {
      if (stable) {
        s.unsent = out.substr(written);
      } else {
        s.pending.assign(out.substr(written));
        s.unsent = s.pending;
      }
    }
    return true;
  }

  static bool finish_write(session& s) {
    s.bytes_out += s.io.bytes;
    s.unsent = {};
    std::string().swap(s.pending);
    if (s.io.ec) {
      if (s.reason == close_reason::none) s.reason = s.io.ec == asio::error::operation_aborted ? close_reason::cancelled : close_reason::reset;
      return false;
    }
    return true;
  }

  std::vector<acceptor_type> acceptors_;
  Handler prototype_;
  server_limits limits_;
  log_sink log_;
  std::shared_ptr<connection_count> open_;
  executor_type ex_;
  boost::intrusive::list<session, boost::intrusive::constant_time_size<false>> sessions_;
  asio::steady_timer wake_;         // run() sleeps on it until every task has ended
  asio::steady_timer sweep_timer_;  // idle sweep
  asio::steady_timer grace_timer_;  // end of the grace period
  detail::fifo_deadlines<session> pauses_;   // sessions waiting to see whether a tail is a message
  detail::fifo_deadlines<session> lingers_;  // sessions draining the peer before close
  detail::buffer_pool busy_buffers_;  // read buffers lent to busy sessions (see serve)
  std::vector<char> in_buf_;        // shared read buffer (see serve)
  std::string out_buf_;             // shared reply buffer
  std::size_t tasks_ = 0;
  std::size_t session_count_ = 0;
  std::size_t accept_failures_ = 0;  // not yet reported
  std::size_t aborted_ = 0;          // sessions cut off by abort()
  std::chrono::steady_clock::time_point last_accept_warning_{};
  bool stopping_ = false;
};

}  // namespace netdemo::net
