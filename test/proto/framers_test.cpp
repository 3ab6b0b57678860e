#include "netdemo/proto/framers.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "netdemo/proto/handlers.hpp"
#include "netdemo/proto/roles.hpp"

using namespace netdemo::proto;

namespace {

static_assert(stream_framer<line_framer>);
static_assert(stream_framer<raw_framer>);
static_assert(stream_framer<len16_framer>);
static_assert(stream_framer<len32_framer>);
static_assert(stream_framer<chosen_framer>);

// `msg` with a big-endian prefix of `n` bytes.
std::string prefixed(std::size_t n, std::string_view msg) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>((msg.size() >> (8 * (n - 1 - i))) & 0xff));
  out.append(msg);
  return out;
}
std::string p16(std::string_view msg) { return prefixed(2, msg); }
std::string p32(std::string_view msg) { return prefixed(4, msg); }

// The messages of the stream tests: empty ones, binary bytes, CR/LF inside, UTF-8.
std::vector<std::string> const sample{"Michael", "", "a\r\nb\n", std::string("\0\xff\x01", 3),
                                      "", "\xe4\xbd\xa0\xe5\xa5\xbd", std::string(300, 'x')};

template <class Framer>
struct run_result {
  std::vector<std::string> messages;
  feed_status last = feed_status::consumed;
};

// Feeds `chunks` one by one to a fresh framer (no flush: length framing ignores pauses).
template <class Framer>
run_result<Framer> frame(const std::vector<std::string>& chunks, std::size_t max = 1 << 16) {
  Framer f(max);
  run_result<Framer> r;
  auto cb = [&](std::string_view m, line_ending e) {
    CHECK(e == line_ending::none);
    r.messages.emplace_back(m);
    return true;
  };
  for (const auto& ch : chunks) {
    r.last = f.feed(ch, cb);
    if (r.last != feed_status::consumed) break;
  }
  return r;
}

template <class Framer>
void check_every_split(std::string const& stream, std::vector<std::string> const& want) {
  CHECK(frame<Framer>({stream}).messages == want);  // merged: all in one read
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    INFO("split at " << i);
    CHECK(frame<Framer>({stream.substr(0, i), stream.substr(i)}).messages == want);
  }
  for (std::size_t i = 0; i <= stream.size(); i += 7) {
    for (std::size_t j = i; j <= stream.size(); j += 5) {
      INFO("split at " << i << " and " << j);
      CHECK(frame<Framer>({stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)}).messages ==
            want);
    }
  }
  std::vector<std::string> bytes;
  for (char ch : stream) bytes.emplace_back(1, ch);
  CHECK(frame<Framer>(bytes).messages == want);
}

}  // namespace

TEST_CASE("framers: len16 and len32 give the same messages at every split offset", "[framers]") {
  std::string s16, s32;
  for (const auto& m : sample) {
    s16 += p16(m);
    s32 += p32(m);
  }
  check_every_split<len16_framer>(s16, sample);
  check_every_split<len32_framer>(s32, sample);
}

TEST_CASE("framers: line framing gives the same messages at every split offset", "[framers]") {
  // Through the concept's interface, as text_stream_handler uses it.
  std::string const stream = "Michael\n\nTracy\r\n\xe4\xbd\xa0\xe5\xa5\xbd\rend\n";
  std::vector<std::string> const want{"Michael", "", "Tracy", "\xe4\xbd\xa0\xe5\xa5\xbd", "end"};
  auto run = [](const std::vector<std::string>& chunks) {
    line_framer f(1024);
    std::vector<std::string> got;
    auto cb = [&](std::string_view m, line_ending) {
      got.emplace_back(m);
      return true;
    };
    for (const auto& ch : chunks) REQUIRE(f.feed(ch, cb) == feed_status::consumed);
    f.flush(cb);
    return got;
  };
  CHECK(run({stream}) == want);
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    INFO("split at " << i);
    CHECK(run({stream.substr(0, i), stream.substr(i)}) == want);
  }
}

TEST_CASE("framers: raw makes each read one message, so splits and merges show", "[framers]") {
  std::string const stream = "Michael\nTracy\n";
  CHECK(frame<raw_framer>({stream}).messages == std::vector<std::string>{stream});  // merged
  for (std::size_t i = 1; i < stream.size(); ++i) {
    INFO("split at " << i);
    CHECK(frame<raw_framer>({stream.substr(0, i), stream.substr(i)}).messages ==
          std::vector<std::string>{stream.substr(0, i), stream.substr(i)});
  }
  CHECK(frame<raw_framer>({""}).messages.empty());  // an empty read is no message
  CHECK(frame<raw_framer>({"12345"}, 5).messages.size() == 1);
  CHECK(frame<raw_framer>({"123456"}, 5).last == feed_status::too_long);
  raw_framer f(5);
  CHECK_FALSE(f.wants_pause());
}

