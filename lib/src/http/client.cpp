#include "netdemo/http/client.hpp"

#include <algorithm>
#include <ctime>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "netdemo/proto/error.hpp"
#include "netdemo/net/lookup.hpp"
#include "tls.hpp"
#include "netdemo/http/content_coding.hpp"
#include "netdemo/http/cookies.hpp"
#include "netdemo/http/url.hpp"
#include "netdemo/proto/text.hpp"

namespace netdemo::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

std::string response::status_line() const {
  std::string s("HTTP/");
  s.append(std::to_string(version / 10)).append(".").append(std::to_string(version % 10));
  s.append(" ").append(std::to_string(status));
  if (!reason.empty()) s.append(" ").append(reason);
  return s;
}

std::string response::head_text() const {
  std::string s = status_line();
  s.append("\r\n");
  for (const auto& h : headers) s.append(h.name).append(": ").append(h.value).append("\r\n");
  s.append("\r\n");
  return s;
}

const std::string* response::find(std::string_view name) const {
  for (const auto& h : headers) {
    if (beast::iequals(h.name, name)) return &h.value;
  }
  return nullptr;
}

namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
// One array for the body: 256 KiB makes few, large writes to the file (4096 writes for
// 1 GiB). It is the largest part of the client's own memory (docs/benchmarks.md).
constexpr std::size_t chunk_size = 256 * 1024;
// The close_notify at the end of a TLS connection is one small write.
constexpr milliseconds tls_shutdown_bound{1000};
constexpr int max_interim_responses = 32;
// How often on_progress is called while no bytes arrive.
constexpr milliseconds progress_tick{1000};

bool is_http_error(const boost::system::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category();
}

/// Everything one fetch shares between its hops.
struct fetch_state {
  request_options opt;
  steady::time_point end = steady::time_point::max();  // --max-time
  std::unique_ptr<detail::tls_client> tls;  // made (and the module loaded) on the first https hop
  cookie_jar own_jar;
  cookie_jar* jar = &own_jar;

  /// The time by which a step allowed `step` must end, within --max-time.
  steady::time_point deadline(milliseconds step) const {
    auto const by = step.count() > 0 ? steady::now() + step : steady::time_point::max();
    return std::min(by, end);
  }

  /// The timeout error for a step that was allowed `step`.
  error timed_out(const std::string& what, milliseconds step) const {
    if (end != steady::time_point::max() && steady::now() + milliseconds(20) >= end) {
      return error(errc::timeout, "the transfer took longer than " +
                                           duration_text(opt.max_time) + " (--max-time)");
    }
    return error(errc::timeout, what + " timed out after " + duration_text(step));
  }

  void info(const std::string& line) const {
    if (opt.on_info) opt.on_info(line);
  }

  detail::tls_client& tls_client() {
    if (!tls) {
      detail::tls_config c;
      c.insecure = opt.insecure;
      c.ca_file = opt.ca_file;
      std::string why;
      tls.reset(detail::tls_factory()(c, why));
      if (!tls) throw error(errc::tls_unavailable, why);
    }
    return *tls;
  }
};

/// The idle timeout (--idle-timeout) and --max-time of one request/response exchange,
/// without a system call per read.
///
/// Beast's tcp_stream expiry re-arms a timer before every read: a timerfd_settime system
/// call each time, ~6000 for 100 MiB over TLS (docs/benchmarks.md). Here the reads only
/// note when they start (touch(): a clock read in the vDSO, no system call), and one timer
/// wakes when the latest read could first have run out of time: at the last touch plus the
/// idle timeout, or at the --max-time end. It then either finds a later touch and sleeps
/// again until that one's limit (once per idle timeout while bytes flow), or closes the
/// socket, so that the pending read or write fails at once; fired() then tells the caller
/// that the failure was a timeout. With a tick, it also wakes every `tick_every` to call it
/// (the progress line of a stalled download).
class transfer_watch {
 public:
  transfer_watch(beast::tcp_stream& stream, milliseconds idle, steady::time_point end)
      : s_(std::make_shared<state>(stream, idle, end)) {}
  ~transfer_watch() {
    s_->stream = nullptr;  // a wake-up already queued must not touch the stream
    s_->tick = nullptr;
    s_->timer.cancel();
  }
  transfer_watch(const transfer_watch&) = delete;
  transfer_watch& operator=(const transfer_watch&) = delete;

