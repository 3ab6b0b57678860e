#include "netdemo/proto/line_framer.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using netdemo::proto::feed_status;
using netdemo::proto::line_ending;
using netdemo::proto::line_framer;

namespace {

struct framed {
  std::string text;
  line_ending ending;
  bool operator==(const framed&) const = default;
};

struct collector {
  std::vector<framed> got;
  auto callback() {
    return [this](std::string_view t, line_ending e) {
      got.push_back({std::string(t), e});
      return true;
    };
  }
};

// Feeds `chunks` one by one, then flushes (the peer paused / closed).
std::vector<framed> frame_chunks(const std::vector<std::string>& chunks, std::size_t max = 1024) {
  line_framer f(max);
  collector c;
  for (const auto& ch : chunks) REQUIRE(f.feed(ch, c.callback()) == feed_status::consumed);
  f.flush(c.callback());
  return c.got;
}

}  // namespace

TEST_CASE("each line ending is recognised and reported", "[framer]") {
  auto const got = frame_chunks({"lf\ncrlf\r\ncr\rlast"});
  std::vector<framed> const want{{"lf", line_ending::lf},
                                 {"crlf", line_ending::crlf},
                                 {"cr", line_ending::cr},
                                 {"last", line_ending::none}};
  CHECK(got == want);
}

TEST_CASE("a bare word is only a message once flushed", "[framer]") {
  line_framer f(64);
  collector c;
  REQUIRE(f.feed("Michael", c.callback()) == feed_status::consumed);
  CHECK(c.got.empty());
  CHECK(f.has_partial());
  f.flush(c.callback());
  REQUIRE(c.got.size() == 1);
  CHECK(c.got[0] == framed{"Michael", line_ending::none});
  CHECK_FALSE(f.has_partial());
}

TEST_CASE("splitting the input at every offset gives the same messages", "[framer]") {
  std::string const input = "Michael\nTracy\r\nSarah\rexit\r\n\n\r\n\xe4\xbd\xa0\xe5\xa5\xbd\nend";
  auto const whole = frame_chunks({input});
  REQUIRE(whole.size() == 8);
  CHECK(whole[6] == framed{"\xe4\xbd\xa0\xe5\xa5\xbd", line_ending::lf});  // 你好 intact
  for (std::size_t i = 0; i <= input.size(); ++i) {
    INFO("split at " << i);
    CHECK(frame_chunks({input.substr(0, i), input.substr(i)}) == whole);
    for (std::size_t j = i; j <= input.size(); j += 3) {
      CHECK(frame_chunks({input.substr(0, i), input.substr(i, j - i), input.substr(j)}) == whole);
    }
  }
}

TEST_CASE("byte-at-a-time input gives the same messages", "[framer]") {
  std::string const input = "a\r\nb\rc\n\r\r\nd";
  std::vector<std::string> bytes;
  for (char ch : input) bytes.emplace_back(1, ch);
  CHECK(frame_chunks(bytes) == frame_chunks({input}));
}

TEST_CASE("a CR at the end of a read waits to see whether LF follows", "[framer]") {
  line_framer f(64);
  collector c;
  f.feed("exit\r", c.callback());
  CHECK(c.got.empty());
  f.feed("\n", c.callback());
  REQUIRE(c.got.size() == 1);
  CHECK(c.got[0] == framed{"exit", line_ending::crlf});

  collector d;
  f.feed("hi\r", d.callback());
  f.feed("x\n", d.callback());
  REQUIRE(d.got.size() == 2);
  CHECK(d.got[0] == framed{"hi", line_ending::cr});
  CHECK(d.got[1] == framed{"x", line_ending::lf});

  collector e;
  f.feed("late\r", e.callback());
  f.flush(e.callback());
  REQUIRE(e.got.size() == 1);
  CHECK(e.got[0] == framed{"late", line_ending::cr});
}

TEST_CASE("empty lines are messages", "[framer]") {
  auto const got = frame_chunks({"\n\r\n\r"});
  std::vector<framed> const want{{"", line_ending::lf}, {"", line_ending::crlf}, {"", line_ending::cr}};
  CHECK(got == want);
}

TEST_CASE("binary bytes other than CR and LF pass through", "[framer]") {
  std::string payload;
  for (int b = 0; b < 256; ++b) {
    if (b != '\r' && b != '\n') payload.push_back(static_cast<char>(b));
  }
  auto const got = frame_chunks({payload + "\n"});
  REQUIRE(got.size() == 1);
  CHECK(got[0].text == payload);
}

