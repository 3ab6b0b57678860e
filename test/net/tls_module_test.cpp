// The TLS module is OpenSSL's only door, and a plain-TCP start-up never opens it.
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "net/stream_test_support.hpp"
#include "netdemo/net/tls.hpp"
#include "netdemo/proto/roles.hpp"
#include "support.hpp"

using namespace test_support;
using tcp = asio::ip::tcp;

namespace {

/// Whether netdemo-tls.so is mapped into this process (the test binary links OpenSSL itself,
/// so libssl in the maps would prove nothing).
bool module_mapped() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("netdemo-tls.so") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("tls module: a plain-TCP server and client never load it; a TLS context does", "[tls]") {
  if (netdemo::net::tls_loaded()) {
    WARN("another test of this process loaded the TLS module already (run this one alone, as ctest does)");
    return;
  }
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, netdemo::proto::echo_stream_handler{}, fast_limits(), log);
  auto const ep = server.local_endpoints().front();
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    tcp::socket s(co_await asio::this_coro::executor);
    co_await s.async_connect(ep, asio::use_awaitable);
    co_await write_all(s, "ping\n");
    got = co_await read_at_least(s, 5);
  }());
  CHECK(got == "ping\n");
  CHECK_FALSE(netdemo::net::tls_loaded());
  CHECK_FALSE(module_mapped());

  // The same checks see the module once a context is made: they can fail.
  auto const ctx = netdemo::net::tls_context::client({.ca_file = {}, .insecure = true});
  CHECK_FALSE(ctx.is_server());
  CHECK(netdemo::net::tls_loaded());
  CHECK(module_mapped());
}
