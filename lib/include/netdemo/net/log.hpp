// Events a server reports. The library never prints: the embedding program decides.
#pragma once

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

/// One event. Views are valid only during the callback.
struct event {
  event_kind kind;
  std::string_view peer;    ///< "127.0.0.1:5000", "[::1]:5000", a Unix path, or ""
  std::string_view detail;  ///< close reason, limit name, error text
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
};

/// Receives events on the server's executor. Must not throw.
using log_sink = std::function<void(const event&)>;

/// The name of an event kind ("open", "close", ...).
std::string_view to_string(event_kind k) noexcept;

}  // namespace netdemo::net
