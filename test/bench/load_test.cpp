#include "netdemo/bench/load.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include "netdemo/net/datagram_server.hpp"
#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/stream_server.hpp"
#include "netdemo/proto/roles.hpp"
#include "support.hpp"

using namespace test_support;
using namespace netdemo::bench;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

namespace {

/// A server on its own thread and io_context, stopped and joined when destroyed. The
/// generator blocks in run(), so the server cannot share its thread.
class background_server {
 public:
  background_server() = default;
  background_server(const background_server&) = delete;
  background_server& operator=(const background_server&) = delete;
  ~background_server() {
    asio::post(ioc_, [this] {
      if (stop_) stop_();
    });
    if (thread_.joinable()) thread_.join();
  }

  std::uint16_t port() const noexcept { return port_; }

  /// netdemo's own server for `role` (TCP or UDP).
  void start_role(const std::string& role, bool datagram) {
    netdemo::proto::role_settings rs;
    netdemo::net::server_limits limits;
    limits.pause = 20ms;
    auto ex = ioc_.get_executor();
    if (datagram) {
      netdemo::proto::with_datagram_role(role, rs, [&](auto handler) {
        using server_t = netdemo::net::datagram_server<udp, decltype(handler)>;
        auto s = std::make_shared<server_t>(netdemo::net::open_udp_socket(ex, "127.0.0.1", 0), handler, limits,
                                            netdemo::net::log_sink{});
        port_ = s->local_endpoint().port();
        stop_ = [s] { s->stop(); };
        asio::co_spawn(ioc_, s->run(), [s](std::exception_ptr) {});
      });
    } else {
      netdemo::proto::with_stream_role(role, rs, [&](auto handler) {
        using server_t = netdemo::net::stream_server<tcp, decltype(handler)>;
        auto s = std::make_shared<server_t>(netdemo::net::open_tcp_listeners(ex, "127.0.0.1", 0), handler,
                                            limits, netdemo::net::log_sink{});
        port_ = s->local_endpoints().front().port();
        stop_ = [s] { s->abort(); };
        asio::co_spawn(ioc_, s->run(), [s](std::exception_ptr) {});
      });
    }
    thread_ = std::thread([this] { ioc_.run(); });
  }

