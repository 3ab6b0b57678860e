// Test support for the HTTP client tests: a scripted server on 127.0.0.1:0 (plain or TLS),
// a fetch runner with a hard deadline, and a test PKI made by the openssl CLI.
#pragma once

#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <type_traits>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "netdemo/exit_codes.hpp"
#include "netdemo/proto/error.hpp"
#include "netdemo/http/client.hpp"
#include "support.hpp"

namespace http_test {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace http = netdemo::http;
using asio::ip::tcp;
using namespace std::chrono_literals;
using test_support::temp_dir;

constexpr auto tok = asio::as_tuple(asio::use_awaitable);

inline tcp::socket& lowest(tcp::socket& s) { return s; }
inline tcp::socket& lowest(ssl::stream<tcp::socket>& s) { return s.next_layer(); }

/// What the scripted server does with one request.
struct reply_plan {
  std::string bytes;                  ///< written after the request head arrived
  bool hang = false;                  ///< write nothing and keep the connection open
  std::chrono::milliseconds hold{0};  ///< keep the connection open this long after writing
  bool await_close = false;           ///< TLS: after writing, wait (2 s at most) for the client's end
  std::size_t throttle = 0;           ///< write in pieces of this many bytes, 10 ms apart (0: at once)
};
using planner = std::function<reply_plan(const std::string& request_head)>;

/// A server that answers each connection's first request head with a scripted reply.
class script_server {
 public:
  script_server(asio::io_context& ioc, planner plan, ssl::context* tls = nullptr)
      : acceptor_(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        plan_(std::move(plan)),
        tls_(tls) {
    asio::co_spawn(ioc, listen(), asio::detached);  // listen() catches everything
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path = "/") const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) + path;
  }
  std::vector<std::string> requests;  ///< request heads, in arrival order
  int clean_closes = 0;               ///< TLS connections the client ended with close_notify

