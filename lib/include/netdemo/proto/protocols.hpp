// The message protocols of the seed tutorials. Pure functions over bytes: no sockets here.
#pragma once

#include <concepts>
#include <string>
#include <string_view>

namespace netdemo::proto {

/// A protocol that turns one framed message into one reply.
///
/// `greeting()` is sent once when a stream connection opens ("" for none);
/// `on_message(msg, out)` appends the reply to `out`, without a line ending (the
/// framing layer adds the one the request used). Protocols are copied per session.
template <class P>
concept message_protocol = std::copy_constructible<P> &&
    requires(P& p, const P& cp, std::string_view msg, std::string& out) {
      { cp.greeting() } -> std::convertible_to<std::string_view>;
      p.on_message(msg, out);
    };

/// Seed 000/003: greets with `Welcome!`, answers `Hello, <msg>!`.
struct hello_protocol {
  static constexpr std::string_view name = "hello";  ///< the role name (`--role hello`)
  /// The bytes sent when a connection opens (no line ending, as in the seed).
  std::string_view greeting() const noexcept { return "Welcome!"; }
  /// Appends `Hello, <msg>!` to `out`. Never throws but for std::bad_alloc.
  void on_message(std::string_view msg, std::string& out) const;
};

/// Seed 001: answers the message upper-cased (ASCII letters; other bytes, UTF-8
/// included, pass through unchanged).
struct upper_protocol {
  static constexpr std::string_view name = "upper";  ///< the role name (`--role upper`)
  /// No greeting.
  std::string_view greeting() const noexcept { return {}; }
  /// Appends `msg` with ASCII letters upper-cased to `out`.
  void on_message(std::string_view msg, std::string& out) const;
};

}  // namespace netdemo::proto
