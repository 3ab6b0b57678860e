#include "netdemo/proto/line_framer.hpp"

namespace netdemo::proto {

std::string_view ending_bytes(line_ending e) noexcept {
  switch (e) {
    case line_ending::lf: return "\n";
    case line_ending::crlf: return "\r\n";
    case line_ending::cr: return "\r";
    case line_ending::none: break;
  }
  return {};
}

void line_framer::release_if_large() noexcept {
  // An idle session should not keep the memory of one long line it once received.
  constexpr std::size_t keep = 256;
  if (partial_.empty() && partial_.capacity() > keep) std::string().swap(partial_);
}

}  // namespace netdemo::proto

#include "netdemo/proto/handlers.hpp"

namespace netdemo::proto {

std::pair<std::string_view, line_ending> strip_ending(std::string_view d) noexcept {
  if (d.ends_with("\r\n")) return {d.substr(0, d.size() - 2), line_ending::crlf};
  if (d.ends_with('\n')) return {d.substr(0, d.size() - 1), line_ending::lf};
  if (d.ends_with('\r')) return {d.substr(0, d.size() - 1), line_ending::cr};
  return {d, line_ending::none};
}

}  // namespace netdemo::proto