 private:
  asio::awaitable<void> listen() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(tok);
      if (ec) co_return;
      asio::co_spawn(acceptor_.get_executor(), session(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> session(tcp::socket sock) {
    try {
      if (tls_ == nullptr) {
        co_await serve(sock);
      } else {
        ssl::stream<tcp::socket> s(std::move(sock), *tls_);
        auto [ec] = co_await s.async_handshake(ssl::stream_base::server, tok);
        if (ec) co_return;
        co_await serve(s);
      }
    } catch (...) {
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& s) {
    std::string buf;
    auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(buf, 65536), "\r\n\r\n", tok);
    if (ec) co_return;
    std::string head = buf.substr(0, n);
    // A request body announced by Content-Length is read and recorded after the head.
    if (auto const cl = head.find("\r\nContent-Length: "); cl != std::string::npos) {
      std::size_t const want = n + std::stoul(head.substr(cl + 18));
      if (buf.size() < want) {
        auto [bec, bn] = co_await asio::async_read(s, asio::dynamic_buffer(buf), asio::transfer_exactly(want - buf.size()), tok);
        if (bec) co_return;
      }
      requests.push_back(buf.substr(0, want));
    } else {
      requests.push_back(head);
    }
    auto const plan = plan_(head);
    asio::steady_timer t(co_await asio::this_coro::executor);
    if (plan.hang) {
      t.expires_after(30s);
      co_await t.async_wait(tok);
      co_return;
    }
    if (plan.throttle == 0) {
      auto [wec, wn] = co_await asio::async_write(s, asio::buffer(plan.bytes), tok);
      if (wec) co_return;
    } else {
      for (std::size_t at = 0; at < plan.bytes.size(); at += plan.throttle) {
        auto const piece = std::string_view(plan.bytes).substr(at, plan.throttle);
        auto [wec, wn] = co_await asio::async_write(s, asio::buffer(piece.data(), piece.size()), tok);
        if (wec) co_return;
        t.expires_after(10ms);
        co_await t.async_wait(tok);
      }
    }
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
      if (plan.await_close) {
        // The client's close_notify reads as a clean end of stream (eof), a bare TCP
        // close as stream_truncated.
        char one = 0;
        t.expires_after(2s);
        t.async_wait([&s](const boost::system::error_code& e) {
          if (!e) lowest(s).cancel();
        });
        auto [rec, rn] = co_await s.async_read_some(asio::buffer(&one, 1), tok);
        t.cancel();
        if (rec == asio::error::eof) ++clean_closes;
      }
    }
    if (plan.hold.count() > 0) {
      t.expires_after(plan.hold);
      co_await t.async_wait(tok);
    }
    boost::system::error_code ignored;
    lowest(s).shutdown(tcp::socket::shutdown_both, ignored);
  }

  tcp::acceptor acceptor_;
  planner plan_;
  ssl::context* tls_;
};

/// The same reply to every request.
inline planner always(std::string bytes, std::chrono::milliseconds hold = 0ms) {
  return [bytes = std::move(bytes), hold](const std::string&) { return reply_plan{bytes, false, hold}; };
}

/// The request target of a request head ("GET /x HTTP/1.1" → "/x").
inline std::string target_of(const std::string& head) {
  auto const a = head.find(' ');
  auto const b = head.find(' ', a + 1);
  return head.substr(a + 1, b - a - 1);
}

/// What a fetch ended with.
struct outcome {
  std::optional<http::response> resp;
  int code = 0;              ///< the program's exit code for the failure, 0 on success
  std::string message;
  std::string body;
  std::size_t biggest_chunk = 0;
  std::vector<unsigned> statuses;  ///< every response head seen (redirects included)
  std::chrono::milliseconds took{};
};

inline outcome run_fetch(asio::io_context& ioc, http::request_options o,
                  std::chrono::milliseconds limit = 10s) {
  outcome out;
  o.on_body = [&out](std::string_view c) {
    out.body.append(c);
    out.biggest_chunk = std::max(out.biggest_chunk, c.size());
  };
  o.on_response = [&out](const http::response& r, bool) { out.statuses.push_back(r.status); };
  bool done = false;
  if (ioc.stopped()) ioc.restart();  // an earlier run_fetch may have run out of work
  auto const start = std::chrono::steady_clock::now();
  asio::co_spawn(ioc, http::fetch(std::move(o)), [&](std::exception_ptr e, http::response r) {
    done = true;
    if (!e) {
      out.resp = std::move(r);
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& x) {
      out.code = static_cast<int>(netdemo::to_exit_code(x.code()));
      out.message = x.what();
    } catch (const std::exception& x) {
      out.code = -1;
      out.message = x.what();
    }
  });
  auto const deadline = start + limit;
  while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_one_until(deadline);
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (!done) {
    out.code = -2;
    out.message = "fetch did not finish in time";
  }
  return out;
}

inline http::request_options opts(std::string url) {
  http::request_options o;
  o.url = std::move(url);
  o.connect_timeout = 5s;
  o.idle_timeout = 5s;
  return o;
}


/// A CA, a server certificate for localhost/127.0.0.1 and one for another name, made by
/// the openssl CLI in a temporary directory.
struct test_pki {
  temp_dir dir;
  bool ok = false;
  std::string ca() const { return dir.path("ca.pem"); }

  test_pki() {
    auto const run = [](const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0; };
    std::string const d = dir.path("");
    std::string const ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    {
      std::ofstream(dir.path("good.ext")) << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
      std::ofstream(dir.path("wrong.ext")) << "subjectAltName=DNS:wrong.example\n";
    }
    ok = run("openssl req -x509" + ec + "-keyout " + d + "ca.key -out " + d +
             "ca.pem -days 2 -subj /CN=netdemo-test-CA"
             " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign");
    for (const char* name : {"good", "wrong"}) {
      std::string const n = d + name;
      ok = ok && run("openssl req" + ec + "-keyout " + n + ".key -out " + n + ".csr -subj /CN=" + name) &&
           run("openssl x509 -req -in " + n + ".csr -CA " + d + "ca.pem -CAkey " + d +
               "ca.key -CAcreateserial -days 2 -out " + n + ".pem -extfile " + n + ".ext");
    }
  }

  ssl::context server_context(const std::string& name) const {
    ssl::context c(ssl::context::tls_server);
    c.use_certificate_chain_file(dir.path(name + ".pem"));
    c.use_private_key_file(dir.path(name + ".key"), ssl::context::pem);
    return c;
  }
};


}  // namespace http_test
