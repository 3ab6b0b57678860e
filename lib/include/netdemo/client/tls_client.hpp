/// @file
/// Connecting over TLS for the line clients: TCP connect, then the TLS handshake, with one
/// deadline for both, and the server's certificate checked by default.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "netdemo/net/tls.hpp"
#include "netdemo/net/tls_stream.hpp"

namespace netdemo::client {

/// How connect_tls() checks the server.
struct tls_connect_options {
  std::string ca_file{};    ///< trust the CAs of this PEM file (`--cacert`); empty: the system's store
  bool insecure = false;    ///< no certificate check at all (`-k`)
  std::string server_name{};  ///< the name to check and send as SNI; empty: the host connected to
};

/// Resolves `host`, connects to the first address that answers and performs the TLS
/// handshake as a client of `context`, all within `timeout`. The certificate is checked
/// against `server_name` (or `host`): a name goes as SNI too, an address is matched
/// against the certificate's IP addresses. One context serves any number of connections
/// (make it once: it parses the CA store).
///
/// Threading: call from a coroutine on the executor the stream will use.
/// Cancellation: cancelling the coroutine's operation ends the lookup, connect or handshake
/// (the stream is closed).
/// @throws netdemo::error (std::system_error) with one line and the code errc::cannot_resolve,
///         errc::cannot_connect, errc::timeout (connect and handshake together),
///         errc::tls_verify ("certificate verify failed: REASON": unknown CA, expired,
///         another name), or the TLS code (net::tls_errc) for other handshake failures.
boost::asio::awaitable<net::tls_stream> connect_tls(std::string host, std::uint16_t port,
                                                    std::chrono::milliseconds timeout, net::tls_context context,
                                                    std::string server_name = {});

/// The same with a context made for this connection from `options`. (The parameters of both
/// are values, never references: the coroutine's frame keeps its own copies. Pass a named
/// `tls_connect_options`: with g++ 12, a braced temporary in the `co_await` expression
/// crashes in its destructor when this throws.)
/// @throws netdemo::error failure (1) when the TLS module cannot be loaded or the CA file
///         cannot be used; otherwise as the overload above.
boost::asio::awaitable<net::tls_stream> connect_tls(std::string host, std::uint16_t port,
                                                    std::chrono::milliseconds timeout,
                                                    tls_connect_options options = {});

/// A client context from `options` (for many connect_tls() calls).
/// @throws netdemo::error failure (1) when the TLS module cannot be loaded or the CA file
///         cannot be used ("cannot use CA file 'F': REASON").
net::tls_context make_client_context(const tls_connect_options& options);

}  // namespace netdemo::client
