#include "netdemo/bench/replies.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace netdemo::bench {

namespace {

constexpr std::size_t plen = message_source::pattern_length;

// Letters and digits without 'x': no text message can spell "exit".
constexpr std::string_view text_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwyz0123456789";

/// One pattern, twice over, so that any run of up to pattern_length bytes starting
/// anywhere in the first copy is contiguous.
struct pattern_table {
  std::array<char, 2 * plen> bytes{};
  std::array<char, 2 * plen> text{};
  pattern_table() noexcept {
    std::uint64_t x = 0x9E3779B97F4A7C15ULL;  // splitmix64
    for (std::size_t i = 0; i < plen; ++i) {
      x += 0x9E3779B97F4A7C15ULL;
      std::uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      z ^= z >> 31;
      bytes[i] = bytes[i + plen] = static_cast<char>(z & 0xff);
      text[i] = text[i + plen] = text_alphabet[(z >> 8) % text_alphabet.size()];
    }
  }
};

const pattern_table& tables() noexcept {
  static const pattern_table t;
  return t;
}

bool digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool digits(std::string_view s, std::size_t at, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (!digit(s[at + i])) return false;
  }
  return true;
}

bool one_of(std::string_view word, std::string_view list) noexcept {
  for (std::size_t i = 0; i + 3 <= list.size(); i += 3) {
    if (list.substr(i, 3) == word) return true;
  }
  return false;
}

