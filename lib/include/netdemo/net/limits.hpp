// The limits that protect a server. Every one is an option with a documented default
// (docs/limits.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

namespace netdemo::net {

/// Limits and timings of one server.
///
/// There is no line cap here: a server never looks at lines. The longest line a text
/// protocol accepts belongs to its framing and is given to its handler, once:
/// proto::text_stream_handler(protocol, max_line), or proto::role_settings::max_line for
/// the built-in roles (`--max-line`, default 64 KiB).
///
/// Threading: a plain value, copied into the server when it is made; changing it later
/// changes nothing.
struct server_limits {
  /// Concurrent stream sessions; one more gets a one-line refusal and is closed.
  std::size_t max_connections = 1024;
  /// A stream session with no input for this long is closed (reason `idle`).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(300)};
  /// Largest datagram answered; a longer one is dropped, never answered truncated.
  std::size_t max_datagram = 64 * 1024;
  /// How long a peer must stay quiet before an unterminated tail counts as a message.
  std::chrono::milliseconds pause{std::chrono::milliseconds(20)};
  /// A stream session stops reading (and stops feeding its handler) while this many
  /// bytes of its replies are unsent: the most a peer that never reads makes the server
  /// hold, plus one reply (the handler's batch stops once it reaches this mark).
  std::size_t max_unsent = 64 * 1024;
  /// When `max_connections` are open, a new connection closes the session that has been
  /// idle longest (no input for at least this long) of the address with the most sessions,
  /// instead of being refused. 0 turns eviction off (the new connection is refused).
  std::chrono::milliseconds evict_idle{std::chrono::seconds(1)};
  /// Wait before accepting again when the process is out of file descriptors.
  std::chrono::milliseconds accept_backoff{std::chrono::milliseconds(100)};
  /// Report every answered datagram (event_kind::datagram).
  bool log_datagrams = false;
};

/// Connections open in the stream servers that share it (one server per thread): a
/// server refuses a connection once `max_connections` are open in all of them.
/// Threading: every member may be called from any thread (relaxed atomics: a count, not
/// a synchronisation).
class connection_count {
 public:
  /// Counts one more connection unless `max` are open already.
  bool try_add(std::size_t max) noexcept {
    std::size_t n = open_.load(std::memory_order_relaxed);
    while (n < max) {
      if (open_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  /// Counts one more connection, whatever the limit (an adopted socket).
  void add() noexcept { open_.fetch_add(1, std::memory_order_relaxed); }
  /// Counts one connection less.
  void remove() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }
  /// Connections counted now (a snapshot: other threads may change it at once).
  std::size_t open() const noexcept { return open_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::size_t> open_{0};
};

}  // namespace netdemo::net
