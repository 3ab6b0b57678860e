// URL handling for the HTTP client, on Boost.URL: what the user typed → where to connect
// and what to ask for; a redirect's Location resolved against the URL that answered.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace netdemo::http {

/// A parsed absolute http or https URL, reduced to what a request needs.
struct target_url {
  std::string url;         ///< normalised absolute URL, without fragment ("http://h:8080/a?b")
  bool https = false;      ///< scheme is https
  std::string host;        ///< to resolve/connect: a name, an IPv4 or an IPv6 address without brackets
  bool host_is_address = false;  ///< host is an IP literal (no SNI then)
  std::uint16_t port = 0;  ///< the explicit port or 80 / 443
  std::string host_header; ///< "h", "h:8080", "[::1]:8080": the Host field
  std::string target;      ///< origin-form request target: "/path?query", never empty
  std::string file_name;   ///< last path segment, decoded; empty when the path ends with '/'
};

/// Parses what the user typed: an absolute http(s) URL, or a bare "host[:port][/path]"
/// (anything not starting with "scheme://") that means "http://host[:port][/path]".
/// Throws netdemo::error(usage) on anything else.
///
/// The URL means what it says: on success, `host_header` is byte for byte the authority
/// typed (between "//" and the first '/', '?' or '#'), `host` and `port` are its reading,
/// and nothing else is connected to. Refused: junk after a host or port
/// ("http://127.0.0.1.nip.io:1/", "http://[::1]e", "http://h:44&3/"), credentials
/// ("user@host"), percent-encoded or non-LDH host names, names getaddrinfo would take for
/// an IPv4 address ("127.1", "2130706433", "0x7f.0.0.1"), IPv6 zone ids and IPvFuture, an
/// empty port, a port with a leading zero, 0 or over 65535.
target_url parse_user_url(std::string_view text);

/// Resolves a Location value (absolute or relative) against `base`, with the checks of
/// parse_user_url on an authority the Location has. Throws netdemo::error(malformed_reply)
/// when it is not a usable http(s) URL.
target_url resolve_location(const target_url& base, std::string_view location);

}  // namespace netdemo::http