  /// A read or write starts now: it has the idle timeout to make progress.
  void touch() noexcept {
    s_->last = steady::now();
    if (!s_->waiting) wait(s_);
  }
  /// The stream was closed because the idle timeout or --max-time passed.
  bool fired() const noexcept { return s_->fired; }
  /// Calls `f` every `every` from now on until the watch ends. An exception from `f`
  /// closes the stream like a timeout; rethrow_tick_failure() gives it back.
  void tick(std::function<void()> f, milliseconds every) {
    s_->tick = std::move(f);
    s_->tick_every = every;
    s_->next_tick = steady::now() + every;
    s_->timer.cancel();  // wake up to take the tick into account
    s_->waiting = false;
    wait(s_);
  }
  void rethrow_tick_failure() const {
    if (s_->tick_failure) std::rethrow_exception(s_->tick_failure);
  }

 private:
  struct state {
    state(beast::tcp_stream& s, milliseconds i, steady::time_point e)
        : timer(s.get_executor()), stream(&s), idle(i), end(e) {}
    asio::steady_timer timer;
    beast::tcp_stream* stream;  // null once the watch is over
    milliseconds idle;          // 0: no idle limit
    steady::time_point end;     // --max-time
    steady::time_point last = steady::now();
    std::function<void()> tick;
    milliseconds tick_every{0};
    steady::time_point next_tick = steady::time_point::max();
    std::exception_ptr tick_failure;
    bool waiting = false;  // a wake-up is pending
    bool fired = false;
    unsigned generation = 0;  // tells a cancelled wake-up from the current one

    steady::time_point due() const {
      auto const by = idle.count() > 0 ? last + idle : steady::time_point::max();
      return std::min(by, end);
    }
    void fire() {
      fired = true;
      boost::system::error_code ignored;
      stream->socket().close(ignored);  // fails the pending operation, and any later one
    }
  };

  static void wait(const std::shared_ptr<state>& s) {
    if (s->stream == nullptr || s->fired) return;
    auto const at = std::min(s->due(), s->next_tick);
    if (at == steady::time_point::max()) return;  // no limit and no tick: nothing to wait for
    s->waiting = true;
    s->timer.expires_at(at);
    s->timer.async_wait([s, gen = ++s->generation](const boost::system::error_code& ec) {
      if (s->stream == nullptr || gen != s->generation) return;  // over, or superseded
      s->waiting = false;
      if (ec) return;
      auto const now = steady::now();
      if (now >= s->due()) {
        s->fire();
        return;
      }
      if (s->tick && now >= s->next_tick) {
        s->next_tick = now + s->tick_every;
        try {
          s->tick();
        } catch (...) {
          s->tick_failure = std::current_exception();
          s->fire();
          return;
        }
        if (s->stream == nullptr) return;
      }
      wait(s);
    });
  }

  std::shared_ptr<state> s_;
};

/// What one request/response exchange ended with.
struct hop_result {
  response head;
  std::string location;  // set when this is a redirect to follow
};

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string base64(std::string_view in) {
  std::string out(beast::detail::base64::encoded_size(in.size()), '\0');
  out.resize(beast::detail::base64::encode(out.data(), in.data(), in.size()));
  return out;
}

/// The TLS module's io_status as this side's error_code (see http_tls.hpp for why).
boost::system::error_code local_error(detail::io_status s, const boost::system::error_code& ec) {
  switch (s) {
    case detail::io_status::ok:
      return {};
    case detail::io_status::eof:
      // With or without close_notify: Beast then ends a read-to-close body, or reports
      // a Content-Length body or a head as cut short.
      return asio::error::eof;
    case detail::io_status::timeout:
      return beast::error::timeout;
    case detail::io_status::aborted:
      return asio::error::operation_aborted;
    case detail::io_status::other:
      break;
  }
  return ec;
}

