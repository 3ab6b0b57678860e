// The HTTP client's --compressed decoding, progress reports, abandonable name lookup and
// TLS close_notify, against the scripted in-process server on 127.0.0.1:0.
#include "netdemo/http/client.hpp"

#include "http/zlib_samples.hpp"

#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include "http_test_support.hpp"

using namespace http_test;

namespace {

using test_support::compress;

std::string with_length(const std::string& extra_fields, const std::string& body) {
  return "HTTP/1.1 200 OK\r\n" + extra_fields + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

std::string chunked(const std::string& extra_fields, const std::string& body, std::size_t piece) {
  std::string out = "HTTP/1.1 200 OK\r\n" + extra_fields + "Transfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < body.size(); at += piece) {
    auto const part = body.substr(at, piece);
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out.append(size).append(part).append("\r\n");
  }
  out.append("0\r\n\r\n");
  return out;
}

http::request_options compressed(std::string url) {
  auto o = opts(std::move(url));
  o.decode_content = true;
  return o;
}

}  // namespace

TEST_CASE("http compressed: gzip, deflate, chunked gzip are decoded; Accept-Encoding sent", "[http][coding]") {
  std::string const text = "hello, compressed world! " + std::string(3000, 'x');
  std::string const gz = compress(text, 31);
  asio::io_context ioc;
  script_server srv(ioc, [&](const std::string& head) {
    auto const t = target_of(head);
    if (t == "/gzip") return reply_plan{with_length("Content-Encoding: gzip\r\n", gz)};
    if (t == "/deflate") return reply_plan{with_length("Content-Encoding: deflate\r\n", compress(text, 15))};
    if (t == "/raw") return reply_plan{with_length("Content-Encoding: deflate\r\n", compress(text, -15))};
    if (t == "/chunked") return reply_plan{chunked("Content-Encoding: gzip\r\n", gz, 100)};
    if (t == "/close") return reply_plan{"HTTP/1.0 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + gz};
    if (t == "/br") return reply_plan{with_length("Content-Encoding: br\r\n", "not brotli")};
    return reply_plan{with_length("", text)};
  });
  for (const char* path : {"/gzip", "/deflate", "/raw", "/chunked", "/close", "/plain"}) {
    INFO(path);
    auto r = run_fetch(ioc, compressed(srv.url(path)));
    INFO(r.message);
    REQUIRE(r.code == 0);
    CHECK(r.body == text);
    CHECK(r.resp->body_bytes == text.size());
  }
  CHECK(srv.requests.at(0).find("\r\nAccept-Encoding: gzip, deflate\r\n") != std::string::npos);
  // Without decode_content: no Accept-Encoding, the body as sent.
  auto raw = run_fetch(ioc, opts(srv.url("/gzip")));
  REQUIRE(raw.code == 0);
  CHECK(raw.body == gz);
  CHECK(srv.requests.back().find("Accept-Encoding") == std::string::npos);
  // A coding it cannot undo: kept as sent.
  auto br = run_fetch(ioc, compressed(srv.url("/br")));
  REQUIRE(br.code == 0);
  CHECK(br.body == "not brotli");
  // -H Accept-Encoding replaces the default.
  auto h = compressed(srv.url("/gzip"));
  h.headers.push_back({"Accept-Encoding", "gzip"});
  auto hr = run_fetch(ioc, std::move(h));
  REQUIRE(hr.code == 0);
  CHECK(hr.body == text);
  CHECK(srv.requests.back().find("\r\nAccept-Encoding: gzip\r\n") != std::string::npos);
}

TEST_CASE("http compressed: corrupt or cut-short gzip gives 8, a short body 18", "[http][coding]") {
  std::string const text(20000, 'q');
  std::string const gz = compress(text, 31);
  std::string bad = gz;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);
  asio::io_context ioc;
  script_server srv(ioc, [&](const std::string& head) {
    auto const t = target_of(head);
    if (t == "/corrupt") return reply_plan{with_length("Content-Encoding: gzip\r\n", bad)};
    if (t == "/garbage") return reply_plan{with_length("Content-Encoding: gzip\r\n", "plain text, not gzip")};
    if (t == "/truncated") return reply_plan{with_length("Content-Encoding: gzip\r\n", gz.substr(0, gz.size() - 8))};
    // Announces more than it sends: the cut-short body wins over the unfinished gzip.
    return reply_plan{"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                      std::to_string(gz.size() + 100) + "\r\n\r\n" + gz.substr(0, 10)};
  });
  for (const char* path : {"/corrupt", "/garbage", "/truncated"}) {
    INFO(path);
    auto r = run_fetch(ioc, compressed(srv.url(path)));
    CHECK(r.code == 8);
    CHECK(r.message.find("gzip data in the body") != std::string::npos);
  }
  auto s = run_fetch(ioc, compressed(srv.url("/short")));
  CHECK(s.code == 18);
}

TEST_CASE("http compressed: a large gzip body streams through in bounded pieces", "[http][coding]") {
  // 6 MiB that compresses well, sent chunked: the decoded pieces stay within 256 KiB.
  std::string text;
  text.reserve(6 * 1024 * 1024);
  for (unsigned i = 0; text.size() < 6 * 1024 * 1024; ++i) text.append("line " + std::to_string(i) + "\n");
  auto const gz = compress(text, 31);
  asio::io_context ioc;
  script_server srv(ioc, always(chunked("Content-Encoding: gzip\r\n", gz, 50000)));
  auto r = run_fetch(ioc, compressed(srv.url()));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body.size() == text.size());
  CHECK(r.body == text);
  CHECK(r.biggest_chunk <= 256 * 1024);
}

