#include "netdemo/net/resolve.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "netdemo/proto/error.hpp"

using namespace netdemo::net;
using netdemo::errc;

namespace {

/// The exit code `f` throws as netdemo::error; fails the test if it throws nothing.
template <class F>
std::error_code code_of(F&& f) {
  try {
    f();
  } catch (const std::system_error& e) {
    INFO(e.what());
    return e.code();
  }
  FAIL("no netdemo::error thrown");
  return {};
}

bool has(const lookup_result& r, int family, int socktype, const std::string& address,
         std::uint16_t port) {
  return std::any_of(r.addresses.begin(), r.addresses.end(), [&](const address_info& a) {
    return a.family == family && a.socktype == socktype && a.address == address && a.port == port;
  });
}

}  // namespace

TEST_CASE("numeric IPv4 and IPv6 addresses resolve without DNS", "[resolve]") {
  auto const v4 = lookup("127.0.0.1", "8080");
  REQUIRE_FALSE(v4.addresses.empty());
  CHECK(v4.canonical_name.empty());
  for (const auto& a : v4.addresses) {
    CHECK(a.family == AF_INET);
    CHECK(a.address == "127.0.0.1");
    CHECK(a.port == 8080);
  }
  CHECK(has(v4, AF_INET, SOCK_STREAM, "127.0.0.1", 8080));
  CHECK(has(v4, AF_INET, SOCK_DGRAM, "127.0.0.1", 8080));

  auto const v6 = lookup("::1", "443");
  REQUIRE_FALSE(v6.addresses.empty());
  for (const auto& a : v6.addresses) {
    CHECK(a.family == AF_INET6);
    CHECK(a.address == "::1");
    CHECK(a.port == 443);
  }
  // The protocol goes with the socket type.
  for (const auto& a : v4.addresses) {
    if (a.socktype == SOCK_STREAM) CHECK(a.protocol == IPPROTO_TCP);
    if (a.socktype == SOCK_DGRAM) CHECK(a.protocol == IPPROTO_UDP);
  }
}

TEST_CASE("no service means port 0; a service name is looked up", "[resolve]") {
  auto const none = lookup("127.0.0.1");
  REQUIRE_FALSE(none.addresses.empty());
  for (const auto& a : none.addresses) CHECK(a.port == 0);

  if (::getservbyname("http", "tcp") == nullptr) {
    WARN("no 'http' in the services database; skipping the service-name check");
    return;
  }
  auto const http = lookup("127.0.0.1", "http");
  CHECK(has(http, AF_INET, SOCK_STREAM, "127.0.0.1", 80));
  for (const auto& a : http.addresses) CHECK(a.port == 80);
}

TEST_CASE("localhost resolves from the hosts file", "[resolve]") {
  auto const r = lookup("localhost", "9");
  REQUIRE_FALSE(r.addresses.empty());
  // Every answer is a loopback address (127/8 or ::1).
  for (const auto& a : r.addresses) {
    INFO(a.address);
    CHECK((a.address.rfind("127.", 0) == 0 || a.address == "::1"));
    CHECK(a.port == 9);
  }
}

TEST_CASE("the canonical name is asked for only with AI_CANONNAME", "[resolve]") {
  CHECK(lookup("localhost").canonical_name.empty());
  auto const r = lookup("localhost", "", family_filter::any, true);
  INFO(r.canonical_name);
  CHECK(r.canonical_name.rfind("localhost", 0) == 0);  // "localhost" or "localhost.localdomain"
  // A numeric address is its own canonical name.
  CHECK(lookup("127.0.0.1", "", family_filter::any, true).canonical_name == "127.0.0.1");
}

TEST_CASE("the family filter (-4, -6) restricts the answers", "[resolve]") {
  for (const auto& a : lookup("localhost", "", family_filter::v4).addresses) CHECK(a.family == AF_INET);
  for (const auto& a : lookup("::1", "", family_filter::v6).addresses) CHECK(a.family == AF_INET6);
  CHECK(code_of([] { lookup("127.0.0.1", "", family_filter::v6); }) == errc::cannot_resolve);
  CHECK(code_of([] { lookup("::1", "", family_filter::v4); }) == errc::cannot_resolve);
}

TEST_CASE("names and services that do not resolve are exit 6; bad input is usage", "[resolve]") {
  // An empty label cannot even be put in a DNS query: fails at once, no network needed.
  CHECK(code_of([] { lookup("nosuch..invalid"); }) == errc::cannot_resolve);
  CHECK(code_of([] { lookup("127.0.0.1", "no-such-service-xyz"); }) == errc::cannot_resolve);
  CHECK(code_of([] { lookup(""); }) == errc::invalid_argument);
  // getaddrinfo itself would wrap 70000 to 4464.
  CHECK(code_of([] { lookup("127.0.0.1", "70000"); }) == errc::invalid_argument);
  CHECK(code_of([] { lookup("127.0.0.1", "99999999999999999999"); }) == errc::invalid_argument);
  CHECK(code_of([] { lookup("127.0.0.1", "-1"); }) == errc::invalid_argument);
  CHECK(lookup("127.0.0.1", "65535").addresses.front().port == 65535);
  CHECK(lookup("127.0.0.1", "000080").addresses.front().port == 80);
}

