// The HTTP client against scripted in-process servers on 127.0.0.1:0 (plain and TLS with
// certificates generated at test time by the openssl CLI).
#include "netdemo/http/client.hpp"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <catch2/catch.hpp>

#include "netdemo/proto/error.hpp"
#include "netdemo/http/cookies.hpp"
#include "netdemo/http/url.hpp"
#include "http_test_support.hpp"

using namespace http_test;

TEST_CASE("http url: bare host, IPv6 literal, relative location", "[http]") {
  auto u = http::parse_user_url("example.com");
  CHECK(u.url == "http://example.com/");
  CHECK(u.port == 80);
  CHECK(u.target == "/");
  CHECK(u.file_name.empty());
  auto v = http::parse_user_url("http://[::1]:8080/dir/file%20x.txt?q=1#frag");
  CHECK(v.host == "::1");
  CHECK(v.host_is_address);
  CHECK(v.port == 8080);
  CHECK(v.host_header == "[::1]:8080");
  CHECK(v.target == "/dir/file%20x.txt?q=1");
  CHECK(v.file_name == "file x.txt");
  auto s = http::parse_user_url("HTTPS://Example.com/a/b");
  CHECK(s.https);
  CHECK(s.port == 443);
  auto r = http::resolve_location(s, "../c?x=2");
  CHECK(r.url == "https://Example.com/c?x=2");
  auto other = http::resolve_location(s, "http://other:81/");
  CHECK_FALSE(other.https);
  CHECK(other.port == 81);
  CHECK_THROWS_AS(http::parse_user_url("ftp://x/"), netdemo::error);
  CHECK_THROWS_AS(http::resolve_location(s, "ftp://x/"), netdemo::error);
}

TEST_CASE("http fetch: Content-Length body, request head", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Test: yes\r\n\r\nhello", 5s));
  auto o = opts(srv.url("/x?y=1"));
  o.headers.push_back({"X-Extra", "1"});
  o.headers.push_back({"Accept", "text/plain"});
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.resp->status == 200);
  CHECK(r.resp->reason == "OK");
  REQUIRE(r.resp->find("x-test") != nullptr);
  CHECK(*r.resp->find("x-test") == "yes");
  CHECK(r.body == "hello");
  REQUIRE(srv.requests.size() == 1);
  CHECK(srv.requests[0].rfind("GET /x?y=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(srv.requests[0].find("X-Extra: 1\r\n") != std::string::npos);
  CHECK(srv.requests[0].find("Accept: text/plain\r\n") != std::string::npos);
  CHECK(srv.requests[0].find("*/*") == std::string::npos);
}

TEST_CASE("http fetch: chunked body with extension and trailer", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
                                "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: abc\r\n\r\n",
                                5s));
  auto r = run_fetch(ioc, opts(srv.url()));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body == "hello world");
  CHECK(r.took < 3s);
}

TEST_CASE("http fetch: read-to-close body", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"));
  auto r = run_fetch(ioc, opts(srv.url()));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.resp->version == 10);
  CHECK(r.body == "until the end");
}

TEST_CASE("http fetch: a large body streams in bounded chunks", "[http]") {
  asio::io_context ioc;
  std::string body(5 * 1024 * 1024 + 7, 'z');
  script_server srv(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                                "\r\n\r\n" + body));
  auto r = run_fetch(ioc, opts(srv.url()));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body.size() == body.size());
  CHECK(r.resp->body_bytes == body.size());
  CHECK(r.biggest_chunk <= 256 * 1024);
}

TEST_CASE("http fetch: HEAD does not wait for the announced body", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 8s));
  auto o = opts(srv.url());
  o.method = "HEAD";
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body.empty());
  CHECK(r.took < 3s);
  CHECK(srv.requests.at(0).rfind("HEAD / HTTP/1.1", 0) == 0);
}

TEST_CASE("http fetch: 100 Continue is skipped", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  auto r = run_fetch(ioc, opts(srv.url()));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.resp->status == 200);
  CHECK(r.body == "ok");
}

