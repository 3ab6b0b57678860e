#include "netdemo/http/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "netdemo/exit_codes.hpp"

namespace netdemo::http {

namespace urls = boost::urls;

namespace {

/// Fills a target_url from an absolute URL; returns an empty string on success or why not.
std::string describe(urls::url u, target_url& out) {
  if (!u.has_scheme()) return "no scheme";
  auto const scheme = u.scheme_id();
  if (scheme != urls::scheme::http && scheme != urls::scheme::https) {
    return "unsupported scheme '" + std::string(u.scheme()) + "'";
  }
  if (!u.has_authority() || u.encoded_host().empty()) return "no host";
  if (u.has_userinfo()) u.remove_userinfo();  // credentials in URLs are not supported (yet)
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
      out.host = u.host_name();
      break;
    default:
      return "unsupported host '" + std::string(u.encoded_host()) + "'";
  }
  std::uint16_t port = out.https ? 443 : 80;
  if (u.has_port()) {
    // port_number() wraps values over 65535, so the digits are checked here.
    std::string_view const digits = u.port();
    unsigned long value = 0;
    for (char c : digits) value = value * 10 + static_cast<unsigned long>(c - '0');
    if (digits.empty() || digits.size() > 5 || value == 0 || value > 65535) {
      return "invalid port '" + std::string(digits) + "'";
    }
    port = u.port_number();
  }
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

}  // namespace

target_url parse_user_url(std::string_view text) {
  std::string s(text);
  if (s.find("://") == std::string::npos) s.insert(0, "http://");
  auto parsed = urls::parse_uri(s);
  if (!parsed) {
    throw error(exit_code::usage, "'" + std::string(text) + "' is not a valid URL (" +
                                      parsed.error().message() + ")");
  }
  target_url out;
  if (auto why = describe(*parsed, out); !why.empty()) {
    throw error(exit_code::usage, "'" + std::string(text) + "' is not a usable URL: " + why);
  }
  return out;
}

target_url resolve_location(const target_url& base, std::string_view location) {
  auto bad = [&](const std::string& why) {
    return error(exit_code::malformed_reply,
                 "the redirect to '" + std::string(location) + "' is not usable: " + why);
  };
  auto ref = urls::parse_uri_reference(location);
  if (!ref) throw bad(ref.error().message());
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
