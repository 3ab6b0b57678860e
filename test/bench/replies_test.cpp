#include "netdemo/bench/replies.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "netdemo/proto/protocols.hpp"
#include "netdemo/proto/timestamp.hpp"

using namespace netdemo::bench;

namespace {

std::string message(const message_source& s, std::uint64_t i) {
  std::string m(s.size(), '\0');
  s.fill(i, m.data());
  return m;
}

/// The reply a correct netdemo server sends, built with the server's own protocol code.
std::string reply_to(role r, const std::string& msg) {
  std::string out;
  if (r == role::echo) return msg;
  std::string_view const name(msg.data(), msg.size() - 1);  // without the LF
  if (r == role::hello) {
    netdemo::proto::hello_protocol{}.on_message(name, out);
  } else {
    netdemo::proto::timestamp_protocol{}.on_message(name, out);
  }
  out.push_back('\n');
  return out;
}

/// The replies to messages 0..n-1, concatenated (with the greeting for hello over TCP).
std::string replies(const message_source& s, std::uint64_t n, bool greeting) {
  std::string all;
  if (greeting) all.append(hello_greeting);
  for (std::uint64_t i = 0; i < n; ++i) all.append(reply_to(s.kind(), message(s, i)));
  return all;
}

struct fed {
  check_status status;
  std::uint64_t done;
  std::string error;
};

/// Feeds `bytes` in pieces of `piece` bytes.
fed feed_all(const message_source& s, bool greeting, std::string_view bytes, std::uint64_t sent,
             std::size_t piece) {
  reply_matcher m(s, greeting);
  check_status st = check_status::ok;
  for (std::size_t at = 0; at < bytes.size() && st == check_status::ok; at += piece) {
    st = m.feed(bytes.substr(at, piece), sent);
  }
  return {st, m.replies_done(), m.error()};
}

}  // namespace

TEST_CASE("messages: sizes, text content, different from one message to the next", "[bench][replies]") {
  message_source echo(role::echo, 64, 1);
  message_source text(role::hello, 64, 1);
  CHECK(message(echo, 0) != message(echo, 1));
  CHECK(message(echo, 0) == message(echo, 0));
  CHECK(message(echo, 0) != message(message_source(role::echo, 64, 2), 0));
  for (std::uint64_t i = 0; i < 200; ++i) {
    std::string const m = message(text, i);
    REQUIRE(m.size() == 64);
    REQUIRE(m.back() == '\n');
    for (std::size_t j = 0; j + 1 < m.size(); ++j) {
      REQUIRE(std::isalnum(static_cast<unsigned char>(m[j])));
      REQUIRE(m[j] != 'x');  // never "exit"
    }
  }
  // Echo messages use every byte value, not just text.
  std::vector<bool> seen(256);
  for (std::uint64_t i = 0; i < 100; ++i) {
    for (char c : message(echo, i)) seen[static_cast<unsigned char>(c)] = true;
  }
  CHECK(std::count(seen.begin(), seen.end(), true) == 256);
  CHECK(text.reply_size() == 64 + 8);
  CHECK(echo.reply_size() == 64);
  // Messages longer than the pattern wrap around it.
  message_source big(role::echo, 200000, 3);
  std::string const b = message(big, 0);
  CHECK(b.substr(0, 1000) == b.substr(message_source::pattern_length, 1000));
}

TEST_CASE("time stamps: ctime and RFC 3339 shapes", "[bench][replies]") {
  CHECK(is_timestamp("Sun Nov  1 19:55:07 2026"));
  CHECK(is_timestamp("Mon Dec 28 09:05:00 2026"));
  CHECK(is_timestamp("2026-11-01T19:55:07+08:00"));
  CHECK(is_timestamp("2026-11-01T19:55:07-03:30"));
  CHECK(is_timestamp("2026-11-01T19:55:07Z"));
  CHECK_FALSE(is_timestamp("Sun Nov  1 19:55:07 202"));
  CHECK_FALSE(is_timestamp("Xyz Nov  1 19:55:07 2026"));
  CHECK_FALSE(is_timestamp("Sun Nov  1 19:55:07 20a6"));
  CHECK_FALSE(is_timestamp("2026-11-01 19:55:07+08:00"));
  CHECK_FALSE(is_timestamp(""));
  for (auto f : {netdemo::proto::time_format::ctime, netdemo::proto::time_format::iso8601}) {
    std::string now;
    netdemo::proto::append_time(std::time(nullptr), f, now);
    CHECK(is_timestamp(now));
  }
}

