// Every way a stream session ends, over real sockets, with the typed reason its close
// event carries (and the log text, which the end-to-end tests and users read).
#include <optional>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "net/stream_test_support.hpp"
#include "netdemo/net/stream_server.hpp"
#include "netdemo/proto/roles.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::net::close_reason;
using netdemo::net::event;
using netdemo::net::event_kind;
using netdemo::net::server_limits;
using netdemo::proto::echo_stream_handler;
using netdemo::proto::hello_protocol;
using netdemo::proto::text_stream_handler;
using tcp = asio::ip::tcp;

namespace {

using hello_handler = text_stream_handler<hello_protocol>;

/// The close events of a server, typed reason and text; any other event's reason.
struct close_log {
  std::vector<std::pair<close_reason, std::string>> closes;
  std::vector<close_reason> others;
  netdemo::net::log_sink sink() {
    return [this](const event& e) {
      if (e.kind == event_kind::closed) {
        closes.emplace_back(e.reason, std::string(e.detail));
      } else {
        others.push_back(e.reason);
      }
    };
  }
  /// The only close, which must have been typed as its text says.
  close_reason only() const {
    REQUIRE(closes.size() == 1);
    CHECK(closes.front().second == to_string(closes.front().first));
    for (auto r : others) CHECK(r == close_reason::none);
    return closes.front().first;
  }
};

template <class Handler>
netdemo::net::stream_server<tcp, Handler> server_for(asio::io_context& ioc, Handler h,
                                                     server_limits l, close_log& log) {
  return netdemo::net::stream_server<tcp, Handler>(
      netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", 0), std::move(h), l,
      log.sink());
}

asio::awaitable<tcp::socket> connect_to(tcp::endpoint ep) {
  tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(ep, asio::use_awaitable);
  co_return s;
}

/// A handler that fails on input: the session must end with `error`, the server goes on.
struct throwing_handler {
  void greet(std::string&) const {}
  netdemo::proto::verdict on_bytes(std::string_view, std::string&, std::size_t) {
    throw std::runtime_error("handler failed");
  }
  netdemo::proto::verdict on_pause(std::string&) { return netdemo::proto::verdict::keep_open; }
  bool wants_pause() const { return false; }
};

}  // namespace

TEST_CASE("close reasons have today's log texts; none is not eof", "[close]") {
  using R = close_reason;
  CHECK(to_string(R::eof) == "eof");
  CHECK(to_string(R::exit) == "exit");
  CHECK(to_string(R::too_long) == "limit:line");
  CHECK(to_string(R::idle) == "idle");
  CHECK(to_string(R::evicted) == "evicted");
  CHECK(to_string(R::shutdown) == "shutdown");
  CHECK(to_string(R::aborted) == "aborted");
  CHECK(to_string(R::cancelled) == "cancelled");
  CHECK(to_string(R::reset) == "reset");
  CHECK(to_string(R::error) == "error");
  CHECK(to_string(R::none) != to_string(R::eof));
  CHECK(event{event_kind::opened, {}, {}}.reason == R::none);
}

TEST_CASE("a peer that closes its side: eof", "[close][tcp]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, hello_handler({}, 1024), fast_limits(), log);
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await read_at_least(s, 8);
    s.shutdown(tcp::socket::shutdown_send);
    got = co_await read_all(s);
  }());
  CHECK(got.empty());
  CHECK(log.only() == close_reason::eof);
}

TEST_CASE("exit: the handler ends the session", "[close][tcp]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, hello_handler({}, 1024), fast_limits(), log);
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await write_all(s, "exit\n");
    co_await read_all(s);
  }());
  CHECK(log.only() == close_reason::exit);
}

TEST_CASE("a line over max_line: too_long (the refusal event carries no reason)", "[close][tcp]") {
  asio::io_context ioc;
  close_log log;
  auto limits = fast_limits();

  auto server = server_for(ioc, hello_handler({}, 16), limits, log);
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await write_all(s, std::string(100, 'x') + "\n");
    co_await read_all(s);
  }());
  CHECK(log.only() == close_reason::too_long);
}

TEST_CASE("silent past idle_timeout: idle", "[close][tcp]") {
  asio::io_context ioc;
  close_log log;
  auto limits = fast_limits();
  limits.idle_timeout = 50ms;
  auto server = server_for(ioc, hello_handler({}, 1024), limits, log);
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await read_all(s, 3s);
  }());
  CHECK(log.only() == close_reason::idle);
}

TEST_CASE("closed for a newcomer when full: evicted", "[close][tcp]") {
  asio::io_context ioc;
  close_log log;
  auto limits = fast_limits();
  limits.max_connections = 1;
  limits.evict_idle = 20ms;
  auto server = server_for(ioc, hello_handler({}, 1024), limits, log);
  std::optional<tcp::socket> newcomer;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto old = co_await connect_to(ep);
    co_await read_at_least(old, 8);
    co_await sleep_for(60ms);
    newcomer.emplace(co_await connect_to(ep));
    co_await read_all(old, 3s);
    // The newcomer is still open: the stop ends it (a second close, not checked here).
    REQUIRE(log.closes.size() == 1);
  }());
  REQUIRE(log.closes.size() == 2);
  CHECK(log.closes[0].first == close_reason::evicted);
  CHECK(log.closes[0].second == "evicted");
  CHECK(log.closes[1].first == close_reason::shutdown);
}

