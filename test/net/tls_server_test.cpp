// The stream server over TLS (stream_server<tcp, Handler, true>): the same session type
// with a handshake step; every close reason as over TCP, plus a failed handshake that
// closes that connection only. Real sockets, certificates made at test time.
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include "net/stream_test_support.hpp"
#include "net/tls_test_support.hpp"
#include "netdemo/net/stream_server.hpp"
#include "netdemo/proto/roles.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::net::close_reason;
using netdemo::net::event;
using netdemo::net::event_kind;
using netdemo::net::server_limits;
using netdemo::net::tls_stream;
using netdemo::proto::echo_stream_handler;
using netdemo::proto::hello_protocol;
using netdemo::proto::text_stream_handler;
using tcp = asio::ip::tcp;

namespace {

using hello_handler = text_stream_handler<hello_protocol>;

template <class Handler>
using tls_server = netdemo::net::stream_server<tcp, Handler, true>;

struct close_log {
  std::vector<std::pair<close_reason, std::string>> closes;
  std::vector<std::string> refusals;
  netdemo::net::log_sink sink() {
    return [this](const event& e) {
      if (e.kind == event_kind::closed) closes.emplace_back(e.reason, std::string(e.detail));
      if (e.kind == event_kind::refused) refusals.emplace_back(e.detail);
    };
  }
};

template <class Handler>
tls_server<Handler> server_for(asio::io_context& ioc, Handler h, server_limits l, close_log& log) {
  return tls_server<Handler>(netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", 0),
                             std::move(h), l, log.sink(), test_pki::get().server());
}

asio::awaitable<tcp::socket> connect_to(tcp::endpoint ep) {
  tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(ep, asio::use_awaitable);
  co_return s;
}

/// A verifying TLS client, handshake done.
asio::awaitable<tls_stream> tls_connect(tcp::endpoint ep) {
  static const auto context = test_pki::get().client();
  tls_stream s(co_await connect_to(ep), context, "localhost");
  co_await s.async_handshake(asio::use_awaitable);
  co_return s;
}

}  // namespace

TEST_CASE("TLS server: hello over TLS, then exit; the close is close_notify, not truncated", "[tls][server]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, hello_handler({}, 1024), fast_limits(), log);
  std::string got;
  boost::system::error_code end;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await tls_connect(server.local_endpoints().front());
    got = co_await read_at_least(s, 8);
    co_await write_all(s, "Michael\n");
    got += co_await read_at_least(s, 16);
    co_await write_all(s, "exit\n");
    char buf[64];
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    got.append(buf, n);
    end = ec;
  }());
  CHECK(got == "Welcome!Hello, Michael!\n");
  CHECK(end == asio::error::eof);
  REQUIRE(log.closes.size() == 1);
  CHECK(log.closes[0].first == close_reason::exit);
}

TEST_CASE("TLS server: echo of 1 MiB in both directions at once", "[tls][server]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, echo_stream_handler{}, fast_limits(), log);
  std::string const big = [] {
    std::string b(1 << 20, '\0');
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>(i * 131 + i / 7);
    return b;
  }();
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto s = co_await tls_connect(server.local_endpoints().front());
    auto writer = [&]() -> asio::awaitable<void> { co_await write_all(s, big); };
    auto reader = [&]() -> asio::awaitable<void> { got = co_await read_at_least(s, big.size(), 20s); };
    co_await (writer() && reader());
  }(), 30s);
  CHECK(got.size() == big.size());
  CHECK(got == big);
}

TEST_CASE("TLS server: plain text on the TLS port fails that handshake only", "[tls][server]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, hello_handler({}, 1024), fast_limits(), log);
  std::string plain_got, tls_got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto plain = co_await connect_to(ep);
    co_await write_all(plain, "GET / HTTP/1.0\r\n\r\n");
    plain_got = co_await read_all(plain);
    auto s = co_await tls_connect(ep);
    tls_got = co_await read_at_least(s, 8);
  }());
  CHECK(plain_got.find("Welcome") == std::string::npos);
  CHECK(tls_got == "Welcome!");
  REQUIRE(log.closes.size() == 2);
  CHECK(log.closes[0].first == close_reason::handshake);
  CHECK(log.closes[0].second.rfind("tls handshake: ", 0) == 0);
  CHECK(log.closes[0].second.size() > std::string("tls handshake: ").size());
  CHECK(log.closes[1].first == close_reason::shutdown);
}

