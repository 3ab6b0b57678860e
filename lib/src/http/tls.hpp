// Internal to the HTTP client: the TLS side, behind a small virtual interface so that it
// can live in a module (netdemo-tls.so) that is loaded only for the first https URL. A
// plain http fetch then never maps libssl and libcrypto: see docs/benchmarks.md (they
// cost ~1.6 MiB of RSS and most of the dynamic loader's time at start-up).
//
// Nothing OpenSSL-specific crosses this interface, and no error_code category either:
// Asio's and Beast's categories are function-local statics, so the module has its own
// copies and `ec == beast::error::timeout` would be false across the boundary. Each
// completion says what happened as an io_status; the error_code is only for its message.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace netdemo::http::detail {

/// How a TLS operation ended, in terms both sides agree on.
enum class io_status {
  ok,
  eof,       ///< the peer closed (with close_notify, or without it: the client accepts both)
  timeout,   ///< the tcp_stream's expiry passed
  aborted,   ///< cancelled
  other,     ///< see the error_code's message
};

using tls_io_handler = boost::asio::any_completion_handler<void(io_status, boost::system::error_code, std::size_t)>;
using tls_done_handler = boost::asio::any_completion_handler<void(io_status, boost::system::error_code)>;

/// One TLS connection over a connected tcp_stream.
class tls_connection {
 public:
  virtual ~tls_connection() = default;
  /// The TCP stream underneath (for its expiry).
  virtual boost::beast::tcp_stream& lowest() noexcept = 0;
  virtual void async_handshake(tls_done_handler h) = 0;
  virtual void async_read_some(boost::asio::mutable_buffer b, tls_io_handler h) = 0;
  virtual void async_write_some(boost::asio::const_buffer b, tls_io_handler h) = 0;
  /// Sends close_notify; does not wait for the server's (RFC 8446 6.1 allows that).
  virtual void async_shutdown(tls_done_handler h) = 0;
  /// Why certificate verification failed; empty when it did not.
  virtual std::string verify_failure() const = 0;
};

/// What the TLS side of one fetch needs to know.
struct tls_config {
  bool insecure = false;   ///< no certificate check (-k)
  std::string ca_file;     ///< trust these CAs; empty: the system's
};

/// The TLS side of one fetch: the SSL context and its trust store, made once.
class tls_client {
 public:
  virtual ~tls_client() = default;
  /// Wraps a connected stream for `host` (SNI and the name check; an address gets no SNI).
  virtual std::unique_ptr<tls_connection> wrap(boost::beast::tcp_stream s, const std::string& host,
                                               bool host_is_address) = 0;
};

/// Makes the TLS side. On failure returns null and sets `why` (a CA file that cannot be read).
using make_tls_client_fn = tls_client* (*)(const tls_config& config, std::string& why);

/// The module's one entry point (extern "C" so dlsym finds it by this name).
inline constexpr const char* tls_entry_point = "netdemo_http_make_tls_client_v1";

/// Finds the TLS side: built in, or loaded from netdemo-tls.so on first use. Throws
/// netdemo::error(failure) when the module cannot be found or loaded.
make_tls_client_fn tls_factory();

}  // namespace netdemo::http::detail
