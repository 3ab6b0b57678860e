// Events a server reports. The library never prints: the embedding program decides.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>

namespace netdemo::net {

/// What happened.
enum class event_kind : std::uint8_t {
  listening,  ///< a listener is bound (`peer` is the local endpoint)
  opened,     ///< a stream session began
  closed,     ///< a stream session ended (`detail` is the reason)
  refused,    ///< a connection was turned away (`detail` says which limit)
  dropped,    ///< a datagram was dropped (`detail` says why)
  datagram,   ///< a datagram was answered (only reported when asked for: it is per message)
  warning,    ///< something went wrong but serving goes on (accept errors, backoff)
  error,      ///< a session failed unexpectedly; only that session was closed
  stopping,   ///< graceful stop began
};

/// Why a stream session ended. `to_string` gives the text `detail` carries in the log.
enum class close_reason : std::uint8_t {
  none,       ///< still open (the session has no reason to close yet); never on a close event
  eof,        ///< the peer closed its side ("eof")
  exit,       ///< the handler ended the session, e.g. on `exit` ("exit")
  too_long,   ///< a line over `max_line` ("limit:line")
  idle,       ///< silent for `idle_timeout` ("idle")
  evicted,    ///< closed for a new connection when the server was full ("evicted")
  shutdown,   ///< closed by a graceful stop ("shutdown")
  aborted,    ///< cut off by `abort()` or the end of the grace ("aborted")
  cancelled,  ///< its operation was cancelled from outside the server ("cancelled")
  reset,      ///< the peer reset the connection, or a write failed ("reset")
  error,      ///< a read failed otherwise, or the session threw ("error")
  handshake,  ///< the TLS handshake failed ("tls handshake"; the close event's detail adds why)
};

/// The log text of a close reason: "eof", "exit", "limit:line", "idle", "evicted",
/// "shutdown", "aborted", "cancelled", "reset", "error", "tls handshake"; "open" for `none`.
std::string_view to_string(close_reason r) noexcept;

/// One event. Views are valid only during the callback.
struct event {
  event_kind kind;          ///< what happened
  std::string_view peer;    ///< "127.0.0.1:5000", "[::1]:5000", a Unix path, or ""
  std::string_view detail;  ///< close reason, limit name, error text
  std::uint64_t bytes_in = 0;   ///< bytes received (on `closed` and `datagram` events)
  std::uint64_t bytes_out = 0;  ///< bytes sent (on `closed` and `datagram` events)
  /// On `closed` events, why (`detail` is `to_string(reason)`, and for `handshake` also
  /// the failure: "tls handshake: http request"); `none` on every other
  /// event, refusals included: a refusal names a limit, not the end of a session (an
  /// evicted or `limit:line` session reports its own `closed` event afterwards).
  close_reason reason = close_reason::none;
  /// On `closed` events, how long the session was open (from its `opened` event, on the
  /// steady clock); zero on every other event.
  std::chrono::steady_clock::duration duration{};
};

/// Receives events on the server's executor (the thread that runs it). Must not throw.
using log_sink = std::function<void(const event&)>;

/// The name of an event kind ("open", "close", ...); "event" for a value out of range.
std::string_view to_string(event_kind k) noexcept;

}  // namespace netdemo::net
