// connect_tls against a TLS echo server on 127.0.0.1, certificates made at test time.
#include "netdemo/client/tls_client.hpp"

#include <catch2/catch.hpp>

#include "net/tls_test_support.hpp"
#include "netdemo/exit_codes.hpp"
#include "netdemo/proto/error.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::errc;
using netdemo::client::connect_tls;
using netdemo::client::tls_connect_options;
using netdemo::net::tls_stream;
using tcp = asio::ip::tcp;

namespace {

constexpr auto tuple = asio::as_tuple(asio::use_awaitable);

/// Accepts connections and echoes over TLS with `ctx`; `handshake` false: never answers the
/// client's hello. Counts failed handshakes.
struct tls_echo_server {
  tcp::acceptor acceptor;
  netdemo::net::tls_context ctx;
  bool handshake = true;
  int failed = 0;

  tls_echo_server(asio::io_context& ioc, netdemo::net::tls_context c)
      : acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0}), ctx(std::move(c)) {}
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }

  asio::awaitable<void> serve_one() {
    auto sock = co_await acceptor.async_accept(asio::use_awaitable);
    tls_stream s(std::move(sock), ctx);
    if (!handshake) {
      co_await sleep_for(2s);
      co_return;
    }
    auto [ec] = co_await s.async_handshake(tuple);
    if (ec) {
      ++failed;
      co_return;
    }
    auto line = co_await read_at_least(s, 1, 2s);
    co_await write_all(s, line);
  }
};

/// One connect_tls to the server, the exit code of its failure (ok: it echoed "hi").
std::error_code attempt(const test_pki&, tls_echo_server& server, std::string host, tls_connect_options o,
                  std::string& message, std::chrono::milliseconds timeout = 2s,
                  std::chrono::steady_clock::duration* took = nullptr) {
  std::error_code code;
  auto& io = static_cast<asio::io_context&>(server.acceptor.get_executor().context());
  REQUIRE(run_all(io, server.serve_one(), [&]() -> asio::awaitable<void> {
    auto const t0 = std::chrono::steady_clock::now();
    struct stopwatch {
      std::chrono::steady_clock::time_point t0;
      std::chrono::steady_clock::duration* out;
      ~stopwatch() {
        if (out != nullptr) *out = std::chrono::steady_clock::now() - t0;
      }
    } watch{t0, took};
    try {
      auto s = co_await connect_tls(host, server.port(), timeout, o);
      co_await write_all(s, "hi");
      message = co_await read_at_least(s, 2);
    } catch (const std::system_error& e) {
      code = e.code();
      message = e.what();
    }
  }()));
  return code;
}

}  // namespace

TEST_CASE("connect_tls: the CA file's certificate is accepted, by name and by address", "[tls][client]") {
  const auto& pki = test_pki::get();
  asio::io_context ioc;
  tls_echo_server server(ioc, pki.server());
  std::string msg;
  CHECK(attempt(pki, server, "localhost", {.ca_file = pki.ca_pem}, msg) == std::error_code());
  CHECK(msg == "hi");
  CHECK(attempt(pki, server, "127.0.0.1", {.ca_file = pki.ca_pem}, msg) == std::error_code());
  CHECK(msg == "hi");
  CHECK(server.failed == 0);
}

TEST_CASE("connect_tls: verifies by default, against the system's CAs (60 with the reason)", "[tls][client]") {
  const auto& pki = test_pki::get();
  asio::io_context ioc;
  tls_echo_server server(ioc, pki.server());
  std::string msg;
  CHECK(attempt(pki, server, "localhost", {}, msg) == errc::tls_verify);
  CHECK(msg == "TLS with localhost:" + std::to_string(server.port()) +
                   ": certificate verify failed: unable to get local issuer certificate "
                   "(unknown CA; use --cacert FILE, or -k to skip the check)");
  CHECK(server.failed == 1);
}

