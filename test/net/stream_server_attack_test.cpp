// The stream server under attack (issue 11): floods of pipelined requests, peers that never
// read, and connection exhaustion from one address. Real sockets on loopback.
#include "netdemo/net/stream_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "netdemo/proto/roles.hpp"
#include "net/stream_test_support.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::net::event_kind;
using netdemo::net::server_limits;
using netdemo::net::stream_server;
using netdemo::proto::command_config;
using netdemo::proto::command_protocol;
using netdemo::proto::echo_stream_handler;
using netdemo::proto::hello_protocol;
using netdemo::proto::text_stream_handler;
using netdemo::proto::timestamp_protocol;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

using hello_handler = text_stream_handler<hello_protocol>;

/// Connects from `source` (any 127/8 address: Linux routes them all to lo).
asio::awaitable<tcp::socket> connect_from(const char* source, tcp::endpoint ep) {
  tcp::socket s(co_await asio::this_coro::executor);
  s.open(tcp::v4());
  // Small kernel buffers: the flooding tests measure what the server holds, and should not
  // take the machine's TCP memory (tcp_mem) from the tests running beside them.
  s.set_option(asio::socket_base::send_buffer_size(64 * 1024));
  s.set_option(asio::socket_base::receive_buffer_size(64 * 1024));
  s.bind(tcp::endpoint(asio::ip::make_address(source), 0));
  co_await s.async_connect(ep, asio::use_awaitable);
  co_return s;
}

/// Writes `data` over and over without reading, until the kernel takes no more (or `cap`
/// bytes went out). Returns the bytes written.
std::size_t flood_until_full(tcp::socket& s, std::string_view data, std::size_t cap) {
  s.non_blocking(true);
  std::size_t total = 0;
  while (total < cap) {
    boost::system::error_code ec;
    std::size_t const n = s.write_some(asio::buffer(data.data(), data.size()), ec);
    if (ec) break;
    total += n;
  }
  s.non_blocking(false);
  return total;
}

std::string pipelined(std::string_view request, std::size_t bytes) {
  std::string out;
  while (out.size() + request.size() <= bytes) out += request;
  return out;
}

/// A root of `n` files with long names: `ls` answers about 61 KiB (the 1,000-name cap).
std::shared_ptr<const command_config> big_root(temp_dir& dir, int n) {
  std::string const root = dir.path("root");
  REQUIRE(::mkdir(root.c_str(), 0700) == 0);
  for (int i = 0; i < n; ++i) {
    std::string name = root + "/file-" + std::to_string(i) + "-" + std::string(40, 'x');
    int fd = ::open(name.c_str(), O_CREAT | O_WRONLY, 0600);
    REQUIRE(fd >= 0);
    ::close(fd);
  }
  return std::make_shared<const command_config>(root);
}

}  // namespace

TEST_CASE("one write of 21,845 'ls' that is never read: another client is answered at once",
          "[tcp][backpressure][attack]") {
  temp_dir dir;
  auto commands = big_root(dir, 1000);
  asio::io_context ioc;
  event_log log;
  using handler = text_stream_handler<command_protocol>;
  auto limits = fast_limits();
  auto server = tcp_server(ioc, handler({commands}, netdemo::proto::role_settings{}.max_line), limits, log);
  clock_type::duration waited{};
  std::string reply;
  std::size_t held = 0;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto flooder = co_await connect_from("127.0.0.1", ep);
    std::string const flood = pipelined("ls\n", 65535);
    co_await write_all(flooder, flood);  // fits in the socket buffers: one read's worth
    co_await sleep_for(200ms);           // the server reads it and starts answering
    auto other = co_await connect_from("127.0.0.2", ep);
    auto const start = clock_type::now();
    co_await write_all(other, "date\n");
    reply = co_await read_at_least(other, 10);
    waited = clock_type::now() - start;
    held = server.held_bytes();
  }(), 30s);
  CHECK(reply.starts_with("["));
  CHECK(waited < 1s);  // the target is 50 ms (docs/limits.md); slack for sanitizer builds
  // The flooder's session holds at most the mark plus one ~61 KiB listing, plus input it
  // has not answered yet (one small read; see docs/limits.md).
  CHECK(held <= limits.max_unsent + 62 * 1024 + 4096);
}

TEST_CASE("peers that never read hold at most the mark plus one reply each",
          "[tcp][backpressure][attack]") {
  constexpr int peers = 20;
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  std::size_t held_hello = 0;
  std::size_t held_stamp = 0;
  auto never_read = [&](auto& server, std::size_t& held) -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    std::vector<tcp::socket> socks;
    std::string const flood = pipelined("x\n", 64 * 1024);
    for (int i = 0; i < peers; ++i) {
      socks.push_back(co_await connect_from("127.0.0.1", ep));
      // Let the server read and answer, then push more, until the kernel takes no more.
      for (int round = 0; round < 20; ++round) {
        if (flood_until_full(socks.back(), flood, 8 << 20) == 0) break;
        co_await sleep_for(5ms);
      }
    }
    co_await sleep_for(100ms);
    held = server.held_bytes();
  };
  {
    auto server = tcp_server(ioc, hello_handler({}, netdemo::proto::role_settings{}.max_line), limits, log);
    run_with_server(ioc, server, never_read(server, held_hello), 30s);
  }
  ioc.restart();
  {
    using handler = text_stream_handler<timestamp_protocol>;
    auto server = tcp_server(ioc, handler({}, netdemo::proto::role_settings{}.max_line), limits, log);
    run_with_server(ioc, server, never_read(server, held_stamp), 30s);
  }
  INFO("hello: " << held_hello / peers << " B per peer; timestamp: " << held_stamp / peers);
  CHECK(held_hello <= peers * (limits.max_unsent + 64 + 4096));
  CHECK(held_stamp <= peers * (limits.max_unsent + 64 + 4096));
}

