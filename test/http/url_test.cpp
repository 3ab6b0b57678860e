// URL and Location handling, sans I/O: a URL is refused unless its authority, read back
// from host and port, is exactly what was typed (issue 11, defect 5).
#include "netdemo/http/url.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "netdemo/proto/error.hpp"
#include "netdemo/exit_codes.hpp"

namespace http = netdemo::http;

namespace {

/// The exit code parse_user_url ends with (0: accepted).
int user_code(const std::string& text) {
  try {
    (void)http::parse_user_url(text);
    return 0;
  } catch (const netdemo::error& e) {
    return static_cast<int>(netdemo::to_exit_code(e.code()));
  }
}

/// The exit code resolve_location ends with (0: accepted).
int location_code(const std::string& location) {
  auto const base = http::parse_user_url("http://base.test:8080/dir/page");
  try {
    (void)http::resolve_location(base, location);
    return 0;
  } catch (const netdemo::error& e) {
    return static_cast<int>(netdemo::to_exit_code(e.code()));
  }
}

// Each of these names something other than what a reader sees, or nothing at all.
std::vector<std::string> const hostile{
    // Junk after an IP literal: Boost.URL 1.81 ends the host there and makes the rest a path.
    "http://127.0.0.1.nip.io:19200/x",
    "http://127.0.0.1x/",
    "http://127.0.0.1%00.example.com/",
    "http://[::1]e",
    "http://[::1]e/",
    "https://[::1]:44&3/x",
    "http://127.0.0.1:8080junk/",
    "http://[::1]:8080junk/",
    "http://h.test:8080:9090/",
    "http://h.test:+80/",
    "http://h.test:0x50/",
    // Credentials, and the '@' tricks they allow.
    "http://user:pw@h.test/",
    "http://trusted.test@evil.test/",
    "http://127.0.0.1:80@evil.test/",
    "http://a@b@c.test/",
    "http://@h.test/",
    // Percent-encoded or odd host names.
    "http://%31%32%37.0.0.1/",
    "http://h%2etest/",
    "http://ex%00ample.test/",
    "http://ex$ample.test/",
    "http://a..b.test/",
    "http://.h.test/",
    // Names getaddrinfo reads as 127.0.0.1.
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "http://0x7f000001/",
    "http://127.0.0.01/",
    "http://0177.0.0.1/",
    "http://127.0.0.1./",
    "http://foo.0/",
    // Ports.
    "http://h.test:/",
    "http://[::1]:/",
    "http://h.test:0/",
    "http://h.test:080/",
    "http://h.test:65536/",
    "http://h.test:99999/",
    "http://h.test:4294967376/",  // 80 + 2^32: wraps to 80 in port_number()
    // IPv6 zone ids and IPvFuture.
    "http://[fe80::1%25eth0]/",
    "http://[fe80::1%eth0]/",
    "http://[v1.x]/",
    "http://[::1/",
    // Not http(s), or no host.
    "ftp://h.test/",
    "http:///x",
    "http://",
};

}  // namespace

TEST_CASE("http url: an authority that does not read back as typed is refused (exit 2)", "[http][url]") {
  for (const auto& u : hostile) {
    INFO(u);
    CHECK(user_code(u) == 2);
  }
  // The same forms typed as a bare host (no scheme): the CLI's shortcut adds http://.
  for (const auto& u : hostile) {
    if (u.rfind("http://", 0) != 0) continue;
    auto const bare = u.substr(7);
    if (bare.empty() || bare.front() == '/') continue;
    INFO(bare);
    CHECK(user_code(bare) == 2);
  }
}

TEST_CASE("http url: the same forms in a redirect Location are refused (exit 8)", "[http][url]") {
  for (const auto& u : hostile) {
    INFO(u);
    CHECK(location_code(u) == 8);
  }
  // Scheme-relative references carry an authority of their own.
  for (const char* loc : {"//127.0.0.1.nip.io:19200/x", "//[::1]e", "//u@h.test/", "//127.1/",
                          "//h.test:/", "//h.test:65536/"}) {
    INFO(loc);
    CHECK(location_code(loc) == 8);
  }
}

TEST_CASE("http url: good URLs keep their authority byte for byte", "[http][url]") {
  struct good {
    const char* text;
    const char* host;
    unsigned port;
    const char* host_header;
    const char* target;
  };
  std::vector<good> const cases{
      {"http://127.0.0.1:19200/x", "127.0.0.1", 19200, "127.0.0.1:19200", "/x"},
      {"www.sina.com.cn", "www.sina.com.cn", 80, "www.sina.com.cn", "/"},
      {"localhost:8080/a?b", "localhost", 8080, "localhost:8080", "/a?b"},
      {"127.0.0.1/x?u=http://other.test/", "127.0.0.1", 80, "127.0.0.1", "/x?u=http://other.test/"},
      {"https://[::1]:443/x", "::1", 443, "[::1]:443", "/x"},
      {"http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", 80, "[::ffff:127.0.0.1]", "/"},
      {"http://[0:0::1]:1/", "::1", 1, "[0:0::1]:1", "/"},
      {"http://example.com.:65535", "example.com.", 65535, "example.com.:65535", "/"},
      {"http://my_host-1.test?q", "my_host-1.test", 80, "my_host-1.test", "/?q"},
      {"http://1e100.net/#frag", "1e100.net", 80, "1e100.net", "/"},
      {"http://h.test/a@b/c:d", "h.test", 80, "h.test", "/a@b/c:d"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto const u = http::parse_user_url(c.text);
    CHECK(u.host == c.host);
    CHECK(u.port == c.port);
    CHECK(u.host_header == c.host_header);
    CHECK(u.target == c.target);
  }
  auto const base = http::parse_user_url("http://base.test:8080/dir/page");
  auto const rel = http::resolve_location(base, "other?x");
  CHECK(rel.host_header == "base.test:8080");
  CHECK(rel.target == "/dir/other?x");
  auto const abs = http::resolve_location(base, "https://[::1]:8443/y");
  CHECK(abs.host == "::1");
  CHECK(abs.port == 8443);
  auto const sr = http::resolve_location(base, "//127.0.0.1:9/z");
  CHECK(sr.host == "127.0.0.1");
  CHECK(sr.port == 9);
  CHECK(sr.target == "/z");
}