TEST_CASE("the messages name what failed", "[resolve]") {
  try {
    lookup("nosuch..invalid");
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("cannot resolve 'nosuch..invalid'"));
  }
  try {
    lookup("127.0.0.1", "", family_filter::v6);
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("'127.0.0.1' as IPv6"));
  }
  try {
    lookup("127.0.0.1", "no-such-service-xyz");
    FAIL("no error");
  } catch (const std::system_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("unknown service 'no-such-service-xyz'"));
  }
}

TEST_CASE("reverse lookup of 127.0.0.1 finds localhost; a non-address is usage", "[resolve]") {
  auto const name = reverse_lookup("127.0.0.1");
  INFO(name);
  CHECK(name.rfind("localhost", 0) == 0);
  CHECK(code_of([] { reverse_lookup("localhost"); }) == errc::invalid_argument);
  CHECK(code_of([] { reverse_lookup(""); }) == errc::invalid_argument);
  CHECK(code_of([] { reverse_lookup("127.0.0.1:80"); }) == errc::invalid_argument);
  CHECK(code_of([] { reverse_lookup("300.1.2.3"); }) == errc::invalid_argument);
}

TEST_CASE("family, socket type and protocol names", "[resolve]") {
  CHECK(family_name(AF_INET) == "IPv4");
  CHECK(family_name(AF_INET6) == "IPv6");
  CHECK(family_name(AF_UNIX) == "unix");
  CHECK(family_name(12345) == "AF_12345");
  CHECK(socktype_name(SOCK_STREAM) == "stream");
  CHECK(socktype_name(SOCK_DGRAM) == "dgram");
  CHECK(socktype_name(SOCK_RAW) == "raw");
  CHECK(socktype_name(99) == "SOCK_99");
  CHECK(protocol_name(IPPROTO_TCP) == "tcp");
  CHECK(protocol_name(IPPROTO_UDP) == "udp");
  CHECK(protocol_name(0) == "-");
  CHECK(protocol_name(250) == "250");
}

TEST_CASE("netmask to prefix length", "[resolve]") {
  unsigned char const m24[] = {255, 255, 255, 0};
  unsigned char const m8[] = {255, 0, 0, 0};
  unsigned char const m0[] = {0, 0, 0, 0};
  unsigned char const m32[] = {255, 255, 255, 255};
  unsigned char const m20[] = {255, 255, 240, 0};
  unsigned char const holey[] = {255, 0, 255, 0};
  unsigned char const odd[] = {255, 255, 254, 1};
  CHECK(prefix_length(m24, 4) == 24);
  CHECK(prefix_length(m8, 4) == 8);
  CHECK(prefix_length(m0, 4) == 0);
  CHECK(prefix_length(m32, 4) == 32);
  CHECK(prefix_length(m20, 4) == 20);
  CHECK(prefix_length(holey, 4) == -1);
  CHECK(prefix_length(odd, 4) == -1);
  unsigned char v6_64[16] = {};
  std::fill(v6_64, v6_64 + 8, static_cast<unsigned char>(0xff));
  CHECK(prefix_length(v6_64, 16) == 64);
}

TEST_CASE("host identity: a host name, and an FQDN", "[resolve]") {
  auto const id = local_identity();
  char buf[256] = {};
  REQUIRE(::gethostname(buf, sizeof buf - 1) == 0);
  CHECK(id.host_name == buf);
  CHECK_FALSE(id.fqdn.empty());
  if (!id.fqdn_resolved) CHECK(id.fqdn == id.host_name);
}

TEST_CASE("local interfaces include the loopback, grouped by interface", "[resolve]") {
  auto const all = local_interfaces();
  REQUIRE_FALSE(all.empty());
  auto const lo = std::find_if(all.begin(), all.end(), [](const interface_address& a) {
    return a.family == AF_INET && a.address == "127.0.0.1";
  });
  REQUIRE(lo != all.end());
  CHECK(lo->loopback);
  CHECK(lo->up);
  CHECK(lo->prefix_length == 8);
  // Each interface's entries are next to each other, IPv4 before IPv6.
  for (std::size_t i = 0; i < all.size(); ++i) {
    INFO(all[i].name << ' ' << all[i].address);
    CHECK_FALSE(all[i].name.empty());
    CHECK((all[i].family == 0 || all[i].family == AF_INET || all[i].family == AF_INET6));
    CHECK((all[i].family == 0) == all[i].address.empty());
    for (std::size_t j = i + 1; j < all.size(); ++j) {
      if (all[j].name != all[i].name) continue;
      for (std::size_t k = i + 1; k < j; ++k) CHECK(all[k].name == all[i].name);
      CHECK_FALSE((all[i].family == AF_INET6 && all[j].family == AF_INET));
    }
  }
}

TEST_CASE("IPv6 probe counts the interfaces' IPv6 addresses", "[resolve]") {
  std::vector<interface_address> fake(2);
  fake[0].family = AF_INET6;
  fake[1].family = AF_INET;
  auto const s = probe_ipv6(fake);
  CHECK(s.addresses == 1);
  CHECK(s.available());
  CHECK(s.loopback_bindable == s.bind_error.empty());
  auto const none = probe_ipv6({});
  CHECK(none.addresses == 0);
  CHECK(none.available() == none.loopback_bindable);
}
