// One stream connection and its life as named steps: greet, answer, write the rest, yield,
// wait for input (or the pause), take the input, drain on stop, linger, close.
//
// The stream a session owns is reached only through these operations, so that any stream
// offering them (a TCP or Unix socket today; a TLS adapter later) can be served:
//
//   async_wait(asio::socket_base::wait_read, h)     readiness (h: void(error_code))
//   async_read_some(mutable_buffer, h)              a pending read (h: void(error_code, size_t))
//   async_write_some(const_buffer, h)               what asio::async_write builds on
//   read_some(mutable_buffer, ec), write_some(const_buffer, ec)
//                                                   non-blocking: `would_block(ec)` when
//                                                   nothing can be done now
//   shutdown(asio::socket_base::shutdown_send, ec), close(ec), cancel(ec),
//   non_blocking(true, ec), get_executor() and `executor_type` (the session's executor)
//
// A stream that also has async_handshake(h) (net::basic_tls_stream) gets a handshake step
// before the greeting. Everything of a protocol (TCP_NODELAY, endpoints, peer names) stays
// in the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/intrusive/list.hpp>

#include "netdemo/net/detail/buffer_pool.hpp"
#include "netdemo/net/detail/fifo_deadlines.hpp"
#include "netdemo/net/detail/session_task.hpp"
#include "netdemo/net/limits.hpp"
#include "netdemo/net/log.hpp"
#include "netdemo/net/stream_handler.hpp"
#include "netdemo/net/tls.hpp"
#include "netdemo/net/would_block.hpp"

namespace netdemo::net::detail {

/// The operations a session uses of its stream (see the comment at the top of this file).
template <class S>
concept session_stream =
    requires(S& s, boost::system::error_code& ec, boost::asio::mutable_buffer in,
             boost::asio::const_buffer out, resume_handler h) {
      typename S::executor_type;
      s.async_wait(boost::asio::socket_base::wait_read, std::move(h));
      s.async_read_some(in, std::move(h));
      s.async_write_some(out, std::move(h));
      { s.read_some(in, ec) } -> std::convertible_to<std::size_t>;
      { s.write_some(out, ec) } -> std::convertible_to<std::size_t>;
      s.shutdown(boost::asio::socket_base::shutdown_send, ec);
      s.close(ec);
      s.cancel(ec);
      s.non_blocking(true, ec);
      { s.get_executor() } -> std::convertible_to<typename S::executor_type>;
    };

/// A stream with a handshake before any byte of the session (TLS).
template <class S>
concept handshaking_stream = requires(S& s, resume_handler h) {
  s.async_handshake(std::move(h));
  { s.failure() } -> std::convertible_to<std::string_view>;
  { s.established() } -> std::convertible_to<bool>;
};

/// What a session is waiting for, as stop, abort, eviction and the idle sweep see it.
enum class session_state : std::uint8_t {
  reading,  ///< waiting for input
  pausing,  ///< waiting for input or the end of the pause (a tail may be a message)
  writing,  ///< writing a reply, or yielding to the other sessions
  closing,  ///< lingering: everything is sent, the peer's rest is drained
};

/// What every session of one server shares. Not thread safe: the server's executor only.
template <class Session>
struct session_shared {
  using handler_type = typename Session::handler_type;
  static constexpr std::size_t read_chunk = 64 * 1024;
  /// The most sessions that read into a buffer of their own at one time.
  static constexpr std::size_t busy_sessions_max = 64;
  static constexpr std::chrono::milliseconds linger{1000};

  template <class Executor>
  session_shared(const Executor& ex, handler_type proto, server_limits l, log_sink sink,
                 std::shared_ptr<connection_count> count)
      : prototype(std::move(proto)),
        limits(l),
        log(std::move(sink)),
        open(std::move(count)),
        wake(ex),
        pauses(ex, l.pause, &Session::pause_expired),
        lingers(ex, linger, &Session::linger_expired),
        busy_buffers(read_chunk, busy_sessions_max),
        in_buf(read_chunk) {}

  void report(event_kind k, std::string_view peer, std::string_view detail = {},
              std::uint64_t in = 0, std::uint64_t out = 0,
              close_reason reason = close_reason::none,
              std::chrono::steady_clock::duration open_for = {}) const {
    if (log) log(event{k, peer, detail, in, out, reason, open_for});
  }

