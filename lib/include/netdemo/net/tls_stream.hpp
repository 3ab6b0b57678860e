/// @file
/// A TLS stream over a connected stream socket, with the operations of the socket it wraps
/// (readiness waits, non-blocking reads and writes, shutdown, close, cancel), so that code
/// written for a plain socket's readiness loop runs over TLS unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>

#include "netdemo/net/tls.hpp"

namespace netdemo::net {

namespace asio = boost::asio;

/// TLS on a connected stream socket (TCP, or a Unix stream socket), readiness-driven: the TLS
/// module reads and writes the socket's descriptor itself, and the socket is used to wait
/// for readiness. The role in the handshake is the context's (a server context answers, a
/// client context starts it).
///
/// The operations mirror `Socket`'s, with the same meaning of `would_block`: in
/// non-blocking mode, read_some() and write_some() do what TLS can do now, or fail with
/// `asio::error::would_block`; async_wait() then completes when retrying may make progress.
/// TLS may need to write while reading (an alert) or read while writing:
/// async_wait(wait_read) after a read that needed to write waits for the socket to be
/// writable, and the other way round, so a loop of "wait for read, read until
/// would_block" stays correct. TLS 1.2 renegotiation is refused.
///
/// Limits: a read or write uses the first non-empty buffer of a sequence; a write that
/// failed with would_block must be retried with the same bytes first (OpenSSL's rule: part of
/// the record may be on the wire).
///
/// Threading: like a socket, one stream is used from one thread at a time (its executor or a
/// strand of it); distinct streams are independent, also when they share a context.
///
/// Errors: `asio::error::eof` after the peer's close_notify; tls_errc::truncated when the
/// peer closed TCP without it; tls_errc::handshake_failed, verify_failed, protocol_error with
/// the reason in failure(); socket errors as system errors (connection_reset...).
template <class Socket>
class basic_tls_stream {
 public:
  /// The socket underneath.
  using socket_type = Socket;
  /// The socket's executor: every completion handler runs there unless it has its own.
  using executor_type = typename Socket::executor_type;
  /// What to wait for (`wait_read`, `wait_write`).
  using wait_type = asio::socket_base::wait_type;

  /// TLS on `socket` (connected) for `context`. A client stream checks the server's
  /// certificate against `host` (a name or an address) and sends a name as SNI; empty:
  /// no name is checked (a verifying client then accepts any name the CA vouches for).
  /// The socket is made non-blocking at the OS level; the stream starts in blocking mode
  /// for read_some()/write_some(), like a socket.
  /// @throws std::system_error (tls_errc::not_connected for a closed socket, or a module failure).
  basic_tls_stream(Socket socket, const tls_context& context, std::string_view host = {})
      : socket_(std::move(socket)), engine_(context, checked_handle(socket_), host) {
    boost::system::error_code ec;
    socket_.native_non_blocking(true, ec);
    if (ec) throw std::system_error(std::error_code(ec.value(), std::system_category()), "TLS stream");
  }

  /// Moves the socket and the TLS state (no operation may be pending).
  basic_tls_stream(basic_tls_stream&&) noexcept = default;
  /// Moves the socket and the TLS state (no operation may be pending on either).
  basic_tls_stream& operator=(basic_tls_stream&&) noexcept = default;
  basic_tls_stream(const basic_tls_stream&) = delete;
  basic_tls_stream& operator=(const basic_tls_stream&) = delete;
  /// Frees the TLS state and closes the socket (sends no close_notify: call shutdown first).
  ~basic_tls_stream() = default;

  /// The socket's executor.
  executor_type get_executor() noexcept { return socket_.get_executor(); }
  /// The socket (for its endpoints and options; reading or writing it breaks the TLS stream).
  Socket& next_layer() noexcept { return socket_; }
  /// The socket, read-only.
  const Socket& next_layer() const noexcept { return socket_; }
  /// True while the socket is open.
  bool is_open() const noexcept { return socket_.is_open(); }
  /// True once the handshake has completed.
  bool established() const noexcept { return engine_.established(); }
  /// The reason of the last TLS failure, one line ("certificate verify failed: ...");
  /// empty if none.
  const std::string& failure() const noexcept { return engine_.failure(); }

