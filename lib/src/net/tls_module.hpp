// Internal to the net layer: what crosses the boundary of the TLS module (netdemo-tls.so).
// The module is loaded on first use, so a plain-TCP or plain-http start-up never maps
// libssl and libcrypto (docs/benchmarks.md: ~1.6 MiB of RSS and most of the start-up time).
//
// Nothing of OpenSSL and no error_code category crosses it: Asio's categories are
// function-local statics, so the module has copies of its own and `ec == asio::error::eof`
// would be false across the boundary. A channel answers with a tls_status, an errno and a
// reason text; the net layer turns them into error_codes of its own category. No exception
// crosses it either (the module may have a C++ runtime of its own): every call is noexcept.
//
// The http client has its own entry point (lib/src/http/tls.hpp) in the same module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace netdemo::net::detail {

/// How one step of a channel ended.
enum class tls_status : std::uint8_t {
  ok,
  want_read,      ///< call again once the socket is readable
  want_write,     ///< call again once the socket is writable
  closed,         ///< the peer sent close_notify
  truncated,      ///< the peer closed TCP without close_notify
  sys_error,      ///< a socket error: sys_errno()
  verify_failed,  ///< the peer's certificate was refused: why()
  failed,         ///< a TLS protocol failure: why()
};

/// One TLS connection over a connected, non-blocking stream socket that the channel reads
/// and writes itself (send/recv with MSG_NOSIGNAL). Not thread-safe: one thread at a time.
class tls_channel {
 public:
  virtual ~tls_channel() = default;
  virtual tls_status handshake() noexcept = 0;
  virtual tls_status read(void* data, std::size_t size, std::size_t& done) noexcept = 0;
  virtual tls_status write(const void* data, std::size_t size, std::size_t& done) noexcept = 0;
  /// Sends close_notify (does not wait for the peer's).
  virtual tls_status shutdown() noexcept = 0;
  /// Decrypted bytes waiting to be read: the socket may never become readable for them.
  virtual std::size_t pending() const noexcept = 0;
  /// The reason of the last verify_failed or failed ("" otherwise).
  virtual const char* why() const noexcept = 0;
  /// The errno of the last sys_error.
  virtual int sys_errno() const noexcept = 0;
};

/// An SSL context (certificate and key, or a trust store). Shareable across threads.
class tls_context_impl {
 public:
  virtual ~tls_context_impl() = default;
  virtual bool is_server() const noexcept = 0;
  /// A channel on `fd` (not owned). A client context checks the certificate against `host`
  /// (a name, or an address) and sends a name as SNI; null or "" checks no name. Null with
  /// `why` on failure.
  virtual tls_channel* open(int fd, const char* host, std::string& why) noexcept = 0;
};

/// The module's table, version 2 (version 1 was the http client's entry point alone).
/// Grows only at its end; `size` tells a reader which fields exist.
struct tls_module_table {
  std::uint32_t version;
  std::uint32_t size;
  /// Loads a certificate chain and its private key (PEM). Null with `why` on failure.
  tls_context_impl* (*make_server_context)(const char* cert_file, const char* key_file, std::string& why) noexcept;
  /// Trusts `ca_file` (PEM), or the system's store when null or "", or nothing when
  /// `insecure`. Null with `why` on failure.
  tls_context_impl* (*make_client_context)(const char* ca_file, bool insecure, std::string& why) noexcept;
};

inline constexpr std::uint32_t tls_module_version = 2;
/// The table's entry point (extern "C" so dlsym finds it by this name).
inline constexpr const char* tls_module_entry = "netdemo_tls_module_v2";
using tls_module_entry_fn = const tls_module_table* (*)();

/// The module's table: built in, or loaded from netdemo-tls.so on first use (thread-safe,
/// once). Null with `why` when it cannot be found or loaded, or is too old.
const tls_module_table* tls_module(std::string& why);

/// Another symbol of the module (the http client's entry point), loading it if needed.
/// Null with `why` when the module or the symbol is missing. Not in a built-in build.
void* tls_module_symbol(const char* name, std::string& why);

/// Whether the module is loaded (a built-in build: always). For tests: a plain-TCP start-up
/// must not load it.
bool tls_module_loaded() noexcept;

}  // namespace netdemo::net::detail
