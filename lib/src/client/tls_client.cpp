#include "netdemo/client/tls_client.hpp"

#include <system_error>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "netdemo/client/stream_client.hpp"
#include "netdemo/proto/error.hpp"
#include "netdemo/proto/text.hpp"

namespace netdemo::client {

namespace {

namespace asio = boost::asio;

std::string host_port(const std::string& host, std::uint16_t port) {
  bool const v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

net::tls_context make_client_context(const tls_connect_options& options) {
  return net::tls_context::client({.ca_file = options.ca_file, .insecure = options.insecure});
}

asio::awaitable<net::tls_stream> connect_tls(std::string host, std::uint16_t port,
                                             std::chrono::milliseconds timeout, net::tls_context context,
                                             std::string server_name) {
  using namespace asio::experimental::awaitable_operators;
  auto const deadline = std::chrono::steady_clock::now() + timeout;
  auto tcp = co_await connect_tcp(host, port, timeout);
  std::string const& name = server_name.empty() ? host : server_name;
  net::tls_stream stream(std::move(tcp.socket()), context, name);
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto r = co_await (stream.async_handshake(asio::as_tuple(asio::use_awaitable)) ||
                     timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  std::string const where = "TLS with " + host_port(host, port);
  if (r.index() == 1) {
    throw error(errc::timeout, where + ": no handshake within " + duration_text(timeout));
  }
  auto [ec] = std::get<0>(r);
  if (ec == net::tls_errc::verify_failed) throw error(errc::tls_verify, where + ": " + stream.failure());
  if (ec) {
    throw error(ec,
                where + ": handshake failed: " + (stream.failure().empty() ? ec.message() : stream.failure()));
  }
  co_return stream;
}

asio::awaitable<net::tls_stream> connect_tls(std::string host, std::uint16_t port,
                                             std::chrono::milliseconds timeout,
                                             tls_connect_options options) {
  auto context = make_client_context(options);
  co_return co_await connect_tls(std::move(host), port, timeout, std::move(context), std::move(options.server_name));
}

}  // namespace netdemo::client
