// Session logic that transports drive: framing + a protocol, still without any I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "netdemo/proto/framers.hpp"
#include "netdemo/proto/line_framer.hpp"
#include "netdemo/proto/protocols.hpp"

namespace netdemo::proto {

/// What a stream session does after handling input.
enum class verdict : std::uint8_t {
  keep_open,  ///< wait for more input
  quit,       ///< the peer asked to close (`exit`): close after the queued output
  too_long,   ///< a line went over the cap: an error line is queued, then close
  more,       ///< the replies reached the budget: send them, then call `on_bytes` again with
              ///< no input (the handler holds the rest) before reading more
};

/// No reply budget: answer everything one input holds at once.
inline constexpr std::size_t unlimited_replies = static_cast<std::size_t>(-1);

/// The word that closes a text session, whatever line ending follows it.
inline constexpr std::string_view quit_word = "exit";

/// Input a handler holds for later: empty costs one pointer. Copies deep (a prototype
/// handler is copied for each session).
class held_input {
 public:
  held_input() = default;  ///< holds nothing
  /// A deep copy.
  held_input(const held_input& o) : p_(o.p_ ? std::make_unique<std::string>(*o.p_) : nullptr) {}
  /// A deep copy.
  held_input& operator=(const held_input& o) {
    if (this != &o) p_ = o.p_ ? std::make_unique<std::string>(*o.p_) : nullptr;
    return *this;
  }
  held_input(held_input&&) noexcept = default;             ///< takes `o`'s bytes
  held_input& operator=(held_input&&) noexcept = default;  ///< takes `o`'s bytes
  ~held_input() = default;

  /// True while bytes are held.
  explicit operator bool() const noexcept { return p_ != nullptr; }
  /// How many bytes are held.
  std::size_t size() const noexcept { return p_ ? p_->size() : 0; }
  /// Holds a copy of `bytes` (replacing what was held).
  void hold(std::string_view bytes) { p_ = std::make_unique<std::string>(bytes); }
  /// Takes the held bytes out (leaving nothing held).
  std::unique_ptr<std::string> take() noexcept { return std::move(p_); }

 private:
  std::unique_ptr<std::string> p_;
};

/// Drives a message protocol over a byte stream: frames messages with `Framer` (lines by
/// default; see framers.hpp for raw reads and length prefixes), answers each one framed
/// the way the request was (a line reply ends with the request's line ending, a
/// length-prefixed reply gets its own prefix), closes on `exit`, and caps message length.
template <message_protocol Protocol, stream_framer Framer = line_framer>
class text_stream_handler {
 public:
  /// A handler for one session (servers copy a prototype for each); messages longer than
  /// `max_line` bytes get an error message and close the session. Not thread safe.
  text_stream_handler(Protocol protocol, std::size_t max_line)
      : protocol_(std::move(protocol)), framer_(max_line) {}

  /// A handler that frames with `framer` (a framer that cannot be made from a cap alone,
  /// such as `chosen_framer`). Not thread safe.
  text_stream_handler(Protocol protocol, Framer framer)
      : protocol_(std::move(protocol)), framer_(std::move(framer)) {}

  /// Appends the greeting, if the protocol has one, framed as a reply with no line ending
  /// (so a line greeting is its bare bytes, as in the seeds, and a length-prefixed one has
  /// a prefix).
  void greet(std::string& out) const {
    std::string_view const g = protocol_.greeting();
    if (g.empty()) return;
    std::size_t const mark = framer_.begin_reply(out);
    out.append(g);
    framer_.end_reply(out, mark, line_ending::none);
  }

  /// Frames `in` and appends the replies to `out`, until `out` reaches `budget` bytes: then
  /// the rest of `in` is held and `more` is returned; each later call with empty input
  /// answers the next batch. (A transport stops reading while its replies are unsent, so
  /// the budget is what bounds the work and memory one read of pipelined requests causes.)
  verdict on_bytes(std::string_view in, std::string& out, std::size_t budget = unlimited_replies) {
    if (backlog_) return answer_backlog(in, out, budget);
    return frame(in, out, budget);
  }

  /// Input received but not answered yet (after `more`).
  std::size_t backlog_size() const noexcept { return backlog_.size(); }

  /// The peer paused or half-closed: an unterminated tail is a message now.
  verdict on_pause(std::string& out) {
    auto answer = [&](std::string_view msg, line_ending e) { return answer_one(msg, e, out); };
    return framer_.flush(answer) ? verdict::keep_open : verdict::quit;
  }