/// A tls_connection as an AsyncStream that Beast reads and writes.
class tls_stream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  explicit tls_stream(std::unique_ptr<detail::tls_connection> c) : c_(std::move(c)) {}
  executor_type get_executor() noexcept { return c_->lowest().get_executor(); }
  /// For beast::get_lowest_layer: the tcp_stream and its expiry.
  beast::tcp_stream& next_layer() noexcept { return c_->lowest(); }
  detail::tls_connection& connection() noexcept { return *c_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    asio::mutable_buffer first;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
      first = *it;
      if (first.size() > 0) break;
    }
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, asio::mutable_buffer b) {
          c_->async_read_some(b, [h = std::move(handler)](detail::io_status s, boost::system::error_code ec,
                                                          std::size_t n) mutable {
            std::move(h)(local_error(s, ec), n);
          });
        },
        token, first);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    // Beast writes a head as many small buffers: gather up to 16 KiB (one TLS record)
    // so that they go out in one record, not one each.
    asio::const_buffer out;
    auto const count = static_cast<std::size_t>(
        std::distance(asio::buffer_sequence_begin(buffers), asio::buffer_sequence_end(buffers)));
    if (count == 1) {
      out = *asio::buffer_sequence_begin(buffers);
    } else {
      gathered_.resize(std::min<std::size_t>(asio::buffer_size(buffers), 16 * 1024));
      gathered_.resize(asio::buffer_copy(asio::buffer(gathered_), buffers));
      out = asio::buffer(gathered_);
    }
    return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
        [this](auto handler, asio::const_buffer b) {
          c_->async_write_some(b, [h = std::move(handler)](detail::io_status s, boost::system::error_code ec,
                                                           std::size_t n) mutable {
            std::move(h)(local_error(s, ec), n);
          });
        },
        token, out);
  }

 private:
  std::unique_ptr<detail::tls_connection> c_;
  std::string gathered_;
};

/// A handshake or shutdown of a tls_connection (`step`), as an operation with a completion
/// token.
template <class Token>
auto tls_step(detail::tls_connection& c, void (detail::tls_connection::*step)(detail::tls_done_handler),
              Token&& token) {
  return asio::async_initiate<Token, void(boost::system::error_code)>(
      [&c, step](auto handler) {
        (c.*step)([h = std::move(handler)](detail::io_status s, boost::system::error_code ec) mutable {
          std::move(h)(local_error(s, ec));
        });
      },
      token);
}

/// The path part of an origin-form target ("/a/b?x" → "/a/b").
std::string_view target_path(const std::string& target) {
  return std::string_view(target).substr(0, target.find('?'));
}

/// What one hop sends.
struct hop_request {
  std::string method;
  std::string body;
  std::string content_type;
  bool credentials = true;  // Authorization and a Cookie header may go to this URL
};

