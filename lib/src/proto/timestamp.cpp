#include "netdemo/proto/timestamp.hpp"

namespace netdemo::proto {

std::optional<time_format> parse_time_format(std::string_view name) noexcept {
  if (name == "ctime") return time_format::ctime;
  if (name == "iso8601") return time_format::iso8601;
  return std::nullopt;
}

void append_time(std::time_t t, time_format f, std::string& out) {
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  if (f == time_format::ctime) {
    // strftime in the "C" locale (netdemo never calls setlocale) gives English names,
    // and %e pads the day with a space, exactly as ctime() does.
    std::size_t const n = std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
    out.append(buf, n);
    return;
  }
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  // %z is "+0800"; RFC 3339 wants "+08:00".
  if (n >= 5) {
    out.append(buf, n - 2);
    out.push_back(':');
    out.append(buf + n - 2, 2);
  } else {
    out.append(buf, n);
  }
}

void timestamp_protocol::on_message(std::string_view msg, std::string& out) const {
  out.push_back('[');
  append_time(std::time(nullptr), format, out);
  out.append("] ");
  out.append(msg);
}

}  // namespace netdemo::proto
