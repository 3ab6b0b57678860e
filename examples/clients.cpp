// netdemo's line and datagram clients from a coroutine, against a running netdemo server:
//   netdemo tcp-server --port 9999 &  netdemo udp-server --port 9999 &
//   ./clients 127.0.0.1 9999 9999 Michael Tracy
// Each name goes to the TCP server (a line, the reply read up to its LF) and to the UDP
// server (one datagram, 500 ms for a reply, two resends). Exit 1 if a reply is not the
// hello role's "Hello, <name>!".
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "netdemo/client/datagram_client.hpp"
#include "netdemo/client/stream_client.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

asio::awaitable<int> greet_all(std::string host, std::uint16_t tcp_port, std::uint16_t udp_port,
                               std::vector<std::string> names) {
  using netdemo::client::reply_framing;
  int wrong = 0;
  // The connect timeout covers the name lookup and the connection.
  auto tcp = co_await netdemo::client::connect_tcp(host, tcp_port, 3s);
  auto const greeting = co_await tcp.read_reply(1s, 50ms, reply_framing::pause);
  std::printf("tcp greeting: %s\n", greeting.data.c_str());
  auto udp = co_await netdemo::client::connect_udp(host, udp_port);
  for (const auto& name : names) {
    std::string const want = "Hello, " + name + "!";
    co_await tcp.send(name + "\n");
    auto const line = co_await tcp.read_reply(2s, 50ms, reply_framing::line);
    auto const datagram = co_await udp.request(name, 500ms, 2);
    std::printf("tcp: %s", line.data.c_str());
    std::printf("udp: %s (%d attempt(s))\n", datagram.data.c_str(), datagram.attempts);
    wrong += (line.data != want + "\n") + (datagram.data != want);
  }
  co_await tcp.send("exit\n");
  co_return wrong;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: clients HOST TCP_PORT UDP_PORT NAME...\n");
    return 2;
  }
  auto const port = [](const char* s) { return static_cast<std::uint16_t>(std::atoi(s)); };
  asio::io_context ioc(1);
  int status = 1;
  asio::co_spawn(ioc, greet_all(argv[1], port(argv[2]), port(argv[3]), {argv + 4, argv + argc}),
                 [&](std::exception_ptr e, int wrong) {
                   if (!e) {
                     status = wrong == 0 ? 0 : 1;
                     return;
                   }
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& x) {
                     // One clear line: "cannot connect to 127.0.0.1:9999: Connection refused".
                     std::fprintf(stderr, "clients: %s\n", x.what());
                   }
                 });
  ioc.run_for(30s);
  return status;
}