TEST_CASE("framers: the length cap is exact and judged on the prefix alone", "[framers]") {
  SECTION("a message of exactly the cap is accepted") {
    auto const r = frame<len16_framer>({p16(std::string(16, 'x'))}, 16);
    CHECK(r.last == feed_status::consumed);
    CHECK(r.messages == std::vector<std::string>{std::string(16, 'x')});
    auto const r32 = frame<len32_framer>({p32(std::string(16, 'x'))}, 16);
    CHECK(r32.messages == std::vector<std::string>{std::string(16, 'x')});
  }
  SECTION("one more is too long as soon as the prefix is complete") {
    CHECK(frame<len16_framer>({p16(std::string(17, 'x')).substr(0, 2)}, 16).last == feed_status::too_long);
    CHECK(frame<len32_framer>({p32(std::string(17, 'x')).substr(0, 4)}, 16).last == feed_status::too_long);
    // The prefix itself split: not judged until its last byte.
    auto const r = frame<len32_framer>({std::string("\0\0", 2), std::string("\0", 1)}, 16);
    CHECK(r.last == feed_status::consumed);
    CHECK(frame<len32_framer>({std::string("\0\0", 2), std::string("\0\x11", 2)}, 16).last ==
          feed_status::too_long);
  }
  SECTION("the messages before the long one are still delivered") {
    auto const r = frame<len16_framer>({p16("ok") + p16("toolong")}, 4);
    CHECK(r.last == feed_status::too_long);
    CHECK(r.messages == std::vector<std::string>{"ok"});
  }
  SECTION("len16 cannot accept more than its prefix can say") {
    CHECK(len16_framer(1 << 20).max_line() == 65535);
    CHECK(len32_framer(1 << 20).max_line() == std::size_t{1} << 20);
  }
}

TEST_CASE("framers: zero-length messages are empty messages, wherever they fall", "[framers]") {
  std::string const zero16("\0\0", 2);
  CHECK(frame<len16_framer>({zero16}).messages == std::vector<std::string>{""});
  CHECK(frame<len16_framer>({zero16 + zero16 + p16("a") + zero16}).messages ==
        std::vector<std::string>{"", "", "a", ""});
  CHECK(frame<len32_framer>({std::string(4, '\0')}).messages == std::vector<std::string>{""});
  // Only the prefix's first byte: nothing yet.
  CHECK(frame<len16_framer>({std::string(1, '\0')}).messages.empty());
}

TEST_CASE("framers: a prefix split across reads", "[framers]") {
  std::string const s = p32("hello");
  for (std::size_t i = 1; i < 4; ++i) {
    INFO("prefix split at " << i);
    len32_framer f(1024);
    std::vector<std::string> got;
    auto cb = [&](std::string_view m, line_ending) {
      got.emplace_back(m);
      return true;
    };
    REQUIRE(f.feed(s.substr(0, i), cb) == feed_status::consumed);
    CHECK(got.empty());
    REQUIRE(f.feed(s.substr(i), cb) == feed_status::consumed);
    CHECK(got == std::vector<std::string>{"hello"});
  }
}

TEST_CASE("framers: a huge declared length costs only the bytes that arrived", "[framers]") {
  std::size_t const cap = std::size_t{1} << 30;
  len32_framer f(cap);
  std::vector<std::string> got;
  auto cb = [&](std::string_view m, line_ending) {
    got.emplace_back(m);
    return true;
  };
  std::string declared = prefixed(4, "");
  declared[0] = '\x40';  // 1 GiB: exactly the cap
  REQUIRE(f.feed(declared + "0123456789", cb) == feed_status::consumed);
  CHECK(got.empty());
  CHECK(f.held_bytes() < 1024);
  REQUIRE(f.feed(std::string(1000, 'y'), cb) == feed_status::consumed);
  CHECK(f.held_bytes() < 4096);
  // After a long message the memory is given back.
  len16_framer g(65535);
  auto const big = p16(std::string(60000, 'z'));
  REQUIRE(g.feed(big.substr(0, 30000), cb) == feed_status::consumed);
  CHECK(g.held_bytes() >= 29998);
  REQUIRE(g.feed(big.substr(30000), cb) == feed_status::consumed);
  CHECK(g.held_bytes() < 1024);
  REQUIRE(got.size() == 1);
  CHECK(got[0] == std::string(60000, 'z'));
}

