// URLs as typed and redirect Locations (http/url.hpp). The invariant of issue 11 item 4:
// whatever is accepted, its host and port re-serialised equal what was typed, so netdemo
// never connects to an address the text does not name. The authority is taken from the
// text here by hand (RFC 3986 3.2: after "scheme://", up to the first '/', '?' or '#';
// userinfo up to the last '@' dropped), independently of Boost.URL. Compared: names
// case-insensitively, IP literals by value (inet_pton), an absent or empty port as the
// scheme's default. Refusals must be netdemo::error with exit 2 (typed) or 8 (Location).
//
// Input: a selector byte, then the text (a URL as typed, or a base URL and a Location
// separated by a newline).
#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "netdemo/proto/error.hpp"
#include "netdemo/http/url.hpp"

using fuzz_support::check;
using netdemo::http::target_url;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// The authority of an absolute URL as typed: host (brackets kept) and port text.
struct authority {
  std::string host;
  std::optional<std::string> port;
  bool https = false;
};

/// RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) followed by ':'.
std::optional<std::string> scheme_of(std::string_view s) {
  auto const colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  for (std::size_t i = 0; i < colon; ++i) {
    char const c = s[i];
    bool const alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && (i == 0 || !((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))) {
      return std::nullopt;
    }
  }
  return lower(s.substr(0, colon));
}

/// The authority after "//" at `s` (which starts right after the "//").
authority split_authority(std::string_view s) {
  authority a;
  s = s.substr(0, s.find_first_of("/?#"));
  if (auto at = s.rfind('@'); at != std::string_view::npos) s.remove_prefix(at + 1);
  if (!s.empty() && s.front() == '[') {
    auto const close = s.find(']');
    a.host = std::string(s.substr(0, close == std::string_view::npos ? s.size() : close + 1));
    s.remove_prefix(a.host.size());
  } else {
    auto const colon = s.rfind(':');
    a.host = std::string(s.substr(0, colon));
    s.remove_prefix(colon == std::string_view::npos ? s.size() : colon);
  }
  if (!s.empty() && s.front() == ':') a.port = std::string(s.substr(1));
  else if (!s.empty()) a.host += s;  // junk after "]": makes the comparison fail, as it should
  return a;
}

/// Whether the accepted `u` names exactly the typed authority `a`.
void check_same_authority(const target_url& u, const authority& a, std::string_view text) {
  std::string const detail = std::string(text) + " -> host '" + u.host + "' port " + std::to_string(u.port);
  check(u.https == a.https, "the scheme changed", detail);
  std::uint16_t want_port = a.https ? 443 : 80;
  if (a.port && !a.port->empty()) {
    check(a.port->size() <= 5 && a.port->find_first_not_of("0123456789") == std::string::npos,
          "a port that is not 1 to 5 digits was accepted", detail);
    want_port = static_cast<std::uint16_t>(std::stoul(*a.port));
    // "what was typed": 080 is not 80 re-serialised
    check(std::to_string(want_port) == *a.port, "a port with leading zeros was accepted", detail);
  }
  check(u.port == want_port, "the port connected to is not the port typed", detail);
  if (a.host.starts_with('[')) {
    check(u.host_is_address, "a bracketed host is not taken as an address", detail);
    check(a.host.ends_with(']'), "an unclosed '[' was accepted", detail);
    in6_addr typed{}, got{};
    std::string const inner = a.host.substr(1, a.host.size() - 2);
    check(inet_pton(AF_INET6, inner.c_str(), &typed) == 1, "a bracketed host that is not an IPv6 address", detail);
    check(inet_pton(AF_INET6, u.host.c_str(), &got) == 1 && std::memcmp(&typed, &got, sizeof typed) == 0,
          "the IPv6 address connected to is not the one typed", detail);
    return;
  }
  in_addr typed4{}, got4{};
  if (u.host_is_address) {
    check(inet_pton(AF_INET, a.host.c_str(), &typed4) == 1,
          "an IPv4 address was taken from a host that is not one", detail);
    check(inet_pton(AF_INET, u.host.c_str(), &got4) == 1 && std::memcmp(&typed4, &got4, sizeof typed4) == 0,
          "the IPv4 address connected to is not the one typed", detail);
    return;
  }
  check(lower(u.host) == lower(a.host), "the host name connected to is not the one typed", detail);
  check(u.host.find_first_of(std::string_view("\0\r\n\t /?#@[]", 12)) == std::string::npos,
        "a host name with a delimiter or control byte was accepted", detail);
}

