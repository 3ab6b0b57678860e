/// @file
/// TLS contexts and the error category of TLS streams. OpenSSL lives in the TLS module
/// (netdemo-tls.so), loaded when the first context is made: a program that never makes one
/// never maps libssl and libcrypto.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include <boost/system/error_code.hpp>

namespace netdemo::net {

/// Failures of TLS streams and contexts, in the category tls_category(). A stream keeps the
/// detailed reason (OpenSSL's, or the verifier's) in its failure().
enum class tls_errc : int {
  handshake_failed = 1,  ///< the TLS handshake failed (protocol, version, cipher...)
  verify_failed,         ///< the peer's certificate was refused (unknown CA, expired, wrong name)
  truncated,             ///< the peer closed TCP without close_notify
  protocol_error,        ///< a TLS failure after the handshake
  no_module,             ///< the TLS module cannot be found or loaded
  bad_credentials,       ///< a certificate, key or CA file cannot be used
  not_connected,         ///< the stream was closed, or made without a context
};

/// The category of tls_errc. Thread-safe.
const boost::system::error_category& tls_category() noexcept;

/// An error_code of tls_category() (found by argument-dependent lookup).
inline boost::system::error_code make_error_code(tls_errc e) noexcept {
  return {static_cast<int>(e), tls_category()};
}

/// Whether the TLS module is loaded in this process (always true when TLS is built in). It
/// loads with the first tls_context or https URL, never for plain TCP. Thread-safe.
bool tls_loaded() noexcept;

namespace detail {
class tls_context_impl;
class tls_channel;
}  // namespace detail

/// What a client trusts.
struct tls_client_options {
  std::string ca_file{};  ///< trust the CAs of this PEM file; empty: the system's CA store
  bool insecure = false;  ///< check nothing about the server's certificate (`-k`)
};

/// An SSL context: a server's certificate and key, or a client's trust store. Made once,
/// shared by every stream made from it (copies share it too), on any number of threads:
/// the context is immutable once made.
class tls_context {
 public:
  /// A server context from a PEM certificate chain (leaf first) and its PEM private key.
  /// Loads the TLS module on first use. Thread-safe.
  /// @throws std::system_error with tls_errc::no_module, or tls_errc::bad_credentials; its
  ///         what() is one line naming the file ("cannot read the key file 'F': No such file
  ///         or directory", "the key 'K' does not belong to the certificate 'C'").
  static tls_context server(const std::string& cert_file, const std::string& key_file);

  /// A client context. Verifies the server's certificate by default (against the system's CA
  /// store, or `options.ca_file`); `options.insecure` turns the check off. Thread-safe.
  /// @throws std::system_error with tls_errc::no_module or tls_errc::bad_credentials (a CA
  ///         file that cannot be read or holds no certificate); what() is one line.
  static tls_context client(const tls_client_options& options = {});

  /// True for a server context: its streams take the server's role in the handshake.
  bool is_server() const noexcept;

  /// The implementation inside the module (for tls_stream).
  const std::shared_ptr<detail::tls_context_impl>& impl() const noexcept { return impl_; }

 private:
  explicit tls_context(std::shared_ptr<detail::tls_context_impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<detail::tls_context_impl> impl_;
};

namespace detail {

/// What a step of a tls_engine is waiting for after it reported would_block.
enum class tls_want : std::uint8_t { read, write };

/// The non-template half of tls_stream: one TLS connection on a socket descriptor that the
/// module reads and writes itself. Every step is non-blocking: it does what it can now, or
/// sets asio::error::would_block and records what it waits for in want(). Not thread-safe.
class tls_engine {
 public:
  /// A connection on `fd` (not owned) for `context`; a client checks `host` and sends it as
  /// SNI (empty: no name check). Throws std::system_error (tls_errc) on failure.
  tls_engine(const tls_context& context, int fd, std::string_view host);
  ~tls_engine();
  tls_engine(tls_engine&&) noexcept;
  tls_engine& operator=(tls_engine&&) noexcept;
  tls_engine(const tls_engine&) = delete;
  tls_engine& operator=(const tls_engine&) = delete;

  /// One step of the handshake; no error when it is complete.
  void handshake(boost::system::error_code& ec);
  /// Reads up to `size` bytes; asio::error::eof after the peer's close_notify.
  std::size_t read(void* data, std::size_t size, boost::system::error_code& ec);
  /// Writes up to `size` bytes (one TLS record at most).
  std::size_t write(const void* data, std::size_t size, boost::system::error_code& ec);
  /// Sends close_notify.
  void shutdown(boost::system::error_code& ec);
  /// Decrypted bytes that a read gets without the socket becoming readable.
  std::size_t pending() const noexcept;
  /// What the last would_block of a read (`for_write` false) or a write waits for.
  tls_want want(bool for_write) const noexcept { return for_write ? write_wants_ : read_wants_; }
  /// The reason of the last failure ("" if none).
  const std::string& failure() const noexcept { return failure_; }
  /// Frees the connection's TLS state; later steps fail with tls_errc::not_connected.
  void reset() noexcept;
  /// True between construction and reset().
  bool is_open() const noexcept { return channel_ != nullptr; }
  /// True once the handshake is complete.
  bool established() const noexcept { return established_; }

 private:
  std::size_t finish(int status, std::size_t n, bool for_write, bool handshaking, boost::system::error_code& ec);

  std::shared_ptr<tls_context_impl> context_;  // keeps the SSL_CTX alive as long as the SSL
  tls_channel* channel_ = nullptr;
  std::string failure_;
  tls_want read_wants_ = tls_want::read;
  tls_want write_wants_ = tls_want::write;
  bool established_ = false;
};

}  // namespace detail

}  // namespace netdemo::net

namespace boost::system {
/// tls_errc converts to a boost::system::error_code (what Asio's handlers get).
template <>
struct is_error_code_enum<netdemo::net::tls_errc> : std::true_type {};
}  // namespace boost::system

namespace std {
/// tls_errc converts to a std::error_code too (the code of the std::system_error thrown).
template <>
struct is_error_code_enum<netdemo::net::tls_errc> : std::true_type {};
}  // namespace std