  /// A task (a session, a listener) has ended: `run()` looks whether it was the last.
  void task_ended() {
    --tasks;
    wake.cancel();
  }

  handler_type prototype;
  server_limits limits;
  log_sink log;
  std::shared_ptr<connection_count> open;
  boost::intrusive::list<Session, boost::intrusive::constant_time_size<false>> sessions;
  boost::asio::steady_timer wake;  // run() sleeps on it until every task has ended
  fifo_deadlines<Session> pauses;   // sessions waiting to see whether a tail is a message
  fifo_deadlines<Session> lingers;  // sessions draining the peer before close
  buffer_pool busy_buffers;         // read buffers lent to busy sessions (see wait_step)
  std::vector<char> in_buf;         // shared read buffer
  std::string out_buf;              // shared reply buffer
  std::size_t tasks = 0;
  std::size_t session_count = 0;
  bool stopping = false;
};

/// One connection. Lives in the frame of its `live` coroutine, linked into the shared
/// `sessions` list so that stop, abort, eviction and the idle sweep can reach it; those
/// touch it only while it is suspended (one executor), through `state`, `reason` and
/// `stream.cancel`/`close`.
template <session_stream Stream, stream_handler Handler>
class stream_session
    : public boost::intrusive::list_base_hook<
          boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  using handler_type = Handler;
  using shared_type = session_shared<stream_session>;

  /// Serves `stream` until the session ends. Runs until its first wait, then lives on in
  /// its own frame; catches everything itself, logs it with the peer and ends its task.
  /// The session must already be counted in `shared.open` and `shared.tasks`.
  static void start(shared_type& shared, Stream&& stream, std::string&& peer) {
    live(shared, std::move(stream), std::move(peer));
  }

  stream_session(const stream_session&) = delete;
  stream_session& operator=(const stream_session&) = delete;

  static void pause_expired(stream_session& s) {
    s.timed_out = true;
    boost::system::error_code ignored;
    s.stream.cancel(ignored);
  }

  static void linger_expired(stream_session& s) {
    boost::system::error_code ignored;
    s.stream.cancel(ignored);
  }

  Stream stream;
  std::string peer;
  Handler handler;
  std::string pending;      // a copy of output the kernel would not take at once
  std::string_view unsent;  // what write_rest sends: in `pending`, or in `buffer`
  std::string_view echoed;  // the input, as the reply of a `replies_with_input` handler
  buffer_pool::buffer buffer;  // while busy: the buffer its reads go to
  io_result io;                // of the last operation awaited
  std::chrono::steady_clock::time_point last_input = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point opened_at = last_input;  // for the close event's duration
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  deadline_hook deadline_link;  // in `pauses` or `lingers` while waiting there
  std::chrono::steady_clock::time_point deadline;
  close_reason reason = close_reason::none;
  session_state state = session_state::reading;
  bool timed_out = false;  // the pause passed (set before the wait is cancelled)
  bool cooling = false;    // the sweep cancelled its read to take `buffer` back

 private:
  // A text session's reads start at 4 KiB and double with each full read answered in one
  // batch, up to `read_chunk`; a batch that reaches `max_unsent` sets them back to 4 KiB.
  // So the input a session holds unanswered stays below what its replies amplify to the
  // mark (hello: under 13 KiB; a 61 KiB `ls`: a few bytes), not a whole 64 KiB read.
  static constexpr std::size_t first_read = 4 * 1024;
  static constexpr std::uint8_t max_read_shift = 4;  // first_read << 4 == read_chunk
  static_assert((first_read << max_read_shift) == shared_type::read_chunk);

  stream_session(shared_type& sh, Stream&& s, std::string&& p)
      : stream(std::move(s)), peer(std::move(p)), handler(sh.prototype), shared_(sh) {
    boost::system::error_code ignored;
    stream.non_blocking(true, ignored);
    shared_.sessions.push_back(*this);
    ++shared_.session_count;
    shared_.report(event_kind::opened, peer);
  }