TEST_CASE("http fetch: redirect chain 301, 302 (relative) to 200", "[http]") {
  asio::io_context ioc;
  std::uint16_t port = 0;
  script_server srv(ioc, [&port](const std::string& head) {
    auto const t = target_of(head);
    if (t == "/a/start") {
      return reply_plan{"HTTP/1.1 301 Moved\r\nLocation: http://127.0.0.1:" + std::to_string(port) +
                        "/b/next\r\nContent-Length: 0\r\n\r\n"};
    }
    if (t == "/b/next") return reply_plan{"HTTP/1.1 302 Found\r\nLocation: ../c/end?z=1\r\nContent-Length: 3\r\n\r\nxyz"};
    if (t == "/c/end?z=1") return reply_plan{"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"};
    return reply_plan{"HTTP/1.1 500 Unexpected\r\nContent-Length: 0\r\n\r\n"};
  });
  port = srv.port();
  auto r = run_fetch(ioc, opts(srv.url("/a/start")));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.resp->status == 200);
  CHECK(r.body == "done");
  CHECK(r.resp->redirects == 2);
  CHECK(r.resp->url == srv.url("/c/end?z=1"));
  CHECK(r.statuses == std::vector<unsigned>{301, 302, 200});
}

TEST_CASE("http fetch: --no-follow returns the redirect itself", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 302 Found\r\nLocation: /else\r\nContent-Length: 4\r\n\r\nmove"));
  auto o = opts(srv.url());
  o.follow_redirects = false;
  auto r = run_fetch(ioc, std::move(o));
  REQUIRE(r.code == 0);
  CHECK(r.resp->status == 302);
  CHECK(r.body == "move");
}

TEST_CASE("http fetch: redirect loop gives 47", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n"));
  auto o = opts(srv.url("/loop"));
  o.max_redirects = 3;
  auto r = run_fetch(ioc, std::move(o));
  CHECK(r.code == 47);
  CHECK(srv.requests.size() == 4);
  CHECK(r.message.find("more than 3 redirects") != std::string::npos);
}

TEST_CASE("http fetch: Authorization is not sent to another host after a redirect", "[http]") {
  asio::io_context ioc;
  script_server second(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
  script_server first(ioc, always("HTTP/1.1 307 Temporary\r\nLocation: http://localhost:" +
                                  std::to_string(second.port()) + "/\r\nContent-Length: 0\r\n\r\n"));
  auto o = opts(first.url());
  o.headers.push_back({"Authorization", "Basic c2VjcmV0"});
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body == "hi");
  CHECK(first.requests.at(0).find("Authorization: Basic c2VjcmV0") != std::string::npos);
  CHECK(second.requests.at(0).find("Authorization") == std::string::npos);
}

TEST_CASE("http fetch: 404 with and without fail_on_error", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found"));
  auto plain = run_fetch(ioc, opts(srv.url()));
  REQUIRE(plain.code == 0);
  CHECK(plain.resp->status == 404);
  CHECK(plain.body == "not found");
  auto o = opts(srv.url());
  o.fail_on_error = true;
  auto failed = run_fetch(ioc, std::move(o));
  CHECK(failed.code == 22);
  CHECK(failed.body.empty());
  CHECK(failed.message.find("404 Not Found") != std::string::npos);
  auto w = opts(srv.url());
  w.fail_after_body = true;
  auto with_body = run_fetch(ioc, std::move(w));
  CHECK(with_body.code == 22);
  CHECK(with_body.body == "not found");
}

TEST_CASE("http fetch: ip_version restricts the address family", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  auto v4 = opts(srv.url());
  v4.ip_version = 4;
  auto r4 = run_fetch(ioc, std::move(v4));
  CHECK(r4.code == 0);
  CHECK(r4.body == "ok");
  auto v6 = opts(srv.url());  // the server listens on 127.0.0.1: no IPv6 address to use
  v6.ip_version = 6;
  auto r6 = run_fetch(ioc, std::move(v6));
  CHECK(r6.code == 6);
}

