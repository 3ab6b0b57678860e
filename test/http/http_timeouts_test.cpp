// The HTTP client's idle timeout and --max-time while a response head or body is read
// (one watch timer per exchange, not a timer re-armed per read), and the progress calls
// of a stalled body, against the scripted in-process server on 127.0.0.1:0.
#include "netdemo/http/client.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "http_test_support.hpp"

using namespace http_test;

namespace {

std::string head_with_length(std::size_t n) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n";
}

}  // namespace

TEST_CASE("http fetch: a body that stops coming times out with 28", "[http][timeout]") {
  struct stall {
    const char* name;
    std::string sent;  // then nothing for 5 s
    const char* step;  // as the message names it
    std::string body;  // what must have reached the sink
  };
  std::vector<stall> const stalls{
      {"Content-Length", head_with_length(100) + std::string(50, 'b'), "reading the body", std::string(50, 'b')},
      {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n", "reading the body", "abcde"},
      {"in the middle of the head", "HTTP/1.1 200 OK\r\nContent-Len", "waiting for the response", ""},
  };
  for (const auto& st : stalls) {
    DYNAMIC_SECTION(st.name) {
      asio::io_context ioc;
      script_server srv(ioc, always(st.sent, 5s));
      auto o = opts(srv.url());
      o.idle_timeout = 300ms;
      auto r = run_fetch(ioc, std::move(o));
      INFO(r.message);
      CHECK(r.code == 28);
      CHECK(r.message.find(std::string(st.step) + " timed out after 300 ms") != std::string::npos);
      CHECK(r.body == st.body);
      CHECK(r.took >= 290ms);
      CHECK(r.took < 3s);
    }
  }
}

TEST_CASE("http fetch: a slow body that keeps coming is not an idle timeout", "[http][timeout]") {
  // 20 bytes every 10 ms for ~1.2 s, with an idle timeout of 300 ms: each read makes
  // progress in time, though the whole transfer takes four idle timeouts.
  asio::io_context ioc;
  std::string const body(2400, 's');
  script_server srv(ioc, [&](const std::string&) {
    reply_plan p{head_with_length(body.size()) + body};
    p.throttle = 20;
    return p;
  });
  auto o = opts(srv.url());
  o.idle_timeout = 300ms;
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body == body);
  CHECK(r.took > 600ms);
}

TEST_CASE("http fetch: --max-time ends a body that is still coming", "[http][timeout]") {
  asio::io_context ioc;
  std::string const body(4000, 's');
  script_server srv(ioc, [&](const std::string&) {
    reply_plan p{head_with_length(body.size()) + body};
    p.throttle = 20;  // ~2 s in all
    return p;
  });
  auto o = opts(srv.url());  // idle timeout 5 s: only --max-time can end it
  o.max_time = 400ms;
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  CHECK(r.code == 28);
  CHECK(r.message.find("--max-time") != std::string::npos);
  CHECK(r.took >= 390ms);
  CHECK(r.took < 1500ms);
  CHECK(!r.body.empty());
  CHECK(r.body.size() < body.size());
}

TEST_CASE("https fetch: a body that stops coming times out with 28", "[http][tls][timeout]") {
  test_pki pki;
  if (!pki.ok) {
    WARN("skipped: the openssl command could not make test certificates");
    return;
  }
  asio::io_context ioc;
  auto ctx = pki.server_context("good");
  script_server srv(ioc, always(head_with_length(100000) + std::string(70000, 'b'), 5s), &ctx);
  auto o = opts(srv.url());
  o.ca_file = pki.ca();
  o.idle_timeout = 300ms;
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  CHECK(r.code == 28);
  CHECK(r.message.find("reading the body timed out after 300 ms") != std::string::npos);
  CHECK(r.body == std::string(70000, 'b'));
  CHECK(r.took < 3s);

  auto m = opts(srv.url());
  m.ca_file = pki.ca();
  m.max_time = 400ms;
  auto r2 = run_fetch(ioc, std::move(m));
  INFO(r2.message);
  CHECK(r2.code == 28);
  CHECK(r2.message.find("--max-time") != std::string::npos);
  CHECK(r2.took < 3s);
}

TEST_CASE("http fetch: a stalled body still reports progress every second", "[http][progress][timeout]") {
  // Half the body, then nothing for 1.3 s, then the server closes: the progress line is
  // called again while nothing arrives (its rate falls), with the same byte count.
  asio::io_context ioc;
  script_server srv(ioc, always(head_with_length(100) + std::string(50, 'b'), 1300ms));
  std::vector<std::uint64_t> seen;
  auto o = opts(srv.url());
  o.on_progress = [&](std::uint64_t got, std::optional<std::uint64_t>) { seen.push_back(got); };
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  CHECK(r.code == 18);
  REQUIRE(seen.size() >= 3);
  CHECK(seen.front() == 0);
  CHECK(seen.back() == 50);
  CHECK(seen[seen.size() - 2] == 50);
}

TEST_CASE("http fetch: an exception from a progress tick ends the fetch with it", "[http][progress][timeout]") {
  asio::io_context ioc;
  script_server srv(ioc, always(head_with_length(100) + std::string(50, 'b'), 3s));
  int calls = 0;
  auto o = opts(srv.url());
  o.on_progress = [&](std::uint64_t, std::optional<std::uint64_t>) {
    if (++calls == 3) throw std::runtime_error("stop here");
  };
  auto r = run_fetch(ioc, std::move(o));
  CHECK(r.code == -1);  // not a library failure: the callback's own exception
  CHECK(r.message == "stop here");
  CHECK(r.took < 2500ms);
}
