#include "netdemo/http/url.hpp"

#include <algorithm>
#include <cctype>

#include <boost/asio/ip/address_v6.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "netdemo/proto/error.hpp"

namespace netdemo::http {

namespace urls = boost::urls;
namespace asio = boost::asio;

namespace {

/// The authority as typed: what follows "//" up to the first '/', '?' or '#' (RFC 3986
/// 3.2), found without the URL parser, so that the parser's reading can be checked
/// against it. `text` is a URI or a relative reference that has an authority.
std::string_view typed_authority(std::string_view text) {
  auto const slashes = text.find("//");
  if (slashes == std::string_view::npos) return {};
  auto const rest = text.substr(slashes + 2);
  return rest.substr(0, rest.find_first_of("/?#"));
}

/// 'text', quoted for a message. (Built by append: GCC 12 warns, wrongly, on "'" + string.)
std::string quoted(std::string_view text) {
  std::string out(1, '\'');
  out.append(text).push_back('\'');
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/// True when getaddrinfo (inet_aton) would read `label` as a number: "127", "0x7f", "0".
bool numeric_label(std::string_view label) {
  if (label.size() >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
    return std::all_of(label.begin() + 2, label.end(), is_hex);
  }
  return !label.empty() && std::all_of(label.begin(), label.end(), is_digit);
}

/// Why a registered-name host is refused, or "" when it is a plain DNS name.
std::string check_host_name(std::string_view host) {
  if (host.empty()) return "there is no host";
  if (host.size() > 253) return "the host name is longer than 253 bytes";
  for (char const c : host) {
    // Percent-encoding is refused too: decoded, "127.0.0.1%00.evil" is "127.0.0.1" to
    // getaddrinfo. International names go in their "xn--" form.
    if (!(std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_')) {
      return "the host name has a character other than letters, digits, '-', '.' and '_'";
    }
  }
  auto name = host;
  if (name.back() == '.') name.remove_suffix(1);  // "example.com." is fully qualified
  if (name.empty() || name.front() == '.' || name.find("..") != std::string_view::npos) {
    return "the host name has an empty label";
  }
  // "127.1", "2130706433", "0x7f.0.0.1", "127.0.0.01": getaddrinfo takes these for
  // 127.0.0.1, which the URL does not spell. As WHATWG URL does, a name whose last label
  // is a number is an IPv4 address, and only the dotted-decimal form is accepted.
  auto const last = name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
  if (numeric_label(last)) return "it is not an IPv4 address in dotted-decimal form (a.b.c.d)";
  return {};
}

/// Checks that the parser read the authority exactly as typed: `typed` (from
/// typed_authority) must be "host[:port]" with nothing left over, and host and port
/// re-serialised must give it back. Boost.URL 1.81 stops an IP-literal host at the first
/// byte that does not fit and takes the rest for the path ("http://127.0.0.1.nip.io:1/"
/// is host 127.0.0.1, no port, path ".nip.io:1/"). Returns "" or why not.
std::string check_authority(urls::url_view u, std::string_view typed) {
  if (std::string_view(u.encoded_authority()) != typed) {
    return "the authority '" + std::string(typed) + "' is not a host and a port";
  }
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/') {
    return "the authority '" + std::string(typed) + "' is not a host and a port";
  }
  if (u.has_userinfo()) {
    return "credentials in the URL ('" + std::string(u.encoded_userinfo()) +
           "@') are not supported (use -u user:password)";
  }
  std::string_view const host = u.encoded_host();
  std::string rebuilt;
  switch (u.host_type()) {
    case urls::host_type::ipv4:
      rebuilt = u.host_ipv4_address().to_string();
      break;
    case urls::host_type::ipv6: {
      // The text between the brackets, read again by the socket layer, must be the same
      // address (no zone id: Boost.URL 1.81 has none, and a scope would pick an interface).
      boost::system::error_code ec;
      auto const inner = host.substr(1, host.size() - 2);
      auto const a = asio::ip::make_address_v6(std::string(inner), ec);
      if (ec || a.scope_id() != 0 || a.to_bytes() != u.host_ipv6_address().to_bytes()) {
        return quoted(host) + " is not an IPv6 address";
      }
      rebuilt = std::string(host);
      break;
    }
    case urls::host_type::name:
      if (auto why = check_host_name(host); !why.empty()) return quoted(host) + ": " + why;
      rebuilt = std::string(host);
      break;
    default:
      return "unsupported host '" + std::string(host) + "'";
  }
  if (rebuilt != host) return quoted(host) + " is not an IP address as written";
  if (u.has_port()) {
    // port_number() wraps values over 65535, and Boost.URL takes "" and "080" as ports.
    std::string_view const digits = u.port();
    unsigned long value = 0;
    bool ok = !digits.empty() && digits.size() <= 5 && std::all_of(digits.begin(), digits.end(), is_digit);
    if (ok) {
      for (char c : digits) value = value * 10 + static_cast<unsigned long>(c - '0');
      ok = value >= 1 && value <= 65535 && std::to_string(value) == digits;
    }
    if (!ok) return "invalid port '" + std::string(digits) + "' (1 to 65535, no leading zero)";
    rebuilt.push_back(':');
    rebuilt.append(digits);
  }
  if (rebuilt != typed) return "the authority '" + std::string(typed) + "' is not a host and a port";
  return {};
}

/// Fills a target_url from an absolute URL whose authority check_authority accepted;
/// returns an empty string on success or why not.
std::string describe(urls::url u, target_url& out) {
  if (!u.has_scheme()) return "no scheme";
  auto const scheme = u.scheme_id();
  if (scheme != urls::scheme::http && scheme != urls::scheme::https) {
    return "unsupported scheme '" + std::string(u.scheme()) + "'";
  }
  if (!u.has_authority() || u.encoded_host().empty()) return "no host";
  if (u.has_userinfo()) return "credentials in the URL are not supported (use -u user:password)";
  u.remove_fragment();
  u.normalize_scheme();
  out.https = scheme == urls::scheme::https;
  switch (u.host_type()) {
    case urls::host_type::ipv6:
      out.host = u.host_ipv6_address().to_string();
      out.host_is_address = true;
      break;
    case urls::host_type::ipv4:
      out.host = u.host_ipv4_address().to_string();
      out.host_is_address = true;
      break;
    case urls::host_type::name:
      out.host = std::string(u.encoded_host());  // check_authority: no percent-encoding
      break;
    default:
      return "unsupported host '" + std::string(u.encoded_host()) + "'";
  }
  std::uint16_t port = out.https ? 443 : 80;
  if (u.has_port()) port = u.port_number();
  out.port = port;
  out.host_header.assign(u.encoded_host().data(), u.encoded_host().size());
  if (u.has_port()) {
    out.host_header.push_back(':');
    out.host_header.append(std::to_string(port));
  }
  if (u.encoded_path().empty()) u.set_path_absolute(true);
  out.target.assign(u.encoded_path().data(), u.encoded_path().size());
  if (u.has_query()) {
    out.target.push_back('?');
    out.target.append(u.encoded_query().data(), u.encoded_query().size());
  }
  out.file_name.clear();
  auto const segs = u.segments();
  if (!segs.empty()) {
    std::string last = segs.back();
    if (last != "." && last != ".." && last.find('/') == std::string::npos &&
        last.find('\0') == std::string::npos) {
      out.file_name = std::move(last);
    }
  }
  out.url = std::string(u.buffer());
  return {};
}

/// "scheme://" at the start: an absolute URL; anything else is a bare host[:port][/path].
bool has_scheme_and_slashes(std::string_view s) {
  std::size_t i = 0;
  if (s.empty() || std::isalpha(static_cast<unsigned char>(s[0])) == 0) return false;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) != 0 || s[i] == '+' ||
                          s[i] == '-' || s[i] == '.')) {
    ++i;
  }
  return s.substr(i, 3) == "://";
}

}  // namespace