TEST_CASE("http fetch: progress reports bytes as sent and the length", "[http][progress]") {
  std::string const body(300000, 'p');
  asio::io_context ioc;
  script_server srv(ioc, [&](const std::string& head) {
    if (target_of(head) == "/chunked") return reply_plan{chunked("", body, 70000)};
    return reply_plan{with_length("", body)};
  });
  for (const char* path : {"/", "/chunked"}) {
    INFO(path);
    std::vector<std::pair<std::uint64_t, std::optional<std::uint64_t>>> seen;
    auto o = opts(srv.url(path));
    o.on_progress = [&](std::uint64_t got, std::optional<std::uint64_t> total) { seen.emplace_back(got, total); };
    auto r = run_fetch(ioc, std::move(o));
    REQUIRE(r.code == 0);
    REQUIRE(seen.size() >= 2);
    CHECK(seen.front().first == 0);
    CHECK(seen.back().first == body.size());
    if (std::string(path) == "/") {
      CHECK(seen.back().second == std::optional<std::uint64_t>(body.size()));
    } else {
      CHECK_FALSE(seen.back().second);
    }
  }
}

TEST_CASE("http fetch: a lookup that hangs is abandoned at the connect timeout", "[http]") {
  asio::io_context ioc;
  // The lookup blocks until the test lets it go; the fetch must not wait for it.
  auto release = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = release->get_future().share();
  auto o = opts("http://slow.example:80/");
  o.connect_timeout = 300ms;
  o.resolve = [released](const std::string&, std::uint16_t, int) {
    released.wait_for(10s);
    return std::vector<tcp::endpoint>{};
  };
  auto r = run_fetch(ioc, std::move(o));
  CHECK(r.code == 28);
  CHECK(r.message.find("looking up 'slow.example' timed out after 300 ms") != std::string::npos);
  CHECK(r.took < 2s);
  // --max-time bounds it too.
  auto m = opts("http://slow.example:80/");
  m.max_time = 200ms;
  m.resolve = [released](const std::string&, std::uint16_t, int) {
    released.wait_for(10s);
    return std::vector<tcp::endpoint>{};
  };
  auto r2 = run_fetch(ioc, std::move(m));
  CHECK(r2.code == 28);
  CHECK(r2.message.find("--max-time") != std::string::npos);
  release->set_value();  // the abandoned threads finish alone

  // A lookup that answers (or fails) in time is used.
  script_server srv(ioc, always(with_length("", "ok")));
  auto good = opts("http://named.example:" + std::to_string(srv.port()) + "/");
  good.resolve = [](const std::string& host, std::uint16_t port, int) {
    CHECK(host == "named.example");
    std::this_thread::sleep_for(20ms);
    return std::vector<tcp::endpoint>{tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)};
  };
  auto g = run_fetch(ioc, std::move(good));
  INFO(g.message);
  CHECK(g.code == 0);
  CHECK(g.body == "ok");
  auto bad = opts("http://unknown.example/");
  bad.resolve = [](const std::string&, std::uint16_t, int) -> std::vector<tcp::endpoint> {
    throw netdemo::error(netdemo::errc::cannot_resolve, "cannot resolve 'unknown.example'");
  };
  auto b = run_fetch(ioc, std::move(bad));
  CHECK(b.code == 6);
}

TEST_CASE("https fetch: the client ends the connection with close_notify", "[http][tls]") {
  test_pki pki;
  if (!pki.ok) {
    WARN("skipped: the openssl command could not make test certificates");
    return;
  }
  asio::io_context ioc;
  auto ctx = pki.server_context("good");
  std::string const body(100000, 's');
  script_server srv(ioc, [&](const std::string&) {
    reply_plan p{with_length("", body)};
    p.await_close = true;
    return p;
  }, &ctx);
  auto o = opts(srv.url());
  o.ca_file = pki.ca();
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body == body);
  CHECK(r.took < 1500ms);
  // The server's session ends after the fetch: let it record what it saw.
  ioc.run_for(200ms);
  CHECK(srv.clean_closes == 1);
}
