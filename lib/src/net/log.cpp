#include "netdemo/net/log.hpp"

namespace netdemo::net {

std::string_view to_string(event_kind k) noexcept {
  switch (k) {
    case event_kind::listening: return "listening";
    case event_kind::opened: return "open";
    case event_kind::closed: return "close";
    case event_kind::refused: return "refused";
    case event_kind::dropped: return "dropped";
    case event_kind::datagram: return "datagram";
    case event_kind::warning: return "warning";
    case event_kind::error: return "error";
    case event_kind::stopping: return "stopping";
  }
  return "event";
}

std::string_view to_string(close_reason r) noexcept {
  switch (r) {
    case close_reason::none: return "open";
    case close_reason::eof: return "eof";
    case close_reason::exit: return "exit";
    case close_reason::too_long: return "limit:line";
    case close_reason::idle: return "idle";
    case close_reason::evicted: return "evicted";
    case close_reason::shutdown: return "shutdown";
    case close_reason::aborted: return "aborted";
    case close_reason::cancelled: return "cancelled";
    case close_reason::reset: return "reset";
    case close_reason::error: return "error";
    case close_reason::handshake: return "tls handshake";
  }
  return "unknown";
}

}  // namespace netdemo::net