bhttp::request<bhttp::string_body> build_request(const fetch_state& st, const target_url& url,
                                                 const hop_request& hr) {
  auto const& method = hr.method;
  bool const same_host = hr.credentials;
  bhttp::request<bhttp::string_body> req;
  auto const verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(url.target);
  req.version(11);
  req.set(bhttp::field::host, url.host_header);
  if (!st.opt.user_agent.empty()) req.set(bhttp::field::user_agent, st.opt.user_agent);
  req.set(bhttp::field::accept, "*/*");
  if (same_host && !st.opt.basic_auth.empty()) {
    std::string auth("Basic ");
    auth.append(base64(st.opt.basic_auth));
    req.set(bhttp::field::authorization, auth);
  }
  std::size_t left_out = 0;
  auto const cookies = st.jar->cookie_header(url.host, target_path(url.target), url.https,
                                             static_cast<std::int64_t>(std::time(nullptr)), &left_out);
  if (!cookies.empty()) req.set(bhttp::field::cookie, cookies);
  if (left_out > 0) {
    st.info(std::to_string(left_out) + " cookie(s) left out: the Cookie field is kept within " +
            std::to_string(cookie_jar::max_header_bytes) + " bytes and " +
            std::to_string(cookie_jar::max_header_cookies) + " cookies");
  }
  if (st.opt.decode_content) req.set(bhttp::field::accept_encoding, "gzip, deflate");
  if (!hr.content_type.empty()) req.set(bhttp::field::content_type, hr.content_type);
  if (!hr.body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.body() = hr.body;
    req.content_length(hr.body.size());
  }
  std::vector<std::string> replaced;
  for (const auto& h : st.opt.headers) {
    // Credentials stay with the host they were given for.
    if (!same_host && (beast::iequals(h.name, "authorization") || beast::iequals(h.name, "cookie"))) {
      continue;
    }
    bool const seen = std::any_of(replaced.begin(), replaced.end(),
                                  [&](const std::string& n) { return beast::iequals(n, h.name); });
    if (!seen) {
      req.erase(h.name);
      replaced.push_back(h.name);
    }
    if (!h.value.empty()) req.insert(h.name, h.value);
  }
  return req;
}

response to_response(const bhttp::response_parser<bhttp::buffer_body>& p, const target_url& url,
                     int redirects) {
  response r;
  const auto& m = p.get();
  r.url = url.url;
  r.version = m.version();
  r.status = m.result_int();
  r.reason = std::string(m.reason());
  for (const auto& f : m) r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  r.redirects = redirects;
  return r;
}