  /// The session's life. A lean coroutine (see session_task.hpp): an idle session is this
  /// frame, one pending wait and the stream's reactor entry, nothing more. The parameters
  /// are references: the body moves from them before its first suspension.
  static session_task live(shared_type& sh, Stream&& stream_in, std::string&& peer_in) {
    stream_session s(sh, std::move(stream_in), std::move(peer_in));
    try {
      if constexpr (handshaking_stream<Stream>) co_await s.handshake();
      if (s.handshake_done()) {
        s.greet();
        for (;;) {
          if (!s.answer()) break;
          if (!s.unsent.empty()) {
            co_await s.write_rest();
            if (!s.wrote_rest()) break;
          }
          if (s.wants_turn()) co_await s.yield_turn();
          if (s.more) {
            s.answer_held();
            continue;
          }
          if (s.done()) break;
          if (s.wait_step()) {
            co_await s.read_pending();
          } else {
            co_await s.wait_readable();
          }
          if (!s.woke()) break;
        }
        if (s.begin_linger()) {
          while (!s.io.ec) {
            co_await s.wait_readable();
            s.drain();
          }
          s.shared_.lingers.remove(s);
        }
      }
    } catch (const std::exception& e) {
      s.failed(e);
    }
    s.end();
  }

  // --- steps -----------------------------------------------------------------------

  /// `out` is the server's reply buffer: filled and sent (or copied into the session)
  /// with no suspension in between, so sessions can share it.
  std::string& out() noexcept { return shared_.out_buf; }

  /// The TLS handshake. The session waits in state `reading` meanwhile, so the idle
  /// sweep bounds it (reason `idle`) and a graceful stop cancels it (reason `shutdown`).
  auto handshake() {
    return start_io(io, [this](resume_handler h) { stream.async_handshake(std::move(h)); });
  }

  /// @return true when the session goes on: no handshake, or it succeeded. A failed one
  /// ends the session with reason `handshake` and the failure in the close event's detail.
  bool handshake_done() {
    if constexpr (handshaking_stream<Stream>) {
      if (!io.ec) {
        last_input = std::chrono::steady_clock::now();
        return true;
      }
      if (reason == close_reason::none) {
        reason = close_reason::handshake;
        std::string_view why = stream.failure();
        if (io.ec == tls_errc::truncated) why = "the peer closed the connection during the handshake";
        detail_ = std::string(to_string(reason)) + ": " + std::string(why.empty() ? io.ec.message() : why);
      }
      return false;
    } else {
      return true;
    }
  }

  void greet() {
    out().clear();
    handler.greet(out());
  }

  /// Sends the reply in `out` (or the input, for an echo) as far as the kernel takes it
  /// now; the rest is left in `unsent`.
  /// @return false when the session must end (the write failed).
  bool answer() {
    if (out().empty() && echoed.empty()) return true;
    // (A handler that replies with its input never writes to `out`.)
    std::string_view const reply = echoed.empty() ? std::string_view(out()) : echoed;
    // Input in the session's own buffer stays put while the rest is written.
    bool const stable = !echoed.empty() && buffer;
    echoed = {};
    return write_now(reply, stable);
  }

  /// Backpressure: nothing more is read or answered until the peer has taken this batch
  /// (at most `max_unsent` plus one reply).
  auto write_rest() {
    state = session_state::writing;
    return start_io(io, [this](resume_handler h) {
      boost::asio::async_write(stream, boost::asio::buffer(unsent), std::move(h));
    });
  }

  bool wrote_rest() {
    bytes_out += io.bytes;
    unsent = {};
    std::string().swap(pending);
    if (io.ec) {
      if (reason == close_reason::none) {
        reason = io.ec == boost::asio::error::operation_aborted ? close_reason::cancelled
                                                                 : close_reason::reset;
      }
      return false;
    }
    return true;
  }

  /// Yield when input is held (one peer's pipelined flood then costs the others one
  /// batch at a time), and before a busy session reads again while others are busy:
  /// Asio 1.26 tries a read at once after every successful one; on an empty socket that
  /// is a failed recv (EAGAIN), a system call per message. After the others have had
  /// their turn, the peer's next message has often arrived, and that read finds it: with
  /// 50 busy connections, 1.05 recv per message instead of 2.0.
  bool wants_turn() const noexcept {
    return more || (buffer && !last && shared_.busy_buffers.lent() > 1);
  }

  /// Resumes the session after the handlers already queued on its io_context.
  auto yield_turn() {
    state = session_state::writing;
    return start_io(io, [this](resume_handler h) {
      boost::asio::post(stream.get_executor(), resume_later{std::move(h)});
    });
  }

