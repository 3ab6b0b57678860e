// The threading experiment behind docs/architecture.md ("--threads N"): a bare Asio
// coroutine echo server run two ways, so that only the threading differs.
//
//   threads_experiment per-thread PORT N   N io_contexts, one SO_REUSEPORT acceptor each
//   threads_experiment shared PORT N       one io_context run by N threads
//
// Built and run by scripts/bench.sh; not part of the netdemo build.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;
using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

asio::awaitable<void> echo(tcp::socket s) {
  std::array<char, 16384> buf;
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto [wec, m] = co_await asio::async_write(s, asio::buffer(buf, n), asio::as_tuple(asio::use_awaitable));
    if (wec) co_return;
  }
}

asio::awaitable<void> listen(tcp::acceptor a) {
  for (;;) {
    auto [ec, s] = co_await a.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) continue;
    s.set_option(tcp::no_delay(true));
    asio::co_spawn(a.get_executor(), echo(std::move(s)), asio::detached);
  }
}

tcp::acceptor open(asio::io_context& ioc, unsigned short port) {
  tcp::acceptor a(ioc);
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  a.open(ep.protocol());
  a.set_option(asio::socket_base::reuse_address(true));
  a.set_option(reuse_port(true));
  a.bind(ep);
  a.listen();
  return a;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s per-thread|shared PORT THREADS\n", argv[0]);
    return 2;
  }
  bool const per_thread = std::strcmp(argv[1], "per-thread") == 0;
  auto const port = static_cast<unsigned short>(std::atoi(argv[2]));
  int const n = std::atoi(argv[3]);
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  for (int i = 0; i < (per_thread ? n : 1); ++i) {
    iocs.push_back(std::make_unique<asio::io_context>(per_thread ? 1 : n));
    asio::co_spawn(*iocs.back(), listen(open(*iocs.back(), port)), asio::detached);
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] { iocs[per_thread ? i : 0]->run(); });
  }
  for (auto& t : threads) t.join();
}