TEST_CASE("framers: stopped_at counts the bytes through the stopping message", "[framers]") {
  std::string const s = p16("a") + p16("exit") + p16("b");
  len16_framer f(64);
  std::vector<std::string> seen;
  auto stop_at_exit = [&](std::string_view m, line_ending) {
    seen.emplace_back(m);
    return m != "exit";
  };
  REQUIRE(f.feed(s, stop_at_exit) == feed_status::stopped);
  CHECK(seen == std::vector<std::string>{"a", "exit"});
  CHECK(f.stopped_at() == 3 + 6);
}

TEST_CASE("framers: replies get their own prefix", "[framers]") {
  len16_framer f(64);
  std::string out = "before";
  auto const mark = f.begin_reply(out);
  out.append(std::string(300, 'r'));
  f.end_reply(out, mark, line_ending::lf);  // the request's ending does not matter here
  CHECK(out == "before" + p16(std::string(300, 'r')));
  len32_framer g(64);
  std::string o32;
  auto const m32 = g.begin_reply(o32);
  g.end_reply(o32, m32, line_ending::none);
  CHECK(o32 == std::string(4, '\0'));  // an empty reply is a zero-length message
  SECTION("a reply too long for a 16-bit prefix becomes a framed error") {
    std::string big;
    auto const m = f.begin_reply(big);
    big.append(70000, 'b');
    f.end_reply(big, m, line_ending::none);
    CHECK(big == p16("ERR reply too long"));
  }
}

TEST_CASE("framers: hello over len16, bytes in and bytes out", "[framers][hello]") {
  using handler = text_stream_handler<hello_protocol, len16_framer>;
  std::string const in = p16("Michael") + p16("") + p16("Tracy");
  std::string const want = p16("Hello, Michael!") + p16("Hello, !") + p16("Hello, Tracy!");
  {
    handler h({}, 1024);
    std::string out;
    h.greet(out);
    CHECK(out == p16("Welcome!"));
  }
  for (std::size_t i = 0; i <= in.size(); ++i) {
    INFO("split at " << i);
    handler h({}, 1024);
    std::string out;
    CHECK(h.on_bytes(in.substr(0, i), out) == verdict::keep_open);
    CHECK_FALSE(h.wants_pause());  // a pause ends nothing here
    CHECK(h.on_pause(out) == verdict::keep_open);
    CHECK(h.on_bytes(in.substr(i), out) == verdict::keep_open);
    CHECK(out == want);
  }
  SECTION("exit closes, and what follows it is not answered") {
    handler h({}, 1024);
    std::string out;
    CHECK(h.on_bytes(p16("Bob") + p16("exit") + p16("Eve"), out) == verdict::quit);
    CHECK(out == p16("Hello, Bob!"));
  }
  SECTION("a declared length over the cap gets a framed error, then close") {
    handler h({}, 8);
    std::string out;
    CHECK(h.on_bytes(p16("ok") + p16("ninebytes").substr(0, 2), out) == verdict::too_long);
    CHECK(out == p16("Hello, ok!") + p16("ERR message too long (max 8 bytes)"));
  }
  SECTION("a reply budget answers the same bytes in batches") {
    handler h({}, 1024);
    std::string out;
    verdict v = h.on_bytes(in, out, 1);
    int rounds = 0;
    while (v == verdict::more && rounds++ < 10) v = h.on_bytes({}, out, 1);
    CHECK(v == verdict::keep_open);
    CHECK(rounds == 2);
    CHECK(out == want);
  }
}

TEST_CASE("framers: every text role answers under every framing", "[framers]") {
  // Each role's reply to one message, framed four ways: the unframed reply is the same.
  auto replies = [](auto protocol) {
    using P = decltype(protocol);
    std::vector<std::string> bodies;
    {
      text_stream_handler<P, line_framer> h(protocol, 1024);
      std::string out;
      REQUIRE(h.on_bytes("help\n", out) == verdict::keep_open);
      REQUIRE(out.ends_with('\n'));
      out.pop_back();
      bodies.push_back(out);
    }
    {
      text_stream_handler<P, raw_framer> h(protocol, 1024);
      std::string out;
      REQUIRE(h.on_bytes("help", out) == verdict::keep_open);
      bodies.push_back(out);
    }
    {
      text_stream_handler<P, len16_framer> h(protocol, 1024);
      std::string out;
      REQUIRE(h.on_bytes(p16("help"), out) == verdict::keep_open);
      REQUIRE(out.size() >= 2);
      CHECK(p16(out.substr(2)) == out);
      bodies.push_back(out.substr(2));
    }
    {
      text_stream_handler<P, len32_framer> h(protocol, 1024);
      std::string out;
      REQUIRE(h.on_bytes(p32("help"), out) == verdict::keep_open);
      REQUIRE(out.size() >= 4);
      CHECK(p32(out.substr(4)) == out);
      bodies.push_back(out.substr(4));
    }
    return bodies;
  };
  auto same = [](const std::vector<std::string>& b) {
    REQUIRE(b.size() == 4);
    CHECK_FALSE(b[0].empty());
    CHECK(b[1] == b[0]);
    CHECK(b[2] == b[0]);
    CHECK(b[3] == b[0]);
  };
  same(replies(hello_protocol{}));
  same(replies(upper_protocol{}));
  same(replies(command_protocol{commands_of({})}));
  // The timestamp's clock may tick between two replies: compare the lengths and the text.
  auto const t = replies(timestamp_protocol{});
  for (const auto& b : t) CHECK(b.ends_with("] help"));
  // Echo sends every byte back unchanged, so any framing of the input is the output's.
  echo_stream_handler echo;
  std::string out;
  echo.on_bytes(p16("a") + p16("b"), out);
  CHECK(frame<len16_framer>({out}).messages == std::vector<std::string>{"a", "b"});
}