TEST_CASE("http fetch: malformed replies give 8", "[http]") {
  auto const check_malformed = [](std::string reply) {
    asio::io_context ioc;
    script_server srv(ioc, always(std::move(reply)));
    auto r = run_fetch(ioc, opts(srv.url()));
    INFO(r.message);
    CHECK(r.code == 8);
    CHECK(r.took < 5s);
  };
  SECTION("bad status line") { check_malformed("HTTX/1.1 200 OK\r\n\r\n"); }
  SECTION("garbage instead of a status line") { check_malformed("hello there\r\n\r\n"); }
  SECTION("Content-Length then Transfer-Encoding") {
    check_malformed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  }
  SECTION("Transfer-Encoding then Content-Length") {
    check_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  }
  SECTION("Transfer-Encoding gzip then Content-Length") {
    check_malformed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello");
  }
  SECTION("1 MiB header") {
    check_malformed("HTTP/1.1 200 OK\r\nX-Junk: " + std::string(1024 * 1024, 'a') + "\r\n\r\n");
  }
  SECTION("closed without a reply") { check_malformed(""); }
}

TEST_CASE("http fetch: body cut short gives 18", "[http]") {
  SECTION("Content-Length") {
    asio::io_context ioc;
    script_server srv(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(50, 'b')));
    auto r = run_fetch(ioc, opts(srv.url()));
    INFO(r.message);
    CHECK(r.code == 18);
    CHECK(r.body == std::string(50, 'b'));
  }
  SECTION("chunked") {
    asio::io_context ioc;
    script_server srv(ioc, always("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n01234"));
    auto r = run_fetch(ioc, opts(srv.url()));
    INFO(r.message);
    CHECK(r.code == 18);
  }
}

TEST_CASE("http fetch: a server that never answers times out with 28", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, [](const std::string&) { return reply_plan{{}, true}; });
  auto o = opts(srv.url());
  o.idle_timeout = 300ms;
  auto r = run_fetch(ioc, std::move(o));
  CHECK(r.code == 28);
  CHECK(r.took < 3s);
  CHECK(r.message.find("timed out after 300 ms") != std::string::npos);

  auto m = opts(srv.url());
  m.max_time = 400ms;
  auto r2 = run_fetch(ioc, std::move(m));
  CHECK(r2.code == 28);
  CHECK(r2.took < 3s);
  CHECK(r2.message.find("--max-time") != std::string::npos);
}

TEST_CASE("http fetch: refused connection gives 7", "[http]") {
  asio::io_context ioc;
  std::uint16_t port = 0;
  {
    tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  auto r = run_fetch(ioc, opts("http://127.0.0.1:" + std::to_string(port) + "/"));
  CHECK(r.code == 7);
  CHECK(r.message.find("cannot connect") != std::string::npos);
}

TEST_CASE("http fetch: POST form with Basic auth and cookies, exact request bytes", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  http::cookie_jar jar;
  jar.add_pairs("k=v; k2=v2", "127.0.0.1");
  auto o = opts(srv.url("/form?x=1"));
  o.method = "POST";
  o.body = "a=1&q=a%20b";
  o.content_type = "application/x-www-form-urlencoded";
  o.basic_auth = "user:pa:ss";
  o.cookies = &jar;
  o.headers.push_back({"X-Custom", "yes"});
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  REQUIRE(srv.requests.size() == 1);
  CHECK(srv.requests[0] ==
        "POST /form?x=1 HTTP/1.1\r\n"
        "Host: 127.0.0.1:" + std::to_string(srv.port()) + "\r\n"
        "User-Agent: netdemo/1\r\n"
        "Accept: */*\r\n"
        "Authorization: Basic dXNlcjpwYTpzcw==\r\n"
        "Cookie: k=v; k2=v2\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 11\r\n"
        "X-Custom: yes\r\n"
        "\r\n"
        "a=1&q=a%20b");
}

TEST_CASE("http fetch: any token method, empty POST has Content-Length 0", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, always("HTTP/1.1 204 No Content\r\n\r\n"));
  auto o = opts(srv.url("/"));
  o.method = "PROPFIND";
  auto r = run_fetch(ioc, std::move(o));
  REQUIRE(r.code == 0);
  auto p = opts(srv.url("/"));
  p.method = "POST";
  r = run_fetch(ioc, std::move(p));
  REQUIRE(r.code == 0);
  REQUIRE(srv.requests.size() == 2);
  CHECK(srv.requests[0].rfind("PROPFIND / HTTP/1.1\r\n", 0) == 0);
  CHECK(srv.requests[0].find("Content-Length") == std::string::npos);
  CHECK(srv.requests[1].rfind("POST / HTTP/1.1\r\n", 0) == 0);
  CHECK(srv.requests[1].find("Content-Length: 0\r\n") != std::string::npos);
}

