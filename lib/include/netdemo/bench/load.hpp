// The load generator behind `netdemo bench`: many connections (TCP) or connected sockets
// (UDP) sending messages to a server and checking every reply, with latency recorded in
// a fixed-memory histogram. The library does no printing: progress and the result go
// back to the caller.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "netdemo/net/tls.hpp"
#include "netdemo/bench/histogram.hpp"
#include "netdemo/bench/replies.hpp"
#include "netdemo/proto/error.hpp"

namespace netdemo::bench {

/// Which transport carries the messages.
enum class transport : std::uint8_t { tcp, udp };

/// A snapshot handed to `options::on_progress` about once a second.
struct progress {
  const char* phase = "";         ///< "warm-up", "measuring", "draining"
  double elapsed_s = 0;           ///< since the phase began
  double msgs_per_s = 0;          ///< replies per second over the last interval
  double mb_per_s = 0;            ///< reply bytes per second over the last interval, 10^6
  std::uint64_t messages = 0;     ///< replies counted so far (measured phase only)
  std::uint64_t errors = 0;       ///< every error so far
  std::uint64_t open = 0;         ///< connections open now
};

/// What to run.
struct options {
  transport proto = transport::tcp;  ///< TCP connections or UDP sockets
  std::string host = "127.0.0.1";    ///< the server: a name (net::async_lookup) or an address
  std::uint16_t port = 0;            ///< the server's port
  role kind = role::echo;            ///< what the server answers, so replies can be checked
  std::size_t connections = 1;                ///< TCP connections or UDP sockets
  std::size_t message_size = 64;              ///< bytes per message (text roles: LF included)
  std::size_t pipeline = 1;                   ///< messages in flight per connection
  std::chrono::milliseconds duration{5000};   ///< measured time
  std::chrono::milliseconds warmup{1000};     ///< run but not counted, before measuring
  std::chrono::milliseconds timeout{5000};    ///< connect and reply timeout (UDP: loss timeout)
  std::size_t threads = 1;                    ///< io_contexts, one thread each (the caller's is one)
  bool reconnect = true;                      ///< re-establish a TCP connection that dropped
  /// TLS over each TCP connection, with this client context (net::tls_context::client);
  /// the handshake is part of connecting (its time is not measured).
  std::optional<net::tls_context> tls;
  std::string tls_server_name;  ///< name checked and sent as SNI; empty: `host`
  const std::atomic<bool>* cancel = nullptr;  ///< set (from anywhere) to end the run early
  std::function<void(const progress&)> on_progress;  ///< called on the calling thread
};

/// Errors seen during the whole run (warm-up and drain included).
struct error_counts {
  std::uint64_t mismatch = 0;        ///< a reply byte differed (wrong greeting, flipped/missing byte)
  std::uint64_t unexpected = 0;      ///< bytes beyond every reply asked for
  std::uint64_t truncated = 0;       ///< a reply had begun but never ended
  std::uint64_t closed = 0;          ///< the server closed a connection during the run
  std::uint64_t reset = 0;           ///< a connection failed (reset, broken pipe, ...)
  std::uint64_t refused = 0;         ///< UDP: the server port answered "connection refused"
  std::uint64_t connect_failed = 0;  ///< reconnection attempts that failed
  std::uint64_t timeouts = 0;        ///< TCP: no reply within the timeout (run or drain)
  std::uint64_t losses = 0;          ///< UDP: no reply within the timeout (sent again)

  /// Replies that were wrong (the CLI exits with 8 for them).
  std::uint64_t malformed() const noexcept { return mismatch + unexpected + truncated; }
  /// Every error counted.
  std::uint64_t total() const noexcept {
    return malformed() + closed + reset + refused + connect_failed + timeouts + losses;
  }
};

/// What a run measured.
struct result {
  double measured_s = 0;               ///< length of the measured phase
  double cpu_s = 0;                    ///< CPU time the generator used meanwhile (all threads)
  std::uint64_t messages = 0;          ///< replies received and validated while measuring
  std::uint64_t replies_total = 0;     ///< the same over the whole run
  std::uint64_t bytes_sent = 0;        ///< while measuring
  std::uint64_t bytes_received = 0;    ///< while measuring
  histogram latency;                   ///< round trip per message, nanoseconds, while measuring
  error_counts errors;                 ///< the errors of the whole run, by kind
  std::uint64_t late_replies = 0;      ///< UDP: a reply that came after its loss was counted
  std::uint64_t connects = 0;          ///< connections established (TCP), the first ones included
  std::uint64_t open_at_end = 0;       ///< connections open when measuring ended
  std::string first_error;             ///< the first error, described ("" when none)
  bool interrupted = false;            ///< `options::cancel` ended the run early
};

/// Runs the load and returns what it measured. Blocks; uses `threads - 1` extra threads.
/// Phases: connect all (each within `timeout`), warm-up, measure, drain (replies still
/// outstanding get up to `timeout`), stop.
/// Throws netdemo::error: cannot_resolve (6), cannot_connect (7) when a connection cannot
/// be established at the start, usage (2) for impossible options.
result run(const options& opt);

}  // namespace netdemo::bench
