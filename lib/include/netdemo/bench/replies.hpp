// What a load generator sends and what it must get back, for the echo, hello and
// timestamp roles. Sans-I/O: messages are generated into caller buffers and replies are
// checked incrementally, byte for byte, as they arrive in arbitrary pieces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace netdemo::bench {

/// The server roles the generator knows how to check.
enum class role : std::uint8_t {
  echo,       ///< RFC 862: the reply is the message, byte for byte
  hello,      ///< greeting `Welcome!` (streams only), then `NAME\n` -> `Hello, NAME!\n`
  timestamp,  ///< `NAME\n` -> `[<time>] NAME\n`, time in ctime or ISO 8601 form
};

/// "echo", "hello", "timestamp".
std::optional<role> parse_role(std::string_view name) noexcept;
std::string_view role_name(role r) noexcept;

/// The greeting a stream server of the hello role sends first (no line ending).
inline constexpr std::string_view hello_greeting = "Welcome!";

/// True for a time stamp as the timestamp role writes it: Python's ctime
/// ("Sun Nov  1 19:55:07 2026") or RFC 3339 ("2026-11-01T19:55:07+08:00", "...Z").
bool is_timestamp(std::string_view text) noexcept;

/// The messages one connection sends. Message `i` is a pure function of (role, size,
/// seed, i), so the expected reply can be regenerated instead of stored.
///
/// Echo messages are bytes of a pseudo-random stream (every byte value occurs); message
/// i continues the stream where message i-1 ended, so consecutive messages differ and a
/// reordered, dropped or repeated byte shows. Text messages are lines of `size` bytes
/// (the LF included) of letters and digits drawn the same way; `x` is never used, so no
/// message can be the `exit` word.
class message_source {
 public:
  /// @param r     the role whose messages (and replies) to make.
  /// @param size  bytes per message (>= 1; >= 2 for text roles, which need a character).
  /// @param seed  the stream's start: each connection gets its own.
  message_source(role r, std::size_t size, std::uint64_t seed) noexcept;

  /// The role the messages are for.
  role kind() const noexcept { return role_; }
  /// Bytes per message.
  std::size_t size() const noexcept { return size_; }

  /// Writes message `index` (size() bytes) to `out`.
  void fill(std::uint64_t index, char* out) const noexcept;

  /// Reply length for every message, or 0 when it varies (timestamp).
  std::size_t reply_size() const noexcept;

  /// Where message `index`'s payload starts in the pattern (internal, used by the matcher).
  std::size_t pattern_pos(std::uint64_t index) const noexcept;
  /// Payload bytes per message (echo: size; text: size - 1).
  std::size_t payload_size() const noexcept { return payload_; }
  /// The pattern the payload comes from, read cyclically.
  std::string_view pattern() const noexcept;

  static constexpr std::size_t pattern_length = 65521;  ///< prime: sizes rarely divide it

 private:
  role role_;
  std::size_t size_;
  std::size_t payload_;
  std::size_t base_;
};

/// How a received piece of a reply stream compared.
enum class check_status : std::uint8_t {
  ok,          ///< every byte so far is right
  mismatch,    ///< a byte differs from the expected one (wrong, missing or reordered data)
  unexpected,  ///< bytes arrived beyond every reply asked for (an extra byte)
};

/// Checks the byte stream a stream connection receives against the replies expected
/// for the messages sent, incrementally. After a non-ok status the stream cannot be
/// resynchronised: the connection should be dropped (`error()` says what was seen).
class reply_matcher {
 public:
  /// @param source    the messages sent, in order; must outlive the matcher.
  /// @param greeting  a greeting is expected before the first reply (hello over TCP).
  reply_matcher(const message_source& source, bool greeting) noexcept;

  /// Starts over for a new connection.
  void reset(bool greeting) noexcept;

  /// Checks `in`, the next bytes received, when `sent` messages have been sent in all.
  /// Replies completed are counted in `replies_done()`.
  check_status feed(std::string_view in, std::uint64_t sent);

  /// Replies received completely and correctly.
  std::uint64_t replies_done() const noexcept { return reply_; }

  /// True when part of a reply (or of the greeting) has been received but not all of it.
  bool in_reply() const noexcept {
    return (greeting_left_ != 0 && greeting_left_ != greeting_full_) || reply_bytes_ != 0;
  }

  /// True once the greeting (if one is expected) has been received.
  bool greeted() const noexcept { return greeting_left_ == 0; }

  /// The first problem seen, for the report ("" while everything matched).
  const std::string& error() const noexcept { return error_; }

  /// Checks one datagram as the whole reply to message `index`.
  /// @return "" when it is exactly right, else what is wrong.
  static std::string check_datagram(const message_source& source, std::uint64_t index,
                                    std::string_view datagram);

 private:
  struct segment {
    enum kind_t : std::uint8_t { literal, pattern, stamp, end } kind;
    std::string_view bytes;  // literal: the bytes; pattern: the whole pattern
    std::size_t start = 0;   // pattern: where in the pattern the segment starts
    std::size_t length = 0;
  };
  segment segment_at(std::uint64_t reply, unsigned index) const noexcept;
  check_status fail(check_status s, std::string what);
  check_status mismatch_at(std::string_view expected, std::string_view got, std::size_t at);

  const message_source* source_;
  std::size_t greeting_full_ = 0;
  std::size_t greeting_left_ = 0;
  std::uint64_t reply_ = 0;  // the reply being received
  unsigned seg_ = 0;         // its segment
  std::size_t off_ = 0;      // offset in that segment
  std::size_t reply_bytes_ = 0;  // bytes of the current reply matched so far
  char stamp_[32] = {};
  std::size_t stamp_len_ = 0;
  std::string error_;
};

}  // namespace netdemo::bench