/// Sends the request and reads the reply on a connected stream (plain or TLS).
template <class Stream>
asio::awaitable<hop_result> exchange(fetch_state& st, Stream& stream, const target_url& url,
                                     const hop_request& hr, int redirects) {
  auto& lowest = beast::get_lowest_layer(stream);
  auto const idle = st.opt.idle_timeout;
  // From here on the watch keeps time, not the stream's expiry (one timer for the exchange).
  lowest.expires_never();
  transfer_watch watch(lowest, idle, st.end);
  auto const req = build_request(st, url, hr);
  if (st.opt.on_request) {
    std::ostringstream os;
    os << req.base();
    st.opt.on_request(os.str());
  }
  watch.touch();
  {
    auto [ec, n] = co_await bhttp::async_write(stream, req, tok);
    if (ec && watch.fired()) throw st.timed_out("sending the request", idle);
    if (ec) throw error(ec, "sending the request failed: " + ec.message());
  }

  bool const head_only = req.method() == bhttp::verb::head;
  beast::flat_buffer buffer;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> p;
  for (int interim = 0;; ++interim) {
    p.emplace();
    p->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(st.opt.header_limit, UINT32_MAX)));
    p->body_limit(boost::none);
    if (head_only) p->skip(true);
    watch.touch();
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, *p, tok);
    if (ec) {
      if (watch.fired()) throw st.timed_out("waiting for the response", idle);
      if (ec == bhttp::error::header_limit) {
        throw error(errc::malformed_reply,
                    "the response head is larger than " + std::to_string(st.opt.header_limit) +
                        " bytes");
      }
      if (ec == bhttp::error::end_of_stream) {
        throw error(errc::malformed_reply, "the server closed the connection without replying");
      }
      if (ec == bhttp::error::partial_message) {
        throw error(errc::malformed_reply,
                    "the server closed the connection in the middle of the response head");
      }
      if (is_http_error(ec)) {
        throw error(errc::malformed_reply, "malformed response from the server: " + ec.message());
      }
      throw error(ec, "receiving the response failed: " + ec.message());
    }
    auto const status = p->get().result_int();
    if (status < 100 || status > 599) {  // RFC 9110 15: three digits, 1xx to 5xx
      throw error(errc::malformed_reply, "the response has status " + std::to_string(status) +
                                                  ", not a status code from 100 to 599");
    }
    if (status >= 100 && status < 200 && status != 101) {
      if (interim >= max_interim_responses) {
        throw error(errc::malformed_reply, "too many interim (1xx) responses");
      }
      st.info("Skipped an interim response " + std::to_string(status));
      continue;
    }
    break;
  }
  const auto& msg = p->get();
  // Beast rejects Content-Length after a chunked Transfer-Encoding and any
  // Transfer-Encoding after Content-Length; this also catches "TE: gzip" then CL.
  if (msg.count(bhttp::field::content_length) > 0 && msg.count(bhttp::field::transfer_encoding) > 0) {
    throw error(errc::malformed_reply,
                "malformed response from the server: both Content-Length and Transfer-Encoding");
  }

  hop_result out;
  out.head = to_response(*p, url, redirects);
  for (const auto& h : out.head.headers) {
    if (beast::iequals(h.name, "set-cookie")) {
      st.jar->set_cookie(h.value, url.host, target_path(url.target), url.https,
                         static_cast<std::int64_t>(std::time(nullptr)));
    }
  }
  if (st.opt.follow_redirects && is_redirect(out.head.status)) {
    if (const auto* loc = out.head.find("location"); loc != nullptr && !loc->empty()) {
      out.location = *loc;
      if (st.opt.on_response) st.opt.on_response(out.head, false);
      co_return out;
    }
  }
  auto const limit = st.opt.max_body_bytes;
  if (limit > 0 && !head_only && !p->is_done() && p->content_length() && *p->content_length() > limit) {
    // As curl: refused before anything of it is written.
    throw error(errc::file_too_large,
                "the body is " + std::to_string(*p->content_length()) +
                    " bytes (Content-Length), more than --max-filesize " + std::to_string(limit));
  }
  if (st.opt.on_response) st.opt.on_response(out.head, true);
  if (st.opt.fail_on_error && out.head.status >= 400) {
    throw error(errc::http_status, "the server answered " + out.head.status_line().substr(9));
  }

  // --compressed: undo gzip / deflate as the body streams in.
  std::optional<content_decoder> decoder;
  if (st.opt.decode_content && !head_only) {
    // Several Content-Encoding fields are one list (RFC 9110 5.3).
    std::string ce;
    bool any = false;
    for (const auto& h : out.head.headers) {
      if (!beast::iequals(h.name, "content-encoding")) continue;
      if (any) ce.append(", ");
      ce.append(h.value);
      any = true;
    }
    if (any) {
      auto codings = parse_content_encoding(ce);
      if (!codings) {
        st.info("Content-Encoding '" + ce + "' is not gzip or deflate; the body is kept as sent");
      } else if (!codings->empty()) {
        decoder.emplace(std::move(*codings));
      }
    }
  }
  std::uint64_t delivered = 0;
  content_decoder::sink const to_sink = [&](std::string_view d) {
    if (limit > 0 && d.size() > limit - delivered) {
      // Exactly the limit reaches the sink; the rest is neither read nor decoded.
      auto const room = static_cast<std::size_t>(limit - delivered);
      delivered += room;
      if (st.opt.on_body && room > 0) st.opt.on_body(d.substr(0, room));
      throw error(errc::file_too_large,
                  std::string("the ") + (decoder ? "decoded " : "") + "body is larger than --max-filesize " +
                      std::to_string(limit) + " bytes");
    }
    delivered += d.size();
    if (st.opt.on_body) st.opt.on_body(d);
  };
  auto const deliver = [&](std::string_view data) {
    if (decoder) {
      decoder->write(data, to_sink);
    } else {
      to_sink(data);
    }
  };
  std::optional<std::uint64_t> total;
  if (auto const cl = p->content_length()) total = *cl;
  std::uint64_t received = 0;  // body bytes as sent (before decoding)
  auto const progress = [&] {
    if (st.opt.on_progress) st.opt.on_progress(received, total);
  };
  auto const body_failure = [&](boost::system::error_code ec) -> error {
    watch.rethrow_tick_failure();
    if (watch.fired()) return st.timed_out("reading the body", idle);
    if (ec == asio::error::eof) ec = bhttp::error::partial_message;
    std::string expected;
    if (total) expected = " of " + std::to_string(*total);
    if (ec == bhttp::error::partial_message || !is_http_error(ec)) {
      return error(errc::partial_body, "the body was cut short after " + std::to_string(received) +
                                                expected + " bytes (" + ec.message() + ")");
    }
    return error(errc::malformed_reply, "malformed body from the server: " + ec.message());
  };

  std::unique_ptr<char[]> chunk(new char[chunk_size]);
  if (!p->is_done()) progress();
  // A stalled download still redraws its progress line (the rate falls, the ETA grows).
  if (st.opt.on_progress && !p->is_done()) watch.tick(progress, progress_tick);
  if (!p->is_done() && total && !p->chunked()) {
    // A Content-Length body is plain bytes up to a known count, so it bypasses the parser:
    // read straight into the array (one copy fewer) and hand it on in large pieces.
    std::uint64_t remaining = *total;
    if (auto const early = buffer.data(); early.size() > 0) {  // read along with the head
      auto const take = static_cast<std::size_t>(std::min<std::uint64_t>(early.size(), remaining));
      received += take;
      remaining -= take;
      deliver(std::string_view(static_cast<const char*>(early.data()), take));
      buffer.consume(take);
      progress();
    }
    std::size_t filled = 0;
    while (remaining > 0) {
      auto const room = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size - filled, remaining));
      watch.touch();
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(chunk.get() + filled, room), tok);
      filled += n;
      received += n;
      remaining -= n;
      if (n > 0) progress();
      // TLS gives at most one 16 KiB record per read: gather them into large writes.
      if (!ec && remaining > 0 && filled < chunk_size / 2) continue;
      if (filled > 0) deliver(std::string_view(chunk.get(), std::exchange(filled, 0)));
      if (ec) throw body_failure(ec);
    }
  } else {
    while (!p->is_done()) {
      p->get().body().data = chunk.get();
      p->get().body().size = chunk_size;
      watch.touch();
      auto [ec, n] = co_await bhttp::async_read_some(stream, buffer, *p, tok);
      if (ec == bhttp::error::need_buffer) ec = {};
      std::size_t const got = chunk_size - p->get().body().size;
      if (got > 0) {
        received += got;
        deliver(std::string_view(chunk.get(), got));
        progress();
      }
      if (!ec) continue;
      throw body_failure(ec);
    }
  }
  if (decoder) decoder->finish();
  out.head.body_bytes = delivered;
  if (st.opt.fail_after_body && out.head.status >= 400) {
    throw error(errc::http_status, "the server answered " + out.head.status_line().substr(9));
  }
  co_return out;
}

