// A cookie jar for the HTTP client, sans I/O: Set-Cookie in (RFC 6265, kept simple), Cookie
// out, and the Netscape cookie-file format curl reads and writes. Times are Unix seconds
// passed in by the caller, so everything here is testable without a clock.
//
//   cookie_jar jar;
//   jar.set_cookie("sid=1; Path=/; HttpOnly", "example.com", "/login", true, now);
//   std::string field = jar.cookie_header("example.com", "/account", true, now);  // "sid=1"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netdemo::http {

struct cookie {
  std::string name;
  std::string value;
  std::string domain;       ///< lower case, no leading dot
  std::string path = "/";   ///< starts with '/'
  bool host_only = true;    ///< no Domain attribute: only `domain` itself gets it
  bool secure = false;      ///< only sent over https
  bool http_only = false;
  std::int64_t expires = 0; ///< Unix seconds; 0 = a session cookie
};

class cookie_jar {
 public:
  /// Stores one Set-Cookie value received from `host` for a request to `request_path`
  /// (the path part of the target). Returns false when it was rejected (bad syntax, a
  /// Domain the host is not in, Secure over plain http) or it deleted a cookie (expired).
  bool set_cookie(std::string_view set_cookie_value, std::string_view host,
                  std::string_view request_path, bool https, std::int64_t now);

  /// The Cookie field value for a request ("a=1; b=2", longest paths first), or "".
  std::string cookie_header(std::string_view host, std::string_view request_path, bool https,
                            std::int64_t now) const;

  /// Adds "k=v; k2=v2" (what `-b` takes) as host-only session cookies of `host`, path "/".
  void add_pairs(std::string_view pairs, std::string_view host);

  /// Reads a Netscape cookie file's text (comments, blank lines and bad lines skipped;
  /// "#HttpOnly_" prefixed lines kept). Returns how many cookies were read.
  std::size_t load_netscape(std::string_view text);

  /// The jar in Netscape format (header comment, then one tab-separated line a cookie),
  /// cookies already expired at `now` left out.
  std::string to_netscape(std::int64_t now) const;

  /// Stores `c`, replacing a cookie with the same name, domain and path.
  void add(cookie c);

  const std::vector<cookie>& cookies() const noexcept { return cookies_; }

 private:
  std::vector<cookie> cookies_;
};

/// "Sun, 06 Nov 1994 08:49:37 GMT" (also "Sunday, 06-Nov-94 08:49:37 GMT") → Unix
/// seconds; -1 when it cannot be read.
std::int64_t parse_cookie_date(std::string_view text);

}  // namespace netdemo::http