TEST_CASE("framers: --framing names and the role registry", "[framers]") {
  for (auto name : framing_names) CHECK(framing_names[static_cast<std::size_t>(*parse_framing(name))] == name);
  CHECK_FALSE(parse_framing("len8").has_value());
  CHECK_FALSE(parse_framing("").has_value());
  // hello's greeting shows which framer the registry chose.
  std::vector<std::string> const greetings{"Welcome!", "Welcome!", p16("Welcome!"), p32("Welcome!")};
  for (std::size_t i = 0; i < framing_names.size(); ++i) {
    INFO(framing_names[i]);
    std::string out;
    CHECK(with_stream_role("hello", static_cast<framing>(i), {}, [&](auto h) { h.greet(out); }));
    CHECK(out == greetings[i]);
    for (auto role : role_names) CHECK(with_stream_role(role, static_cast<framing>(i), {}, [](auto) {}));
    CHECK_FALSE(with_stream_role("nope", static_cast<framing>(i), {}, [](auto) {}));
  }
}

TEST_CASE("framers: hello over raw answers each read, so a split send is answered twice", "[framers][hello]") {
  using handler = text_stream_handler<hello_protocol, raw_framer>;
  handler h({}, 1024);
  std::string out;
  h.greet(out);
  CHECK(out == "Welcome!");
  out.clear();
  CHECK(h.on_bytes("Mich", out) == verdict::keep_open);
  CHECK(h.on_bytes("ael", out) == verdict::keep_open);
  CHECK(out == "Hello, Mich!Hello, ael!");
  out.clear();
  CHECK(h.on_bytes("Tracy\nSarah\n", out) == verdict::keep_open);  // merged: one reply
  CHECK(out == "Hello, Tracy\nSarah\n!");
  CHECK_FALSE(h.wants_pause());
  out.clear();
  CHECK(h.on_bytes("exit", out) == verdict::quit);
  CHECK(out.empty());
  handler small({}, 4);
  CHECK(small.on_bytes("12345", out) == verdict::too_long);
  CHECK(out == "ERR message too long (max 4 bytes)\n");
}

TEST_CASE("framers: chosen_framer frames exactly as the framer it holds", "[framers]") {
  std::string stream;
  for (const auto& m : sample) stream += p16(m);
  auto run = [](chosen_framer f, const std::vector<std::string>& chunks) {
    std::vector<std::string> got;
    auto cb = [&](std::string_view m, line_ending) {
      got.emplace_back(m);
      return true;
    };
    for (const auto& ch : chunks) REQUIRE(f.feed(ch, cb) == feed_status::consumed);
    return got;
  };
  for (std::size_t i = 0; i <= stream.size(); ++i) {
    INFO("split at " << i);
    CHECK(run(chosen_framer(len16_framer(1024)), {stream.substr(0, i), stream.substr(i)}) == sample);
  }
  CHECK(run(chosen_framer(raw_framer(1024)), {"ab", "c"}) == std::vector<std::string>{"ab", "c"});
  // Replies, the cap and the error follow the held framer.
  using handler = text_stream_handler<hello_protocol, chosen_framer>;
  handler h({}, chosen_framer(len32_framer(8)));
  std::string out;
  h.greet(out);
  CHECK(h.on_bytes(p32("Bob") + p32("ninebytes").substr(0, 4), out) == verdict::too_long);
  CHECK(out == p32("Welcome!") + p32("Hello, Bob!") + p32("ERR message too long (max 8 bytes)"));
  chosen_framer const c(len16_framer(1 << 20));
  CHECK(c.max_line() == 65535);
  CHECK_FALSE(c.wants_pause());
}
