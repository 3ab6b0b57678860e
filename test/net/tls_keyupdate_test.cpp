// TLS 1.3 key updates through tls_stream while the server's socket is full: the peer asks for
// an update in both directions and sends a byte. The answer is a write; OpenSSL 3.0 sends
// it with the next write rather than inside the read, but a read that must write would
// fail with would_block and the loop below would wait for the socket to take it, so either
// way the byte arrives, the blocked write goes on with the same bytes, and the peer reads
// everything under the new keys. And a TLS 1.2 peer's renegotiation, which the server
// refuses (an alert written during a read). The peer is OpenSSL itself, driven directly:
// tls_stream has no call that requests a key update or a renegotiation.
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "net/tls_test_support.hpp"
#include "netdemo/net/tls_stream.hpp"
#include "support.hpp"

using namespace test_support;
using boost::system::error_code;
using netdemo::net::tls_stream;
using tcp = asio::ip::tcp;

TEST_CASE("tls_stream: a key update that needs a write while the socket is full", "[tls]") {
  asio::io_context ioc;
  const auto& pki = test_pki::get();
  auto [server_sock, client_sock] = tcp_pair(ioc);
  server_sock.set_option(asio::socket_base::send_buffer_size(4096));
  client_sock.set_option(asio::socket_base::receive_buffer_size(4096));
  tls_stream server(std::move(server_sock), pki.server());

  std::atomic<bool> full{false}, sent{false};
  std::size_t client_got = 0;
  std::string client_error;
  int const fd = client_sock.native_handle();  // blocking: the peer thread waits in OpenSSL
  std::thread peer([&] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) {
      client_error = "connect";
    } else {
      while (!full) std::this_thread::sleep_for(5ms);
      if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1 || SSL_write(ssl, "x", 1) != 1) client_error = "write";
      sent = true;
      std::this_thread::sleep_for(100ms);  // the server's read meets the full socket first
      char buf[16384];
      for (;;) {
        int const n = SSL_read(ssl, buf, sizeof buf);
        if (n <= 0) break;
        client_got += static_cast<std::size_t>(n);
      }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  });

  std::size_t written = 0;
  std::string got;
  bool in_time = run_all(ioc, [&]() -> asio::awaitable<void> {
    auto [hec] = co_await server.async_handshake(asio::as_tuple(asio::use_awaitable));
    REQUIRE(!hec);
    error_code ec;
    server.non_blocking(true, ec);
    std::string const block(16384, 'w');
    for (;;) {
      std::size_t const n = server.write_some(asio::buffer(block), ec);
      if (ec == asio::error::would_block) break;
      REQUIRE(!ec);
      written += n;
    }
    full = true;
    while (!sent) co_await sleep_for(5ms);
    co_await sleep_for(50ms);  // the key update and "x" are in the socket now
    // The session's loop: read until would_block, then wait for read.
    char c = 0;
    for (;;) {
      std::size_t const n = server.read_some(asio::buffer(&c, 1), ec);
      if (!ec) {
        got.assign(&c, n);
        break;
      }
      REQUIRE(ec == asio::error::would_block);
      co_await server.async_wait(tcp::socket::wait_read, asio::use_awaitable);
    }
    // The write that met would_block goes on with the same bytes.
    co_await asio::async_write(server, asio::buffer(block), asio::use_awaitable);
    written += block.size();
    co_await server.async_shutdown(asio::use_awaitable);
  }());
  if (!in_time) {
    error_code ec;
    server.close(ec);  // the peer thread's read ends
  }
  peer.join();
  REQUIRE(in_time);
  CHECK(client_error.empty());
  CHECK(got == "x");
  CHECK(client_got == written);
}

TEST_CASE("tls_stream: a TLS 1.2 peer's renegotiation is refused, the stream neither hangs nor spins", "[tls]") {
  asio::io_context ioc;
  const auto& pki = test_pki::get();
  auto [server_sock, client_sock] = tcp_pair(ioc);
  tls_stream server(std::move(server_sock), pki.server());
  int const fd = client_sock.native_handle();
  int renegotiated = -1;
  std::thread peer([&] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) == 1 && SSL_write(ssl, "a", 1) == 1 && SSL_renegotiate(ssl) == 1) {
      renegotiated = SSL_do_handshake(ssl);  // the server says no
    }
    ::shutdown(fd, SHUT_RDWR);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  });
  std::string got;
  error_code end;
  std::size_t waits = 0;
  bool const in_time = run_all(ioc, [&]() -> asio::awaitable<void> {
    auto [hec] = co_await server.async_handshake(asio::as_tuple(asio::use_awaitable));
    REQUIRE(!hec);
    error_code ec;
    server.non_blocking(true, ec);
    char buf[64];
    for (;;) {
      std::size_t const n = server.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block) {
        ++waits;
        co_await server.async_wait(tcp::socket::wait_read, asio::use_awaitable);
        continue;
      }
      if (ec) break;
      got.append(buf, n);
    }
    end = ec;
  }());
  if (!in_time) {
    error_code ec;
    server.close(ec);
  }
  peer.join();
  REQUIRE(in_time);
  CHECK(got == "a");
  CHECK(renegotiated != 1);
  CHECK(end);  // the peer gave up: an alert, a truncation or a reset, not a hang
  CHECK(waits < 10);
  INFO(end.message() << ": " << server.failure());
  CHECK_FALSE(server.failure().empty());
}
