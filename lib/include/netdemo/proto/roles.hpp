// The role registry: the one place that maps a `--role` name to its handlers.
// A new role is one protocol file plus one entry in each function below.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <string_view>

#include "netdemo/proto/command.hpp"
#include "netdemo/proto/framers.hpp"
#include "netdemo/proto/handlers.hpp"
#include "netdemo/proto/protocols.hpp"
#include "netdemo/proto/timestamp.hpp"

namespace netdemo::proto {

/// Settings a role's handler may need.
struct role_settings {
  std::size_t max_line = 64 * 1024;  ///< the line cap of text roles (`--max-line`)
  time_format time = time_format::ctime;                 ///< timestamp role
  std::shared_ptr<const command_config> commands;        ///< command role (default: cwd)
};

/// The command configuration of `s`, or one rooted at the working directory.
inline std::shared_ptr<const command_config> commands_of(const role_settings& s) {
  return s.commands ? s.commands : std::make_shared<const command_config>(".");
}

/// Every role name, in the order `--help` lists them.
inline constexpr std::array<std::string_view, 5> role_names{"hello", "echo", "upper", "timestamp",
                                                           "command"};

/// Calls `f(handler_prototype)` with the stream handler of `role`.
/// @return false when no such role exists.
template <class F>
bool with_stream_role(std::string_view role, const role_settings& s, F&& f) {
  if (role == "hello") return f(text_stream_handler<hello_protocol>({}, s.max_line)), true;
  if (role == "upper") return f(text_stream_handler<upper_protocol>({}, s.max_line)), true;
  if (role == "echo") return f(echo_stream_handler{}), true;
  if (role == "timestamp") {
    return f(text_stream_handler<timestamp_protocol>({s.time}, s.max_line)), true;
  }
  if (role == "command") {
    return f(text_stream_handler<command_protocol>({commands_of(s)}, s.max_line)), true;
  }
  return false;
}

/// How the stream roles frame messages (`--framing`; docs/protocols.md, "Framings").
enum class framing : std::uint8_t {
  line,   ///< lines ended by LF, CRLF or CR, or a pause (the default)
  raw,    ///< each read is one message (the tutorials' behaviour)
  len16,  ///< a 2-byte big-endian length, then the message
  len32,  ///< a 4-byte big-endian length, then the message
};

/// Every framing name, in the order `--help` lists them.
inline constexpr std::array<std::string_view, 4> framing_names{"line", "raw", "len16", "len32"};

/// The framing called `name`, or nothing for an unknown name.
inline std::optional<framing> parse_framing(std::string_view name) noexcept {
  for (std::size_t i = 0; i < framing_names.size(); ++i) {
    if (framing_names[i] == name) return static_cast<framing>(i);
  }
  return std::nullopt;
}

/// Calls `f(handler_prototype)` with the stream handler of `role` under `fr`. Lines get the
/// same handler types as the overload without a framing; the other framings share one handler
/// type per role (`chosen_framer`), so `f` is instantiated twice per text role, not four times.
/// Echo is framing-blind: it sends every byte back, which keeps any framing intact.
/// @return false when no such role exists.
template <class F>
bool with_stream_role(std::string_view role, framing fr, const role_settings& s, F&& f) {
  if (fr == framing::line || role == "echo") return with_stream_role(role, s, std::forward<F>(f));
  auto const framer = [&] {
    switch (fr) {
      case framing::len16: return chosen_framer(len16_framer(s.max_line));
      case framing::len32: return chosen_framer(len32_framer(s.max_line));
      case framing::raw:
      case framing::line: break;
    }
    return chosen_framer(raw_framer(s.max_line));
  }();
  using C = chosen_framer;
  if (role == "hello") return f(text_stream_handler<hello_protocol, C>({}, framer)), true;
  if (role == "upper") return f(text_stream_handler<upper_protocol, C>({}, framer)), true;
  if (role == "timestamp") {
    return f(text_stream_handler<timestamp_protocol, C>({s.time}, framer)), true;
  }
  if (role == "command") {
    return f(text_stream_handler<command_protocol, C>({commands_of(s)}, framer)), true;
  }
  return false;
}

/// Calls `f(handler)` with the datagram handler of `role`.
/// @return false when no such role exists.
template <class F>
bool with_datagram_role(std::string_view role, const role_settings& s, F&& f) {
  if (role == "hello") return f(text_datagram_handler<hello_protocol>({})), true;
  if (role == "upper") return f(text_datagram_handler<upper_protocol>({})), true;
  if (role == "echo") return f(echo_datagram_handler{}), true;
  if (role == "timestamp") return f(text_datagram_handler<timestamp_protocol>({s.time})), true;
  if (role == "command") {
    return f(text_datagram_handler<command_protocol>({commands_of(s)})), true;
  }
  return false;
}

}  // namespace netdemo::proto
