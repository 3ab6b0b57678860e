// A netdemo server inside a program of its own: the program owns the io_context and the
// thread that runs it, reads the server's figures while it runs, and stops it gracefully
// from another thread (here main's), as a service would on its own shutdown request.
//
// The servers are not thread safe: everything is called on the io_context's thread, and
// another thread reaches them with asio::post (which is thread safe).
#include <atomic>
#include <cstdio>
#include <exception>
#include <future>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include "netdemo/client/stream_client.hpp"
#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/stream_server.hpp"
#include "netdemo/proto/handlers.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using hello_handler = netdemo::proto::text_stream_handler<netdemo::proto::hello_protocol>;
using server_type = netdemo::net::stream_server<asio::ip::tcp, hello_handler>;

int main() {
  asio::io_context ioc(1);
  netdemo::net::server_limits limits;
  limits.idle_timeout = 30s;
  std::atomic<int> closes{0};
  // Events arrive on the io_context's thread; this sink only counts closes.
  auto const log = [&](const netdemo::net::event& e) {
    if (e.kind == netdemo::net::event_kind::closed) ++closes;
  };
  server_type server(netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", 0),
                     hello_handler({}, 4096), limits, log);  // lines up to 4 KiB
  auto const port = server.local_endpoints().front().port();

  // run() completes once the stop has ended every session.
  std::promise<void> finished;
  asio::co_spawn(ioc, server.run(), [&](std::exception_ptr e) {
    if (e) finished.set_exception(e); else finished.set_value();
  });
  // Three clients that stay connected until the server closes them.
  auto const client = [&]() -> asio::awaitable<void> {
    auto c = co_await netdemo::client::connect_tcp("127.0.0.1", port, 2s);
    co_await c.read_reply(2s, 50ms, netdemo::client::reply_framing::pause);  // Welcome!
    co_await c.send("embedded\n");
    co_await c.read_reply(2s, 50ms, netdemo::client::reply_framing::line);
    co_await c.read_reply(10s, 50ms, netdemo::client::reply_framing::pause);  // until closed
  };
  std::atomic<int> client_failures{0};
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(ioc, client(), [&](std::exception_ptr e) { client_failures += e ? 1 : 0; });
  }

  std::thread io_thread([&] { ioc.run(); });

  // Read the figures on the server's thread; wait for them here.
  auto const sessions_now = [&] {
    return asio::post(ioc, asio::use_future([&] { return server.session_count(); })).get();
  };
  std::size_t open = 0;
  for (int i = 0; i < 100 && open < 3; ++i) {
    std::this_thread::sleep_for(20ms);
    open = sessions_now();
  }
  std::printf("sessions open: %zu\n", open);

  // A graceful stop from this thread: no new connections, idle sessions closed, 1 s of grace.
  asio::post(ioc, [&] { server.stop(1s); });
  auto const done = finished.get_future();
  bool const stopped = done.wait_for(5s) == std::future_status::ready;
  ioc.stop();
  io_thread.join();
  std::printf("stopped: %s; sessions closed: %d; cut off: %zu\n", stopped ? "yes" : "no",
              closes.load(), server.aborted_sessions());
  return stopped && open == 3 && closes == 3 && client_failures == 0 && server.aborted_sessions() == 0
             ? 0
             : 1;
}
