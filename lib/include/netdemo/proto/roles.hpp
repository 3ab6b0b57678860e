// The role registry: the one place that maps a `--role` name to its handlers.
// A new role is one protocol file plus one entry in each function below.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "netdemo/proto/handlers.hpp"
#include "netdemo/proto/protocols.hpp"

namespace netdemo::proto {

/// Settings a role's handler may need.
struct role_settings {
  std::size_t max_line = 64 * 1024;
};

/// Every role name, in the order `--help` lists them.
inline constexpr std::array<std::string_view, 3> role_names{"hello", "echo", "upper"};

/// Calls `f(handler_prototype)` with the stream handler of `role`.
/// @return false when no such role exists.
template <class F>
bool with_stream_role(std::string_view role, const role_settings& s, F&& f) {
  if (role == "hello") return f(text_stream_handler<hello_protocol>({}, s.max_line)), true;
  if (role == "upper") return f(text_stream_handler<upper_protocol>({}, s.max_line)), true;
  if (role == "echo") return f(echo_stream_handler{}), true;
  return false;
}

/// Calls `f(handler)` with the datagram handler of `role`.
/// @return false when no such role exists.
template <class F>
bool with_datagram_role(std::string_view role, const role_settings&, F&& f) {
  if (role == "hello") return f(text_datagram_handler<hello_protocol>({})), true;
  if (role == "upper") return f(text_datagram_handler<upper_protocol>({})), true;
  if (role == "echo") return f(echo_datagram_handler{}), true;
  return false;
}

}  // namespace netdemo::proto
