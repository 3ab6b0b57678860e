// The cookie jar, sans I/O: Set-Cookie parsing, matching rules, Netscape round trip.
#include "netdemo/http/cookies.hpp"

#include <catch2/catch.hpp>

namespace http = netdemo::http;

namespace {
constexpr std::int64_t now = 1'700'000'000;  // 2023-11-14
}

TEST_CASE("cookies: Set-Cookie attributes are parsed", "[http][cookies]") {
  http::cookie_jar jar;
  REQUIRE(jar.set_cookie("sid=abc; Path=/app; Secure; HttpOnly; Max-Age=60", "Example.COM", "/app/x",
                         true, now));
  REQUIRE(jar.cookies().size() == 1);
  auto const& c = jar.cookies()[0];
  CHECK(c.name == "sid");
  CHECK(c.value == "abc");
  CHECK(c.domain == "example.com");
  CHECK(c.host_only);
  CHECK(c.path == "/app");
  CHECK(c.secure);
  CHECK(c.http_only);
  CHECK(c.expires == now + 60);
  CHECK(http::parse_cookie_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
  CHECK(http::parse_cookie_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
  CHECK(http::parse_cookie_date("not a date") == -1);
  CHECK(jar.set_cookie("e=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT", "example.com", "/", false, now));
  CHECK(jar.cookies().back().expires == 2139722880);
  CHECK_FALSE(jar.set_cookie("novalue", "example.com", "/", false, now));
  CHECK_FALSE(jar.set_cookie("=x", "example.com", "/", false, now));
}

TEST_CASE("cookies: default path, Path prefix, Secure, host-only vs Domain", "[http][cookies]") {
  http::cookie_jar jar;
  CHECK(jar.set_cookie("a=1", "www.example.com", "/dir/page?q=1", false, now));  // path /dir
  CHECK(jar.set_cookie("b=2; Domain=.example.com; Path=/", "www.example.com", "/", false, now));
  CHECK(jar.set_cookie("s=3; Secure", "www.example.com", "/", true, now));
  CHECK_FALSE(jar.set_cookie("t=4; Secure", "www.example.com", "/", false, now));  // not over http
  CHECK_FALSE(jar.set_cookie("c=5; Domain=other.com", "www.example.com", "/", false, now));
  CHECK_FALSE(jar.set_cookie("d=6; Domain=com", "www.example.com", "/", false, now));
  CHECK_FALSE(jar.set_cookie("i=7; Domain=0.0.1", "127.0.0.1", "/", false, now));

  CHECK(jar.cookie_header("www.example.com", "/dir/x", false, now) == "a=1; b=2");
  CHECK(jar.cookie_header("www.example.com", "/dir", false, now) == "a=1; b=2");
  CHECK(jar.cookie_header("www.example.com", "/directory", false, now) == "b=2");
  CHECK(jar.cookie_header("www.example.com", "/", true, now) == "b=2; s=3");
  CHECK(jar.cookie_header("api.example.com", "/dir/x", false, now) == "b=2");  // a is host-only
  CHECK(jar.cookie_header("example.com", "/", false, now) == "b=2");
  CHECK(jar.cookie_header("badexample.com", "/", false, now) == "");
}

TEST_CASE("cookies: expiry drops and deletes", "[http][cookies]") {
  http::cookie_jar jar;
  CHECK(jar.set_cookie("a=1; Max-Age=10", "h.test", "/", false, now));
  CHECK(jar.cookie_header("h.test", "/", false, now + 5) == "a=1");
  CHECK(jar.cookie_header("h.test", "/", false, now + 10) == "");
  CHECK(jar.set_cookie("a=2", "h.test", "/", false, now));  // replaces
  CHECK(jar.cookies().size() == 1);
  CHECK(jar.cookie_header("h.test", "/", false, now) == "a=2");
  CHECK_FALSE(jar.set_cookie("a=x; Max-Age=0", "h.test", "/", false, now));  // deletes
  CHECK(jar.cookies().empty());
  CHECK(jar.set_cookie("b=1", "h.test", "/", false, now));
  CHECK_FALSE(jar.set_cookie("b=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT", "h.test", "/", false, now));
  CHECK(jar.cookies().empty());
}

TEST_CASE("cookies: Netscape format round trip and -b pairs", "[http][cookies]") {
  http::cookie_jar jar;
  jar.set_cookie("sid=abc; HttpOnly", "www.example.com", "/", false, now);
  jar.set_cookie("d=1; Domain=example.com; Path=/p; Secure; Max-Age=100", "www.example.com", "/", true, now);
  jar.set_cookie("old=1; Max-Age=1", "www.example.com", "/", false, now);
  auto const text = jar.to_netscape(now + 50);
  CHECK(text.rfind("# Netscape HTTP Cookie File\n", 0) == 0);
  CHECK(text.find("#HttpOnly_www.example.com\tFALSE\t/\tFALSE\t0\tsid\tabc\n") != std::string::npos);
  CHECK(text.find(".example.com\tTRUE\t/p\tTRUE\t" + std::to_string(now + 100) + "\td\t1\n") !=
        std::string::npos);
  CHECK(text.find("old") == std::string::npos);

  http::cookie_jar back;
  CHECK(back.load_netscape(text + "bad line\n\n# comment\nx.test\tFALSE\t/\tFALSE\t0\tempty\t\n") == 3);
  REQUIRE(back.cookies().size() == 3);
  CHECK(back.cookies()[0].http_only);
  CHECK(back.cookies()[0].host_only);
  CHECK_FALSE(back.cookies()[1].host_only);
  CHECK(back.cookies()[1].secure);
  CHECK(back.cookies()[2].value.empty());
  CHECK(back.to_netscape(now) == jar.to_netscape(now + 50) + "x.test\tFALSE\t/\tFALSE\t0\tempty\t\n");

  http::cookie_jar pairs;
  pairs.add_pairs("k=v; k2=v2 ;bad; =x", "Host.test");
  CHECK(pairs.cookie_header("host.test", "/any/path", false, now) == "k=v; k2=v2");
  CHECK(pairs.cookie_header("other.test", "/", false, now) == "");
}
