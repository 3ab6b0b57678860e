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

}  // namespace netdemo::net
