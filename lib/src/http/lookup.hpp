// Internal to the HTTP client: a name lookup that a deadline can abandon.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "netdemo/http/client.hpp"

namespace netdemo::http::detail {

using endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

/// getaddrinfo (through net::lookup), TCP addresses only. Blocks.
endpoints system_resolve(const std::string& host, std::uint16_t port, int ip_version);

/// Runs `fn` on a detached thread of its own and waits for its answer on the caller's
/// executor until `deadline`. Returns nullopt when the deadline came first: the thread is
/// then left to finish alone (it owns everything it touches, and posts nothing once its
/// waiter is gone), so neither the caller nor the io_context's destructor waits for a
/// stuck getaddrinfo. The lookup's own error (a netdemo::error) is rethrown here.
boost::asio::awaitable<std::optional<endpoints>> lookup(
    resolve_function fn, std::string host, std::uint16_t port, int ip_version,
    std::chrono::steady_clock::time_point deadline);

}  // namespace netdemo::http::detail
