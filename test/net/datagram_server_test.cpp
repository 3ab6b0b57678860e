#include "netdemo/net/datagram_server.hpp"

#include <catch2/catch.hpp>

#include "netdemo/proto/roles.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::net::datagram_server;
using netdemo::net::event_kind;
using netdemo::net::server_limits;
using netdemo::proto::echo_datagram_handler;
using netdemo::proto::hello_protocol;
using netdemo::proto::text_datagram_handler;
using netdemo::proto::upper_protocol;
using udp = asio::ip::udp;
using unix_dgram = asio::local::datagram_protocol;

namespace {

template <class Socket>
asio::awaitable<std::optional<std::string>> ask(Socket& s, std::string_view msg,
                                                std::chrono::milliseconds wait = 2s) {
  using namespace asio::experimental::awaitable_operators;
  co_await s.async_send(asio::buffer(msg.data(), msg.size()), asio::use_awaitable);
  std::vector<char> buf(70000);
  asio::steady_timer t(co_await asio::this_coro::executor, wait);
  auto r = co_await (s.async_receive(asio::buffer(buf), asio::as_tuple(asio::use_awaitable)) ||
                     t.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (r.index() == 1) co_return std::nullopt;
  auto [ec, n] = std::get<0>(r);
  if (ec) co_return std::nullopt;
  co_return std::string(buf.data(), n);
}

template <class Handler>
datagram_server<udp, Handler> udp_server(asio::io_context& ioc, Handler h, server_limits l,
                                         event_log& log) {
  return datagram_server<udp, Handler>(
      netdemo::net::open_udp_socket(ioc.get_executor(), "127.0.0.1", 0), std::move(h), l,
      log.sink());
}

asio::awaitable<udp::socket> udp_peer(udp::endpoint server) {
  udp::socket s(co_await asio::this_coro::executor, udp::v4());
  s.connect(server);
  co_return s;
}

}  // namespace

TEST_CASE("hello over UDP answers like seed 000", "[udp]") {
  asio::io_context ioc;
  event_log log;
  auto server = udp_server(ioc, text_datagram_handler<hello_protocol>({}), {}, log);
  std::vector<std::optional<std::string>> got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await udp_peer(server.local_endpoint());
    for (const char* m : {"Michael", "Tracy", "Sarah", "bob\n"}) got.push_back(co_await ask(s, m));
  }());
  REQUIRE(got.size() == 4);
  CHECK(got[0] == "Hello, Michael!");
  CHECK(got[1] == "Hello, Tracy!");
  CHECK(got[2] == "Hello, Sarah!");
  CHECK(got[3] == "Hello, bob!\n");
}

TEST_CASE("upper over UDP answers like seed 001", "[udp]") {
  asio::io_context ioc;
  event_log log;
  auto server = udp_server(ioc, text_datagram_handler<upper_protocol>({}), {}, log);
  std::optional<std::string> got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await udp_peer(server.local_endpoint());
    got = co_await ask(s, "hello world");
  }());
  CHECK(got == "HELLO WORLD");
}

TEST_CASE("echo over UDP returns binary datagrams unchanged, up to the cap", "[udp][echo]") {
  asio::io_context ioc;
  event_log log;
  auto server = udp_server(ioc, echo_datagram_handler{}, {}, log);
  std::string binary;
  for (int b = 0; b < 256; ++b) binary.push_back(static_cast<char>(b));
  std::string const big(60000, 'B');
  std::optional<std::string> got_binary, got_big, got_empty;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await udp_peer(server.local_endpoint());
    got_binary = co_await ask(s, binary);
    got_big = co_await ask(s, big);
    got_empty = co_await ask(s, "");
  }());
  CHECK(got_binary == binary);
  CHECK(got_big == big);
  CHECK(got_empty == "");
}

TEST_CASE("a datagram over --max-datagram is dropped, never answered truncated",
          "[udp][limits]") {
  asio::io_context ioc;
  event_log log;
  server_limits limits;
  limits.max_datagram = 100;
  auto server = udp_server(ioc, echo_datagram_handler{}, limits, log);
  std::optional<std::string> too_big, exact, after;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await udp_peer(server.local_endpoint());
    too_big = co_await ask(s, std::string(101, 'x'), 300ms);
    exact = co_await ask(s, std::string(100, 'y'));
    after = co_await ask(s, "small");
  }());
  CHECK_FALSE(too_big.has_value());
  CHECK(exact == std::string(100, 'y'));
  CHECK(after == "small");
  CHECK(log.count(event_kind::dropped, "limit:datagram") == 1);
}

TEST_CASE("Unix datagram: echo, oversized drop, and unnamed senders", "[unix][udp]") {
  asio::io_context ioc;
  event_log log;
  temp_dir dir;
  std::string const path = dir.path("echo.dgram");
  datagram_server<unix_dgram, echo_datagram_handler> server(
      netdemo::net::open_unix_datagram(ioc.get_executor(), path), {}, {}, log.sink());
  std::optional<std::string> small, huge, unnamed;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    unix_dgram::socket s(ex, unix_dgram());
    s.bind(unix_dgram::endpoint(""));  // autobind: the server can answer
    s.set_option(asio::socket_base::send_buffer_size(256 * 1024));
    s.connect(unix_dgram::endpoint(path));
    small = co_await ask(s, "ping");
    huge = co_await ask(s, std::string(70000, 'h'), 300ms);  // over the 64 KiB default
    unix_dgram::socket anon(ex, unix_dgram());
    anon.connect(unix_dgram::endpoint(path));
    unnamed = co_await ask(anon, "who am I", 300ms);
  }());
  CHECK(small == "ping");
  CHECK_FALSE(huge.has_value());
  CHECK_FALSE(unnamed.has_value());
  CHECK(log.count(event_kind::dropped, "limit:datagram") == 1);
  CHECK(log.count(event_kind::dropped, "unnamed") == 1);
}

TEST_CASE("many peers at once each get their own answers", "[udp]") {
  asio::io_context ioc;
  event_log log;
  auto server = udp_server(ioc, text_datagram_handler<hello_protocol>({}), {}, log);
  int right = 0;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    std::vector<udp::socket> peers;
    for (int i = 0; i < 20; ++i) peers.push_back(co_await udp_peer(server.local_endpoint()));
    for (int i = 0; i < 20; ++i) {
      std::string const m = "p" + std::to_string(i);
      co_await peers[i].async_send(asio::buffer(m), asio::use_awaitable);
    }
    for (int i = 0; i < 20; ++i) {
      char buf[64];
      auto n = co_await peers[i].async_receive(asio::buffer(buf), asio::use_awaitable);
      if (std::string(buf, n) == "Hello, p" + std::to_string(i) + "!") ++right;
    }
  }());
  CHECK(right == 20);
}
