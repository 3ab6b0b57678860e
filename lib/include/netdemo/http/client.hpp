// An HTTP/1.1 client for one fetch: Boost.Beast on the wire, Boost.URL for URLs, OpenSSL
// (through Asio) for https. The body streams to a caller's sink in bounded memory.
//
//   netdemo::http::request_options o;
//   o.url = "https://example.com/";
//   o.on_body = [&](std::string_view chunk) { out.write(chunk.data(), chunk.size()); };
//   netdemo::http::response r = co_await netdemo::http::fetch(std::move(o));
//
// Errors are netdemo::error (a std::system_error) with a netdemo::errc code
// (proto/error.hpp): invalid_argument (bad URL), cannot_resolve, cannot_connect,
// malformed_reply (corrupt gzip/deflate data included), partial_body, http_status (>= 400
// with fail_on_error), timeout, too_many_redirects, tls_verify, file_too_large
// (max_body_bytes); the system's own code for other I/O failures.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace netdemo::http {

class cookie_jar;

/// A name lookup: the TCP addresses of `host` (port `port`, family 4, 6 or 0 for any),
/// or a netdemo::error (exit 6 when the name does not resolve). It runs on a thread of
/// its own, so it may block.
using resolve_function = std::function<std::vector<boost::asio::ip::tcp::endpoint>(
    const std::string& host, std::uint16_t port, int ip_version)>;

/// One header field, as sent or received (original case kept).
struct header_field {
  std::string name;   ///< "Content-Type"
  std::string value;  ///< "text/html"
};

/// A response head: status line and fields.
struct response {
  std::string url;                   ///< the URL that answered (after redirects)
  unsigned version = 11;             ///< 10 or 11
  unsigned status = 0;               ///< 200
  std::string reason;                ///< "OK"
  std::vector<header_field> headers; ///< in the order received
  int redirects = 0;                 ///< redirects followed to get here
  std::uint64_t body_bytes = 0;      ///< body bytes passed to the sink (decoded; filled at the end)

  /// "HTTP/1.1 200 OK"
  std::string status_line() const;
  /// The status line and fields, each ending in CRLF, then an empty line.
  std::string head_text() const;
  /// The first field named `name` (case-insensitive), or nullptr.
  const std::string* find(std::string_view name) const;
};

/// Everything one fetch needs. Callbacks run on the fetch's executor; any of them may
/// throw (the exception leaves fetch unchanged) and the fetch stops there.
struct request_options {
  std::string url;                     ///< "http://host/", "https://[::1]:8443/x", or a bare host
  std::string method = "GET";          ///< any token; HEAD never reads a body
  std::string body;                    ///< request body (sent with Content-Length when not
                                       ///< empty, or for POST/PUT/PATCH)
  std::string content_type;            ///< Content-Type for the body (empty: none)
  std::string basic_auth;              ///< "user:password" → Authorization: Basic ...
  std::vector<header_field> headers;   ///< extra fields; same name as a default replaces it;
                                       ///< an empty value removes the default
  std::string user_agent = "netdemo/1"; ///< User-Agent (empty: none)

  /// Cookies: Set-Cookie of every response (redirects included) goes in, each request
  /// takes its Cookie field from it. Null: a jar private to this fetch.
  cookie_jar* cookies = nullptr;

  /// Redirects: 303 (and 301/302 after POST) become GET without the body; 307/308 keep the
  /// method and body. Authorization (basic_auth or a header) and a Cookie header are only
  /// sent to the first URL's host and port, and never after https went to http.
  bool follow_redirects = true;        ///< follow 301/302/303/307/308 with a Location
  int max_redirects = 20;              ///< more than this → exit 47
  bool fail_on_error = false;          ///< status >= 400 → exit 22 before any body is read
  bool fail_after_body = false;        ///< status >= 400 → exit 22 once the body was read
  int ip_version = 0;                  ///< 4 or 6: only addresses of that family; 0: any

  /// Name lookup + TCP connect + TLS handshake of each hop, together.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};     ///< each read/write
  std::chrono::milliseconds max_time{0};  ///< whole transfer; 0 = no limit

  bool insecure = false;               ///< https: do not verify the certificate (-k)
  std::string ca_file;                 ///< https: trust these CAs instead of the system's
  std::size_t header_limit = 64 * 1024; ///< bytes of response head accepted

  /// --compressed: send "Accept-Encoding: gzip, deflate" and decode a gzip or deflate
  /// body before on_body sees it. Off: the body is passed on as the server sent it.
  bool decode_content = false;

  /// --max-filesize: the most body bytes on_body may receive (decoded ones with
  /// decode_content); 0: no limit. A Content-Length over it fails before any body byte
  /// (exit 63); a body that turns out longer gets exactly this many bytes, then exit 63,
  /// and no more of it is read or decoded.
  std::uint64_t max_body_bytes = 0;

  /// The name lookup. Empty: getaddrinfo. It runs on a thread that a timeout abandons
  /// (Asio 1.26's resolver cannot be cancelled once getaddrinfo runs); an IP literal
  /// needs no lookup and no thread.
  resolve_function resolve;

  /// Every response head (redirects included), before its body; `final` is false for a
  /// redirect that will be followed.
  std::function<void(const response&, bool final)> on_response;
  /// The final response's body, chunk by chunk (at most 256 KiB each), decoded when
  /// decode_content is set.
  std::function<void(std::string_view)> on_body;
  /// The final response's body as it arrives: bytes received so far (as sent, before
  /// decoding) and the Content-Length when there is one. First called with 0 when the
  /// body starts; called again every second with the same count while no bytes arrive.
  std::function<void(std::uint64_t received, std::optional<std::uint64_t> total)> on_progress;
  /// Each request head as sent (for -v).
  std::function<void(std::string_view)> on_request;
  /// Progress notes ("Connected to ...", "TLS ...", "Redirect to ...") for -v.
  std::function<void(std::string_view)> on_info;
};

/// Fetches `options.url`, following redirects as configured; returns the final response
/// head after its whole body went to `on_body`. Runs on the caller's executor.
/// Cancellation: closing the io_context or cancelling the awaiting coroutine ends it.
boost::asio::awaitable<response> fetch(request_options options);

}  // namespace netdemo::http
