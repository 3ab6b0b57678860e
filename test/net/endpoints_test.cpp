#include "netdemo/net/endpoints.hpp"

#include "netdemo/proto/error.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "support.hpp"

using namespace test_support;
using tcp = asio::ip::tcp;

namespace {

bool ipv6_available() {
  asio::io_context ioc;
  tcp::acceptor a(ioc);
  boost::system::error_code ec;
  a.open(tcp::v6(), ec);
  if (!ec) a.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), ec);
  return !ec;
}

bool is_socket(const std::string& p) {
  struct ::stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

TEST_CASE("endpoints print as users type them", "[endpoints]") {
  using netdemo::net::to_string;
  CHECK(to_string(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 9999)) == "127.0.0.1:9999");
  CHECK(to_string(tcp::endpoint(asio::ip::make_address("::1"), 80)) == "[::1]:80");
  CHECK(to_string(asio::local::stream_protocol::endpoint("/tmp/x.sock")) == "/tmp/x.sock");
}

TEST_CASE("port 0 binds a real port; a taken port is a clear error", "[endpoints]") {
  asio::io_context ioc;
  auto listeners = netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", 0);
  REQUIRE(listeners.size() == 1);
  auto const port = listeners.front().local_endpoint().port();
  CHECK(port != 0);
  asio::socket_base::reuse_address reuse;
  listeners.front().get_option(reuse);
  CHECK(reuse.value());
  try {
    netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", port);
    FAIL("binding a taken port succeeded");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()).find("cannot bind 127.0.0.1:" + std::to_string(port)) != std::string::npos);
    CHECK(e.code() == std::errc::address_in_use);
  }
}

TEST_CASE("a restart on the same port works while old connections sit in TIME_WAIT",
          "[endpoints]") {
  asio::io_context ioc;
  std::uint16_t port = 0;
  {
    auto listeners = netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", 0);
    port = listeners.front().local_endpoint().port();
    tcp::socket client(ioc);
    client.connect(listeners.front().local_endpoint());
    tcp::socket served = listeners.front().accept();
    served.close();  // the server closes first: its side goes to TIME_WAIT
    client.close();
  }
  auto again = netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", port);
  CHECK(again.front().local_endpoint().port() == port);
}

TEST_CASE("'::' is dual-stack: IPv4 and IPv6 clients reach one listener", "[endpoints][ipv6]") {
  if (!ipv6_available()) {
    WARN("IPv6 is not available here; skipped");
    return;
  }
  asio::io_context ioc;
  auto listeners = netdemo::net::open_tcp_listeners(ioc.get_executor(), "::", 0);
  auto const port = listeners.front().local_endpoint().port();
  for (const char* addr : {"127.0.0.1", "::1"}) {
    INFO(addr);
    tcp::socket c(ioc);
    boost::system::error_code ec;
    c.connect(tcp::endpoint(asio::ip::make_address(addr), port), ec);
    CHECK_FALSE(ec);
  }
}

TEST_CASE("a name binds every address it resolves to, on one port", "[endpoints]") {
  asio::io_context ioc;
  auto listeners = netdemo::net::open_tcp_listeners(ioc.get_executor(), "localhost", 0);
  REQUIRE_FALSE(listeners.empty());
  auto const port = listeners.front().local_endpoint().port();
  for (auto& l : listeners) CHECK(l.local_endpoint().port() == port);
}