std::string printable(std::string_view s) {
  std::string out;
  static constexpr char hex[] = "0123456789abcdef";
  for (char ch : s) {
    auto const c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(ch);
    } else {
      out.append("\\x");
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::optional<role> parse_role(std::string_view name) noexcept {
  if (name == "echo") return role::echo;
  if (name == "hello") return role::hello;
  if (name == "timestamp") return role::timestamp;
  return std::nullopt;
}

std::string_view role_name(role r) noexcept {
  switch (r) {
    case role::echo: return "echo";
    case role::hello: return "hello";
    case role::timestamp: return "timestamp";
  }
  return "?";
}

bool is_timestamp(std::string_view s) noexcept {
  if (s.size() == 24) {  // ctime: "Sun Nov  1 19:55:07 2026"
    return one_of(s.substr(0, 3), "MonTueWedThuFriSatSun") && s[3] == ' ' &&
           one_of(s.substr(4, 3), "JanFebMarAprMayJunJulAugSepOctNovDec") && s[7] == ' ' &&
           (s[8] == ' ' || digit(s[8])) && digit(s[9]) && s[10] == ' ' && digits(s, 11, 2) &&
           s[13] == ':' && digits(s, 14, 2) && s[16] == ':' && digits(s, 17, 2) &&
           s[19] == ' ' && digits(s, 20, 4);
  }
  // RFC 3339: "2026-11-01T19:55:07+08:00" or "2026-11-01T19:55:07Z"
  if (s.size() != 25 && s.size() != 20) return false;
  bool const date_time = digits(s, 0, 4) && s[4] == '-' && digits(s, 5, 2) && s[7] == '-' &&
                         digits(s, 8, 2) && s[10] == 'T' && digits(s, 11, 2) && s[13] == ':' &&
                         digits(s, 14, 2) && s[16] == ':' && digits(s, 17, 2);
  if (!date_time) return false;
  if (s.size() == 20) return s[19] == 'Z';
  return (s[19] == '+' || s[19] == '-') && digits(s, 20, 2) && s[22] == ':' && digits(s, 23, 2);
}

message_source::message_source(role r, std::size_t size, std::uint64_t seed) noexcept
    : role_(r),
      size_(size),
      payload_(r == role::echo ? size : (size > 0 ? size - 1 : 0)),
      base_(static_cast<std::size_t>((seed * 0x9E3779B97F4A7C15ULL) % plen)) {}

std::string_view message_source::pattern() const noexcept {
  const auto& t = tables();
  const auto& arr = role_ == role::echo ? t.bytes : t.text;
  return std::string_view(arr.data(), arr.size());
}

std::size_t message_source::pattern_pos(std::uint64_t index) const noexcept {
  // (base + index * payload) mod plen, without overflow for any index.
  std::uint64_t const step = payload_ % plen;
  std::uint64_t const i = index % plen;
  return static_cast<std::size_t>((base_ + (i * step) % plen) % plen);
}

void message_source::fill(std::uint64_t index, char* out) const noexcept {
  std::string_view const p = pattern();
  std::size_t pos = pattern_pos(index);
  std::size_t left = payload_;
  while (left > 0) {
    std::size_t const n = std::min(left, plen);
    std::memcpy(out, p.data() + pos, n);  // the doubled table makes [pos, pos+n) contiguous
    out += n;
    left -= n;
    pos = (pos + n) % plen;
  }
  if (role_ != role::echo && size_ > 0) *out = '\n';
}

std::size_t message_source::reply_size() const noexcept {
  switch (role_) {
    case role::echo: return size_;
    case role::hello: return payload_ + 9;  // "Hello, " + name + "!\n"
    case role::timestamp: return 0;
  }
  return 0;
}

reply_matcher::reply_matcher(const message_source& source, bool greeting) noexcept
    : source_(&source) {
  reset(greeting);
}

void reply_matcher::reset(bool greeting) noexcept {
  greeting_full_ = greeting ? hello_greeting.size() : 0;
  greeting_left_ = greeting_full_;
  reply_ = 0;
  seg_ = 0;
  off_ = 0;
  reply_bytes_ = 0;
  stamp_len_ = 0;
  error_.clear();
}

reply_matcher::segment reply_matcher::segment_at(std::uint64_t reply, unsigned index) const noexcept {
  std::string_view const p = source_->pattern();
  segment const payload{segment::pattern, p, source_->pattern_pos(reply), source_->payload_size()};
  switch (source_->kind()) {
    case role::echo:
      if (index == 0) return payload;
      break;
    case role::hello:
      if (index == 0) return {segment::literal, "Hello, ", 0, 7};
      if (index == 1) return payload;
      if (index == 2) return {segment::literal, "!\n", 0, 2};
      break;
    case role::timestamp:
      if (index == 0) return {segment::literal, "[", 0, 1};
      if (index == 1) return {segment::stamp, {}, 0, 0};
      if (index == 2) return {segment::literal, "] ", 0, 2};
      if (index == 3) return payload;
      if (index == 4) return {segment::literal, "\n", 0, 1};
      break;
  }
  return {segment::end, {}, 0, 0};
}

check_status reply_matcher::fail(check_status s, std::string what) {
  if (error_.empty()) error_ = std::move(what);
  return s;
}

check_status reply_matcher::mismatch_at(std::string_view expected, std::string_view got,
                                        std::size_t at) {
  // `got` may run on past `expected`: the report shows a little more of what came.
  std::size_t i = 0;
  while (i < expected.size() && i < got.size() && expected[i] == got[i]) ++i;
  std::string what;
  if (greeting_left_ > 0) {
    what.assign("wrong greeting at byte ");
    what.append(std::to_string(at + i + 1));
    what.append(" (expected '");
    what.append(hello_greeting);
    what.append("'): got '");
  } else {
    what.assign("reply ");
    what.append(std::to_string(reply_ + 1));
    what.append(", byte ");
    what.append(std::to_string(at + i + 1));
    what.append(": expected '");
    what.append(printable(expected.substr(i, 1)));
    what.append("', got '");
  }
  what.append(printable(got.substr(i, 16)));
  what.append("'");
  return fail(check_status::mismatch, std::move(what));
}

check_status reply_matcher::feed(std::string_view in, std::uint64_t sent) {
  if (!error_.empty()) return check_status::mismatch;
  if (greeting_left_ > 0 && !in.empty()) {
    std::size_t const done = greeting_full_ - greeting_left_;
    std::size_t const n = std::min(greeting_left_, in.size());
    std::string_view const want = hello_greeting.substr(done, n);
    if (in.substr(0, n) != want) return mismatch_at(want, in, done);
    greeting_left_ -= n;
    in.remove_prefix(n);
  }
  while (!in.empty()) {
    if (reply_ >= sent) {
      std::string what = "unexpected bytes after reply " + std::to_string(reply_) + ": '";
      what.append(printable(in.substr(0, 16)));
      what.append("'");
      return fail(check_status::unexpected, std::move(what));
    }
    segment const s = segment_at(reply_, seg_);
    switch (s.kind) {
      case segment::end:
        ++reply_;
        seg_ = 0;
        off_ = 0;
        reply_bytes_ = 0;
        continue;
      case segment::literal: {
        std::size_t const n = std::min(s.length - off_, in.size());
        std::string_view const want = s.bytes.substr(off_, n);
        if (in.substr(0, n) != want) return mismatch_at(want, in, reply_bytes_);
        off_ += n;
        reply_bytes_ += n;
        in.remove_prefix(n);
        break;
      }
      case segment::pattern: {
        std::size_t const n = std::min(s.length - off_, in.size());
        // The doubled table: a run of up to pattern_length bytes is contiguous.
        std::size_t done = 0;
        while (done < n) {
          std::size_t const pos = (s.start + off_ + done) % plen;
          std::size_t const k = std::min(n - done, plen);
          std::string_view const want = s.bytes.substr(pos, k);
          if (std::memcmp(in.data() + done, want.data(), k) != 0) {
            return mismatch_at(want, in.substr(done), reply_bytes_ + done);
          }
          done += k;
        }
        off_ += n;
        reply_bytes_ += n;
        in.remove_prefix(n);
        break;
      }
      case segment::stamp: {
        // A stamp is at most 25 characters and never holds a line ending.
        while (!in.empty() && in.front() != ']' && in.front() != '\n' && stamp_len_ < sizeof stamp_) {
          stamp_[stamp_len_++] = in.front();
          ++reply_bytes_;
          in.remove_prefix(1);
        }
        std::string_view const stamp(stamp_, stamp_len_);
        if (stamp_len_ == sizeof stamp_ || (!in.empty() && (in.front() != ']' || !is_timestamp(stamp)))) {
          std::string what = "reply " + std::to_string(reply_ + 1) + ": not a time stamp: '";
          what.append(printable(stamp));
          what.append("'");
          return fail(check_status::mismatch, std::move(what));
        }
        if (!in.empty()) {  // ']' is next: the stamp is complete
          stamp_len_ = 0;
          ++seg_;
        }
        continue;
      }
    }
    if (off_ == s.length) {
      off_ = 0;
      ++seg_;
      if (segment_at(reply_, seg_).kind == segment::end) {
        ++reply_;
        seg_ = 0;
        reply_bytes_ = 0;
      }
    }
  }
  return check_status::ok;
}

std::string reply_matcher::check_datagram(const message_source& source, std::uint64_t index,
                                          std::string_view datagram) {
  reply_matcher m(source, false);
  m.reply_ = index;
  auto const s = m.feed(datagram, index + 1);
  if (s != check_status::ok) return m.error_;
  if (m.reply_ != index + 1 || m.in_reply()) {
    return "reply " + std::to_string(index + 1) + " is short: " + std::to_string(datagram.size()) +
           " bytes";
  }
  return {};
}

}  // namespace netdemo::bench
