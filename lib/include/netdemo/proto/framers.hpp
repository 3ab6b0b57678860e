// Sans-I/O framings other than lines, and the concept text_stream_handler frames with
// (docs/protocols.md, "Framings").
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "netdemo/proto/line_framer.hpp"

namespace netdemo::proto {

/// What `text_stream_handler` needs of a framing: split input into messages and frame
/// each reply the way the request was framed.
///
/// - `feed(in, cb)` calls `cb(std::string_view msg, line_ending)` per message (the callback
///   returns false to stop) and returns a `feed_status`; `stopped_at()` then says how many
///   bytes of `in` were framed.
/// - `flush(cb)` delivers what a pause ends (nothing for framings a pause does not end);
///   `wants_pause()` says whether such bytes are held.
/// - `begin_reply(out)` / `end_reply(out, mark, e)` bracket the bytes a protocol appends for
///   one reply (e is the request's `line_ending`); `append_too_long(out)` appends the framed
///   error that closes a session whose message went over `max_line()`.
///
/// Framers are copied per session (from a server's prototype handler); none is thread safe.
template <class F>
concept stream_framer = std::copy_constructible<F> &&
    requires(F& f, const F& cf, std::string_view in, std::string& out,
             bool (*cb)(std::string_view, line_ending)) {
      { f.feed(in, cb) } -> std::same_as<feed_status>;
      { f.flush(cb) } -> std::same_as<bool>;
      { cf.stopped_at() } -> std::convertible_to<std::size_t>;
      { cf.wants_pause() } -> std::same_as<bool>;
      { cf.max_line() } -> std::convertible_to<std::size_t>;
      { cf.begin_reply(out) } -> std::same_as<std::size_t>;
      cf.end_reply(out, std::size_t{}, line_ending::none);
      cf.append_too_long(out);
    };

/// No framing: each read is one message, as in the tutorials' `data = sock.recv(1024)`.
///
/// A message sent in two pieces is answered twice and two messages in one read are
/// answered once: the very effect the other framings exist to prevent, kept here to show
/// it. Replies are sent as the protocol wrote them, with nothing added.
class raw_framer {
 public:
  /// @param max_message  longest read accepted as a message (a longer one is `too_long`).
  explicit raw_framer(std::size_t max_message) noexcept : max_(max_message) {}

  /// Delivers `input` as one message (nothing for an empty input); `too_long` over the cap.
  template <class OnMessage>
  feed_status feed(std::string_view input, OnMessage&& on_message) {
    if (input.empty()) return feed_status::consumed;
    if (input.size() > max_) return feed_status::too_long;
    if (on_message(input, line_ending::none)) return feed_status::consumed;
    stopped_at_ = input.size();
    return feed_status::stopped;
  }
  /// Nothing is ever held: returns true.
  template <class OnMessage>
  bool flush(OnMessage&&) const noexcept { return true; }
  /// After `stopped`: the whole input was the message.
  std::size_t stopped_at() const noexcept { return stopped_at_; }
  /// Never: nothing waits for a pause.
  bool wants_pause() const noexcept { return false; }
  /// The longest read accepted as a message.
  std::size_t max_line() const noexcept { return max_; }
  /// Nothing precedes a raw reply: returns out.size().
  std::size_t begin_reply(const std::string& out) const noexcept { return out.size(); }
  /// Nothing follows a raw reply.
  void end_reply(std::string&, std::size_t, line_ending) const noexcept {}
  /// Appends `ERR message too long (max N bytes)\n`.
  void append_too_long(std::string& out) const {
    out.append("ERR message too long (max ").append(std::to_string(max_)).append(" bytes)\n");
  }