TEST_CASE("idle at a graceful stop: shutdown", "[close][tcp][stop]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, hello_handler({}, 1024), fast_limits(), log);
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await read_at_least(s, 8);
    server.stop(5s);
    co_await read_all(s);
  }(), 10s, 5s);
  CHECK(log.only() == close_reason::shutdown);
}

TEST_CASE("stuck in a reply when the grace runs out: aborted", "[close][tcp][stop]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, echo_stream_handler{}, fast_limits(), log);
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    s.non_blocking(true);
    std::string const chunk(64 * 1024, 'e');
    boost::system::error_code ec;
    for (int i = 0; i < 200; ++i) {
      s.write_some(asio::buffer(chunk), ec);
      if (ec) break;
      co_await sleep_for(1ms);
    }
    server.stop(100ms);
    co_await sleep_for(1000ms);  // never reads
  }(), 10s, 100ms);
  CHECK(log.only() == close_reason::aborted);
  CHECK(server.aborted_sessions() == 1);
}

TEST_CASE("a peer that resets: reset", "[close][tcp]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, hello_handler({}, 1024), fast_limits(), log);
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await read_at_least(s, 8);
    s.set_option(asio::socket_base::linger(true, 0));
    s.close();  // RST
    co_await sleep_for(100ms);
  }());
  CHECK(log.only() == close_reason::reset);
}

TEST_CASE("a handler that throws: error, and the server serves on", "[close][tcp]") {
  asio::io_context ioc;
  close_log log;
  auto server = server_for(ioc, throwing_handler{}, fast_limits(), log);
  std::size_t errors = 0;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    for (int i = 0; i < 2; ++i) {
      auto s = co_await connect_to(ep);
      co_await write_all(s, "boom\n");
      co_await read_all(s);
    }
  }());
  REQUIRE(log.closes.size() == 2);
  for (const auto& [reason, text] : log.closes) {
    CHECK(reason == close_reason::error);
    errors += text == "error";
  }
  CHECK(errors == 2);
}

namespace {

/// Another stream type for a session: a TCP socket the test can still reach once the
/// session owns it, offering only what detail/stream_session.hpp asks for.
struct reachable_socket {
  using executor_type = tcp::socket::executor_type;
  std::shared_ptr<tcp::socket> s;
  executor_type get_executor() { return s->get_executor(); }
  template <class H>
  void async_wait(asio::socket_base::wait_type w, H&& h) {
    s->async_wait(w, std::forward<H>(h));
  }
  template <class B, class H>
  void async_read_some(const B& b, H&& h) {
    s->async_read_some(b, std::forward<H>(h));
  }
  template <class B, class H>
  void async_write_some(const B& b, H&& h) {
    s->async_write_some(b, std::forward<H>(h));
  }
  template <class B>
  std::size_t read_some(const B& b, boost::system::error_code& ec) {
    return s->read_some(b, ec);
  }
  template <class B>
  std::size_t write_some(const B& b, boost::system::error_code& ec) {
    return s->write_some(b, ec);
  }
  void shutdown(asio::socket_base::shutdown_type t, boost::system::error_code& ec) { s->shutdown(t, ec); }
  void close(boost::system::error_code& ec) { s->close(ec); }
  void cancel(boost::system::error_code& ec) { s->cancel(ec); }
  void non_blocking(bool on, boost::system::error_code& ec) { s->non_blocking(on, ec); }
};

}  // namespace

TEST_CASE("an operation cancelled from outside the server: cancelled (any session stream)",
          "[close][tcp][stream]") {
  using session = netdemo::net::detail::stream_session<reachable_socket, hello_handler>;
  static_assert(netdemo::net::detail::session_stream<reachable_socket>);
  asio::io_context ioc;
  close_log log;
  session::shared_type shared(ioc.get_executor(), hello_handler({}, 1024), fast_limits(),
                              log.sink(), std::make_shared<netdemo::net::connection_count>());
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(ioc);
  client.connect(acceptor.local_endpoint());
  auto theirs = std::make_shared<tcp::socket>(acceptor.accept());
  shared.open->add();
  ++shared.tasks;
  session::start(shared, reachable_socket{theirs}, "peer");
  std::string got;
  bool done = false;
  asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
    got = co_await read_at_least(client, 8);
    theirs->cancel();  // the session's wait ends with operation_aborted, no reason given
    got += co_await read_all(client);
    done = true;
  }, asio::detached);
  auto const deadline = std::chrono::steady_clock::now() + 5s;
  while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_one_until(deadline);
  shared.pauses.stop();
  shared.lingers.stop();
  CHECK(done);
  CHECK(got == "Welcome!");
  CHECK(shared.tasks == 0);
  CHECK(shared.session_count == 0);
  CHECK(log.only() == close_reason::cancelled);
}
