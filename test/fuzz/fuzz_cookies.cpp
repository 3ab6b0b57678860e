// The cookie jar: Set-Cookie values, `-b` pairs and cookie files from the fuzzer, in any
// order. Invariants: every stored cookie is well formed (a lower-case domain without a
// leading dot, a path starting with '/'); the Cookie field never carries a byte that could
// end or split a request head line; and the jar file round-trips byte for byte (what `-c`
// writes, `-b` reads back to the same jar and the same file).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "netdemo/http/cookies.hpp"

using fuzz_support::check;
using netdemo::http::cookie;
using netdemo::http::cookie_jar;

namespace {

std::string pick_host(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 4)) {
    case 0: return "example.com";
    case 1: return "www.example.com";
    case 2: return "127.0.0.1";
    case 3: return "localhost";
    default: {
      // A host as the URL parser gives it: letters, digits, '.', '-' (lower case or not).
      std::string h = in.ConsumeRandomLengthString(40);
      std::erase_if(h, [](char c) {
        return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-');
      });
      return h.empty() ? "h" : h;
    }
  }
}

std::string pick_path(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange(0, 2)) {
    case 0: return "/";
    case 1: return "/a/b";
    default: return in.ConsumeRandomLengthString(40);
  }
}

bool same(const cookie& a, const cookie& b) {
  return a.name == b.name && a.value == b.value && a.domain == b.domain && a.path == b.path &&
         a.host_only == b.host_only && a.secure == b.secure && a.http_only == b.http_only &&
         a.expires == b.expires;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  auto const now = in.ConsumeIntegralInRange<std::int64_t>(0, 4'000'000'000);
  cookie_jar jar;
  for (int op = 0; op < 64 && in.remaining_bytes() > 0; ++op) {
    switch (in.ConsumeIntegralInRange(0, 3)) {
      case 0: {
        std::string const host = pick_host(in);
        std::string const path = pick_path(in);
        bool const https = in.ConsumeBool();
        jar.set_cookie(in.ConsumeRandomLengthString(300), host, path, https, now);
        break;
      }
      case 1: {
        std::string const host = pick_host(in);
        jar.add_pairs(in.ConsumeRandomLengthString(200), host);
        break;
      }
      case 2: jar.load_netscape(in.ConsumeRandomLengthString(600)); break;
      default: {
        std::string const host = pick_host(in);
        std::string const path = pick_path(in);
        std::string const field = jar.cookie_header(host, path, in.ConsumeBool(), now);
        check(field.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos,
              "the Cookie field holds CR, LF or NUL", field);
      }
    }
  }
  for (const auto& c : jar.cookies()) {
    check(!c.domain.empty() && c.domain.front() != '.', "a stored domain is empty or starts with '.'", c.domain);
    for (char ch : c.domain) check(!(ch >= 'A' && ch <= 'Z'), "a stored domain is not lower case", c.domain);
    check(!c.path.empty() && c.path.front() == '/', "a stored path does not start with '/'", c.path);
  }
  // The jar file: write, read back, write again.
  std::string const file = jar.to_netscape(now);
  cookie_jar back;
  back.load_netscape(file);
  std::string const again = back.to_netscape(now);
  check(again == file, "the cookie file does not round-trip", file + " | read back as | " + again);
  std::vector<const cookie*> kept;
  for (const auto& c : jar.cookies()) {
    if (c.expires == 0 || c.expires > now) kept.push_back(&c);
  }
  check(kept.size() == back.cookies().size(), "the cookie file lost or added cookies", file);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    check(same(*kept[i], back.cookies()[i]), "a cookie changed through the cookie file", file);
  }
  return 0;
}