/// The addresses of the URL's host, by `connect_by`.
asio::awaitable<std::vector<tcp::endpoint>> addresses(fetch_state& st, const target_url& url,
                                                      steady::time_point connect_by) {
  net::lookup_function fn;
  if (st.opt.resolve) {
    fn = [resolve = st.opt.resolve, port = url.port](const std::string& host, int ip_version) {
      net::address_list out;
      for (const auto& ep : resolve(host, port, ip_version)) out.push_back(ep.address());
      return out;
    };
  }
  auto found = co_await net::async_lookup(url.host, st.opt.ip_version, connect_by, std::move(fn));
  if (!found) throw st.timed_out("looking up '" + url.host + "'", st.opt.connect_timeout);
  std::vector<tcp::endpoint> out;
  for (const auto& a : *found) out.emplace_back(a, url.port);
  co_return out;
}

/// Resolves and connects by `connect_by` (--connect-timeout, within --max-time).
asio::awaitable<beast::tcp_stream> connect(fetch_state& st, const target_url& url,
                                           steady::time_point connect_by) {
  auto ex = co_await asio::this_coro::executor;
  auto const found = co_await addresses(st, url, connect_by);
  beast::tcp_stream stream(ex);
  stream.expires_at(connect_by);
  auto [ec, ep] = co_await stream.async_connect(found, tok);
  if (ec == beast::error::timeout) {
    throw st.timed_out("connecting to " + url.host + " port " + std::to_string(url.port),
                       st.opt.connect_timeout);
  }
  if (ec) {
    throw error(errc::cannot_connect, "cannot connect to " + url.host + " port " +
                                               std::to_string(url.port) + ": " + ec.message());
  }
  st.info("Connected to " + url.host + " (" + ep.address().to_string() + ") port " +
          std::to_string(ep.port()));
  co_return stream;
}

