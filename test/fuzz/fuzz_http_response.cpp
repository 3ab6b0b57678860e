// The HTTP client's response path (head, then body) under our limits: fetch() against a
// loopback server that answers with the fuzzer's bytes, written in fuzzed pieces, then
// closes. Invariants: the fetch ends (well within 5 s: the server always closes, so no
// timeout may fire); it fails only with a netdemo::error of a response's exit codes (1, 8,
// 18, 22), never with another exception; a response it accepts had a head within twice
// header_limit (see below); with --fail a status of 400 or more is exit 22; without
// --compressed the body handed over is what Content-Length said and what body_bytes
// reports, in chunks of at most 256 KiB. Redirects are not followed (a Location could name
// any address; the Location handling is fuzz_url's).
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio.hpp>

#include "fuzz_support.hpp"
#include "netdemo/proto/error.hpp"
#include "netdemo/http/client.hpp"
#include "netdemo/http/cookies.hpp"

using fuzz_support::check;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct loopback {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::string url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/f";
};

loopback& the_server() {
  static loopback l;
  return l;
}

/// Accepts one connection, reads the request head, sends `pieces`, closes.
asio::awaitable<void> answer(tcp::acceptor& acceptor, std::vector<std::string> pieces) {
  auto tok = asio::as_tuple(asio::use_awaitable);
  auto [ec, sock] = co_await acceptor.async_accept(tok);
  if (ec) co_return;
  std::string request;
  auto [rec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(request, 64 * 1024), "\r\n\r\n", tok);
  if (rec) co_return;
  for (const auto& p : pieces) {
    auto [wec, w] = co_await asio::async_write(sock, asio::buffer(p), tok);
    if (wec) co_return;
  }
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_send, ignored);
  // Wait for the client to close, so that its reads see our EOF and not a reset.
  char c;
  (void)co_await sock.async_read_some(asio::buffer(&c, 1), tok);
}

/// The Content-Length of a head, when it has exactly one valid one and no Transfer-Encoding.
std::optional<std::uint64_t> plain_length(const netdemo::http::response& r) {
  if (r.find("transfer-encoding") != nullptr) return std::nullopt;
  const std::string* cl = r.find("content-length");
  if (cl == nullptr || cl->empty() || cl->size() > 18 || cl->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(*cl);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  loopback& l = the_server();
  FuzzedDataProvider in(data, size);
  netdemo::http::request_options o;
  o.url = l.url;
  o.follow_redirects = false;
  o.decode_content = in.ConsumeBool();
  o.fail_on_error = in.ConsumeBool();
  o.method = in.ConsumeBool() ? "HEAD" : "GET";
  static constexpr std::size_t limits[] = {64 * 1024, 1024, 100};
  o.header_limit = limits[in.ConsumeIntegralInRange(0, 2)];
  o.connect_timeout = std::chrono::seconds(5);
  o.idle_timeout = std::chrono::seconds(5);
  o.max_time = std::chrono::seconds(5);
  netdemo::http::cookie_jar jar;
  o.cookies = &jar;
  std::uint64_t delivered = 0;
  o.on_body = [&](std::string_view chunk) {
    check(chunk.size() <= 256 * 1024, "a body chunk larger than 256 KiB");
    delivered += chunk.size();
  };
  std::vector<std::string> pieces;
  for (int n = in.ConsumeIntegralInRange(0, 6); n > 0; --n) {
    pieces.push_back(in.ConsumeBytesAsString(in.ConsumeIntegralInRange<std::size_t>(1, 200)));
  }
  pieces.push_back(in.ConsumeRemainingBytesAsString());
  std::string wire;
  for (const auto& p : pieces) wire += p;

  std::optional<netdemo::http::response> got;
  std::optional<netdemo::error> failed;
  bool other_exception = false;
  std::string other_what;
  bool done = false;
  asio::co_spawn(l.ioc, answer(l.acceptor, pieces), asio::detached);
  asio::co_spawn(l.ioc, netdemo::http::fetch(o),
                 [&](std::exception_ptr e, netdemo::http::response r) {
                   done = true;
                   if (!e) {
                     got = std::move(r);
                     return;
                   }
                   try {
                     std::rethrow_exception(e);
                   } catch (const netdemo::error& err) {
                     failed = err;
                   } catch (const std::exception& err) {
                     other_exception = true;
                     other_what = err.what();
                   } catch (...) {
                     other_exception = true;
                   }
                 });
  l.ioc.run_for(std::chrono::seconds(5));
  check(done, "the fetch did not end within 5 s although the server closed", wire);
  l.ioc.run_for(std::chrono::milliseconds(200));  // the server coroutine sees the close
  l.ioc.restart();
  check(!other_exception, "the fetch failed with an exception that is not a netdemo::error", other_what);
  if (failed) {
    auto const c = failed->code();
    check(c.category() != netdemo::category() || c == netdemo::errc::malformed_reply || c == netdemo::errc::partial_body ||
              c == netdemo::errc::http_status,
          "the fetch failed with an exit code a response cannot cause", failed->what());
    return 0;
  }
  const auto& r = *got;
  auto const head_end = wire.find("\r\n\r\n");
  check(head_end != std::string::npos, "a response was accepted without a complete head", wire);
  // Every head, interim (1xx) ones included, is held to header_limit, so the first is too.
  // Beast 1.81 holds the status line and the fields to the limit each, not together
  // (basic_parser::put): a head of up to twice the limit gets through (docs/reliability.md).
  check(head_end + 4 <= 2 * o.header_limit, "a head larger than twice header_limit was accepted",
        std::to_string(head_end + 4) + " > 2 x " + std::to_string(o.header_limit));
  check(!(r.status >= 100 && r.status < 200 && r.status != 101), "an interim (1xx) status was returned as the response");
  check(!(o.fail_on_error && r.status >= 400), "--fail let a status >= 400 through");
  check(r.body_bytes == delivered, "body_bytes is not what on_body received");
  if (o.method == "HEAD") {
    check(delivered == 0, "a HEAD response delivered a body");
  } else if (!o.decode_content) {
    if (auto const cl = plain_length(r); cl && r.status != 204 && r.status != 304 && r.status != 101) {
      check(delivered == *cl, "the body delivered is not the Content-Length", std::to_string(delivered));
    }
  }
  return 0;
}
