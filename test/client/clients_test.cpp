#include "netdemo/client/datagram_client.hpp"
#include "netdemo/client/stream_client.hpp"

#include <sys/socket.h>

#include <thread>

#include <catch2/catch.hpp>

#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/lookup.hpp"
#include "netdemo/net/stream_server.hpp"
#include "netdemo/proto/roles.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::errc;
using netdemo::client::reply_framing;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

namespace {

// Runs `body` alone on a fresh io_context with a hard limit; returns its exit code
// (0 when it finished without a netdemo::error).
std::error_code run_alone(std::function<asio::awaitable<void>()> body, std::chrono::milliseconds limit = 10s) {
  asio::io_context ioc;
  std::optional<std::error_code> code;
  std::exception_ptr other;
  asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
    if (!e) {
      code = std::error_code();
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& x) {
      code = x.code();
    } catch (...) {
      other = std::current_exception();
    }
  });
  ioc.run_for(limit);
  if (other) std::rethrow_exception(other);
  if (!code) throw std::runtime_error("client did not finish in time");
  return *code;
}

}  // namespace

TEST_CASE("stream client: greeting, pause-framed and line-framed replies", "[client]") {
  asio::io_context ioc;
  event_log log;
  netdemo::net::server_limits limits;
  limits.pause = 10ms;
  using handler = netdemo::proto::text_stream_handler<netdemo::proto::hello_protocol>;
  netdemo::net::stream_server<tcp, handler> server(
      netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", 0), handler({}, 1024),
      limits, log.sink());
  auto const port = server.local_endpoints().front().port();
  std::vector<std::string> got;
  bool eof_after_exit = false;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto c = co_await netdemo::client::connect_tcp("127.0.0.1", port, 2s);
    got.push_back((co_await c.read_reply(1s, 30ms, reply_framing::pause)).data);
    co_await c.send("Michael");
    got.push_back((co_await c.read_reply(1s, 30ms, reply_framing::pause)).data);
    co_await c.send("a\nb\n");  // two lines in one write: two line-framed replies
    got.push_back((co_await c.read_reply(1s, 30ms, reply_framing::line)).data);
    got.push_back((co_await c.read_reply(1s, 30ms, reply_framing::line)).data);
    co_await c.send("exit\n");
    eof_after_exit = (co_await c.read_reply(1s, 30ms, reply_framing::pause)).eof;
  }());
  CHECK(got == std::vector<std::string>{"Welcome!", "Hello, Michael!", "Hello, a!\n", "Hello, b!\n"});
  CHECK(eof_after_exit);
}

TEST_CASE("stream client: a closed port is exit 7", "[client]") {
  std::uint16_t port = 0;
  {
    asio::io_context ioc;
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  CHECK(run_alone([port]() -> asio::awaitable<void> {
          co_await netdemo::client::connect_tcp("127.0.0.1", port, 2s);
        }) == errc::cannot_connect);
}

TEST_CASE("stream client: a server that never accepts is a connect timeout (28)", "[client]") {
  asio::io_context ioc;
  // A listener whose backlog is full: further SYNs are dropped, the handshake never ends.
  tcp::acceptor a(ioc, tcp::v4());
  a.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  a.listen(0);
  auto const port = a.local_endpoint().port();
  std::vector<tcp::socket> fillers;
  for (int i = 0; i < 4; ++i) {
    fillers.emplace_back(ioc, tcp::v4());
    fillers.back().non_blocking(true);
    // A raw non-blocking connect: Asio's own connect() would wait for the handshake.
    auto const ep = a.local_endpoint();
    ::connect(fillers.back().native_handle(), ep.data(), static_cast<socklen_t>(ep.size()));
  }
  auto const start = std::chrono::steady_clock::now();
  auto const code = run_alone([port]() -> asio::awaitable<void> {
    auto c = co_await netdemo::client::connect_tcp("127.0.0.1", port, 300ms);
    // Connected after all (the kernel had room): then no greeting ever comes.
    auto r = co_await c.read_reply(300ms, 10ms, reply_framing::pause);
    if (r.timed_out) throw netdemo::error(errc::timeout, "no reply");
  });
  CHECK(code == errc::timeout);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("datagram client: no reply is a timeout after every retry (28)", "[client][udp]") {
  asio::io_context holder;
  udp::socket silent(holder, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto const port = silent.local_endpoint().port();
  auto const start = std::chrono::steady_clock::now();
  CHECK(run_alone([port]() -> asio::awaitable<void> {
          auto c = co_await netdemo::client::connect_udp("127.0.0.1", port);
          co_await c.request("anyone?", 100ms, 2);
        }) == errc::timeout);
  auto const took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 280ms);  // three attempts of 100 ms
  CHECK(took < 3s);
  // Three datagrams arrived: the first and two resends.
  silent.non_blocking(true);
  int datagrams = 0;
  boost::system::error_code ec;
  char buf[64];
  while (!ec) {
    silent.receive(asio::buffer(buf), 0, ec);
    if (!ec) ++datagrams;
  }
  CHECK(datagrams == 3);
}

TEST_CASE("datagram client: a closed port is reported as refused (7)", "[client][udp]") {
  std::uint16_t port = 0;
  {
    asio::io_context ioc;
    udp::socket s(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = s.local_endpoint().port();
  }
  CHECK(run_alone([port]() -> asio::awaitable<void> {
          auto c = co_await netdemo::client::connect_udp("127.0.0.1", port);
          co_await c.request("hello?", 1s, 1);
        }) == errc::cannot_connect);
}

TEST_CASE("datagram client: a lost first datagram is resent and answered", "[client][udp]") {
  asio::io_context ioc;
  udp::socket server(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto const port = server.local_endpoint().port();
  std::optional<netdemo::client::datagram_reply> reply;
  // A server that ignores the first datagram it gets and answers the second.
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    char buf[256];
    udp::endpoint from;
    co_await server.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
    auto n = co_await server.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
    co_await server.async_send_to(asio::buffer(buf, n), from, asio::use_awaitable);
  }, asio::detached);
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    auto c = co_await netdemo::client::connect_udp("127.0.0.1", port);
    reply = co_await c.request("again", 150ms, 3);
  }, asio::detached);
  ioc.run_for(5s);
  REQUIRE(reply.has_value());
  CHECK(reply->data == "again");
  CHECK(reply->attempts == 2);
}

