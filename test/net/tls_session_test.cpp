// The stream session itself (detail/stream_session.hpp) over tls_stream, unchanged: what
// phase 2's server integration builds on. The handshake is done here, before the session
// starts, as the session's handshake step will do it.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "net/stream_test_support.hpp"
#include "net/tls_test_support.hpp"
#include "netdemo/net/detail/stream_session.hpp"
#include "netdemo/net/tls_stream.hpp"
#include "netdemo/proto/handlers.hpp"
#include "netdemo/proto/protocols.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::net::close_reason;
using netdemo::net::event;
using netdemo::net::event_kind;
using netdemo::net::tls_stream;
using tcp = asio::ip::tcp;

namespace {

static_assert(netdemo::net::detail::session_stream<tls_stream>);
static_assert(netdemo::net::detail::session_stream<netdemo::net::basic_tls_stream<
                  tcp::socket::rebind_executor<asio::io_context::executor_type>::other>>);

/// Runs one session of `Handler` over TLS on a loopback pair and `client` against it.
template <class Handler, class Client>
std::vector<close_reason> session_over_tls(Handler handler, Client client) {
  using session = netdemo::net::detail::stream_session<tls_stream, Handler>;
  asio::io_context ioc;
  std::vector<close_reason> closes;
  typename session::shared_type shared(ioc.get_executor(), std::move(handler), fast_limits(),
                                       [&](const event& e) {
                                         if (e.kind == event_kind::closed) closes.push_back(e.reason);
                                       },
                                       std::make_shared<netdemo::net::connection_count>());
  const auto& pki = test_pki::get();
  auto [s, c] = tcp_pair(ioc);
  auto server = std::make_unique<tls_stream>(std::move(s), pki.server());
  tls_stream tls_client(std::move(c), pki.client(), "localhost");
  bool handshaken = false;
  REQUIRE(run_all(ioc,
                  [&]() -> asio::awaitable<void> {
                    co_await server->async_handshake(asio::use_awaitable);
                    shared.open->add();
                    ++shared.tasks;
                    session::start(shared, std::move(*server), "peer");
                    handshaken = true;
                  }(),
                  [&]() -> asio::awaitable<void> {
                    co_await tls_client.async_handshake(asio::use_awaitable);
                    while (!handshaken) co_await sleep_for(1ms);
                    co_await client(tls_client);
                    // Until the session has closed and been counted out.
                    for (int i = 0; i < 2000 && shared.tasks > 0; ++i) co_await sleep_for(1ms);
                  }()));
  shared.pauses.stop();
  shared.lingers.stop();
  ioc.run_for(50ms);
  CHECK(shared.tasks == 0);
  return closes;
}

}  // namespace

TEST_CASE("tls session: the hello conversation over TLS, exit closes with close_notify", "[tls][session]") {
  using hello = netdemo::proto::text_stream_handler<netdemo::proto::hello_protocol>;
  std::vector<std::string> lines;
  auto closes = session_over_tls(hello({}, 1024), [&](tls_stream& c) -> asio::awaitable<void> {
    lines.push_back(co_await read_at_least(c, 8));
    co_await write_all(c, "Michael\n");
    lines.push_back(co_await read_at_least(c, 16));
    co_await write_all(c, "exit\n");
    lines.push_back(co_await read_all(c));  // ends at the server's close_notify
    char x;
    auto [ec, n] = co_await c.async_read_some(asio::buffer(&x, 1), asio::as_tuple(asio::use_awaitable));
    CHECK(ec == asio::error::eof);
    co_await c.async_shutdown(asio::use_awaitable);
  });
  CHECK(lines == std::vector<std::string>{"Welcome!", "Hello, Michael!\n", ""});
  REQUIRE(closes.size() == 1);
  CHECK(closes.front() == close_reason::exit);
}

TEST_CASE("tls session: 1 MiB echoed by the session over TLS, then the client's close_notify is eof",
          "[tls][session]") {
  std::string data(1 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
  std::string got;
  auto closes = session_over_tls(netdemo::proto::echo_stream_handler{}, [&](tls_stream& c) -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    co_await (write_all(c, data) && [&]() -> asio::awaitable<void> {
      got = co_await read_at_least(c, data.size(), 20s);
    }());
    co_await c.async_shutdown(asio::use_awaitable);
    co_await read_all(c, 2s);  // the session's close_notify
  });
  CHECK(got.size() == data.size());
  CHECK(got == data);
  REQUIRE(closes.size() == 1);
  CHECK(closes.front() == close_reason::eof);
}