TEST_CASE("TLS server: a peer gone during the handshake", "[tls][server]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, hello_handler({}, 1024), fast_limits(), log);
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    s.close();
    co_await sleep_for(200ms);
  }());
  REQUIRE(log.closes.size() == 1);
  CHECK(log.closes[0].first == close_reason::handshake);
  CHECK(log.closes[0].second == "tls handshake: the peer closed the connection during the handshake");
}

TEST_CASE("TLS server: a client that never handshakes is closed as idle", "[tls][server]") {
  asio::io_context ioc;
  close_log log;
  auto limits = fast_limits();
  limits.idle_timeout = 100ms;
  auto server = server_for(ioc, hello_handler({}, 1024), limits, log);
  std::string got = "x";
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    got = co_await read_all(s, 3s);
  }());
  CHECK(got.empty());
  REQUIRE(log.closes.size() == 1);
  CHECK(log.closes[0].first == close_reason::idle);
}

TEST_CASE("TLS server: a graceful stop ends a handshake in progress and an idle session", "[tls][server][stop]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, hello_handler({}, 1024), fast_limits(), log);
  boost::system::error_code end;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto s = co_await tls_connect(ep);
    co_await read_at_least(s, 8);
    auto half = co_await connect_to(ep);  // never says hello
    co_await sleep_for(50ms);
    server.stop(5s);
    char buf[16];
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    end = ec;
  }(), 10s, 5s);
  CHECK(end == asio::error::eof);  // close_notify: the stop was clean
  REQUIRE(log.closes.size() == 2);
  CHECK(log.closes[0].first == close_reason::shutdown);
  CHECK(log.closes[1].first == close_reason::shutdown);
  CHECK(server.aborted_sessions() == 0);
}

TEST_CASE("TLS server: max_connections refuses without a line; a line limit is as over TCP", "[tls][server]") {
  asio::io_context ioc;
  close_log log;
  auto limits = fast_limits();
  limits.max_connections = 1;
  limits.evict_idle = 0ms;

  auto server = server_for(ioc, hello_handler({}, 16), limits, log);
  std::string refused_got = "x", first_got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto first = co_await tls_connect(ep);
    co_await read_at_least(first, 8);
    auto second = co_await connect_to(ep);
    refused_got = co_await read_all(second, 3s);
    co_await write_all(first, std::string(40, 'y') + "\n");
    first_got = co_await read_all(first, 3s);
  }());
  CHECK(refused_got.empty());
  CHECK(first_got == "ERR line too long (max 16 bytes)\n");
  REQUIRE(log.refusals.size() == 2);
  CHECK(log.refusals[0] == "limit:connections");
  CHECK(log.refusals[1] == "limit:line");
  REQUIRE(log.closes.size() == 1);
  CHECK(log.closes[0].first == close_reason::too_long);
}

TEST_CASE("TLS server: a peer's close_notify and an idle close are answered with close_notify", "[tls][server]") {
  asio::io_context ioc;
  close_log log;
  auto limits = fast_limits();
  limits.idle_timeout = 1000ms;
  auto server = server_for(ioc, hello_handler({}, 1024), limits, log);
  boost::system::error_code after_eof, after_idle;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto a = co_await tls_connect(ep);
    co_await read_at_least(a, 8);
    boost::system::error_code ec;
    a.shutdown(asio::socket_base::shutdown_send, ec);
    char buf[16];
    std::tie(after_eof, std::ignore) =
        co_await a.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    auto b = co_await tls_connect(ep);
    co_await read_at_least(b, 8);
    std::tie(after_idle, std::ignore) =
        co_await b.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
  }());
  CHECK(after_eof == asio::error::eof);
  CHECK(after_idle == asio::error::eof);
  REQUIRE(log.closes.size() == 2);
  CHECK(log.closes[0].first == close_reason::eof);
  CHECK(log.closes[1].first == close_reason::idle);
}