 private:
  std::size_t max_;
  std::size_t stopped_at_ = 0;
};

/// A big-endian length prefix of `PrefixBytes` (2 or 4) bytes, then that many bytes of
/// message: the usual cure for "sticky packets". A zero length is an empty message.
///
/// A declared length over the cap is `too_long` as soon as the prefix is complete, before
/// any of its bytes arrive; a message split across reads is buffered only as its bytes
/// arrive (never reserved at its declared size), so a peer that declares a huge length
/// and sends little costs what it sent. Whole messages inside one input are passed as
/// views of it (no copy). Replies get their own prefix; a reply too long for the prefix
/// is replaced by a framed `ERR reply too long` message.
template <std::size_t PrefixBytes>
class length_prefix_framer {
  static_assert(PrefixBytes == 2 || PrefixBytes == 4, "a 16- or 32-bit prefix");

 public:
  /// The largest length the prefix can state.
  static constexpr std::uint64_t max_encodable = (std::uint64_t{1} << (8 * PrefixBytes)) - 1;

  /// @param max_message  longest message accepted (prefix excluded); also clamped to
  ///                     what the prefix can state.
  explicit length_prefix_framer(std::size_t max_message) noexcept
      : max_(max_message < max_encodable ? max_message : static_cast<std::size_t>(max_encodable)) {}

  /// Frames `input`, calling `on_message(std::string_view, line_ending::none)` per message;
  /// the callback returns false to stop. After `too_long` the framer must not be fed again.
  template <class OnMessage>
  feed_status feed(std::string_view input, OnMessage&& on_message);

  /// A pause does not end a length-prefixed message: delivers nothing, returns true.
  template <class OnMessage>
  bool flush(OnMessage&&) const noexcept { return true; }

  /// After `feed` returned `stopped`: how many bytes of its input were framed.
  std::size_t stopped_at() const noexcept { return stopped_at_; }
  /// Never: only the declared length ends a message.
  bool wants_pause() const noexcept { return false; }
  /// The longest message accepted (prefix excluded).
  std::size_t max_line() const noexcept { return max_; }
  /// Bytes of an unfinished message (and prefix) the framer holds, as allocated.
  std::size_t held_bytes() const noexcept { return body_.capacity() + header_.size(); }

  /// Reserves the reply's prefix in `out`; returns where it starts.
  std::size_t begin_reply(std::string& out) const {
    std::size_t const mark = out.size();
    out.append(PrefixBytes, '\0');
    return mark;
  }
  /// Writes the length of the bytes appended since `begin_reply` into the prefix at `mark`.
  void end_reply(std::string& out, std::size_t mark, line_ending) const {
    std::size_t len = out.size() - mark - PrefixBytes;
    if (len > max_encodable) {
      out.resize(mark + PrefixBytes);
      out.append("ERR reply too long");
      len = out.size() - mark - PrefixBytes;
    }
    for (std::size_t i = 0; i < PrefixBytes; ++i)
      out[mark + i] = static_cast<char>((len >> (8 * (PrefixBytes - 1 - i))) & 0xff);
  }
  /// Appends the framed message `ERR message too long (max N bytes)`.
  void append_too_long(std::string& out) const {
    std::size_t const mark = begin_reply(out);
    out.append("ERR message too long (max ").append(std::to_string(max_)).append(" bytes)");
    end_reply(out, mark, line_ending::none);
  }

 private:
  void release_if_large() noexcept {
    // An idle session should not keep the memory of one long message it once received.
    constexpr std::size_t keep = 256;
    if (body_.empty() && body_.capacity() > keep) std::string().swap(body_);
  }

