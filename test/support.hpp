// Test support: run coroutines on a local io_context with a hard deadline, collect
// server events, and small raw-socket helpers (independent of the client library).
#pragma once

#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "netdemo/net/log.hpp"

namespace test_support {

namespace asio = boost::asio;
using namespace std::chrono_literals;

/// Records server events for assertions after the io_context has stopped.
struct event_log {
  struct entry {
    netdemo::net::event_kind kind;
    std::string peer;
    std::string detail;
    std::uint64_t bytes_in;
    std::uint64_t bytes_out;
  };
  std::vector<entry> entries;

  netdemo::net::log_sink sink() {
    return [this](const netdemo::net::event& e) {
      entries.push_back({e.kind, std::string(e.peer), std::string(e.detail), e.bytes_in, e.bytes_out});
    };
  }
  std::size_t count(netdemo::net::event_kind k, const std::string& detail_part = {}) const {
    std::size_t n = 0;
    for (const auto& e : entries) {
      if (e.kind == k && e.detail.find(detail_part) != std::string::npos) ++n;
    }
    return n;
  }
};

/// Runs `server.run()` and `body` together. When `body` ends, the server is stopped
/// gracefully; after `limit` everything is aborted. Rethrows the body's exception.
/// Returns true when the server ended by itself within the limit.
template <class Server>
bool run_with_server(asio::io_context& ioc, Server& server, asio::awaitable<void> body,
                     std::chrono::milliseconds limit = 10s,
                     std::chrono::milliseconds grace = 0ms) {
  bool server_done = false;
  bool body_done = false;
  std::exception_ptr failure;
  asio::co_spawn(ioc, server.run(), [&](std::exception_ptr e) {
    server_done = true;
    if (e && !failure) failure = e;
  });
  asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) {
    body_done = true;
    if (e && !failure) failure = e;
    server.stop(grace);
  });
  auto const deadline = std::chrono::steady_clock::now() + limit;
  while (!(server_done && body_done) && std::chrono::steady_clock::now() < deadline) {
    ioc.run_one_until(deadline);
  }
  if (!server_done || !body_done) {
    server.abort();
    ioc.restart();
    ioc.run_for(1s);
  }
  if (failure) std::rethrow_exception(failure);
  if (!body_done) throw std::runtime_error("test body did not finish in time");
  return server_done;
}

/// Sleeps on the current executor.
inline asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

/// Reads until EOF, error or `limit` (then returns what it has).
template <class Socket>
asio::awaitable<std::string> read_all(Socket& s, std::chrono::milliseconds limit = 5s) {
  using namespace asio::experimental::awaitable_operators;
  std::string data;
  asio::steady_timer t(co_await asio::this_coro::executor, limit);
  auto reader = [&]() -> asio::awaitable<void> {
    char buf[8192];
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      data.append(buf, n);
      if (ec) co_return;
    }
  };
  co_await (reader() || t.async_wait(asio::as_tuple(asio::use_awaitable)));
  co_return data;
}

/// Reads until `data` holds at least `n` bytes, EOF, or `limit`.
template <class Socket>
asio::awaitable<std::string> read_at_least(Socket& s, std::size_t n,
                                           std::chrono::milliseconds limit = 5s) {
  using namespace asio::experimental::awaitable_operators;
  std::string data;
  asio::steady_timer t(co_await asio::this_coro::executor, limit);
  auto reader = [&]() -> asio::awaitable<void> {
    char buf[8192];
    while (data.size() < n) {
      auto [ec, got] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      data.append(buf, got);
      if (ec) co_return;
    }
  };
  co_await (reader() || t.async_wait(asio::as_tuple(asio::use_awaitable)));
  co_return data;
}

/// Writes all of `data`.
template <class Socket>
asio::awaitable<void> write_all(Socket& s, std::string_view data) {
  co_await asio::async_write(s, asio::buffer(data.data(), data.size()), asio::use_awaitable);
}

/// A fresh temporary directory, removed with its contents at scope end.
class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

}  // namespace test_support
