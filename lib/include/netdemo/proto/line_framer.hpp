// Sans-I/O line framing for the text roles (DESIGN.md, "Message framing on text roles").
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace netdemo::proto {

/// How a message ended on the wire; a reply ends the same way.
enum class line_ending : std::uint8_t { none, lf, crlf, cr };

/// The bytes of a line ending ("" for none).
std::string_view ending_bytes(line_ending e) noexcept;

/// What `line_framer::feed` did with its input.
enum class feed_status : std::uint8_t {
  consumed,  ///< every byte was framed (a tail may be buffered)
  stopped,   ///< the message callback asked to stop; `stopped_at()` says where
  too_long,  ///< a line exceeded the cap; the framer must not be fed again
};

/// Finds the line ends of one input, front to back: the first CR or LF at or after a
/// position. Each byte is looked for with memchr, which glibc vectorises: a byte-by-byte
/// loop cost about 5 instructions per input byte, the largest cost of a text session
/// (and libstdc++'s `find_first_of` called memchr over the two-byte set once per byte).
/// The next LF is remembered, so that lines ended by a bare CR do not rescan the rest of
/// the input for an LF each time: every byte is looked at at most twice.
class line_end_finder {
 public:
  static constexpr std::size_t npos = std::string_view::npos;  ///< no line end found

  /// Searches `input`, which must outlive the finder.
  explicit line_end_finder(std::string_view input) noexcept : input_(input) {}

  /// Position of the first CR or LF at or after `pos`, or npos. `pos` never decreases
  /// from one call to the next.
  std::size_t next(std::size_t pos) noexcept {
    if (!lf_known_ || lf_ < pos) {
      lf_ = find('\n', pos, input_.size());
      lf_known_ = true;
    }
    std::size_t const cr = find('\r', pos, lf_ == npos ? input_.size() : lf_);
    return cr != npos ? cr : lf_;
  }

 private:
  std::size_t find(char c, std::size_t from, std::size_t to) const noexcept {
    if (from >= to) return npos;
    auto const* const at = static_cast<const char*>(std::memchr(input_.data() + from, c, to - from));
    return at == nullptr ? npos : static_cast<std::size_t>(at - input_.data());
  }

  std::string_view input_;
  std::size_t lf_ = npos;
  bool lf_known_ = false;
};

/// Splits a byte stream into messages.
///
/// A message is a complete line (LF, CRLF or bare CR stripped). Bytes left without a
/// terminator stay buffered until `flush()` is called, which a transport does when the
/// peer pauses or half-closes: that remainder is then a message with ending `none`
/// (or `cr` when it ends in a CR that no LF followed). A CR at the very end of the
/// input is held back so that a CRLF split across two reads still counts as CRLF.
///
/// Complete lines inside one input are passed as views of that input (no copy); only
/// an unfinished tail is copied into the framer.
class line_framer {
 public:
  /// @param max_line  longest message accepted, terminator excluded.
  explicit line_framer(std::size_t max_line) noexcept : max_line_(max_line) {}

  /// Frames `input`, calling `on_message(std::string_view text, line_ending)` for each
  /// message; the callback returns false to stop (e.g. after `exit`).
  template <class OnMessage>
  feed_status feed(std::string_view input, OnMessage&& on_message);

  /// Delivers the buffered unterminated tail, if any, as a message.
  /// @return the callback's result, or true when nothing was buffered.
  template <class OnMessage>
  bool flush(OnMessage&& on_message);

  /// After `feed` returned `stopped`: how many bytes of its input were framed (the
  /// message that stopped it included); the rest was not looked at.
  std::size_t stopped_at() const noexcept { return stopped_at_; }

  /// True when an unterminated tail is buffered (the transport should wait for a pause).
  bool has_partial() const noexcept { return !partial_.empty(); }

  /// The longest message accepted (terminator excluded).
  std::size_t max_line() const noexcept { return max_line_; }

  /// True when an unterminated tail is buffered: the same as `has_partial()` (the name
  /// the `stream_framer` concept uses).
  bool wants_pause() const noexcept { return has_partial(); }

  /// A line reply has no prefix: returns `out.size()`.
  std::size_t begin_reply(const std::string& out) const noexcept { return out.size(); }

  /// Ends a reply the way its request ended (`e`).
  void end_reply(std::string& out, std::size_t, line_ending e) const { out.append(ending_bytes(e)); }

  /// Appends `ERR line too long (max N bytes)\n`.
  void append_too_long(std::string& out) const {
    out.append("ERR line too long (max ");
    out.append(std::to_string(max_line_));
    out.append(" bytes)\n");
  }

 private:
  void release_if_large() noexcept;

  std::string partial_;
  std::size_t max_line_;
  std::size_t stopped_at_ = 0;
};

template <class OnMessage>
feed_status line_framer::feed(std::string_view input, OnMessage&& on_message) {
  if (input.empty()) return feed_status::consumed;
  std::size_t pos = 0;
  // A tail from an earlier read: a CR at its end pairs with an LF at the start of this input.
  if (!partial_.empty() && partial_.back() == '\r') {
    partial_.pop_back();
    line_ending e = line_ending::cr;
    if (!input.empty() && input.front() == '\n') {
      e = line_ending::crlf;
      pos = 1;
    }
    std::string line = std::move(partial_);
    partial_.clear();
    if (!on_message(std::string_view(line), e)) {
      stopped_at_ = pos;
      return feed_status::stopped;
    }
  }
  line_end_finder line_ends(input);
  while (pos < input.size()) {
    std::size_t const eol = line_ends.next(pos);
    if (eol == std::string_view::npos) {
      std::size_t const tail = input.size() - pos;
      if (partial_.size() + tail > max_line_) return feed_status::too_long;
      partial_.append(input.substr(pos));
      return feed_status::consumed;
    }
    std::string_view piece = input.substr(pos, eol - pos);
    if (partial_.size() + piece.size() > max_line_) return feed_status::too_long;
    line_ending e = line_ending::lf;
    std::size_t next = eol + 1;
    if (input[eol] == '\r') {
      if (next == input.size()) {  // CR at the end: wait to see whether an LF follows
        partial_.append(piece);
        partial_.push_back('\r');
        return feed_status::consumed;
      }
      if (input[next] == '\n') {
        e = line_ending::crlf;
        ++next;
      } else {
        e = line_ending::cr;
      }
    }
    pos = next;
    bool keep_going;
    if (partial_.empty()) {
      keep_going = on_message(piece, e);
    } else {
      partial_.append(piece);
      std::string line = std::move(partial_);
      partial_.clear();
      keep_going = on_message(std::string_view(line), e);
    }
    if (!keep_going) {
      stopped_at_ = pos;
      return feed_status::stopped;
    }
  }
  release_if_large();
  return feed_status::consumed;
}

template <class OnMessage>
bool line_framer::flush(OnMessage&& on_message) {
  if (partial_.empty()) return true;
  line_ending e = line_ending::none;
  if (partial_.back() == '\r') {
    partial_.pop_back();
    e = line_ending::cr;
  }
  std::string line = std::move(partial_);
  partial_.clear();
  release_if_large();
  return on_message(std::string_view(line), e);
}

}  // namespace netdemo::proto