target_url parse_user_url(std::string_view text) {
  std::string s(text);
  if (!has_scheme_and_slashes(s)) s.insert(0, "http://");
  auto parsed = urls::parse_uri(s);
  if (!parsed) {
    throw error(errc::invalid_argument, quoted(text) + " is not a valid URL (" +
                                      parsed.error().message() + ")");
  }
  target_url out;
  std::string why;
  if (parsed->has_authority()) why = check_authority(*parsed, typed_authority(s));
  if (why.empty()) why = describe(*parsed, out);
  if (!why.empty()) {
    throw error(errc::invalid_argument, quoted(text) + " is not a usable URL: " + why);
  }
  return out;
}

target_url resolve_location(const target_url& base, std::string_view location) {
  auto bad = [&](const std::string& why) {
    return error(errc::malformed_reply,
                 "the redirect to '" + std::string(location) + "' is not usable: " + why);
  };
  auto ref = urls::parse_uri_reference(location);
  if (!ref) throw bad(ref.error().message());
  // A relative reference takes the base's authority, checked when the base was made.
  if (ref->has_authority()) {
    if (auto why = check_authority(*ref, typed_authority(location)); !why.empty()) throw bad(why);
  }
  auto b = urls::parse_uri(base.url);
  if (!b) throw bad(b.error().message());
  urls::url dest;
  auto r = urls::resolve(*b, *ref, dest);
  if (!r) throw bad(r.error().message());
  target_url out;
  if (auto why = describe(dest, out); !why.empty()) throw bad(why);
  return out;
}

}  // namespace netdemo::http