  /// The next batch of held input (the handler's budget was reached).
  void answer_held() {
    out().clear();
    on_verdict(handler.on_bytes({}, out(), shared_.limits.max_unsent));
  }

  /// @return true when the session closes now: the handler said so, or the server stops.
  bool done() noexcept {
    if (last) return true;
    if (!shared_.stopping) return false;
    if (reason == close_reason::none) reason = close_reason::shutdown;
    return true;
  }

  /// Two ways to wait for input. A session that has just had some borrows a buffer (while
  /// the pool has one) and keeps a read pending in it: Asio queues a read without a system
  /// call, while every readiness wait re-arms epoll (epoll_ctl). The others, and the busy
  /// ones once the sweep finds them quiet, wait for readability and then read into the
  /// shared buffer: an idle session owns no buffer. (A pending read cannot use the shared
  /// buffer: the reactor performs the reads of several sessions before any of them runs.)
  /// An unterminated tail becomes a message unless more bytes come within `pause`.
  /// @return true to wait with a pending read, false with a readiness wait.
  bool wait_step() {
    if (busy && !buffer) buffer = shared_.busy_buffers.take();
    bool const pausing = handler.wants_pause();
    timed_out = false;
    state = pausing ? session_state::pausing : session_state::reading;
    if (pausing) shared_.pauses.add(*this);
    return buffer != nullptr;
  }

  auto read_pending() {
    return start_io(io, [this](resume_handler h) {
      stream.async_read_some(boost::asio::buffer(buffer.get(), read_size()), std::move(h));
    });
  }

  auto wait_readable() {
    return start_io(io, [this](resume_handler h) {
      stream.async_wait(boost::asio::socket_base::wait_read, std::move(h));
    });
  }

  /// After the wait: the sweep taking the buffer back, the pause passing, a stop or a
  /// cancellation; else the input.
  /// @return false when the session ends now (no lingering close unless stopping).
  bool woke() {
    bool read_done = buffer != nullptr;  // else the read follows the wait
    bool const pausing = state == session_state::pausing;
    shared_.pauses.remove(*this);
    out().clear();
    bool const cancelled = io.ec && io.ec == boost::asio::error::operation_aborted;
    if (std::exchange(cooling, false) && cancelled && reason == close_reason::none) {
      busy = false;
      shared_.busy_buffers.give_back(buffer);
      return true;
    }
    if (cancelled || (io.ec && !read_done)) {
      if (pausing && timed_out && reason == close_reason::none) {
        last = handler.on_pause(out()) != proto::verdict::keep_open;
        if (last) reason = close_reason::exit;
        return true;
      }
      if (reason == close_reason::none) {
        reason = cancelled ? close_reason::cancelled : close_reason::reset;
      }
      if (reason != close_reason::shutdown) return false;
      // Stopping: what the peer sent before the stop is still answered (one read's
      // worth, a bare word included), then the session closes.
      last = true;
      read_done = false;
    }
    return take_input(read_done);
  }

  /// Reads (when the wait was a readiness wait) and hands the input to the handler.
  /// @return false when the session ends now.
  bool take_input(bool read_done) {
    auto& ec = io.ec;
    char* const in = buffer ? buffer.get() : shared_.in_buf.data();
    if (!read_done) io.bytes = stream.read_some(boost::asio::buffer(in, read_size()), ec);
    std::size_t const n = io.bytes;
    if (would_block(ec)) {
      if (last) handler.on_pause(out());
      return true;
    }
    if (ec && (ec == boost::asio::error::eof || ec == tls_errc::truncated)) {
      // Half-close (over TLS: close_notify, or a TCP end without it, which many clients
      // do): a tail still waiting for a pause is a message; answer, then close.
      if (handler.on_pause(out()) == proto::verdict::quit) {
        reason = close_reason::exit;
      } else if (reason == close_reason::none) {
        reason = close_reason::eof;
      }
      last = true;
      return true;
    }
    if (ec) {
      reason = ec == boost::asio::error::connection_reset ? close_reason::reset : close_reason::error;
      return false;
    }
    bytes_in += n;
    last_input = std::chrono::steady_clock::now();
    busy = true;
    if constexpr (replies_with_input<Handler>) {
      echoed = std::string_view(in, n);
    } else {
      on_verdict(handler.on_bytes(std::string_view(in, n), out(), shared_.limits.max_unsent));
      if (more) {
        read_shift = 0;
      } else if (n == read_size() && read_shift < max_read_shift) {
        ++read_shift;
      }
    }
    return true;
  }

