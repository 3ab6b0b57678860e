// A protocol of your own, served over TCP, UDP and a Unix stream socket by netdemo's
// transports, without a line of transport code: the socketserver / Twisted `Protocol` idea
// of the tutorials. The program checks its own replies and exits 1 if one is wrong.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "netdemo/client/datagram_client.hpp"
#include "netdemo/client/stream_client.hpp"
#include "netdemo/net/datagram_server.hpp"
#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/stream_server.hpp"
#include "netdemo/proto/handlers.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

// ---- The protocol: bytes in, bytes out, no I/O. This is all a new protocol needs. ----
// "Reverse" answers each message with its characters reversed; "count" with their number.
struct reverse_protocol {
  std::string_view greeting() const { return {}; }
  void on_message(std::string_view msg, std::string& out) const {
    if (msg.starts_with("count ")) {
      out.append(std::to_string(msg.size() - 6));
    } else {
      out.append(msg.rbegin(), msg.rend());
    }
  }
};
static_assert(netdemo::proto::message_protocol<reverse_protocol>);

// ---- Serving it: one handler type per kind of transport, the same protocol in each. ----
using stream_handler = netdemo::proto::text_stream_handler<reverse_protocol>;
using datagram_handler = netdemo::proto::text_datagram_handler<reverse_protocol>;
using tcp_server = netdemo::net::stream_server<asio::ip::tcp, stream_handler>;
using unix_server = netdemo::net::stream_server<asio::local::stream_protocol, stream_handler>;
using udp_server = netdemo::net::datagram_server<asio::ip::udp, datagram_handler>;

namespace {

int failures = 0;

void expect(std::string_view what, std::string_view got, std::string_view want) {
  std::string shown(got);
  if (shown.ends_with('\n')) shown.replace(shown.size() - 1, 1, "\\n");
  std::printf("%-5s %-10s %s\n", std::string(what).c_str(), shown.c_str(), got == want ? "ok" : "WRONG");
  if (got != want) ++failures;
}

}  // namespace

int main() {
  asio::io_context ioc(1);
  auto const ex = ioc.get_executor();
  netdemo::net::server_limits const limits;  // the defaults of docs/limits.md
  stream_handler const sh(reverse_protocol{}, 4096);  // the longest line the protocol takes

  tcp_server tcp(netdemo::net::open_tcp_listeners(ex, "127.0.0.1", 0), sh, limits, {});
  udp_server udp(netdemo::net::open_udp_socket(ex, "127.0.0.1", 0), datagram_handler({}), limits, {});
  std::string const path = "/tmp/netdemo-example-" + std::to_string(::getpid()) + ".sock";
  std::vector<asio::local::stream_protocol::acceptor> unix_listeners;
  unix_listeners.push_back(netdemo::net::open_unix_listener(ex, path));
  netdemo::net::unix_path_owner const owner(path);  // removes the socket file at the end
  unix_server local(std::move(unix_listeners), sh, limits, {});

  auto const on_end = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  asio::co_spawn(ioc, tcp.run(), on_end);
  asio::co_spawn(ioc, udp.run(), on_end);
  asio::co_spawn(ioc, local.run(), on_end);

  // ---- Talking to each, with netdemo's clients. ----
  auto const talk = [&]() -> asio::awaitable<void> {
    using netdemo::client::reply_framing;
    auto t = co_await netdemo::client::connect_tcp("127.0.0.1", tcp.local_endpoints().front().port(), 2s);
    co_await t.send("hello\n");
    expect("tcp", (co_await t.read_reply(2s, 50ms, reply_framing::line)).data, "olleh\n");

    auto u = co_await netdemo::client::connect_udp("127.0.0.1", udp.local_endpoint().port());
    expect("udp", (co_await u.request("count these", 1s, 2)).data, "5");

    auto l = co_await netdemo::client::connect_unix(path, 2s);
    co_await l.send("unix\n");
    expect("unix", (co_await l.read_reply(2s, 50ms, reply_framing::line)).data, "xinu\n");
  };
  asio::co_spawn(ioc, talk(), [&](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "own_protocol: %s\n", x.what());
        ++failures;
      }
    }
    tcp.stop(1s);
    udp.stop();
    local.stop(1s);
  });
  ioc.run_for(10s);  // a bound, so that a bug cannot hang the program
  return failures == 0 ? 0 : 1;
}