  std::array<unsigned char, PrefixBytes> header_{};
  std::size_t header_have_ = 0;  // prefix bytes received of the current message
  std::size_t need_ = 0;         // body bytes still missing once the prefix is complete
  bool in_body_ = false;
  std::string body_;             // the part of a split message received so far
  std::size_t max_;
  std::size_t stopped_at_ = 0;
};

template <std::size_t PrefixBytes>
template <class OnMessage>
feed_status length_prefix_framer<PrefixBytes>::feed(std::string_view input, OnMessage&& on_message) {
  std::size_t pos = 0;
  while (pos < input.size()) {
    if (!in_body_) {
      while (header_have_ < PrefixBytes && pos < input.size())
        header_[header_have_++] = static_cast<unsigned char>(input[pos++]);
      if (header_have_ < PrefixBytes) return feed_status::consumed;
      std::uint64_t len = 0;
      for (unsigned char b : header_) len = (len << 8) | b;
      if (len > max_) return feed_status::too_long;
      header_have_ = 0;
      need_ = static_cast<std::size_t>(len);
      in_body_ = true;
    }
    bool keep_going;
    std::size_t const avail = input.size() - pos;
    if (body_.empty() && avail >= need_) {
      std::string_view const msg = input.substr(pos, need_);
      pos += need_;
      in_body_ = false;
      keep_going = on_message(msg, line_ending::none);
    } else if (avail < need_) {
      body_.append(input.substr(pos));
      need_ -= avail;
      return feed_status::consumed;
    } else {
      body_.append(input.substr(pos, need_));
      pos += need_;
      in_body_ = false;
      std::string msg = std::move(body_);
      body_.clear();
      keep_going = on_message(std::string_view(msg), line_ending::none);
    }
    if (!keep_going) {
      stopped_at_ = pos;
      return feed_status::stopped;
    }
  }
  release_if_large();
  return feed_status::consumed;
}

/// A 16-bit big-endian length prefix (messages of at most 65535 bytes).
using len16_framer = length_prefix_framer<2>;
/// A 32-bit big-endian length prefix.
using len32_framer = length_prefix_framer<4>;

/// One of `raw_framer`, `len16_framer`, `len32_framer`, chosen at run time.
///
/// Why: each framer type is its own handler and server type, and a program offering every
/// `--framing` would otherwise instantiate its servers once per framing (for
/// server_commands.cpp: compile time 49 s -> 112 s, code 1.45 -> 3.5 MB). With this type a
/// program instantiates two: lines (the default, unchanged and fastest) and this (2.15 MB).
/// The choice costs one switch per read and per reply, not per byte.
class chosen_framer {
 public:
  /// The framer in use.
  using alternative = std::variant<raw_framer, len16_framer, len32_framer>;

  /// Frames with `f` (for example `len16_framer(max)`).
  explicit chosen_framer(alternative f) noexcept : f_(std::move(f)) {}

  /// As the chosen framer's `feed`.
  template <class OnMessage>
  feed_status feed(std::string_view input, OnMessage&& on_message) {
    return std::visit([&](auto& f) { return f.feed(input, on_message); }, f_);
  }
  /// As the chosen framer's `flush` (none of them holds anything for a pause): true.
  template <class OnMessage>
  bool flush(OnMessage&&) const noexcept { return true; }
  /// As the chosen framer's `stopped_at`.
  std::size_t stopped_at() const noexcept {
    return std::visit([](const auto& f) { return f.stopped_at(); }, f_);
  }
  /// Never: none of the alternatives waits for a pause.
  bool wants_pause() const noexcept { return false; }
  /// As the chosen framer's `max_line`.
  std::size_t max_line() const noexcept {
    return std::visit([](const auto& f) { return f.max_line(); }, f_);
  }
  /// As the chosen framer's `begin_reply`.
  std::size_t begin_reply(std::string& out) const {
    return std::visit([&](const auto& f) { return f.begin_reply(out); }, f_);
  }
  /// As the chosen framer's `end_reply`.
  void end_reply(std::string& out, std::size_t mark, line_ending e) const {
    std::visit([&](const auto& f) { f.end_reply(out, mark, e); }, f_);
  }
  /// As the chosen framer's `append_too_long`.
  void append_too_long(std::string& out) const {
    std::visit([&](const auto& f) { f.append_too_long(out); }, f_);
  }

 private:
  alternative f_;
};

}  // namespace netdemo::proto