asio::awaitable<hop_result> hop(fetch_state& st, const target_url& url, const hop_request& hr,
                                int redirects) {
  // One deadline for the whole connection phase: lookup, TCP connect, TLS handshake.
  auto const connect_by = st.deadline(st.opt.connect_timeout);
  auto stream = co_await connect(st, url, connect_by);
  if (!url.https) {
    auto r = co_await exchange(st, stream, url, hr, redirects);
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return r;
  }
  // A TLS peer that closes without close_notify reads as eof (see local_error): it ends
  // a read-to-close body, as browsers and curl accept.
  tls_stream tls(st.tls_client().wrap(std::move(stream), url.host, url.host_is_address));
  tls.next_layer().expires_at(connect_by);
  auto [ec] = co_await tls_step(tls.connection(), &detail::tls_connection::async_handshake, tok);
  if (ec) {
    if (auto const why = tls.connection().verify_failure(); !why.empty()) {
      throw error(errc::tls_verify, "TLS certificate verification failed for " + url.host + ": " + why);
    }
    if (ec == beast::error::timeout) throw st.timed_out("the TLS handshake", st.opt.connect_timeout);
    throw error(ec, "TLS handshake with " + url.host + " failed: " + ec.message());
  }
  st.info(st.opt.insecure ? "TLS handshake done; certificate NOT verified (-k)"
                          : "TLS handshake done; certificate verified for " + url.host);
  auto r = co_await exchange(st, tls, url, hr, redirects);
  // Say goodbye with close_notify, so the server sees a clean end (one small write).
  tls.next_layer().expires_at(st.deadline(tls_shutdown_bound));
  auto [sec] = co_await tls_step(tls.connection(), &detail::tls_connection::async_shutdown, tok);
  if (sec) st.info("TLS close_notify not sent: " + sec.message());
  boost::system::error_code ignored;
  tls.next_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return r;
}

}  // namespace

asio::awaitable<response> fetch(request_options options) {
  fetch_state st;
  st.opt = std::move(options);
  if (st.opt.max_time.count() > 0) st.end = steady::now() + st.opt.max_time;
  if (st.opt.max_redirects < 0) st.opt.max_redirects = 0;
  if (st.opt.cookies != nullptr) st.jar = st.opt.cookies;
  target_url url = parse_user_url(st.opt.url);
  target_url const first = url;
  hop_request hr;
  hr.method = st.opt.method;
  hr.body = st.opt.body;
  hr.content_type = st.opt.content_type;
  bool downgraded = false;  // once https went to http, credentials stay behind
  for (int redirects = 0;; ++redirects) {
    downgraded = downgraded || (first.https && !url.https);
    hr.credentials = !downgraded && beast::iequals(url.host, first.host) &&
                     (url.port == first.port ||
                      (!first.https && url.https && first.port == 80 && url.port == 443));
    auto r = co_await hop(st, url, hr, redirects);
    if (r.location.empty()) co_return std::move(r.head);
    if (redirects >= st.opt.max_redirects) {
      throw error(errc::too_many_redirects,
                  "more than " + std::to_string(st.opt.max_redirects) + " redirects (the last to " +
                      r.location + ")");
    }
    auto const status = r.head.status;
    if ((status == 303 && hr.method != "HEAD") ||
        ((status == 301 || status == 302) && hr.method == "POST")) {
      hr.method = "GET";
      hr.body.clear();
      hr.content_type.clear();
    }
    url = resolve_location(url, r.location);
    st.info("Following a " + std::to_string(status) + " redirect to " + url.url);
  }
}

}  // namespace netdemo::http