TEST_CASE("Unix path claims: stale replaced, live refused, other files untouched", "[unix]") {
  asio::io_context ioc;
  temp_dir dir;
  SECTION("a socket file nobody listens on is replaced") {
    std::string const path = dir.path("stale.sock");
    {
      auto a = netdemo::net::open_unix_listener(ioc.get_executor(), path);
    }  // closed without unlinking, as a killed server leaves it
    REQUIRE(is_socket(path));
    auto b = netdemo::net::open_unix_listener(ioc.get_executor(), path);
    CHECK(b.is_open());
  }
  SECTION("a live socket is refused") {
    std::string const path = dir.path("live.sock");
    auto a = netdemo::net::open_unix_listener(ioc.get_executor(), path);
    try {
      netdemo::net::open_unix_listener(ioc.get_executor(), path);
      FAIL("took over a live socket");
    } catch (const std::system_error& e) {
      CHECK(std::string(e.what()).find("in use") != std::string::npos);
    }
  }
  SECTION("a regular file is refused and kept") {
    std::string const path = dir.path("notes.txt");
    std::ofstream(path) << "keep me";
    CHECK_THROWS_WITH(netdemo::net::open_unix_listener(ioc.get_executor(), path),
                      Catch::Contains("not a socket"));
    std::ifstream in(path);
    std::string content;
    std::getline(in, content);
    CHECK(content == "keep me");
  }
  SECTION("a live datagram socket is refused, a stale one replaced") {
    std::string const path = dir.path("d.sock");
    {
      auto s = netdemo::net::open_unix_datagram(ioc.get_executor(), path);
      CHECK_THROWS_WITH(netdemo::net::open_unix_datagram(ioc.get_executor(), path),
                        Catch::Contains("in use"));
    }
    auto again = netdemo::net::open_unix_datagram(ioc.get_executor(), path);
    CHECK(again.is_open());
  }
  SECTION("the owner removes its own file only") {
    std::string const path = dir.path("own.sock");
    {
      auto a = netdemo::net::open_unix_listener(ioc.get_executor(), path);
      netdemo::net::unix_path_owner owner(path);
    }
    CHECK_FALSE(is_socket(path));
  }
}

TEST_CASE("a UDP port already bound is an error, not a silent second server", "[endpoints][udp]") {
  asio::io_context ioc;
  auto first = netdemo::net::open_udp_socket(ioc.get_executor(), "127.0.0.1", 0);
  auto const port = first.local_endpoint().port();
  CHECK_THROWS_WITH(netdemo::net::open_udp_socket(ioc.get_executor(), "127.0.0.1", port),
                    Catch::Contains("cannot bind 127.0.0.1:" + std::to_string(port)));
}

TEST_CASE("a name that does not resolve is exit code 6", "[endpoints]") {
  asio::io_context ioc;
  try {
    netdemo::net::open_tcp_listeners(ioc.get_executor(), "nosuch.invalid", 0);
    FAIL("resolved nosuch.invalid");
  } catch (const netdemo::error& e) {
    CHECK(e.code() == netdemo::errc::cannot_resolve);
    CHECK(std::string(e.what()).find("cannot resolve 'nosuch.invalid'") != std::string::npos);
  }
}

TEST_CASE("a Unix path that cannot name a socket is a usage error naming the limit", "[unix]") {
  using netdemo::net::max_unix_path;
  CHECK(max_unix_path == 107);
  CHECK(netdemo::net::unix_path_problem(std::string(max_unix_path, 'a')).empty());
  CHECK(netdemo::net::unix_path_problem("") == "the Unix socket path is empty");
  CHECK(netdemo::net::unix_path_problem(std::string(max_unix_path + 1, 'a')) ==
        "the Unix socket path is 108 bytes long; the limit is 107 (sockaddr_un.sun_path)");

  asio::io_context ioc;
  temp_dir dir;
  std::string const base = dir.path("");
  std::string const longest = base + std::string(max_unix_path - base.size(), 's');
  std::string const too_long = longest + "s";
  auto usage_error = [](auto&& open) {
    try {
      open();
    } catch (const netdemo::error& e) {
      CHECK(std::string(e.what()).find("the limit is 107") != std::string::npos);
      return e.code() == netdemo::errc::invalid_argument;
    }
    return false;
  };
  CHECK(usage_error([&] { netdemo::net::open_unix_listener(ioc.get_executor(), too_long); }));
  CHECK(usage_error([&] { netdemo::net::open_unix_datagram(ioc.get_executor(), too_long); }));
  CHECK(usage_error([&] { netdemo::net::claim_unix_path(too_long, false); }));
  // An empty path would have bound a datagram socket to an automatic abstract address.
  CHECK_THROWS_AS(netdemo::net::open_unix_datagram(ioc.get_executor(), ""), netdemo::error);
  CHECK_THROWS_AS(netdemo::net::open_unix_listener(ioc.get_executor(), ""), netdemo::error);
  // The longest path that fits works.
  auto a = netdemo::net::open_unix_listener(ioc.get_executor(), longest);
  CHECK(a.local_endpoint().path() == longest);
  netdemo::net::unix_path_owner owner(longest);
}
