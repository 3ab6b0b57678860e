// What the TLS tests share: a CA and a server certificate made at test time with the openssl
// command (once per process), loopback TCP pairs, and running coroutines to a deadline.
#pragma once

#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "netdemo/net/tls.hpp"
#include "netdemo/net/tls_stream.hpp"
#include "support.hpp"

namespace test_support {

/// A CA, and a certificate for localhost and 127.0.0.1 that it signed.
struct test_pki {
  temp_dir dir;
  std::string ca_pem = dir.path("ca.pem");
  std::string server_pem = dir.path("server.pem");
  std::string server_key = dir.path("server.key");
  std::string other_pem = dir.path("other.pem");  // a self-signed certificate of another name
  std::string other_key = dir.path("other.key");

  test_pki() {
    std::string const d = dir.path("");
    std::string const ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    std::string const ext = dir.path("server.ext");
    std::ofstream(ext) << "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                          "extendedKeyUsage=serverAuth\n";
    run("openssl req -x509" + ec + "-days 2 -subj /CN=netdemo-test-ca -addext basicConstraints=critical,CA:TRUE "
        "-addext keyUsage=critical,keyCertSign,cRLSign -keyout " + d + "ca.key -out " + ca_pem);
    run("openssl req -new" + ec + "-subj /CN=localhost -keyout " + server_key + " -out " + d + "server.csr");
    run("openssl x509 -req -in " + d + "server.csr -CA " + ca_pem + " -CAkey " + d + "ca.key -CAcreateserial "
        "-days 2 -extfile " + ext + " -out " + server_pem);
    run("openssl req -x509" + ec + "-days 2 -subj /CN=elsewhere.example -addext subjectAltName=DNS:elsewhere.example "
        "-keyout " + other_key + " -out " + other_pem);
  }

  static void run(const std::string& cmd) {
    if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  }

  /// Made once per process (each ctest test is a process of its own).
  static const test_pki& get() {
    static const test_pki pki;
    return pki;
  }

  netdemo::net::tls_context server() const { return netdemo::net::tls_context::server(server_pem, server_key); }
  netdemo::net::tls_context client() const { return netdemo::net::tls_context::client({.ca_file = ca_pem}); }
};

/// A connected loopback TCP pair: first the accepted side, then the connecting side.
inline std::pair<asio::ip::tcp::socket, asio::ip::tcp::socket> tcp_pair(asio::io_context& ioc) {
  asio::ip::tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket client(ioc);
  client.connect(acc.local_endpoint());
  auto server = acc.accept();
  return {std::move(server), std::move(client)};
}

/// Runs the coroutines together until all end or `limit` passes; rethrows the first
/// exception. Returns false when they did not all end in time.
inline bool run_list(asio::io_context& ioc, std::vector<asio::awaitable<void>> tasks,
                     std::chrono::milliseconds limit = 20s) {
  ioc.restart();  // an io_context that ran out of work stays stopped until restarted
  std::size_t left = tasks.size();
  std::exception_ptr failure;
  for (auto& t : tasks) {
    asio::co_spawn(ioc, std::move(t), [&](std::exception_ptr e) {
      --left;
      if (e && !failure) failure = e;
    });
  }
  auto const deadline = std::chrono::steady_clock::now() + limit;
  while (left > 0 && std::chrono::steady_clock::now() < deadline) ioc.run_one_until(deadline);
  bool const in_time = left == 0;
  if (!in_time) {
    ioc.stop();
  }
  if (failure) std::rethrow_exception(failure);
  return in_time;
}

/// run_list() for a few coroutines, 20 s at most.
template <class... Tasks>
bool run_all(asio::io_context& ioc, Tasks&&... tasks) {
  std::vector<asio::awaitable<void>> list;
  (list.push_back(std::forward<Tasks>(tasks)), ...);
  return run_list(ioc, std::move(list));
}

}  // namespace test_support