TEST_CASE("matcher: correct replies pass, split at every offset", "[bench][replies]") {
  struct variant {
    role r;
    bool greeting;
  };
  for (auto v : {variant{role::echo, false}, variant{role::hello, true}, variant{role::hello, false},
                 variant{role::timestamp, false}}) {
    message_source s(v.r, 16, 42);
    std::string const all = replies(s, 5, v.greeting);
    for (std::size_t piece = 1; piece <= all.size(); ++piece) {
      auto const f = feed_all(s, v.greeting, all, 5, piece);
      INFO("role " << role_name(v.r) << " piece " << piece << ": " << f.error);
      REQUIRE(f.status == check_status::ok);
      REQUIRE(f.done == 5);
    }
  }
}

TEST_CASE("matcher: replies come in as they complete, not before", "[bench][replies]") {
  message_source s(role::hello, 10, 7);
  std::string const all = replies(s, 3, true);
  reply_matcher m(s, true);
  CHECK_FALSE(m.in_reply());
  REQUIRE(m.feed(all.substr(0, 4), 3) == check_status::ok);  // half the greeting
  CHECK(m.in_reply());
  CHECK_FALSE(m.greeted());
  REQUIRE(m.feed(all.substr(4, 4), 3) == check_status::ok);
  CHECK(m.greeted());
  CHECK_FALSE(m.in_reply());
  std::size_t const first_end = 8 + s.reply_size();
  REQUIRE(m.feed(all.substr(8, s.reply_size() - 1), 3) == check_status::ok);
  CHECK(m.replies_done() == 0);
  CHECK(m.in_reply());
  REQUIRE(m.feed(all.substr(first_end - 1, 1), 3) == check_status::ok);
  CHECK(m.replies_done() == 1);
  CHECK_FALSE(m.in_reply());
}

TEST_CASE("matcher: a flipped byte anywhere is a mismatch", "[bench][replies]") {
  for (role r : {role::echo, role::hello, role::timestamp}) {
    message_source s(r, 12, 9);
    bool const greeting = r == role::hello;
    std::string const good = replies(s, 3, greeting);
    bool in_stamp = false;
    for (std::size_t at = 0; at < good.size(); ++at) {
      // Inside a time stamp another digit is another valid time: nothing to detect.
      if (r == role::timestamp) {
        if (good[at] == '[') in_stamp = true;
        if (good[at] == ']') in_stamp = false;
        if (in_stamp && std::isdigit(static_cast<unsigned char>(good[at]))) continue;
      }
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x01);
      auto const f = feed_all(s, greeting, bad, 3, 5);
      INFO("role " << role_name(r) << " flipped byte " << at << " of '" << good << "'");
      REQUIRE(f.status == check_status::mismatch);
      REQUIRE_FALSE(f.error.empty());
    }
  }
}

TEST_CASE("matcher: the error says which reply and byte", "[bench][replies]") {
  message_source s(role::echo, 10, 1);
  std::string bad = replies(s, 3, false);
  bad[24] = static_cast<char>(bad[24] ^ 0x40);  // reply 3, byte 5
  auto const f = feed_all(s, false, bad, 3, 100);
  REQUIRE(f.status == check_status::mismatch);
  CHECK(f.done == 2);
  CHECK_THAT(f.error, Catch::Contains("reply 3, byte 5"));
}

TEST_CASE("matcher: a missing byte is a mismatch or an unfinished reply", "[bench][replies]") {
  for (role r : {role::echo, role::hello, role::timestamp}) {
    message_source s(r, 12, 5);
    std::string const good = replies(s, 3, false);
    for (std::size_t at = 0; at < good.size(); ++at) {
      std::string bad = good;
      bad.erase(at, 1);
      reply_matcher m(s, false);
      auto const st = m.feed(bad, 3);
      INFO("role " << role_name(r) << " byte " << at << " missing");
      // Either a later byte shows the shift, or the last reply never completes.
      REQUIRE((st == check_status::mismatch || (m.replies_done() < 3 && m.in_reply())));
    }
  }
}

