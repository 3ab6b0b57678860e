// A cookie jar for the HTTP client, sans I/O: Set-Cookie in (RFC 6265, kept simple), Cookie
// out, and the Netscape cookie-file format curl reads and writes. Times are Unix seconds
// passed in by the caller, so everything here is testable without a clock.
//
//   cookie_jar jar;
//   jar.set_cookie("sid=1; Path=/; HttpOnly", "example.com", "/login", true, now);
//   std::string field = jar.cookie_header("example.com", "/account", true, now);  // "sid=1"
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netdemo::http {

/// One cookie of a jar, as a server set it (RFC 6265 5.3) or a cookie file held it.
struct cookie {
  std::string name;         ///< as the server sent it
  std::string value;        ///< as the server sent it (no decoding)
  std::string domain;       ///< lower case, no leading dot
  std::string path = "/";   ///< starts with '/'
  bool host_only = true;    ///< no Domain attribute: only `domain` itself gets it
  bool secure = false;      ///< only sent over https
  bool http_only = false;   ///< HttpOnly (kept and saved; a client without scripts ignores it)
  std::int64_t expires = 0; ///< Unix seconds; 0 = a session cookie
  std::uint64_t last_use = 0; ///< the jar's count when it was stored or last sent (not saved)
};

/// A bounded jar. Every cookie in it has a name, value, domain and path without control
/// characters (tab included), so the Netscape file it writes reads back as the same jar:
/// to_netscape, load_netscape, to_netscape gives the same bytes.
class cookie_jar {
 public:
  /// Cookies kept for one domain (RFC 6265 6.1 asks for at least 50; Firefox keeps 180).
  static constexpr std::size_t max_per_domain = 180;
  /// Cookies kept in all (RFC 6265 6.1 asks for at least 3000).
  static constexpr std::size_t max_total = 3000;
  /// Bytes of name and value of one cookie (RFC 6265 6.1: at least 4096); longer is refused.
  static constexpr std::size_t max_name_value = 4096;
  /// Bytes of a Domain or Path attribute value (as Chrome); longer is refused.
  static constexpr std::size_t max_attribute = 1024;
  /// The Cookie field sent: at most this many bytes and cookies (curl's limits, under the
  /// 8 KiB line most servers accept); the cookies that do not fit are left out.
  static constexpr std::size_t max_header_bytes = 8190;
  /// The most cookies sent in one Cookie header; the others are left out.
  static constexpr std::size_t max_header_cookies = 150;

  /// Stores one Set-Cookie value received from `host` for a request to `request_path`
  /// (the path part of the target). Returns false when it was rejected (bad syntax, a
  /// control character anywhere in it or a tab inside the name, value, Domain or Path, a
  /// name and value over max_name_value, a Domain the host is not in, Secure over plain
  /// http) or it deleted a cookie (expired). Past max_per_domain or max_total, expired
  /// cookies go first, then the least recently used (RFC 6265 5.3 step 12).
  bool set_cookie(std::string_view set_cookie_value, std::string_view host,
                  std::string_view request_path, bool https, std::int64_t now);

  /// The Cookie field value for a request ("a=1; b=2", longest paths first), or "";
  /// within max_header_bytes and max_header_cookies. The cookies sent count as used.
  /// `left_out`, when given, gets how many matching cookies did not fit.
  std::string cookie_header(std::string_view host, std::string_view request_path, bool https,
                            std::int64_t now, std::size_t* left_out = nullptr);

  /// Adds "k=v; k2=v2" (what `-b` takes) as host-only session cookies of `host`, path "/".
  /// Pieces that are not "name=value" are skipped. Returns the pairs refused: a control
  /// character or a tab inside a name or value, or too long (see valid()).
  std::size_t add_pairs(std::string_view pairs, std::string_view host);

  /// Reads a Netscape cookie file's text (comments, blank lines and bad lines skipped;
  /// "#HttpOnly_" prefixed lines kept). Returns how many cookies were read.
  std::size_t load_netscape(std::string_view text);

  /// The jar in Netscape format (header comment, then one tab-separated line a cookie, in
  /// the order they were first stored), cookies already expired at `now` left out.
  std::string to_netscape(std::int64_t now) const;

  /// Stores `c`, replacing a cookie with the same name, domain and path (in its place),
  /// then applies the caps; with `now`, expired cookies are evicted first. The caller
  /// has checked `c` (see valid()).
  void add(cookie c, std::int64_t now = 0);

  /// Whether `c` may be stored: a name, no control characters or tabs in name, value,
  /// domain and path, the sizes within the limits above, a path starting with '/'.
  static bool valid(const cookie& c);

  /// Every cookie held, oldest first. Valid until the jar next changes.
  const std::vector<cookie>& cookies() const noexcept { return cookies_; }

 private:
  void evict(std::int64_t now);

  std::vector<cookie> cookies_;
  std::uint64_t uses_ = 0;  // counts stores and sends, for least-recently-used eviction
};

/// "Sun, 06 Nov 1994 08:49:37 GMT" (also "Sunday, 06-Nov-94 08:49:37 GMT") → Unix
/// seconds; -1 when it cannot be read.
std::int64_t parse_cookie_date(std::string_view text);

}  // namespace netdemo::http
