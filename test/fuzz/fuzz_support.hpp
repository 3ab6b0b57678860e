// Shared by the libFuzzer targets: an invariant check that stops the run with a message,
// and a reference line framer written from the framing rules (DESIGN.md), byte by byte,
// as unlike the real one (memchr, views, a held-back CR) as possible.
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "netdemo/proto/line_framer.hpp"

namespace fuzz_support {

/// Prints `what` and aborts, so libFuzzer saves the input as a crash reproducer.
[[noreturn]] inline void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  if (!detail.empty()) {
    std::fprintf(stderr, "  detail (%zu bytes): ", detail.size());
    for (unsigned char c : detail.substr(0, 400)) {
      if (c >= 0x20 && c < 0x7f && c != '\\') std::fputc(c, stderr);
      else std::fprintf(stderr, "\\x%02x", c);
    }
    std::fputc('\n', stderr);
  }
  std::abort();
}

/// Checks an invariant in every build type (assert() is gone under NDEBUG).
inline void check(bool ok, const char* what, std::string_view detail = {}) {
  if (!ok) fail(what, detail);
}

/// One framed message.
struct message {
  std::string text;
  netdemo::proto::line_ending ending;
  bool operator==(const message&) const = default;
};

/// The framing rules, one byte at a time: LF, CRLF and a bare CR end a message; a pause
/// makes the unterminated tail a message (ending `none`, or `cr` for a CR nothing
/// followed); a message longer than `max_line` is an error and ends the stream.
class reference_framer {
 public:
  explicit reference_framer(std::size_t max_line) : max_line_(max_line) {}

  /// Frames `input`; stops (returns false) after a message `stop(text)` is true for, or on
  /// an overlong line (too_long() is then true).
  template <class Stop>
  bool feed(std::string_view input, std::vector<message>& out, Stop&& stop) {
    for (char c : input) {
      if (cr_pending_) {
        cr_pending_ = false;
        if (c == '\n') {
          if (!emit(netdemo::proto::line_ending::crlf, out, stop)) return false;
          continue;
        }
        if (!emit(netdemo::proto::line_ending::cr, out, stop)) return false;
      }
      if (c == '\n') {
        if (!emit(netdemo::proto::line_ending::lf, out, stop)) return false;
      } else if (c == '\r') {
        cr_pending_ = true;
      } else {
        line_.push_back(c);
        if (line_.size() > max_line_) {
          too_long_ = true;
          return false;
        }
      }
    }
    return true;
  }

  /// The peer paused: the tail, if any, is a message.
  template <class Stop>
  bool pause(std::vector<message>& out, Stop&& stop) {
    if (cr_pending_) {
      cr_pending_ = false;
      return emit(netdemo::proto::line_ending::cr, out, stop);
    }
    if (line_.empty()) return true;
    return emit(netdemo::proto::line_ending::none, out, stop);
  }

  bool has_partial() const { return cr_pending_ || !line_.empty(); }
  bool too_long() const { return too_long_; }

 private:
  template <class Stop>
  bool emit(netdemo::proto::line_ending e, std::vector<message>& out, Stop&& stop) {
    out.push_back({line_, e});
    line_.clear();
    return !stop(out.back().text);
  }

  std::size_t max_line_;
  std::string line_;
  bool cr_pending_ = false;
  bool too_long_ = false;
};

/// Printable form of a message list, for failure messages.
inline std::string describe(const std::vector<message>& ms) {
  std::string s;
  for (const auto& m : ms) {
    s += '[';
    s += m.text;
    s += "]/";
    s += std::to_string(static_cast<int>(m.ending));
    s += ' ';
  }
  return s;
}

}  // namespace fuzz_support
