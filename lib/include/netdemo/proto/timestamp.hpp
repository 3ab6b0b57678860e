// Seed 002 (tsTserv / tsUserv): every message comes back stamped with the local time.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace netdemo::proto {

/// How a time stamp is written.
enum class time_format : std::uint8_t {
  ctime,    ///< Python's time.ctime(): "Sun Nov  1 19:55:07 2026" (the seed's, the default)
  iso8601,  ///< RFC 3339 with the UTC offset: "2026-11-01T19:55:07+08:00"
};

/// Parses "ctime" or "iso8601".
std::optional<time_format> parse_time_format(std::string_view name) noexcept;

/// Appends `t` as local time in format `f` to `out`.
void append_time(std::time_t t, time_format f, std::string& out);

/// Replies `[<time>] <msg>`.
struct timestamp_protocol {
  static constexpr std::string_view name = "timestamp";  ///< the role name
  time_format format = time_format::ctime;  ///< how the time is written
  /// No greeting.
  std::string_view greeting() const noexcept { return {}; }
  /// Appends `[<now, local time>] <msg>` to `out`.
  void on_message(std::string_view msg, std::string& out) const;
};

}  // namespace netdemo::proto