TEST_CASE("matcher: an extra byte is unexpected or a mismatch", "[bench][replies]") {
  message_source s(role::echo, 8, 3);
  std::string const good = replies(s, 2, false);
  // After the last reply asked for: unexpected.
  reply_matcher m(s, false);
  CHECK(m.feed(good + "Z", 2) == check_status::unexpected);
  CHECK_THAT(m.error(), Catch::Contains("unexpected"));
  // Inside the stream: a mismatch (everything after it is shifted).
  for (std::size_t at = 0; at < good.size(); ++at) {
    std::string bad = good;
    bad.insert(at, 1, static_cast<char>(good[at] ^ 0x5a));
    auto const f = feed_all(s, false, bad, 2, 3);
    INFO("extra byte at " << at);
    REQUIRE(f.status != check_status::ok);
  }
  // Bytes before anything was sent.
  reply_matcher idle(s, false);
  CHECK(idle.feed("x", 0) == check_status::unexpected);
}

TEST_CASE("matcher: a wrong or missing greeting is flagged", "[bench][replies]") {
  message_source s(role::hello, 8, 3);
  std::string const good = replies(s, 1, true);
  std::string wrong = good;
  wrong[0] = 'w';
  auto const f = feed_all(s, true, wrong, 1, 64);
  CHECK(f.status == check_status::mismatch);
  CHECK_THAT(f.error, Catch::Contains("greeting"));
  // A server that answers without greeting first.
  auto const g = feed_all(s, true, replies(s, 1, false), 1, 64);
  CHECK(g.status == check_status::mismatch);
  CHECK_THAT(g.error, Catch::Contains("greeting"));
  // An echo server answering a hello client: the greeting is missing too.
  auto const h = feed_all(s, true, message(s, 0), 1, 64);
  CHECK(h.status == check_status::mismatch);
}

TEST_CASE("matcher: timestamp replies need a real stamp and the exact message", "[bench][replies]") {
  message_source s(role::timestamp, 6, 11);
  std::string const msg = message(s, 0);
  std::string const name = msg.substr(0, msg.size() - 1);
  auto check = [&](const std::string& reply) {
    reply_matcher m(s, false);
    auto const st = m.feed(reply, 1);
    return st == check_status::ok && m.replies_done() == 1;
  };
  CHECK(check("[Sun Nov  1 19:55:07 2026] " + name + "\n"));
  CHECK(check("[2026-11-01T19:55:07+08:00] " + name + "\n"));
  CHECK_FALSE(check("[Sun Nov  1 19:55:07 2026]" + name + "\n"));      // no space
  CHECK_FALSE(check("[yesterday] " + name + "\n"));                      // no stamp
  CHECK_FALSE(check("Sun Nov  1 19:55:07 2026 " + name + "\n"));        // no brackets
  CHECK_FALSE(check("[Sun Nov  1 19:55:07 2026] " + name + "!\n"));     // wrong message
  CHECK_FALSE(check("[" + std::string(60, '1') + "] " + name + "\n"));   // endless stamp
}

TEST_CASE("datagrams: exact replies only", "[bench][replies]") {
  for (role r : {role::echo, role::hello, role::timestamp}) {
    message_source s(r, 20, 8);
    std::string const good = reply_to(r, message(s, 4));
    INFO("role " << role_name(r));
    CHECK(reply_matcher::check_datagram(s, 4, good).empty());
    CHECK_FALSE(reply_matcher::check_datagram(s, 3, good).empty());  // another message's reply
    CHECK_FALSE(reply_matcher::check_datagram(s, 4, good.substr(0, good.size() - 1)).empty());
    CHECK_FALSE(reply_matcher::check_datagram(s, 4, good + "x").empty());
    std::string flipped = good;  // in the message part (a time stamp may take any digit)
    flipped[good.size() - 3] = static_cast<char>(flipped[good.size() - 3] ^ 4);
    CHECK_FALSE(reply_matcher::check_datagram(s, 4, flipped).empty());
  }
}

TEST_CASE("roles: names round-trip", "[bench][replies]") {
  for (role r : {role::echo, role::hello, role::timestamp}) CHECK(parse_role(role_name(r)) == r);
  CHECK_FALSE(parse_role("upper").has_value());
}