TEST_CASE("http fetch: 302 after POST becomes GET, 307 keeps POST; redirect cookies used", "[http]") {
  asio::io_context ioc;
  script_server srv(ioc, [](const std::string& head) {
    auto const t = target_of(head);
    if (t == "/login") {
      return reply_plan{"HTTP/1.1 302 Found\r\nLocation: /home\r\n"
                        "Set-Cookie: sid=s1; Path=/; HttpOnly\r\nSet-Cookie: narrow=1; Path=/other\r\n"
                        "Content-Length: 0\r\n\r\n"};
    }
    if (t == "/keep") {
      return reply_plan{"HTTP/1.1 307 Temporary\r\nLocation: /kept\r\nSet-Cookie: t=2\r\nContent-Length: 0\r\n\r\n"};
    }
    return reply_plan{"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"};
  });
  http::cookie_jar jar;
  auto o = opts(srv.url("/login"));
  o.method = "POST";
  o.body = "u=me";
  o.content_type = "application/x-www-form-urlencoded";
  o.cookies = &jar;
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  REQUIRE(srv.requests.size() == 2);
  CHECK(srv.requests[0].rfind("POST /login HTTP/1.1\r\n", 0) == 0);
  CHECK(srv.requests[0].find("Cookie") == std::string::npos);
  CHECK(srv.requests[1].rfind("GET /home HTTP/1.1\r\n", 0) == 0);
  CHECK(srv.requests[1].find("Cookie: sid=s1\r\n") != std::string::npos);
  CHECK(srv.requests[1].find("Content-Type") == std::string::npos);
  CHECK(srv.requests[1].find("Content-Length") == std::string::npos);
  CHECK(srv.requests[1].find("u=me") == std::string::npos);
  CHECK(jar.cookies().size() == 2);

  auto k = opts(srv.url("/keep"));
  k.method = "POST";
  k.body = "u=me";
  k.content_type = "application/x-www-form-urlencoded";
  r = run_fetch(ioc, std::move(k));  // a private jar this time
  REQUIRE(r.code == 0);
  REQUIRE(srv.requests.size() == 4);
  CHECK(srv.requests[3].rfind("POST /kept HTTP/1.1\r\n", 0) == 0);
  CHECK(srv.requests[3].find("Cookie: t=2\r\n") != std::string::npos);
  CHECK(srv.requests[3].find("Content-Type: application/x-www-form-urlencoded\r\n") != std::string::npos);
  CHECK(srv.requests[3].substr(srv.requests[3].size() - 8) == "\r\n\r\nu=me");
}

