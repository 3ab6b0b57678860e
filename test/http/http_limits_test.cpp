// Caps for downloads (issue 11, defect 7): max_body_bytes (--max-filesize) on the bytes
// the sink receives, decoded or not, and the bound on stacked content codings, against
// the scripted in-process server with zlib-made bombs.
#include "netdemo/http/client.hpp"

#include "http/zlib_samples.hpp"

#include <catch2/catch.hpp>

#include "netdemo/http/content_coding.hpp"
#include "http_test_support.hpp"

using namespace http_test;

namespace {

using test_support::compress;

std::string with_length(const std::string& extra_fields, const std::string& body) {
  return "HTTP/1.1 200 OK\r\n" + extra_fields + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

constexpr std::uint64_t mib = 1024 * 1024;

}  // namespace

TEST_CASE("http limits: a Content-Length over max_body_bytes fails before any byte (63)", "[http][limits]") {
  asio::io_context ioc;
  script_server srv(ioc, always(with_length("", std::string(5000, 'b'))));
  auto o = opts(srv.url("/f"));
  o.max_body_bytes = 4999;
  auto r = run_fetch(ioc, std::move(o));
  CHECK(r.code == 63);
  CHECK(r.message == "the body is 5000 bytes (Content-Length), more than --max-filesize 4999");
  CHECK(r.statuses.empty());  // not even the head went out: nothing was written
  CHECK(r.body.empty());
  auto exact = opts(srv.url("/f"));
  exact.max_body_bytes = 5000;
  auto e = run_fetch(ioc, std::move(exact));
  CHECK(e.code == 0);
  CHECK(e.body.size() == 5000);
  // HEAD reads no body, so its Content-Length is no reason to fail.
  auto head = opts(srv.url("/f"));
  head.method = "HEAD";
  head.max_body_bytes = 10;
  CHECK(run_fetch(ioc, std::move(head)).code == 0);
}

TEST_CASE("http limits: a body without a length stops at exactly max_body_bytes (63)", "[http][limits]") {
  asio::io_context ioc;
  std::string const body(300000, 'c');
  script_server srv(ioc, [&](const std::string& head) {
    if (target_of(head) == "/close") return reply_plan{"HTTP/1.0 200 OK\r\n\r\n" + body};
    std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 30; ++i) chunked.append("2710\r\n" + std::string(10000, 'c') + "\r\n");
    return reply_plan{chunked + "0\r\n\r\n"};
  });
  for (const char* path : {"/close", "/chunked"}) {
    INFO(path);
    auto o = opts(srv.url(path));
    o.max_body_bytes = 123457;
    auto r = run_fetch(ioc, std::move(o));
    CHECK(r.code == 63);
    CHECK(r.message == "the body is larger than --max-filesize 123457 bytes");
    CHECK(r.body.size() == 123457);
  }
}

TEST_CASE("http limits: decompression bombs stop at max_body_bytes of decoded output", "[http][limits][coding]") {
  // 16 MiB of zeros: a 16 KiB gzip, and, gzipped twice, a body of a few hundred bytes.
  std::string const zeros(16 * mib, '\0');
  std::string const once = compress(zeros, 31);
  std::string const twice = compress(once, 31);
  INFO("gzip " << once.size() << " bytes, gzip twice " << twice.size() << " bytes");
  REQUIRE(twice.size() < 4096);
  asio::io_context ioc;
  script_server srv(ioc, [&](const std::string& head) {
    if (target_of(head) == "/once") return reply_plan{with_length("Content-Encoding: gzip\r\n", once)};
    return reply_plan{with_length("Content-Encoding: gzip, gzip\r\n", twice)};
  });
  for (const char* path : {"/once", "/twice"}) {
    INFO(path);
    auto o = opts(srv.url(path));
    o.decode_content = true;
    o.max_body_bytes = mib;
    auto r = run_fetch(ioc, std::move(o));
    CHECK(r.code == 63);
    CHECK(r.message == "the decoded body is larger than --max-filesize 1048576 bytes");
    CHECK(r.body.size() == mib);
    CHECK(r.body.find_first_not_of('\0') == std::string::npos);
  }
  // The compressed size is under the cap: only the decoded bytes count.
  auto whole = opts(srv.url("/twice"));
  whole.decode_content = true;
  whole.max_body_bytes = 16 * mib;
  auto w = run_fetch(ioc, std::move(whole), 30s);
  CHECK(w.code == 0);
  CHECK(w.body.size() == 16 * mib);
}

TEST_CASE("http limits: more than 5 stacked content codings is a malformed reply (8)", "[http][limits][coding]") {
  std::string body = "x";
  for (int i = 0; i < 6; ++i) body = compress(body, 31);
  asio::io_context ioc;
  script_server srv(ioc, [&](const std::string& head) {
    auto const t = target_of(head);
    if (t == "/six") return reply_plan{with_length("Content-Encoding: gzip, gzip, gzip, gzip, gzip, gzip\r\n", body)};
    // Split over two fields: still one list.
    if (t == "/split") {
      return reply_plan{with_length("Content-Encoding: gzip, gzip, gzip\r\nContent-Encoding: gzip, gzip, gzip\r\n", body)};
    }
    std::string five = "x";
    for (int i = 0; i < 5; ++i) five = compress(five, 31);
    return reply_plan{with_length("Content-Encoding: gzip, gzip\r\nContent-Encoding: gzip,gzip , gzip\r\n", five)};
  });
  for (const char* path : {"/six", "/split"}) {
    INFO(path);
    auto o = opts(srv.url(path));
    o.decode_content = true;
    auto r = run_fetch(ioc, std::move(o));
    CHECK(r.code == 8);
    CHECK(r.message == "the response names more than 5 content codings (Content-Encoding)");
    CHECK(r.body.empty());
  }
  auto o = opts(srv.url("/five"));
  o.decode_content = true;
  auto r = run_fetch(ioc, std::move(o));
  INFO(r.message);
  CHECK(r.code == 0);
  CHECK(r.body == "x");
}

TEST_CASE("content coding: the stack bound counts every coding named", "[http][coding][limits]") {
  using http::content_coding;
  CHECK(http::parse_content_encoding("gzip, gzip, gzip, gzip, gzip")->size() == 5);
  CHECK_THROWS_AS(http::parse_content_encoding("gzip,gzip,gzip,gzip,gzip,gzip"), netdemo::error);
  CHECK_THROWS_AS(http::parse_content_encoding("identity, gzip, gzip, gzip, gzip, gzip"), netdemo::error);
  CHECK_THROWS_AS(http::parse_content_encoding("br, br, br, br, br, br"), netdemo::error);
  CHECK_FALSE(http::parse_content_encoding("br, gzip"));
  CHECK(http::parse_content_encoding(", , gzip, ,")->size() == 1);
}