  /// A hand-written TCP server: `session(socket)` runs for each connection.
  void start_tcp(std::function<asio::awaitable<void>(tcp::socket&)> session) {
    acceptor_ = std::make_unique<tcp::acceptor>(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = acceptor_->local_endpoint().port();
    stop_ = [this] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
      for (auto* s : sockets_) s->close(ignored);
    };
    asio::co_spawn(ioc_, accept_loop(std::move(session)), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }

  /// A hand-written UDP server: `answer(datagram)` returns the reply ("" for none).
  void start_udp(std::function<std::string(std::string)> answer) {
    udp_ = std::make_unique<udp::socket>(ioc_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = udp_->local_endpoint().port();
    stop_ = [this] {
      boost::system::error_code ignored;
      udp_->close(ignored);
    };
    asio::co_spawn(ioc_, datagram_loop(std::move(answer)), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }

 private:
  // Coroutines take what they use by value (or from members): no lambda captures.
  asio::awaitable<void> accept_loop(std::function<asio::awaitable<void>(tcp::socket&)> session) {
    for (;;) {
      auto [ec, sock] = co_await acceptor_->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(ioc_, run_session(session, std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> run_session(std::function<asio::awaitable<void>(tcp::socket&)> session, tcp::socket sock) {
    sockets_.push_back(&sock);
    try {
      co_await session(sock);
    } catch (...) {
    }
    std::erase(sockets_, &sock);
  }

  asio::awaitable<void> datagram_loop(std::function<std::string(std::string)> answer) {
    std::vector<char> buf(65536);
    for (;;) {
      udp::endpoint from;
      auto [ec, n] = co_await udp_->async_receive_from(asio::buffer(buf), from, asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      if (ec) continue;
      std::string const reply = answer(std::string(buf.data(), n));
      if (!reply.empty()) co_await udp_->async_send_to(asio::buffer(reply), from, asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::io_context ioc_;
  std::thread thread_;
  std::function<void()> stop_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<udp::socket> udp_;
  std::vector<tcp::socket*> sockets_;  // open sessions, closed at stop
  std::uint16_t port_ = 0;
};

options quick(transport t, std::uint16_t port, role r = role::echo) {
  options o;
  o.proto = t;
  o.port = port;
  o.kind = r;
  o.duration = 300ms;
  o.warmup = 100ms;
  o.timeout = t == transport::udp ? 200ms : 1000ms;
  return o;
}

/// An echo session that changes the reply with `mutate(stream offset, byte)`; a byte
/// for which it returns -1 is dropped, and `extra_after` (stream offset) adds one byte.
asio::awaitable<void> altered_echo(tcp::socket& s, std::function<int(std::uint64_t, char)> mutate) {
  char buf[16384];
  std::string out;
  std::uint64_t offset = 0;
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    out.clear();
    for (std::size_t i = 0; i < n; ++i) {
      int const b = mutate(offset++, buf[i]);
      if (b >= 0) out.push_back(static_cast<char>(b));
    }
    co_await asio::async_write(s, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
  }
}

/// A session that reads everything and never answers.
asio::awaitable<void> never_answer(tcp::socket& s) {
  char buf[4096];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

void require_clean(const result& r) {
  INFO("first error: " << r.first_error);
  REQUIRE(r.messages > 0);
  REQUIRE(r.errors.total() == 0);
  REQUIRE(r.first_error.empty());
  REQUIRE(r.latency.count() == r.messages);
  REQUIRE(r.bytes_received > 0);
  REQUIRE(r.measured_s > 0.25);
}

}  // namespace

TEST_CASE("bench: netdemo's TCP roles, clean runs", "[bench][load]") {
  for (std::string role_name_ : {"echo", "hello", "timestamp"}) {
    background_server server;
    server.start_role(role_name_, false);
    auto o = quick(transport::tcp, server.port(), *parse_role(role_name_));
    o.connections = 3;
    o.pipeline = 4;
    o.message_size = 100;
    INFO("role " << role_name_);
    auto const r = run(o);
    require_clean(r);
    CHECK(r.connects == 3);
    CHECK(r.open_at_end == 3);
  }
}

TEST_CASE("bench: netdemo's UDP roles, clean runs", "[bench][load]") {
  for (std::string role_name_ : {"echo", "hello", "timestamp"}) {
    background_server server;
    server.start_role(role_name_, true);
    auto o = quick(transport::udp, server.port(), *parse_role(role_name_));
    o.connections = 2;
    o.pipeline = 2;
    INFO("role " << role_name_);
    auto const r = run(o);
    require_clean(r);
  }
}

TEST_CASE("bench: stream-style window, two threads", "[bench][load]") {
  background_server server;
  server.start_role("echo", false);
  auto o = quick(transport::tcp, server.port());
  o.connections = 2;
  o.message_size = 16384;
  o.pipeline = 16;  // 256 KiB in flight per connection
  o.threads = 2;
  auto const r = run(o);
  require_clean(r);
  // A chunk that was partly received before measuring began counts as a message in the
  // window but only with the rest of its bytes: allow one chunk per connection.
  CHECK(r.bytes_received + o.connections * 16384 >= r.messages * 16384);
}

TEST_CASE("bench: a server that flips a byte is caught", "[bench][load]") {
  background_server server;
  server.start_tcp([](tcp::socket& s) {
    return altered_echo(s, [](std::uint64_t at, char c) { return at == 200 ? (c ^ 1) & 0xff : c & 0xff; });
  });
  auto o = quick(transport::tcp, server.port());
  auto const r = run(o);
  CHECK(r.errors.mismatch >= 1);
  CHECK(r.errors.malformed() >= 1);
  // Offset 200 is byte 9 of the fourth 64-byte message.
  CHECK_THAT(r.first_error, Catch::Contains("reply 4, byte 9"));
  // Each new connection fails the same way: reconnecting goes on.
  CHECK(r.connects > 1);
}

TEST_CASE("bench: a server that drops a byte is caught", "[bench][load]") {
  SECTION("inside a reply: the rest is shifted") {
    background_server server;
    server.start_tcp([](tcp::socket& s) {
      return altered_echo(s, [](std::uint64_t at, char c) { return at == 130 ? -1 : c & 0xff; });
    });
    auto const r = run(quick(transport::tcp, server.port()));
    CHECK(r.errors.mismatch >= 1);
    CHECK_THAT(r.first_error, Catch::Contains("reply 3, byte 3"));
  }
  SECTION("the last byte of a reply: it never completes") {
    background_server server;
    server.start_tcp([](tcp::socket& s) {
      return altered_echo(s, [](std::uint64_t at, char c) { return at == 191 ? -1 : c & 0xff; });
    });
    auto o = quick(transport::tcp, server.port());
    o.timeout = 150ms;
    auto const r = run(o);
    INFO(r.first_error);
    CHECK(r.errors.truncated >= 1);
    CHECK(r.errors.malformed() >= 1);
    CHECK_THAT(r.first_error, Catch::Contains("reply 3 stopped short"));
  }
}

TEST_CASE("bench: a server that adds a byte is caught", "[bench][load]") {
  background_server server;
  server.start_tcp([](tcp::socket& s) -> asio::awaitable<void> {
    char buf[4096];
    std::uint64_t replies = 0;
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      std::string out(buf, n);
      if (++replies == 5) out.push_back('+');
      co_await asio::async_write(s, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
    }
  });
  auto const r = run(quick(transport::tcp, server.port()));
  INFO(r.first_error);
  CHECK(r.errors.malformed() >= 1);
}

TEST_CASE("bench: hello against an echo server misses the greeting", "[bench][load]") {
  background_server server;
  server.start_role("echo", false);
  auto const r = run(quick(transport::tcp, server.port(), role::hello));
  CHECK(r.errors.mismatch >= 1);
  CHECK_THAT(r.first_error, Catch::Contains("greeting"));
  CHECK(r.messages == 0);
}

TEST_CASE("bench: a server that closes early is counted, and reconnected to", "[bench][load]") {
  background_server server;
  server.start_tcp([](tcp::socket& s) -> asio::awaitable<void> {
    char buf[4096];
    for (int i = 0; i < 3; ++i) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      co_await asio::async_write(s, asio::buffer(buf, n), asio::as_tuple(asio::use_awaitable));
    }
    // The fourth message is read (so that closing sends FIN, not RST) but not answered.
    co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
  });
  auto o = quick(transport::tcp, server.port());
  auto const r = run(o);
  INFO(r.first_error);
  CHECK(r.errors.closed >= 1);
  CHECK(r.errors.malformed() == 0);
  CHECK(r.connects > 1);
  CHECK(r.messages > 0);
  CHECK_THAT(r.first_error, Catch::Contains("closed"));

  o.reconnect = false;
  auto const once = run(o);
  CHECK(once.connects == 1);
  CHECK(once.errors.closed == 1);
  CHECK(once.open_at_end == 0);
}

TEST_CASE("bench: a server that stops answering times out", "[bench][load]") {
  background_server server;
  server.start_tcp(never_answer);
  auto o = quick(transport::tcp, server.port());
  o.timeout = 150ms;
  auto const r = run(o);
  CHECK(r.errors.timeouts >= 1);
  CHECK(r.messages == 0);
}

TEST_CASE("bench: UDP, a flipped byte and lost replies are counted", "[bench][load]") {
  SECTION("flipped") {
    background_server server;
    server.start_udp([](std::string d) {
      d[d.size() / 2] = static_cast<char>(d[d.size() / 2] ^ 0x10);
      return d;
    });
    auto const r = run(quick(transport::udp, server.port()));
    CHECK(r.errors.mismatch >= 1);
    CHECK(r.messages == 0);
  }
  SECTION("every other reply lost") {
    background_server server;
    auto n = std::make_shared<int>(0);
    server.start_udp([n](std::string d) { return ++*n % 2 == 0 ? std::string() : d; });
    auto const r = run(quick(transport::udp, server.port()));
    CHECK(r.errors.losses >= 1);
    CHECK(r.messages >= 1);
    CHECK(r.errors.malformed() == 0);
  }
}

TEST_CASE("bench: nobody listening", "[bench][load]") {
  // A bound but not listening socket: connecting to its port is refused.
  asio::io_context ioc;
  tcp::socket holder(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto const port = holder.local_endpoint().port();
  auto o = quick(transport::tcp, port);
  o.connections = 2;
  try {
    run(o);
    FAIL("run() should have thrown");
  } catch (const netdemo::error& e) {
    CHECK(e.code() == netdemo::errc::cannot_connect);
    CHECK_THAT(std::string(e.what()), Catch::Contains("cannot connect"));
  }
  // UDP: every datagram is refused.
  udp::socket uholder(ioc, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto const uport = uholder.local_endpoint().port();
  uholder.close();
  auto const r = run(quick(transport::udp, uport));
  CHECK(r.replies_total == 0);
  CHECK(r.errors.refused >= 1);
}

TEST_CASE("bench: cancel ends the run early", "[bench][load]") {
  background_server server;
  server.start_role("echo", false);
  auto o = quick(transport::tcp, server.port());
  o.duration = 60s;
  std::atomic<bool> cancel{false};
  o.cancel = &cancel;
  int calls = 0;
  o.on_progress = [&](const progress&) {
    if (++calls == 1) cancel = true;
  };
  auto const t0 = std::chrono::steady_clock::now();
  auto const r = run(o);
  CHECK(r.interrupted);
  CHECK(calls == 1);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(r.errors.total() == 0);
}

TEST_CASE("bench: after a cancel, a reply still in flight is abandoned, not an error", "[bench][load]") {
  background_server server;
  server.start_tcp(never_answer);
  auto o = quick(transport::tcp, server.port());
  o.duration = 60s;
  o.timeout = 30s;
  std::atomic<bool> cancel{false};
  o.cancel = &cancel;
  o.on_progress = [&](const progress&) { cancel = true; };
  auto const t0 = std::chrono::steady_clock::now();
  auto const r = run(o);
  CHECK(r.interrupted);
  CHECK(r.errors.total() == 0);
  CHECK(r.first_error.empty());
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);  // the drain is cut to a second
}

TEST_CASE("bench: impossible options are usage errors", "[bench][load]") {
  options o;
  o.port = 1;
  o.connections = 0;
  CHECK_THROWS_AS(run(o), netdemo::error);
  o.connections = 1;
  o.kind = role::hello;
  o.message_size = 1;
  try {
    run(o);
    FAIL("run() should have thrown");
  } catch (const netdemo::error& e) {
    CHECK(e.code() == netdemo::errc::invalid_argument);
  }
}