  /// Performs the handshake (the context's role). Completes with `void(error_code)`: no
  /// error, a tls_errc (reason in failure()), a socket error, or
  /// `asio::error::operation_aborted` after cancel() or a cancellation of the operation
  /// (terminal, e.g. from `awaitable || timer`: the deadline of a handshake). A failed
  /// handshake leaves the stream open; close it (nothing else of the process is affected).
  template <class Token>
  auto async_handshake(Token&& token) {
    return start<void(boost::system::error_code)>(
        [](basic_tls_stream& s, boost::system::error_code& ec) {
          s.engine_.handshake(ec);
          return std::size_t{0};
        },
        false, std::forward<Token>(token));
  }

  /// Performs the handshake synchronously: in blocking mode waits until it is complete; in
  /// non-blocking mode does one step and fails with `would_block` until it is complete (wait
  /// with async_wait(wait_read), then call again). Errors as for async_handshake().
  void handshake(boost::system::error_code& ec) {
    blocking_step(ec, false, [&](boost::system::error_code& e) {
      engine_.handshake(e);
      return std::size_t{0};
    });
  }

  /// Reads what TLS has now into the first non-empty buffer of `buffers`. In non-blocking
  /// mode fails with `asio::error::would_block` when nothing can be read yet; in blocking
  /// mode waits. Returns 0 with no error for empty buffers.
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
    auto const b = first_buffer<asio::mutable_buffer>(buffers);
    if (b.size() == 0) {
      ec = {};
      return 0;
    }
    return blocking_step(ec, false, [&](boost::system::error_code& e) { return engine_.read(b.data(), b.size(), e); });
  }