  /// Acts on what the handler said about input (on the session's last input when `last`).
  void on_verdict(proto::verdict v) {
    if (last && v == proto::verdict::keep_open) v = handler.on_pause(out());
    if (v == proto::verdict::quit) {
      reason = close_reason::exit;
      last = true;
    } else if (v == proto::verdict::too_long) {
      reason = close_reason::too_long;
      shared_.report(event_kind::refused, peer, "limit:line");
      last = true;
    }
    more = v == proto::verdict::more;
  }

  /// Closing while the peer's bytes are still unread makes the kernel send RST, and the
  /// peer may then lose our last reply. So, after `exit`, `limit:line` or a stop: send
  /// FIN, and read and discard what the peer still sends until it closes too, for at most
  /// `linger`.
  /// @return true when the session lingers (then `io.ec` ends the drain).
  bool begin_linger() {
    if (reason != close_reason::exit && reason != close_reason::too_long &&
        reason != close_reason::shutdown) {
      return false;
    }
    state = session_state::closing;
    shared_.busy_buffers.give_back(buffer);
    stream.shutdown(boost::asio::socket_base::shutdown_send, io.ec);
    if (!io.ec) shared_.lingers.add(*this);
    return true;
  }

  void drain() {
    auto& ec = io.ec;
    if (!ec) stream.read_some(boost::asio::buffer(shared_.in_buf), ec);
    if (would_block(ec)) ec.clear();
  }

  void failed(const std::exception& e) {
    reason = close_reason::error;
    shared_.report(event_kind::error, peer, e.what());
  }

  /// Closes the stream, gives everything back and reports the close. The frame is freed
  /// right after: nothing here may suspend.
  void end() {
    boost::system::error_code ignored;
    if constexpr (handshaking_stream<Stream>) {
      // A clean end the server chose or answered (not a lingering one: that sent it
      // already) gets close_notify, so the peer can tell it from a cut. Best effort: a
      // full send buffer keeps it.
      bool const clean = reason == close_reason::eof || reason == close_reason::idle ||
                         (reason == close_reason::evicted && state != session_state::writing);
      if (clean && stream.established()) stream.shutdown(boost::asio::socket_base::shutdown_send, ignored);
    }
    stream.close(ignored);
    shared_.busy_buffers.give_back(buffer);
    this->unlink();
    --shared_.session_count;
    shared_.open->remove();
    shared_.report(event_kind::closed, peer, detail_.empty() ? to_string(reason) : std::string_view(detail_),
                   bytes_in, bytes_out, reason, std::chrono::steady_clock::now() - opened_at);
    shared_.task_ended();
  }

  /// Writes what the kernel takes at once; the rest of `reply` is left in `unsent` for
  /// `write_rest`: as it is when `stable` (it stays put until then), else copied into
  /// `pending` (the shared buffers are about to be reused).
  /// @return false when the session must end (write failed).
  bool write_now(std::string_view reply, bool stable) {
    boost::system::error_code ec;
    std::size_t written = stream.write_some(boost::asio::buffer(reply), ec);
    if (would_block(ec)) {
      written = 0;
      ec.clear();
    }
    if (ec) {
      if (reason == close_reason::none) reason = close_reason::reset;
      return false;
    }
    bytes_out += written;
    if (written < reply.size()) {
      if (stable) {
        unsent = reply.substr(written);
      } else {
        pending.assign(reply.substr(written));
        unsent = pending;
      }
    }
    return true;
  }

  std::size_t read_size() const noexcept { return first_read << read_shift; }

  shared_type& shared_;
  struct no_detail {
    bool empty() const noexcept { return true; }
    operator std::string_view() const noexcept { return {}; }
  };
  // The close event's detail when it says more than to_string(reason): a failed TLS
  // handshake's reason. Plain sessions keep no room for it (bytes per idle connection).
  [[no_unique_address]] std::conditional_t<handshaking_stream<Stream>, std::string, no_detail> detail_;
  std::uint8_t read_shift = replies_with_input<Handler> ? max_read_shift : 0;
  bool last = false;  // close after sending what is in `out`
  bool busy = false;  // input came since the session last waited without a buffer
  bool more = false;  // the handler holds input it has not answered (its budget was reached)
};

}  // namespace netdemo::net::detail
