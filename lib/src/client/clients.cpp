#include "netdemo/client/datagram_client.hpp"
#include "netdemo/client/stream_client.hpp"
#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/lookup.hpp"
#include "netdemo/proto/text.hpp"

#include <sys/socket.h>

#include <memory>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace netdemo::client {

namespace {

using namespace asio::experimental::awaitable_operators;

std::string host_port(const std::string& host, std::uint16_t port) {
  bool const v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

asio::awaitable<stream_client<asio::ip::tcp>> connect_tcp(std::string host, std::uint16_t port,
                                                          std::chrono::milliseconds timeout,
                                                          net::lookup_function lookup) {
  using asio::ip::tcp;
  auto ex = co_await asio::this_coro::executor;
  auto const deadline = std::chrono::steady_clock::now() + timeout;
  auto const timed_out = [&] {
    return error(errc::timeout, "cannot connect to " + host_port(host, port) + ": no answer within " +
                                    duration_text(timeout));
  };
  auto const found = co_await net::async_lookup(host, 0, deadline, std::move(lookup));
  if (!found) throw timed_out();
  std::vector<tcp::endpoint> endpoints;
  for (const auto& a : *found) endpoints.emplace_back(a, port);
  tcp::socket socket(ex);
  // The ranged async_connect ignores per-operation cancellation in Asio 1.26, so `||`
  // with a timer would wait out the kernel's SYN retries: a watchdog closes the socket.
  // Its state is shared so that a watchdog handler already queued when the connect
  // finishes touches nothing that has gone.
  struct watch_state {
    tcp::socket* socket;
    bool fired = false;
  };
  auto state = std::make_shared<watch_state>(watch_state{&socket});
  asio::steady_timer watchdog(ex, deadline);
  watchdog.async_wait([state](boost::system::error_code ec) {
    if (ec || state->socket == nullptr) return;
    state->fired = true;
    boost::system::error_code ignored;
    state->socket->close(ignored);
  });
  auto [cec, ep] = co_await asio::async_connect(socket, endpoints,
                                                asio::as_tuple(asio::use_awaitable));
  state->socket = nullptr;
  watchdog.cancel();
  if (state->fired) throw timed_out();
  if (cec) {
    throw error(errc::cannot_connect,
                "cannot connect to " + host_port(host, port) + ": " + cec.message());
  }
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  co_return stream_client<tcp>(std::move(socket));
}

asio::awaitable<stream_client<asio::local::stream_protocol>> connect_unix(
    std::string path, std::chrono::milliseconds timeout) {
  using asio::local::stream_protocol;
  net::check_unix_path(path);
  auto ex = co_await asio::this_coro::executor;
  stream_protocol::socket socket(ex);
  asio::steady_timer timer(ex, timeout);
  auto res = co_await (
      socket.async_connect(stream_protocol::endpoint(path), asio::as_tuple(asio::use_awaitable)) ||
      timer.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (res.index() == 1) {
    throw error(errc::timeout,
                "cannot connect to " + path + ": no answer within " + duration_text(timeout));
  }
  auto [ec] = std::get<0>(res);
  if (ec) throw error(errc::cannot_connect, "cannot connect to " + path + ": " + ec.message());
  co_return stream_client<stream_protocol>(std::move(socket));
}

template <class Protocol>
std::string datagram_client<Protocol>::peer_text() const {
  boost::system::error_code ec;
  auto const ep = socket_.remote_endpoint(ec);
  return ec ? std::string("the server") : net::to_string(ep);
}

template <class Protocol>
std::string datagram_client<Protocol>::refused_text() const {
  return "no server is listening on " + peer_text() + " (connection refused)";
}

template <class Protocol>
void datagram_client<Protocol>::drain_stale() noexcept {
  // Late answers to an earlier request (after a retry) must not pass for this one's.
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  while (!ec) socket_.receive(asio::buffer(buf_), 0, ec);
  socket_.non_blocking(false, ec);
}

template <class Protocol>
asio::awaitable<datagram_reply> datagram_client<Protocol>::request(
    std::string_view msg, std::chrono::milliseconds timeout, int retries) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  drain_stale();
  for (int attempt = 1; attempt <= retries + 1; ++attempt) {
    auto [sec, sent] = co_await socket_.async_send(asio::buffer(msg.data(), msg.size()),
                                                   asio::as_tuple(asio::use_awaitable));
    if (sec == asio::error::connection_refused) {
      throw error(errc::cannot_connect, refused_text());
    }
    if (sec) throw error(sec, "send failed: " + sec.message());
    timer.expires_after(timeout);
    auto res = co_await (socket_.async_receive(asio::buffer(buf_),
                                               asio::as_tuple(asio::use_awaitable)) ||
                         timer.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (res.index() == 1) continue;  // lost: send again
    auto [ec, n] = std::get<0>(res);
    if (ec == asio::error::connection_refused) {
      throw error(errc::cannot_connect, refused_text());
    }
    if (ec) throw error(ec, "receive failed: " + ec.message());
    datagram_reply r;
    r.attempts = attempt;
    r.truncated = n > max_reply_datagram;
    r.data.assign(buf_.data(), r.truncated ? max_reply_datagram : n);
    co_return r;
  }
  throw error(errc::timeout, "no reply from " + peer_text() + " after " + std::to_string(retries + 1) +
                                      " attempt(s), waiting " + duration_text(timeout) + " each");
}

template class datagram_client<asio::ip::udp>;
template class datagram_client<asio::local::datagram_protocol>;

asio::awaitable<datagram_client<asio::ip::udp>> connect_udp(std::string host, std::uint16_t port,
                                                            std::chrono::milliseconds lookup_timeout) {
  using asio::ip::udp;
  auto ex = co_await asio::this_coro::executor;
  auto const found =
      co_await net::async_lookup(host, 0, std::chrono::steady_clock::now() + lookup_timeout);
  if (!found) {
    throw error(errc::timeout, "cannot resolve '" + host + "': no answer within " + duration_text(lookup_timeout));
  }
  udp::endpoint const to(found->front(), port);
  udp::socket socket(ex);
  boost::system::error_code ec;
  socket.open(to.protocol(), ec);
  if (!ec) socket.connect(to, ec);
  if (ec) {
    throw error(errc::cannot_connect,
                "cannot reach " + host_port(host, port) + ": " + ec.message());
  }
  co_return datagram_client<udp>(std::move(socket));
}

asio::awaitable<datagram_client<asio::local::datagram_protocol>> connect_unix_datagram(
    std::string path) {
  using asio::local::datagram_protocol;
  net::check_unix_path(path);
  auto ex = co_await asio::this_coro::executor;
  datagram_protocol::socket socket(ex);
  boost::system::error_code ec;
  socket.open(datagram_protocol(), ec);
  // An empty path asks Linux for an automatic abstract address ("autobind").
  if (!ec) socket.bind(datagram_protocol::endpoint(""), ec);
  if (!ec) socket.connect(datagram_protocol::endpoint(path), ec);
  if (ec) throw error(errc::cannot_connect, "cannot reach " + path + ": " + ec.message());
  co_return datagram_client<datagram_protocol>(std::move(socket));
}

}  // namespace netdemo::client