TEST_CASE("connect_tls: insecure (-k) accepts a certificate nobody vouches for", "[tls][client]") {
  const auto& pki = test_pki::get();
  asio::io_context ioc;
  tls_echo_server server(ioc, netdemo::net::tls_context::server(pki.other_pem, pki.other_key));
  std::string msg;
  CHECK(attempt(pki, server, "localhost", {.insecure = true}, msg) == std::error_code());
  CHECK(msg == "hi");
}

TEST_CASE("connect_tls: a trusted certificate of another host name is refused", "[tls][client]") {
  const auto& pki = test_pki::get();
  asio::io_context ioc;
  // other.pem is for elsewhere.example; the client trusts it, and asks for localhost.
  tls_echo_server server(ioc, netdemo::net::tls_context::server(pki.other_pem, pki.other_key));
  std::string msg;
  CHECK(attempt(pki, server, "localhost", {.ca_file = pki.other_pem}, msg) == errc::tls_verify);
  CHECK(msg.find("certificate verify failed: the certificate does not match the host name 'localhost'") !=
        std::string::npos);
  // The same certificate passes when the name asked for is its own (SNI and check).
  CHECK(attempt(pki, server, "localhost", {.ca_file = pki.other_pem, .server_name = "elsewhere.example"}, msg) ==
        std::error_code());
  // And an address it does not name fails too.
  CHECK(attempt(pki, server, "127.0.0.1", {.ca_file = pki.other_pem}, msg) == errc::tls_verify);
  CHECK(msg.find("does not match the host name '127.0.0.1'") != std::string::npos);
}

TEST_CASE("connect_tls: the timeout covers a handshake that never comes (28); a bad CA file is 1",
          "[tls][client]") {
  const auto& pki = test_pki::get();
  asio::io_context ioc;
  tls_echo_server server(ioc, pki.server());
  server.handshake = false;
  std::string msg;
  std::chrono::steady_clock::duration took{};
  CHECK(attempt(pki, server, "localhost", {.ca_file = pki.ca_pem}, msg, 200ms, &took) == errc::timeout);
  CHECK(took >= 200ms);
  CHECK(took < 1500ms);
  CHECK(msg.find("no handshake within") != std::string::npos);
  try {
    netdemo::client::make_client_context({.ca_file = pki.dir.path("missing.pem")});
    FAIL("a missing CA file was accepted");
  } catch (const std::system_error& e) {
    CHECK(netdemo::to_exit_code(e.code()) == netdemo::exit_code::failure);
    CHECK(std::string(e.what()) == "cannot read the CA file '" + pki.dir.path("missing.pem") + "': No such file or directory");
  }
}

TEST_CASE("connect_tls: a name goes out as SNI, an address does not", "[tls][client]") {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  auto const port = acceptor.local_endpoint().port();
  // The ClientHello is plain text: a TCP server that never answers reads it.
  auto hello_for = [&](std::string host, std::string server_name) {
    std::string hello;
    REQUIRE(run_all(ioc,
                    [&]() -> asio::awaitable<void> {
                      auto s = co_await acceptor.async_accept(asio::use_awaitable);
                      hello = co_await read_at_least(s, 1 << 20, 500ms);
                    }(),
                    [&]() -> asio::awaitable<void> {
                      // A named variable: with g++ 12, a braced temporary in this co_await
                      // expression crashes in its destructor when connect_tls throws.
                      tls_connect_options const o{.insecure = true, .server_name = server_name};
                      try {
                        co_await connect_tls(host, port, 300ms, o);
                      } catch (const netdemo::error& e) {
                        CHECK(e.code() == errc::timeout);
                      }
                    }()));
    return hello;
  };
  auto const named = hello_for("127.0.0.1", "sni.example");
  CHECK(named.size() > 100);
  CHECK(named.find("sni.example") != std::string::npos);
  auto const address = hello_for("127.0.0.1", "");
  CHECK(address.size() > 100);
  CHECK(address.find("127.0.0.1") == std::string::npos);
}