/// What every accepted URL must look like, whatever it came from.
void check_well_formed(const target_url& u, std::string_view text) {
  check(!u.host.empty(), "an accepted URL has no host", text);
  check(u.port != 0, "an accepted URL has port 0", text);
  check(u.target.starts_with('/'), "the request target does not start with '/'", u.target);
  for (unsigned char c : u.target) {
    check(c > 0x20 && c != 0x7f, "the request target holds a space or control byte", u.target);
  }
  for (unsigned char c : u.host_header) {
    check(c > 0x20 && c != 0x7f, "the Host field holds a space or control byte", u.host_header);
  }
  check(u.file_name.find('/') == std::string::npos && u.file_name != "." && u.file_name != "..",
        "the file name could leave the directory", u.file_name);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view const all(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    // As typed: anything that does not start with "scheme://" is a bare host[:port][/path]
    // and means http:// (so "127.0.0.1/x?u=http://y" is a path, not a scheme).
    std::string full(all);
    auto const typed_scheme = scheme_of(full);
    if (!typed_scheme || full.compare(typed_scheme->size(), 3, "://") != 0) full.insert(0, "http://");
    target_url u;
    try {
      u = netdemo::http::parse_user_url(all);
    } catch (const netdemo::error& e) {
      check(e.code() == netdemo::errc::invalid_argument, "a refused URL is not exit 2", e.what());
      return 0;
    }
    check_well_formed(u, all);
    auto const scheme = scheme_of(full);
    check(scheme && (*scheme == "http" || *scheme == "https"), "a URL of another scheme was accepted", all);
    auto const slashes = full.find("://");
    check(slashes == scheme->size(), "accepted without '//' right after the scheme", all);
    authority a = split_authority(std::string_view(full).substr(slashes + 3));
    a.https = *scheme == "https";
    check_same_authority(u, a, all);
    return 0;
  }
  // A Location against a base URL.
  auto const nl = all.find('\n');
  if (nl == std::string_view::npos) return 0;
  target_url base;
  try {
    base = netdemo::http::parse_user_url(all.substr(0, nl));
  } catch (const netdemo::error&) {
    return 0;
  }
  std::string_view const location = all.substr(nl + 1);
  target_url u;
  try {
    u = netdemo::http::resolve_location(base, location);
  } catch (const netdemo::error& e) {
    check(e.code() == netdemo::errc::malformed_reply, "a refused Location is not exit 8", e.what());
    return 0;
  }
  check_well_formed(u, location);
  authority a;
  if (auto const scheme = scheme_of(location)) {
    check(*scheme == "http" || *scheme == "https", "a Location of another scheme was accepted", location);
    a.https = *scheme == "https";
    std::string_view rest = location.substr(scheme->size() + 1);
    check(rest.starts_with("//"), "an absolute Location without an authority was accepted", location);
    a = split_authority(rest.substr(2));
    a.https = *scheme == "https";
  } else if (location.starts_with("//")) {
    a = split_authority(location.substr(2));
    a.https = base.https;
  } else {
    // A relative reference keeps the base's host and port.
    check(u.host == base.host && u.port == base.port && u.https == base.https,
          "a relative Location changed the host or port", location);
    return 0;
  }
  check_same_authority(u, a, location);
  return 0;
}
