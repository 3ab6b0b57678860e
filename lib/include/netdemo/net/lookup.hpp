// One name lookup with a deadline, for every client: the line and datagram clients, http
// and bench all find a host's addresses here.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

namespace netdemo::net {

/// The addresses of a host, in the order getaddrinfo gives them (each once).
using address_list = std::vector<boost::asio::ip::address>;

/// A blocking lookup: the addresses of `host`, IPv4 and IPv6 (`ip_version` 0), or one of
/// them (4, 6). Throws on failure (a netdemo::error: errc::cannot_resolve when the name
/// has no address). async_lookup runs it on a thread of its own, so it may block.
using lookup_function = std::function<address_list(const std::string& host, int ip_version)>;

/// The system's lookup (getaddrinfo through net::lookup). Blocks; thread-safe.
/// @throws netdemo::error errc::cannot_resolve (no such name, or no address of
///         `ip_version`), errc::invalid_argument (an empty name), errc::lookup_failed or the
///         system's code (a local failure of the lookup itself).
address_list system_lookup(const std::string& host, int ip_version);

/// The addresses of `host` by `deadline`, or nullopt when the deadline came first.
///
/// An IP literal is parsed here and needs no thread. A name is looked up by `fn` (empty:
/// system_lookup) on a detached thread, and the coroutine waits for its answer on its own
/// executor: a lookup that cannot finish in time (a stalled DNS server) is abandoned at
/// the deadline, and neither the caller nor the io_context's destructor waits for it (the
/// thread owns what it touches and posts nothing once its waiter is gone). Asio 1.26's
/// resolver cannot do that: getaddrinfo, once started, cannot be cancelled.
///
/// Threading: co_await it on any executor; the answer is delivered there.
/// Cancellation: a terminal cancellation of the awaiting operation, or the destruction of
/// the coroutine's frame, abandons the lookup as the deadline does.
/// @throws what `fn` throws (rethrown on the caller's executor), e.g. a netdemo::error
///         with errc::cannot_resolve.
boost::asio::awaitable<std::optional<address_list>> async_lookup(
    std::string host, int ip_version, std::chrono::steady_clock::time_point deadline,
    lookup_function fn = {});

}  // namespace netdemo::net