TEST_CASE("clients: a Unix path that cannot name a socket is a usage error (2)", "[client][unix]") {
  std::string const too_long(netdemo::net::max_unix_path + 1, 'x');
  for (std::string const& path : {too_long, std::string()}) {
    CHECK(run_alone([path]() -> asio::awaitable<void> {
            co_await netdemo::client::connect_unix(path, 1s);
          }) == errc::invalid_argument);
    CHECK(run_alone([path]() -> asio::awaitable<void> {
            co_await netdemo::client::connect_unix_datagram(path);
          }) == errc::invalid_argument);
  }
}

TEST_CASE("stream client: the connect timeout counts the name lookup too", "[client][lookup]") {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto const port = a.local_endpoint().port();
  // A lookup that cannot finish in time, as a stalled DNS server would be; it would answer
  // with the listener's address after 3 s.
  auto const stalled = [](const std::string&, int) {
    std::this_thread::sleep_for(3s);
    return netdemo::net::address_list{asio::ip::make_address("127.0.0.1")};
  };
  std::string message;
  auto const start = std::chrono::steady_clock::now();
  auto const code = run_alone([&]() -> asio::awaitable<void> {
    try {
      co_await netdemo::client::connect_tcp("stalled.example", port, 200ms, stalled);
    } catch (const std::system_error& e) {
      message = e.what();
      throw;
    }
  });
  auto const took = std::chrono::steady_clock::now() - start;
  CHECK(code == errc::timeout);
  CHECK(took >= 190ms);
  CHECK(took < 1500ms);
  CHECK(message == "cannot connect to stalled.example:" + std::to_string(port) + ": no answer within 200 ms");
}

TEST_CASE("stream client: a lookup function's answer is what it connects to", "[client][lookup]") {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto const port = a.local_endpoint().port();
  std::string asked;
  auto const fn = [&asked](const std::string& host, int) {
    asked = host;
    return netdemo::net::address_list{asio::ip::make_address("127.0.0.1")};
  };
  CHECK(run_alone([&]() -> asio::awaitable<void> {
          co_await netdemo::client::connect_tcp("anything.example", port, 2s, fn);
        }) == std::error_code());
  CHECK(asked == "anything.example");
}

TEST_CASE("net::async_lookup: literals, the lookup's own error, the deadline", "[client][lookup]") {
  using netdemo::net::address_list;
  using netdemo::net::async_lookup;
  auto const soon = [] { return std::chrono::steady_clock::now() + 2s; };
  std::optional<address_list> got;
  CHECK(run_alone([&]() -> asio::awaitable<void> { got = co_await async_lookup("::1", 0, soon()); }) ==
        std::error_code());
  REQUIRE(got);
  CHECK(*got == address_list{asio::ip::make_address("::1")});
  CHECK(run_alone([&]() -> asio::awaitable<void> { co_await async_lookup("::1", 4, soon()); }) ==
        errc::cannot_resolve);
  auto const refuse = [](const std::string& host, int) -> address_list {
    throw netdemo::error(errc::cannot_resolve, "cannot resolve '" + host + "': no");
  };
  CHECK(run_alone([&]() -> asio::awaitable<void> { co_await async_lookup("x.example", 0, soon(), refuse); }) ==
        errc::cannot_resolve);
  auto const slow = [](const std::string&, int) {
    std::this_thread::sleep_for(1s);
    return address_list{};
  };
  got = address_list{};
  auto const start = std::chrono::steady_clock::now();
  CHECK(run_alone([&]() -> asio::awaitable<void> {
          got = co_await async_lookup("slow.example", 0, std::chrono::steady_clock::now() + 50ms, slow);
        }) == std::error_code());
  CHECK(!got);
  CHECK(std::chrono::steady_clock::now() - start < 900ms);
}