TEST_CASE("the line cap is exact and holds across reads", "[framer]") {
  SECTION("a line of exactly max bytes is accepted") {
    auto const got = frame_chunks({std::string(16, 'x') + "\n"}, 16);
    REQUIRE(got.size() == 1);
    CHECK(got[0].text.size() == 16);
  }
  SECTION("one more byte is too long, terminated or not") {
    line_framer f(16);
    collector c;
    CHECK(f.feed(std::string(17, 'x') + "\n", c.callback()) == feed_status::too_long);
    line_framer g(16);
    CHECK(g.feed(std::string(17, 'x'), c.callback()) == feed_status::too_long);
    CHECK(c.got.empty());
  }
  SECTION("a long line sent in small pieces is caught before it is buffered") {
    line_framer f(16);
    collector c;
    feed_status st = feed_status::consumed;
    int pieces = 0;
    while (st == feed_status::consumed && pieces < 100) {
      st = f.feed("abcd", c.callback());
      ++pieces;
    }
    CHECK(st == feed_status::too_long);
    CHECK(pieces == 5);  // 16 bytes fit, the 17th..20th do not
  }
  SECTION("the lines before the long one are still delivered") {
    line_framer f(4);
    collector c;
    CHECK(f.feed("ok\ntoolong\n", c.callback()) == feed_status::too_long);
    REQUIRE(c.got.size() == 1);
    CHECK(c.got[0].text == "ok");
  }
}

TEST_CASE("the callback can stop framing", "[framer]") {
  line_framer f(64);
  std::vector<std::string> seen;
  auto stop_at_exit = [&](std::string_view t, line_ending) {
    seen.emplace_back(t);
    return t != "exit";
  };
  CHECK(f.feed("a\nexit\nb\n", stop_at_exit) == feed_status::stopped);
  CHECK(seen == std::vector<std::string>{"a", "exit"});
}

TEST_CASE("garbage input never breaks the framer", "[framer]") {
  // A fixed pseudo-random byte soup, fed in uneven pieces: every byte that is not a line
  // ending comes out in some message, and nothing is longer than the cap.
  std::uint32_t x = 12345;
  std::string soup;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1103515245u + 12345u;
    soup.push_back(static_cast<char>(x >> 24));
  }
  line_framer f(1 << 20);
  collector c;
  for (std::size_t pos = 0; pos < soup.size();) {
    std::size_t const n = 1 + (pos * 7) % 97;
    REQUIRE(f.feed(std::string_view(soup).substr(pos, n), c.callback()) == feed_status::consumed);
    pos += n;
  }
  f.flush(c.callback());
  std::size_t text_bytes = 0;
  for (const auto& m : c.got) text_bytes += m.text.size();
  std::size_t content = 0;
  for (char ch : soup) content += (ch != '\r' && ch != '\n');
  CHECK(text_bytes == content);
}

TEST_CASE("line_end_finder finds every CR and LF in order, whatever the mix", "[framer]") {
  using netdemo::proto::line_end_finder;
  // Every string of length 0..7 over {x, CR, LF}: the finder must agree with a plain scan.
  std::size_t checked = 0;
  for (std::size_t len = 0; len <= 7; ++len) {
    std::size_t combos = 1;
    for (std::size_t i = 0; i < len; ++i) combos *= 3;
    for (std::size_t n = 0; n < combos; ++n) {
      std::string input;
      for (std::size_t i = 0, k = n; i < len; ++i, k /= 3) input.push_back("x\r\n"[k % 3]);
      std::vector<std::size_t> want;
      for (std::size_t i = 0; i < input.size(); ++i) {
        if (input[i] == '\r' || input[i] == '\n') want.push_back(i);
      }
      std::vector<std::size_t> got;
      line_end_finder finder(input);
      for (std::size_t pos = 0;;) {
        std::size_t const at = finder.next(pos);
        if (at == line_end_finder::npos) break;
        got.push_back(at);
        pos = at + 1;
      }
      INFO("input of length " << len << ", combination " << n);
      REQUIRE(got == want);
      ++checked;
    }
  }
  CHECK(checked == 3280);  // 3^0 + ... + 3^7
}

TEST_CASE("lines ended by bare CRs and by LFs far apart frame correctly", "[framer]") {
  std::string input;
  for (int i = 0; i < 100; ++i) input += "line" + std::to_string(i) + "\r";
  input += "last\n";
  auto const got = frame_chunks({input});
  REQUIRE(got.size() == 101);
  CHECK(got[0] == framed{"line0", line_ending::cr});
  CHECK(got[99] == framed{"line99", line_ending::cr});
  CHECK(got[100] == framed{"last", line_ending::lf});
}
