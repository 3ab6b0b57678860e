#include "netdemo/bench/load.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "netdemo/proto/error.hpp"
#include "netdemo/net/endpoints.hpp"
#include "netdemo/net/lookup.hpp"
#include "netdemo/net/tls_stream.hpp"
#include "netdemo/net/would_block.hpp"
#include "netdemo/proto/text.hpp"

namespace netdemo::bench {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using clock_type = std::chrono::steady_clock;
using time_point = clock_type::time_point;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

/// The run's phases, in order. Workers read the phase; only the coordinator writes it.
enum phase : int { connecting, warming, measuring, draining, stopped };

/// A counter one thread writes and another reads: relaxed loads and stores compile to
/// plain moves, so counting costs nothing on the hot path.
struct counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n = 1) noexcept { v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::uint64_t n) noexcept { v.store(v.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

/// Per-worker counters: written on the worker's thread, read by the coordinator.
struct counters {
  counter messages, replies_total, bytes_sent, bytes_received;
  counter mismatch, unexpected, truncated, closed, reset, refused, connect_failed, timeouts,
      losses, late;
  counter connects, open, inflight, start_ok, start_failed;

  std::uint64_t errors() const noexcept {
    return mismatch.get() + unexpected.get() + truncated.get() + closed.get() + reset.get() +
           refused.get() + connect_failed.get() + timeouts.get() + losses.get();
  }
};

/// What every worker shares: read-only after start, except the phase.
struct shared_state {
  const options& opt;
  std::vector<tcp::endpoint> tcp_endpoints;
  std::vector<udp::endpoint> udp_endpoints;
  std::string target;  // "host:port" for messages
  std::atomic<int> phase{connecting};
  std::atomic<bool> abandoned{false};  // the run was cancelled: replies in flight are not errors

  explicit shared_state(const options& o) : opt(o) {}
  int now_phase() const noexcept { return phase.load(std::memory_order_relaxed); }
};

/// User + system CPU time of the whole process (every generator thread), in seconds.
double process_cpu_s() noexcept {
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

std::uint64_t nanos(clock_type::duration d) noexcept {
  auto const n = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return n < 0 ? 0 : static_cast<std::uint64_t>(n);
}

/// One TCP connection: a coroutine that connects and reconnects, and a session driven by
/// completion handlers, over preallocated buffers. Re-established after a failure when `reconnect` is on.
struct tcp_conn {
  tcp_conn(std::size_t id, asio::io_context& ioc, const options& o);

  std::size_t id;
  tcp::socket socket;                  // until the TLS handshake, which moves it into `tls`
  std::optional<net::tls_stream> tls;  // with options::tls, once connected
  asio::steady_timer ended;  // run_tcp sleeps on it while the session's handlers run
  asio::steady_timer retry;  // pause before reconnecting
  message_source source;
  reply_matcher matcher;
  std::vector<char> rbuf;
  std::vector<char> wbuf;
  std::vector<time_point> sent_at;  // ring: send time of message i at i % pipeline
  std::uint64_t sent = 0;           // messages sent on this connection
  time_point last_input{};
  time_point connect_deadline{};
  enum class state : std::uint8_t { connecting, running, down } st = state::down;
  bool writing = false;      // an async_write owns wbuf
  bool reader_done = false;  // the read loop ended; the session ends once no write is pending
  bool broken = false;       // the connection failed; both coroutines end
  bool timed_out = false;    // the sweep closed it
  bool stopping = false;     // the run is over: close quietly

  /// Calls `f` with the stream the session uses: the TLS stream, or the socket.
  template <class F>
  decltype(auto) with_stream(F&& f) {
    return tls ? f(*tls) : f(socket);
  }
  /// Closes the connection (TLS or not); pending operations end with errors.
  void close() noexcept {
    boost::system::error_code ignored;
    if (tls) tls->close(ignored);
    socket.close(ignored);
  }
};

/// One UDP "connection": a connected socket with `pipeline` datagrams in flight.
struct udp_conn {
  udp_conn(std::size_t id, asio::io_context& ioc, const options& o);

  struct slot {
    std::uint64_t index = 0;
    time_point sent{};
    bool busy = false;
  };
  std::size_t id;
  udp::socket socket;
  message_source source;
  std::vector<char> rbuf;
  std::vector<char> wbuf;
  std::vector<slot> slots;
  std::array<std::uint64_t, 32> lost{};  // recently lost message indexes (ring)
  std::size_t lost_count = 0;
  std::uint64_t next_index = 0;
  bool running = false;
  bool stopping = false;
};

/// One io_context with its share of the connections, run by one thread.
class worker {
 public:
  explicit worker(shared_state& s) : shared_(s), gate_(ioc_), sweep_(ioc_) {
    gate_.expires_at(time_point::max());
  }

  asio::io_context& ioc() noexcept { return ioc_; }
  counters& stats() noexcept { return stats_; }
  histogram& latency() noexcept { return latency_; }
  const std::string& first_error() const noexcept { return first_error_; }

  void add_connection(std::size_t id) {
    if (shared_.opt.proto == transport::tcp) {
      tcp_.push_back(std::make_unique<tcp_conn>(id, ioc_, shared_.opt));
    } else {
      udp_.push_back(std::make_unique<udp_conn>(id, ioc_, shared_.opt));
    }
  }

  /// Spawns every connection and the sweep; call before running the io_context.
  void start() {
    for (auto& c : tcp_) spawn(run_tcp(*c));
    for (auto& c : udp_) spawn(run_udp(*c));
    spawn(sweep());
  }

  /// On this worker's thread: the warm-up began, connections may send.
  void open_gate() { gate_.cancel(); }

  /// On this worker's thread: the run is over. Replies still outstanding are missing.
  void stop_all() {
    gate_.cancel();
    sweep_.cancel();
    boost::system::error_code ignored;
    for (auto& c : tcp_) {
      c->stopping = true;
      c->retry.cancel();
      if (c->st == tcp_conn::state::running && !c->broken && !shared_.abandoned.load(std::memory_order_relaxed)) {
        std::uint64_t const out = c->sent - c->matcher.replies_done();
        if (out > 0) {
          if (c->matcher.in_reply()) {
            stats_.truncated.add();
            note(c->id, "reply " + std::to_string(c->matcher.replies_done() + 1) +
                            " was cut short (the rest never came)");
          } else {
            stats_.timeouts.add(out);
            note(c->id, std::to_string(out) + " repl" + (out == 1 ? "y" : "ies") +
                            " still missing at the end, after waiting " +
                            duration_text(shared_.opt.timeout));
          }
        }
      }
      c->close();
    }
    for (auto& c : udp_) {
      c->stopping = true;
      c->socket.close(ignored);
    }
  }

  /// Records the first error of this worker, for the report.
  void note(std::size_t conn, const std::string& what) {
    if (first_error_.empty()) first_error_ = "connection " + std::to_string(conn + 1) + ": " + what;
  }

 private:
  bool counting() const noexcept { return shared_.now_phase() == measuring; }

  template <class Awaitable>
  void spawn(Awaitable a) {
    asio::co_spawn(ioc_, std::move(a), [this](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        stats_.reset.add();
        note(0, std::string("internal error: ") + x.what());
      }
    });
  }

  /// Sleeps until the coordinator opens the gate (all connections are up).
  asio::awaitable<void> wait_for_gate() {
    while (shared_.now_phase() == connecting) {
      co_await gate_.async_wait(tuple_awaitable);
    }
  }

  // ---- TCP ----

  /// Tries each resolved address in turn; the sweep closes a connect that takes too long.
  asio::awaitable<boost::system::error_code> connect(tcp_conn& c) {
    boost::system::error_code ec = asio::error::host_not_found;
    c.tls.reset();
    for (const auto& ep : shared_.tcp_endpoints) {
      c.socket = tcp::socket(ioc_);
      c.timed_out = false;
      c.st = tcp_conn::state::connecting;
      c.connect_deadline = clock_type::now() + shared_.opt.timeout;
      std::tie(ec) = co_await c.socket.async_connect(ep, tuple_awaitable);
      c.st = tcp_conn::state::down;
      if (c.timed_out) ec = asio::error::timed_out;
      if (!ec || c.stopping) break;
    }
    if (!ec) {
      boost::system::error_code ignored;
      c.socket.set_option(tcp::no_delay(true), ignored);
    }
    if (!ec && !c.stopping && shared_.opt.tls) ec = co_await handshake(c);
    co_return ec;
  }

  /// The TLS handshake, within the connect timeout (the sweep closes it when late).
  asio::awaitable<boost::system::error_code> handshake(tcp_conn& c) {
    auto const& o = shared_.opt;
    c.tls.emplace(std::move(c.socket), *o.tls, o.tls_server_name.empty() ? o.host : o.tls_server_name);
    c.st = tcp_conn::state::connecting;
    auto [ec] = co_await c.tls->async_handshake(tuple_awaitable);
    c.st = tcp_conn::state::down;
    if (c.timed_out) co_return asio::error::timed_out;
    co_return ec;
  }

  /// Why a connection attempt failed, one line.
  std::string connect_failure(tcp_conn& c, boost::system::error_code ec) const {
    if (ec == asio::error::timed_out) return "no answer within " + duration_text(shared_.opt.timeout);
    if (c.tls && !c.tls->failure().empty()) return "TLS: " + c.tls->failure();
    return ec.message();
  }

  asio::awaitable<void> run_tcp(tcp_conn& c) {
    bool first = true;
    auto backoff = std::chrono::milliseconds(50);
    while (!c.stopping && shared_.now_phase() < draining) {
      auto const ec = co_await connect(c);
      if (c.stopping) break;
      if (ec) {
        std::string what = "cannot connect to " + shared_.target + ": " + connect_failure(c, ec);
        c.close();
        if (first) {
          stats_.start_failed.add();
          note(c.id, what);
          break;
        }
        stats_.connect_failed.add();
        note(c.id, what);
        if (!shared_.opt.reconnect) break;
        c.retry.expires_after(backoff);
        co_await c.retry.async_wait(tuple_awaitable);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
        continue;
      }
      boost::system::error_code ignored;
      stats_.connects.add();
      if (first) {
        first = false;
        stats_.start_ok.add();
        co_await wait_for_gate();
        if (c.stopping) break;
      }
      c.matcher.reset(shared_.opt.kind == role::hello);
      c.sent = 0;
      c.broken = c.writing = c.reader_done = c.timed_out = false;
      c.with_stream([&](auto& s) { s.non_blocking(true, ignored); });
      auto const began = clock_type::now();
      c.last_input = began;
      c.st = tcp_conn::state::running;
      stats_.open.add();
      // The session itself runs as completion handlers (see on_read); this coroutine
      // only waits for it to end.
      fill_and_send(c);
      start_read(c);
      while (!(c.reader_done && !c.writing)) {
        c.ended.expires_at(time_point::max());
        co_await c.ended.async_wait(tuple_awaitable);
      }
      if (clock_type::now() - began >= std::chrono::seconds(1)) backoff = std::chrono::milliseconds(50);
      stats_.open.sub(1);
      stats_.inflight.sub(c.sent - c.matcher.replies_done());
      c.st = tcp_conn::state::down;
      c.close();
      if (!shared_.opt.reconnect) break;
      // A connection that lived a while (a backend killed behind a balancer) is replaced
      // at once; one that keeps failing fast (a broken server) is retried ever slower.
      if (clock_type::now() - began < std::chrono::seconds(1) && !c.stopping) {
        c.retry.expires_after(backoff);
        co_await c.retry.async_wait(tuple_awaitable);
        backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      }
    }
  }

  /// Marks `c` failed and closes the socket: the pending wait and write end with errors.
  void break_tcp(tcp_conn& c) {
    c.broken = true;
    c.close();
  }

  /// Fills every free pipeline slot and writes the messages at once, without blocking.
  /// What the kernel does not take goes to the writer coroutine, which owns `wbuf` until
  /// it is written; nothing new is generated meanwhile.
  void fill_and_send(tcp_conn& c) {
    if (c.writing || c.broken || c.stopping || shared_.now_phase() >= draining) return;
    std::size_t const depth = shared_.opt.pipeline;
    std::size_t const size = c.source.size();
    std::uint64_t const out = c.sent - c.matcher.replies_done();
    if (out >= depth) return;
    std::size_t const k = static_cast<std::size_t>(depth - out);
    auto const now = clock_type::now();
    for (std::size_t j = 0; j < k; ++j) {
      c.source.fill(c.sent + j, c.wbuf.data() + j * size);
      c.sent_at[(c.sent + j) % depth] = now;
    }
    if (out == 0) c.last_input = now;  // the reply timeout starts now
    c.sent += k;
    stats_.inflight.add(k);
    if (counting()) stats_.bytes_sent.add(k * size);
    boost::system::error_code ec;
    std::size_t const n =
        c.with_stream([&](auto& s) { return s.write_some(asio::buffer(c.wbuf.data(), k * size), ec); });
    if (net::would_block(ec)) {
      ec.clear();
    } else if (ec) {
      stats_.reset.add();
      note(c.id, "send failed: " + ec.message());
      break_tcp(c);
      return;
    }
    std::size_t const written = ec ? 0 : n;
    if (written < k * size) {
      c.writing = true;
      c.with_stream([&](auto& s) {
        asio::async_write(s, asio::buffer(c.wbuf.data() + written, k * size - written),
                          [this, &c](boost::system::error_code wec, std::size_t) {
                            try {
                              written_rest(c, wec);
                            } catch (...) {  // as in start_read; the read side ends the session
                              stats_.reset.add();
                              break_tcp(c);
                            }
                          });
      });
    }
  }

  /// The rest of a batch is written: refill, or end the session if the reader has ended.
  void written_rest(tcp_conn& c, boost::system::error_code ec) {
    c.writing = false;
    if (ec && !c.broken && !c.stopping) {
      stats_.reset.add();
      note(c.id, "send failed: " + ec.message());
      break_tcp(c);
    }
    if (c.reader_done) {
      c.ended.cancel();
      return;
    }
    fill_and_send(c);
  }

  /// The read side of a session, as completion handlers rather than a coroutine: a
  /// coroutine resumption per message cost a fifth more CPU than echoload in the 50
  /// connection ping-pong, where the generator is the limit. A read kept pending in the
  /// connection's buffer costs no system call to queue; a readiness wait (`async_wait`)
  /// would re-arm epoll with `epoll_ctl` every time in Asio 1.26.
  void start_read(tcp_conn& c) {
    c.with_stream([&](auto& s) {
      s.async_read_some(asio::buffer(c.rbuf), [this, &c](boost::system::error_code ec, std::size_t n) {
        try {
          on_read(c, ec, n);
        } catch (...) {
          reader_failed(c);
        }
      });
    });
  }

  /// Reads again after `take_replies`, or ends the read side of the session.
  ///
  /// With other connections, the next read waits until their ready handlers have run:
  /// Asio 1.26 tries a read at once after every successful one, and right after sending
  /// the next message that read finds no reply yet (EAGAIN), a system call per message.
  /// After the others have had their turn the reply has often come (50 connections:
  /// 2.0 -> 1.2 recv per message, counted with perf stat; see stream_server's yield).
  void on_read(tcp_conn& c, boost::system::error_code ec, std::size_t n) {
    if (take_replies(c, ec, n)) {
      if (tcp_.size() == 1) {
        start_read(c);
        return;
      }
      asio::post(ioc_, [this, &c] {
        try {
          start_read(c);
        } catch (...) {
          reader_failed(c);
        }
      });
      return;
    }
    c.reader_done = true;
    if (!c.writing) c.ended.cancel();
  }

  /// Out of memory for an error text or a read: end this session, keep the run.
  void reader_failed(tcp_conn& c) {
    stats_.reset.add();
    break_tcp(c);
    c.reader_done = true;
    if (!c.writing) c.ended.cancel();
  }

  /// Checks what a read brought and sends the next messages. @return false when the
  /// read side ends (an error, a wrong reply, drained, or the run is over).
  bool take_replies(tcp_conn& c, boost::system::error_code ec, std::size_t n) {
    std::size_t const depth = shared_.opt.pipeline;
    if (c.broken || c.stopping) return false;  // counted already, or the run is over
    if (ec) {
      std::uint64_t const out = c.sent - c.matcher.replies_done();
      if (ec == asio::error::eof || ec == net::tls_errc::truncated) {
        stats_.closed.add();
        std::string what = "the server closed the connection";
        if (out > 0) what += " with " + std::to_string(out) + " repl" + (out == 1 ? "y" : "ies") + " outstanding";
        if (c.matcher.in_reply()) what += " (one cut short)";
        note(c.id, what);
      } else {
        stats_.reset.add();
        note(c.id, "connection failed: " + ec.message());
      }
      break_tcp(c);
      return false;
    }
    auto const now = clock_type::now();
    c.last_input = now;
    bool const count = counting();
    if (count) stats_.bytes_received.add(n);
    std::uint64_t const before = c.matcher.replies_done();
    auto const status = c.matcher.feed(std::string_view(c.rbuf.data(), n), c.sent);
    std::uint64_t const after = c.matcher.replies_done();
    if (after != before) {
      stats_.replies_total.add(after - before);
      stats_.inflight.sub(after - before);
      if (count) {
        stats_.messages.add(after - before);
        for (std::uint64_t i = before; i < after; ++i) latency_.record(nanos(now - c.sent_at[i % depth]));
      }
    }
    if (status != check_status::ok) {
      if (status == check_status::mismatch) stats_.mismatch.add();
      else stats_.unexpected.add();
      note(c.id, c.matcher.error());
      break_tcp(c);
      return false;
    }
    if (shared_.now_phase() >= draining) {
      if (!c.writing && c.sent == after) return false;  // drained
    } else {
      fill_and_send(c);
    }
    return !c.broken;
  }

  // ---- UDP ----

  void send_udp(udp_conn& c, udp_conn::slot& s) {
    s.index = c.next_index++;
    s.sent = clock_type::now();
    s.busy = true;
    c.source.fill(s.index, c.wbuf.data());
    boost::system::error_code ec;
    c.socket.send(asio::buffer(c.wbuf.data(), c.source.size()), 0, ec);
    if (ec == asio::error::connection_refused) {
      stats_.refused.add();
      note(c.id, "no server on " + shared_.target + " (connection refused)");
    } else if (ec) {
      stats_.reset.add();
      note(c.id, "send failed: " + ec.message());
    }
    stats_.inflight.add(1);
    if (counting()) stats_.bytes_sent.add(c.source.size());
  }

  void free_slot(udp_conn::slot& s) {
    s.busy = false;
    stats_.inflight.sub(1);
  }

  bool udp_busy(const udp_conn& c) const {
    for (const auto& s : c.slots) {
      if (s.busy) return true;
    }
    return false;
  }

  asio::awaitable<void> run_udp(udp_conn& c) {
    boost::system::error_code ec = asio::error::host_not_found;
    for (const auto& ep : shared_.udp_endpoints) {
      c.socket = udp::socket(ioc_);
      c.socket.open(ep.protocol(), ec);
      if (!ec) c.socket.connect(ep, ec);
      if (!ec) break;
    }
    if (ec) {
      stats_.start_failed.add();
      note(c.id, "cannot connect to " + shared_.target + ": " + ec.message());
      co_return;
    }
    stats_.start_ok.add();
    stats_.connects.add();
    co_await wait_for_gate();
    if (c.stopping) co_return;
    c.running = true;
    stats_.open.add();
    for (auto& s : c.slots) send_udp(c, s);
    while (!c.stopping) {
      auto [rec, n] = co_await c.socket.async_receive(asio::buffer(c.rbuf), tuple_awaitable);
      if (c.stopping) break;
      if (rec == asio::error::connection_refused) {
        // An earlier datagram found no server; its slot times out and is sent again.
        stats_.refused.add();
        note(c.id, "no server on " + shared_.target + " (connection refused)");
        continue;
      }
      if (rec) {
        stats_.reset.add();
        note(c.id, "receive failed: " + rec.message());
        break;
      }
      on_datagram(c, std::string_view(c.rbuf.data(), n));
      if (shared_.now_phase() >= draining && !udp_busy(c)) break;
    }
    c.running = false;
    stats_.open.sub(1);
    for (auto& s : c.slots) {
      if (s.busy) free_slot(s);
    }
  }

  void on_datagram(udp_conn& c, std::string_view d) {
    auto const now = clock_type::now();
    bool const count = counting();
    if (count) stats_.bytes_received.add(d.size());
    // The reply to an outstanding message? Oldest first: that is the usual order.
    udp_conn::slot* oldest = nullptr;
    for (auto& s : c.slots) {
      if (s.busy && (oldest == nullptr || s.index < oldest->index)) oldest = &s;
    }
    std::string why;
    if (oldest != nullptr) {
      why = reply_matcher::check_datagram(c.source, oldest->index, d);
      udp_conn::slot* match = why.empty() ? oldest : nullptr;
      for (auto& s : c.slots) {
        if (match != nullptr) break;
        if (s.busy && &s != oldest && reply_matcher::check_datagram(c.source, s.index, d).empty()) match = &s;
      }
      if (match != nullptr) {
        stats_.replies_total.add();
        if (count) {
          stats_.messages.add();
          latency_.record(nanos(now - match->sent));
        }
        free_slot(*match);
        if (shared_.now_phase() < draining) send_udp(c, *match);
        return;
      }
    }
    // A reply to a message already counted as lost?
    std::size_t const kept = std::min(c.lost_count, c.lost.size());
    for (std::size_t i = 0; i < kept; ++i) {
      if (reply_matcher::check_datagram(c.source, c.lost[i], d).empty()) {
        stats_.late.add();
        return;
      }
    }
    if (oldest == nullptr) {
      stats_.unexpected.add();
      note(c.id, "a datagram nobody asked for (" + std::to_string(d.size()) + " bytes)");
      return;
    }
    // A wrong reply: it answers the oldest message, wrongly.
    stats_.mismatch.add();
    note(c.id, why);
    free_slot(*oldest);
    if (shared_.now_phase() < draining) send_udp(c, *oldest);
  }

  /// Connect timeouts, TCP reply timeouts, UDP losses.
  asio::awaitable<void> sweep() {
    auto const timeout = shared_.opt.timeout;
    auto const tick = std::clamp(timeout / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
    while (shared_.now_phase() != stopped) {
      sweep_.expires_after(tick);
      co_await sweep_.async_wait(tuple_awaitable);
      auto const now = clock_type::now();
      for (auto& c : tcp_) {
        if (c->stopping) continue;
        if (c->st == tcp_conn::state::connecting && now > c->connect_deadline) {
          c->timed_out = true;
          c->close();
        } else if (c->st == tcp_conn::state::running && !c->broken) {
          std::uint64_t const done = c->matcher.replies_done();
          if (c->sent > done && now - c->last_input > timeout) {
            if (c->matcher.in_reply()) {  // part of it came: bytes are missing
              stats_.truncated.add();
              note(c->id, "reply " + std::to_string(done + 1) + " stopped short (no more bytes within " +
                              duration_text(timeout) + ")");
            } else {
              stats_.timeouts.add();
              note(c->id, "no reply within " + duration_text(timeout) + " (reply " +
                              std::to_string(done + 1) + ")");
            }
            break_tcp(*c);
          }
        }
      }
      for (auto& c : udp_) {
        if (!c->running || c->stopping) continue;
        for (auto& s : c->slots) {
          if (!s.busy || now - s.sent <= timeout) continue;
          stats_.losses.add();
          note(c->id, "a reply was lost (none within " + duration_text(timeout) + ")");
          c->lost[c->lost_count++ % c->lost.size()] = s.index;
          free_slot(s);
          if (shared_.now_phase() < draining) send_udp(*c, s);
        }
      }
    }
  }

  shared_state& shared_;
  asio::io_context ioc_{1};
  asio::steady_timer gate_;
  asio::steady_timer sweep_;
  counters stats_;
  histogram latency_;
  std::string first_error_;
  std::vector<std::unique_ptr<tcp_conn>> tcp_;
  std::vector<std::unique_ptr<udp_conn>> udp_;
};

std::size_t read_buffer_size(const options& o) {
  std::size_t const want = o.pipeline * (o.message_size + 64);
  return std::clamp<std::size_t>(want, 16 * 1024, 64 * 1024);
}

std::uint64_t seed_of(std::size_t id) noexcept { return 0x5EEDULL + id * 7919; }

tcp_conn::tcp_conn(std::size_t i, asio::io_context& ioc, const options& o)
    : id(i),
      socket(ioc),
      ended(ioc),
      retry(ioc),
      source(o.kind, o.message_size, seed_of(i)),
      matcher(source, o.kind == role::hello),
      rbuf(read_buffer_size(o)),
      wbuf(o.pipeline * o.message_size),
      sent_at(o.pipeline) {}

udp_conn::udp_conn(std::size_t i, asio::io_context& ioc, const options& o)
    : id(i),
      socket(ioc),
      source(o.kind, o.message_size, seed_of(i)),
      // Room for the longest right reply (a time stamp adds at most 29 bytes) and more:
      // a longer datagram is cut, and then it does not match either.
      rbuf(o.message_size + 64),
      wbuf(o.message_size),
      slots(o.pipeline) {}

/// Lets the process open one descriptor per connection (and some spare).
void raise_descriptor_limit(std::size_t connections) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rlim_t const want = static_cast<rlim_t>(connections) + 64;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = std::min(want, rl.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

void validate(const options& o) {
  auto bad = [](const std::string& what) { return error(errc::invalid_argument, what); };
  if (o.connections == 0) throw bad("at least one connection is needed");
  if (o.pipeline == 0) throw bad("the pipeline depth must be at least 1");
  if (o.threads == 0) throw bad("at least one thread is needed");
  if (o.message_size == 0) throw bad("the message size must be at least 1 byte");
  if (o.kind != role::echo && o.message_size < 2) {
    throw bad("text roles need messages of at least 2 bytes (a character and the LF)");
  }
  if (o.proto == transport::udp && o.message_size > 65507) throw bad("a UDP message holds at most 65507 bytes");
  if (o.timeout.count() <= 0) throw bad("the timeout must be above 0");
  if (o.port == 0) throw bad("port 0 cannot be connected to");
}

std::string host_port(const std::string& host, std::uint16_t port) {
  bool const v6 = host.find(':') != std::string::npos;
  std::string s = v6 ? "[" : "";
  s.append(host);
  if (v6) s.push_back(']');
  s.push_back(':');
  s.append(std::to_string(port));
  return s;
}

/// The server's addresses, looked up once before the workers start, within `timeout`.
void resolve(shared_state& s) {
  const options& o = s.opt;
  asio::io_context ioc;
  std::optional<net::address_list> found;
  std::exception_ptr failure;
  asio::co_spawn(ioc, net::async_lookup(o.host, 0, std::chrono::steady_clock::now() + o.timeout),
                 [&](std::exception_ptr e, std::optional<net::address_list> r) {
                   failure = e;
                   found = std::move(r);
                 });
  ioc.run();
  if (failure) std::rethrow_exception(failure);
  if (!found) {
    throw error(errc::timeout, "cannot resolve '" + o.host + "': no answer within " +
                                   duration_text(o.timeout));
  }
  for (const auto& a : *found) {
    if (o.proto == transport::tcp) {
      s.tcp_endpoints.emplace_back(a, o.port);
    } else {
      s.udp_endpoints.emplace_back(a, o.port);
    }
  }
}

/// Drives the phases from worker 0's thread, polling the shared counters.
class coordinator {
 public:
  coordinator(shared_state& s, std::vector<std::unique_ptr<worker>>& w, result& r)
      : shared_(s), workers_(w), result_(r), timer_(w.front()->ioc()) {}

  asio::awaitable<void> run() {
    const options& o = shared_.opt;
    // Connect: every connection reports success or failure within its timeout.
    std::uint64_t const total = o.connections;
    while (sum(&counters::start_ok) + sum(&counters::start_failed) < total && !cancelled()) co_await tick();
    if (sum(&counters::start_failed) > 0 || cancelled()) {
      start_failed_ = sum(&counters::start_failed) > 0;
      result_.interrupted = cancelled();
      finish();
      co_return;
    }
    set_phase(warming);
    for (auto& w : workers_) asio::post(w->ioc(), [p = w.get()] { p->open_gate(); });
    co_await run_phase("warm-up", o.warmup);
    set_phase(measuring);
    auto const begin = clock_type::now();
    double const cpu_begin = process_cpu_s();
    co_await run_phase("measuring", o.duration);
    set_phase(draining);
    auto const end = clock_type::now();
    result_.measured_s = std::chrono::duration<double>(end - begin).count();
    result_.cpu_s = process_cpu_s() - cpu_begin;
    result_.open_at_end = sum(&counters::open);
    // Drain: replies in flight get up to the timeout; after a cancel, up to a second, and
    // what is still in flight then was abandoned, not lost.
    auto const drain = result_.interrupted ? std::min<std::chrono::milliseconds>(o.timeout, std::chrono::seconds(1))
                                           : o.timeout;
    while (sum(&counters::inflight) > 0 && clock_type::now() - end < drain) co_await tick();
    shared_.abandoned.store(result_.interrupted, std::memory_order_relaxed);
    finish();
  }

  bool start_failed() const noexcept { return start_failed_; }

 private:
  bool cancelled() const noexcept {
    return shared_.opt.cancel != nullptr && shared_.opt.cancel->load(std::memory_order_relaxed);
  }

  std::uint64_t sum(counter counters::*field) const {
    std::uint64_t n = 0;
    for (const auto& w : workers_) n += (w->stats().*field).get();
    return n;
  }

  std::uint64_t errors() const {
    std::uint64_t n = 0;
    for (const auto& w : workers_) n += w->stats().errors();
    return n;
  }

  void set_phase(phase p) { shared_.phase.store(p, std::memory_order_relaxed); }

  asio::awaitable<void> tick() {
    timer_.expires_after(std::chrono::milliseconds(10));
    co_await timer_.async_wait(tuple_awaitable);
  }

  /// Runs one phase for `length`, reporting progress once a second.
  asio::awaitable<void> run_phase(const char* name, std::chrono::milliseconds length) {
    auto const begin = clock_type::now();
    auto last = begin;
    std::uint64_t last_replies = sum(&counters::replies_total);
    std::uint64_t last_bytes = sum(&counters::bytes_received);
    while (clock_type::now() - begin < length) {
      if (cancelled()) {
        result_.interrupted = true;
        co_return;
      }
      co_await tick();
      auto const now = clock_type::now();
      if (shared_.opt.on_progress && now - last >= std::chrono::seconds(1)) {
        double const dt = std::chrono::duration<double>(now - last).count();
        std::uint64_t const replies = sum(&counters::replies_total);
        std::uint64_t const bytes = sum(&counters::bytes_received);
        progress p;
        p.phase = name;
        p.elapsed_s = std::chrono::duration<double>(now - begin).count();
        p.msgs_per_s = static_cast<double>(replies - last_replies) / dt;
        // bytes_received counts only while measuring; the warm-up shows messages only.
        p.mb_per_s = static_cast<double>(bytes - last_bytes) / dt / 1e6;
        p.messages = sum(&counters::messages);
        p.errors = errors();
        p.open = sum(&counters::open);
        shared_.opt.on_progress(p);
        last = now;
        last_replies = replies;
        last_bytes = bytes;
      }
    }
  }

  void finish() {
    set_phase(stopped);
    timer_.cancel();
    for (auto& w : workers_) asio::post(w->ioc(), [p = w.get()] { p->stop_all(); });
  }

  shared_state& shared_;
  std::vector<std::unique_ptr<worker>>& workers_;
  result& result_;
  asio::steady_timer timer_;
  bool start_failed_ = false;
};

}  // namespace

result run(const options& opt) {
  validate(opt);
  shared_state shared(opt);
  shared.target = host_port(opt.host, opt.port);
  resolve(shared);
  raise_descriptor_limit(opt.connections);

  std::size_t const nthreads = std::min(opt.threads, opt.connections);
  std::vector<std::unique_ptr<worker>> workers;
  for (std::size_t i = 0; i < nthreads; ++i) workers.push_back(std::make_unique<worker>(shared));
  for (std::size_t c = 0; c < opt.connections; ++c) workers[c % nthreads]->add_connection(c);
  for (auto& w : workers) w->start();

  result r;
  coordinator coord(shared, workers, r);
  std::exception_ptr failure;
  asio::co_spawn(workers.front()->ioc(), coord.run(), [&](std::exception_ptr e) {
    if (e) {
      failure = e;
      // Never leave the others running.
      shared.phase.store(stopped);
      for (auto& w : workers) asio::post(w->ioc(), [p = w.get()] { p->stop_all(); });
    }
  });
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < nthreads; ++i) {
    threads.emplace_back([&w = *workers[i]] { w.ioc().run(); });
  }
  workers.front()->ioc().run();
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);

  std::string first;
  for (auto& w : workers) {
    if (first.empty()) first = w->first_error();
  }
  if (coord.start_failed()) throw error(errc::cannot_connect, first);

  for (auto& w : workers) {
    const counters& s = w->stats();
    r.messages += s.messages.get();
    r.replies_total += s.replies_total.get();
    r.bytes_sent += s.bytes_sent.get();
    r.bytes_received += s.bytes_received.get();
    r.errors.mismatch += s.mismatch.get();
    r.errors.unexpected += s.unexpected.get();
    r.errors.truncated += s.truncated.get();
    r.errors.closed += s.closed.get();
    r.errors.reset += s.reset.get();
    r.errors.refused += s.refused.get();
    r.errors.connect_failed += s.connect_failed.get();
    r.errors.timeouts += s.timeouts.get();
    r.errors.losses += s.losses.get();
    r.late_replies += s.late.get();
    r.connects += s.connects.get();
    r.latency.merge(w->latency());
  }
  r.first_error = first;
  return r;
}

}  // namespace netdemo::bench