TEST_CASE("echo to a peer that never reads: at most one read is held", "[tcp][backpressure][attack]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, echo_stream_handler{}, fast_limits(), log);
  std::size_t held = 0;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_from("127.0.0.1", server.local_endpoints().front());
    std::string const block(64 * 1024, 'e');
    for (int round = 0; round < 20; ++round) {
      if (flood_until_full(s, block, 16 << 20) == 0) break;
      co_await sleep_for(5ms);
    }
    co_await sleep_for(50ms);
    held = server.held_bytes();
  }(), 30s);
  CHECK(held <= 64 * 1024);
}

TEST_CASE("when full, the longest-idle session of the busiest address makes room",
          "[tcp][slowloris][attack]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  limits.max_connections = 8;
  limits.evict_idle = 100ms;
  auto server = tcp_server(ioc, hello_handler({}, 1024), limits, log);
  std::string newcomer;
  std::string loner;
  std::string evicted_saw;  // what the idle sessions got after their greeting
  clock_type::duration took{};
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    // A lone client from its own address, idle the longest of all.
    auto lone = co_await connect_from("127.0.0.3", ep);
    co_await read_at_least(lone, 8);
    std::vector<tcp::socket> idle;
    for (int i = 0; i < 7; ++i) {
      idle.push_back(co_await connect_from("127.0.0.1", ep));
      co_await read_at_least(idle.back(), 8);
    }
    co_await sleep_for(300ms);
    auto const start = clock_type::now();
    auto fresh = co_await connect_from("127.0.0.2", ep);
    co_await write_all(fresh, "new\n");
    newcomer = co_await read_at_least(fresh, 8 + 12);
    took = clock_type::now() - start;
    co_await write_all(lone, "still\n");
    loner = co_await read_at_least(lone, 14);
    for (auto& s : idle) evicted_saw += co_await read_all(s, 200ms);
  }());
  CHECK(evicted_saw == "ERR server full: closing this idle connection\n");
  CHECK(newcomer == "Welcome!Hello, new!\n");
  CHECK(took < 1s);
  CHECK(loner == "Hello, still!\n");
  CHECK(log.count(event_kind::refused, "limit:connections") == 0);
  CHECK(log.count(event_kind::refused, "evicted: the server is full") == 1);
  REQUIRE(log.count(event_kind::closed, "evicted") == 1);
  for (const auto& e : log.entries) {
    if (e.kind == event_kind::closed && e.detail == "evicted") CHECK(e.peer.starts_with("127.0.0.1:"));
  }
}

TEST_CASE("when full, drippers (a byte now and then) are evicted for a new client",
          "[tcp][slowloris][attack]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  limits.max_connections = 8;
  limits.evict_idle = 100ms;
  auto server = tcp_server(ioc, hello_handler({}, 1024), limits, log);
  std::string newcomer;
  bool dripping = true;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    std::vector<tcp::socket> drippers;
    for (int i = 0; i < 8; ++i) drippers.push_back(co_await connect_from("127.0.0.1", ep));
    auto drip = [&]() -> asio::awaitable<void> {
      while (dripping) {
        for (auto& d : drippers) {
          boost::system::error_code ec;
          d.write_some(asio::buffer("x", 1), ec);
        }
        co_await sleep_for(500ms);
      }
    };
    asio::co_spawn(co_await asio::this_coro::executor, drip(), asio::detached);
    co_await sleep_for(1250ms);  // half-way between two drips: each has been idle 250 ms
    auto fresh = co_await connect_from("127.0.0.2", ep);
    co_await write_all(fresh, "new\n");
    newcomer = co_await read_at_least(fresh, 8 + 12);
    dripping = false;
    co_await sleep_for(600ms);
  }());
  CHECK(newcomer == "Welcome!Hello, new!\n");
  CHECK(log.count(event_kind::closed, "evicted") == 1);
}

TEST_CASE("when full and every session is active, a new connection is refused",
          "[tcp][slowloris][attack]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  limits.max_connections = 2;
  limits.evict_idle = 10s;
  auto server = tcp_server(ioc, hello_handler({}, 1024), limits, log);
  std::string third;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto a = co_await connect_from("127.0.0.1", ep);
    auto b = co_await connect_from("127.0.0.1", ep);
    co_await read_at_least(a, 8);
    co_await read_at_least(b, 8);
    auto c = co_await connect_from("127.0.0.2", ep);
    third = co_await read_all(c);
  }());
  CHECK(third == "ERR too many connections (max 2)\n");
  CHECK(log.count(event_kind::closed, "evicted") == 0);
}