  /// Writes from the first non-empty buffer of `buffers` (one TLS record, 16 KiB at most).
  /// Non-blocking mode: `asio::error::would_block` when nothing can be written now; retry
  /// with the same bytes first.
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, boost::system::error_code& ec) {
    auto const b = first_buffer<asio::const_buffer>(buffers);
    if (b.size() == 0) {
      ec = {};
      return 0;
    }
    return blocking_step(ec, true, [&](boost::system::error_code& e) { return engine_.write(b.data(), b.size(), e); });
  }

  /// Reads some bytes. Completes with `void(error_code, std::size_t)`; cancel() or a
  /// terminal cancellation completes it with `operation_aborted` (nothing is lost: bytes
  /// already decrypted stay for the next read).
  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    auto const b = first_buffer<asio::mutable_buffer>(buffers);
    return start<void(boost::system::error_code, std::size_t)>(
        [b](basic_tls_stream& s, boost::system::error_code& ec) {
          ec = {};
          return b.size() == 0 ? 0 : s.engine_.read(b.data(), b.size(), ec);
        },
        false, std::forward<Token>(token));
  }

  /// Writes some bytes (what `asio::async_write` builds on). Completes with
  /// `void(error_code, std::size_t)`; cancellation as for async_read_some().
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    auto const b = first_buffer<asio::const_buffer>(buffers);
    return start<void(boost::system::error_code, std::size_t)>(
        [b](basic_tls_stream& s, boost::system::error_code& ec) {
          ec = {};
          return b.size() == 0 ? 0 : s.engine_.write(b.data(), b.size(), ec);
        },
        true, std::forward<Token>(token));
  }

  /// Waits until a read (`wait_read`) or a write (`wait_write`) may make progress: at once
  /// when decrypted bytes are waiting, else when the socket is ready for what the last
  /// read or write needed. Completes with `void(error_code)`; cancel() or a terminal
  /// cancellation: `operation_aborted`.
  template <class Token>
  auto async_wait(wait_type what, Token&& token) {
    return asio::async_compose<Token, void(boost::system::error_code)>(wait_op{this, what}, token, socket_);
  }

  /// Sends close_notify (when the handshake completed), then shuts the socket down as
  /// `what` asks. close_notify goes only with `shutdown_send` or `shutdown_both`. Fails with
  /// `would_block` when the socket cannot take close_notify now (its send buffer is full):
  /// use async_shutdown() then. Never blocks. Reading goes on after it (a half-close): the
  /// peer's remaining bytes, then `eof` at its close_notify.
  void shutdown(asio::socket_base::shutdown_type what, boost::system::error_code& ec) {
    ec = {};
    if (what != asio::socket_base::shutdown_receive && engine_.established()) engine_.shutdown(ec);
    if (!ec) socket_.shutdown(what, ec);
  }

  /// Sends close_notify, waiting for the socket if needed, then shuts down the sending side.
  /// Completes with `void(error_code)`; cancellation as for async_read_some().
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start<void(boost::system::error_code)>(
        [](basic_tls_stream& s, boost::system::error_code& ec) {
          s.shutdown(asio::socket_base::shutdown_send, ec);
          return std::size_t{0};
        },
        true, std::forward<Token>(token));
  }

  /// Frees the TLS state and closes the socket; pending operations complete with
  /// `operation_aborted`. No close_notify (call shutdown first for a clean end).
  void close(boost::system::error_code& ec) {
    engine_.reset();
    socket_.close(ec);
  }

  /// Cancels pending operations: they complete with `operation_aborted`. The TLS state is
  /// kept: a cancelled read can be retried; a cancelled handshake cannot be resumed
  /// usefully (close the stream).
  void cancel(boost::system::error_code& ec) { socket_.cancel(ec); }

  /// Blocking (false, the default) or non-blocking (true) mode of read_some(),
  /// write_some(); the socket itself always stays non-blocking. Never fails.
  void non_blocking(bool mode, boost::system::error_code& ec) noexcept {
    non_blocking_ = mode;
    ec = {};
  }
  /// The mode set by non_blocking(bool, error_code&).
  bool non_blocking() const noexcept { return non_blocking_; }

 private:
  static int checked_handle(Socket& s) {
    if (!s.is_open()) {
      throw std::system_error(std::error_code(make_error_code(tls_errc::not_connected)), "TLS stream on a closed socket");
    }
    return static_cast<int>(s.native_handle());
  }

  template <class Buffer, class Sequence>
  static Buffer first_buffer(const Sequence& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers), end = asio::buffer_sequence_end(buffers); it != end; ++it) {
      Buffer b(*it);
      if (b.size() != 0) return b;
    }
    return Buffer();
  }

  wait_type wanted(bool for_write) const noexcept {
    return engine_.want(for_write) == detail::tls_want::write ? wait_type::wait_write : wait_type::wait_read;
  }

  template <class Step>
  std::size_t blocking_step(boost::system::error_code& ec, bool for_write, Step step) {
    for (;;) {
      std::size_t const n = step(ec);
      if (ec != asio::error::would_block || non_blocking_) return n;
      socket_.wait(wanted(for_write), ec);
      if (ec) return 0;
    }
  }

  /// One operation: try the step; on would_block wait for what it needs and try again.
  /// A result that is there at once is posted (completion handlers never run inside the
  /// initiating call).
  template <class Step, bool WithSize>
  struct step_op {
    basic_tls_stream* s;
    Step step;
    bool for_write;
    enum { starting, waiting, posted } state = starting;
    boost::system::error_code ec{};
    std::size_t n = 0;

    template <class Self>
    void operator()(Self& self, boost::system::error_code wait_ec = {}) {
      if (state == waiting && wait_ec) {
        ec = wait_ec;
        n = 0;
      } else if (state != posted) {
        n = step(*s, ec);
        if (ec == asio::error::would_block) {
          state = waiting;
          s->socket_.async_wait(s->wanted(for_write), std::move(self));
          return;
        }
        if (state == starting) {
          state = posted;
          asio::post(s->socket_.get_executor(), std::move(self));
          return;
        }
      }
      if constexpr (WithSize) {
        self.complete(ec, n);
      } else {
        self.complete(ec);
      }
    }
  };

  template <class Signature, class Step, class Token>
  auto start(Step step, bool for_write, Token&& token) {
    constexpr bool with_size = !std::is_same_v<Signature, void(boost::system::error_code)>;
    return asio::async_compose<Token, Signature>(step_op<Step, with_size>{this, std::move(step), for_write}, token,
                                                 socket_);
  }

  struct wait_op {
    basic_tls_stream* s;
    wait_type what;
    bool started = false;

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (started) {
        self.complete(ec);
        return;
      }
      started = true;
      if (what == wait_type::wait_read && s->engine_.pending() != 0) {
        asio::post(s->socket_.get_executor(), std::move(self));
        return;
      }
      bool const for_write = what == wait_type::wait_write;
      s->socket_.async_wait(what == wait_type::wait_error ? what : s->wanted(for_write), std::move(self));
    }
  };

  Socket socket_;
  detail::tls_engine engine_;  // after socket_: made from its descriptor, destroyed before it closes
  bool non_blocking_ = false;
};

/// A TLS stream over TCP on Asio's default executor.
using tls_stream = basic_tls_stream<asio::ip::tcp::socket>;

}  // namespace netdemo::net