  /// True while an unterminated tail waits for the peer to pause (never for framings that a
  /// pause does not end).
  bool wants_pause() const noexcept { return framer_.wants_pause(); }

 private:
  verdict frame(std::string_view in, std::string& out, std::size_t budget) {
    bool full = false;
    auto answer = [&](std::string_view msg, line_ending e) {
      if (!answer_one(msg, e, out)) return false;
      full = out.size() >= budget;
      return !full;
    };
    switch (framer_.feed(in, answer)) {
      case feed_status::consumed: return verdict::keep_open;
      case feed_status::stopped: {
        if (!full) return verdict::quit;
        std::string_view const rest = in.substr(framer_.stopped_at());
        if (rest.empty()) return verdict::keep_open;
        backlog_.hold(rest);
        return verdict::more;
      }
      case feed_status::too_long: break;
    }
    framer_.append_too_long(out);
    return verdict::too_long;
  }

  /// The next batch of the input held after a budget stop (kept out of the common path).
  verdict answer_backlog(std::string_view in, std::string& out, std::size_t budget) {
    auto held = backlog_.take();  // `frame` may hold a new backlog
    held->append(in);  // (a transport does not read while `more`; safe if one does)
    return frame(*held, out, budget);
  }

  bool answer_one(std::string_view msg, line_ending e, std::string& out) {
    if (msg == quit_word) return false;
    std::size_t const mark = framer_.begin_reply(out);
    protocol_.on_message(msg, out);
    framer_.end_reply(out, mark, e);
    return true;
  }

  Protocol protocol_;
  Framer framer_;
  // Input after a budget stop, not yet framed. A pointer: 8 bytes in every idle session.
  held_input backlog_;
};

/// RFC 862 echo over a stream: every byte back unchanged; no framing, no greeting.
class echo_stream_handler {
 public:
  /// Tells a server that the reply to `on_bytes(in, out)` is always `in` itself, so it may
  /// send `in` without copying it into `out` first (it still calls nothing else).
  static constexpr bool replies_with_input = true;

  /// No greeting.
  void greet(std::string&) const noexcept {}
  /// Appends `in` to `out`. (No budget: the reply is as large as the input, which one read bounds.)
  verdict on_bytes(std::string_view in, std::string& out, std::size_t = unlimited_replies) {
    out.append(in);
    return verdict::keep_open;
  }
  /// Nothing to do on a pause: echo has no framing.
  verdict on_pause(std::string&) noexcept { return verdict::keep_open; }
  /// Never: no tail waits for a pause.
  bool wants_pause() const noexcept { return false; }
  /// Never holds input.
  std::size_t backlog_size() const noexcept { return 0; }
};

/// Splits one trailing line ending off a datagram (`"hi\r\n"` → `"hi"`, crlf).
std::pair<std::string_view, line_ending> strip_ending(std::string_view datagram) noexcept;

/// A message protocol over datagrams: one datagram is one message, one trailing line
/// ending is stripped and mirrored in the reply. `exit` has no special meaning here.
template <message_protocol Protocol>
class text_datagram_handler {
 public:
  /// A handler for one datagram socket. Not thread safe.
  explicit text_datagram_handler(Protocol protocol) : protocol_(std::move(protocol)) {}

  /// Appends the reply to `out`; returns false when there is nothing to send.
  bool on_datagram(std::string_view in, std::string& out) {
    auto [msg, e] = strip_ending(in);
    protocol_.on_message(msg, out);
    out.append(ending_bytes(e));
    return true;
  }

  /// Appends the `ERR` line that replaces a reply too large for a datagram: in the
  /// protocol's words when it has some (`on_reply_too_large(msg, out)`), else
  /// `ERR <reason>`; with the request's line ending, as every reply.
  void on_reply_too_large(std::string_view in, std::string_view reason, std::string& out) {
    // (Not a structured binding: clang 14 cannot name one in a requires-expression.)
    auto const stripped = strip_ending(in);
    if constexpr (requires { protocol_.on_reply_too_large(stripped.first, out); }) {
      protocol_.on_reply_too_large(stripped.first, out);
    } else {
      out.append("ERR ").append(reason);
    }
    out.append(ending_bytes(stripped.second));
  }

 private:
  Protocol protocol_;
};

/// RFC 862 echo over datagrams: the same payload back.
class echo_datagram_handler {
 public:
  /// Appends `in` to `out`; always true (an empty datagram gets an empty one back).
  bool on_datagram(std::string_view in, std::string& out) {
    out.append(in);
    return true;
  }
};

}  // namespace netdemo::proto