TEST_CASE("http fetch: a cross-host redirect drops Basic auth and host-only cookies", "[http]") {
  asio::io_context ioc;
  script_server second(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
  script_server first(ioc, always("HTTP/1.1 302 Found\r\nLocation: http://localhost:" +
                                  std::to_string(second.port()) +
                                  "/\r\nSet-Cookie: from_first=1\r\nContent-Length: 0\r\n\r\n"));
  http::cookie_jar jar;
  jar.add_pairs("given=1", "127.0.0.1");
  auto o = opts(first.url());
  o.basic_auth = "user:secret";
  o.cookies = &jar;
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(first.requests.at(0).find("Authorization: Basic dXNlcjpzZWNyZXQ=\r\n") != std::string::npos);
  CHECK(first.requests.at(0).find("Cookie: given=1\r\n") != std::string::npos);
  CHECK(second.requests.at(0).find("Authorization") == std::string::npos);
  CHECK(second.requests.at(0).find("Cookie") == std::string::npos);
}


TEST_CASE("https fetch: verification with --cacert, unknown CA, wrong host, -k", "[http][tls]") {
  test_pki pki;
  if (!pki.ok) {
    WARN("skipped: the openssl command could not make test certificates");
    return;
  }
  asio::io_context ioc;
  auto good_ctx = pki.server_context("good");
  auto wrong_ctx = pki.server_context("wrong");
  script_server good(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret"), &good_ctx);
  script_server wrong(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret"), &wrong_ctx);

  SECTION("trusted CA, IP address in the certificate") {
    auto o = opts(good.url());
    o.ca_file = pki.ca();
    auto r = run_fetch(ioc, std::move(o));
    INFO(r.message);
    REQUIRE(r.code == 0);
    CHECK(r.body == "secret");
  }
  SECTION("trusted CA, host name in the certificate") {
    auto o = opts("https://localhost:" + std::to_string(good.port()) + "/");
    o.ca_file = pki.ca();
    auto r = run_fetch(ioc, std::move(o));
    INFO(r.message);
    REQUIRE(r.code == 0);
    CHECK(r.body == "secret");
  }
  SECTION("unknown CA") {
    auto r = run_fetch(ioc, opts(good.url()));
    CHECK(r.code == 60);
    CHECK(r.message.find("unknown CA") != std::string::npos);
  }
  SECTION("wrong host name") {
    auto o = opts(wrong.url());
    o.ca_file = pki.ca();
    auto r = run_fetch(ioc, std::move(o));
    CHECK(r.code == 60);
    CHECK(r.message.find("does not match the host name '127.0.0.1'") != std::string::npos);
  }
  SECTION("insecure skips the check") {
    auto o = opts(wrong.url());
    o.insecure = true;
    auto r = run_fetch(ioc, std::move(o));
    INFO(r.message);
    REQUIRE(r.code == 0);
    CHECK(r.body == "secret");
  }
}

TEST_CASE("https fetch: a redirect from https to http drops Authorization", "[http][tls]") {
  test_pki pki;
  if (!pki.ok) {
    WARN("skipped: the openssl command could not make test certificates");
    return;
  }
  asio::io_context ioc;
  auto good_ctx = pki.server_context("good");
  script_server plain(ioc, always("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"));
  script_server secure(ioc, always("HTTP/1.1 301 Moved\r\nLocation: " + plain.url("/x") +
                                   "\r\nContent-Length: 0\r\n\r\n"), &good_ctx);
  auto o = opts(secure.url());
  o.ca_file = pki.ca();
  o.basic_auth = "user:secret";
  o.headers.push_back({"Authorization", "Bearer tok"});
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body == "hi");
  CHECK(secure.requests.at(0).find("Authorization: Bearer tok\r\n") != std::string::npos);
  CHECK(plain.requests.at(0).find("Authorization") == std::string::npos);
}

TEST_CASE("http fetch: http redirected to https with a chunked page (the www.sina.com.cn shape)",
          "[http][tls]") {
  test_pki pki;
  if (!pki.ok) {
    WARN("skipped: the openssl command could not make test certificates");
    return;
  }
  asio::io_context ioc;
  auto good_ctx = pki.server_context("good");
  script_server secure(ioc, always("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "6\r\n<html>\r\n7\r\n</html>\r\n0\r\n\r\n"), &good_ctx);
  std::string const target = "https://localhost:" + std::to_string(secure.port()) + "/";
  script_server plain(ioc, always("HTTP/1.1 302 Moved Temporarily\r\nLocation: " + target +
                                  "\r\nContent-Length: 0\r\n\r\n"));
  auto o = opts(plain.url());
  o.ca_file = pki.ca();
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  REQUIRE(r.code == 0);
  CHECK(r.body == "<html></html>");
  REQUIRE(secure.requests.size() == 1);
  CHECK(secure.requests.at(0).find("Host: localhost:" + std::to_string(secure.port()) + "\r\n") !=
        std::string::npos);
}

// Found by fuzz_http_response: a status code outside 100-599 was taken as a final response.
TEST_CASE("http fetch: a status outside 100-599 is a malformed reply", "[http]") {
  for (const char* status : {"000", "099", "600", "999"}) {
    asio::io_context ioc;
    script_server srv(ioc, always(std::string("HTTP/1.1 ") + status + " OK\r\nContent-Length: 2\r\n\r\nhi"));
    auto r = run_fetch(ioc, opts(srv.url("/")));
    INFO(status << ": " << r.message);
    CHECK(r.code == 8);
    CHECK(r.message.find("status") != std::string::npos);
  }
}
