#include "netdemo/proto/handlers.hpp"

#include <catch2/catch.hpp>

#include "netdemo/proto/roles.hpp"

using namespace netdemo::proto;

namespace {

using hello_handler = text_stream_handler<hello_protocol>;

// Feeds each chunk, then pauses once; returns everything the server would send.
std::string converse(hello_handler& h, std::initializer_list<std::string_view> chunks,
                     verdict* last = nullptr) {
  std::string out;
  verdict v = verdict::keep_open;
  for (auto ch : chunks) {
    v = h.on_bytes(ch, out);
    if (v != verdict::keep_open) break;
  }
  if (v == verdict::keep_open && h.wants_pause()) v = h.on_pause(out);
  if (last) *last = v;
  return out;
}

}  // namespace

TEST_CASE("hello greets and answers like seed 003", "[hello]") {
  hello_handler h({}, 1024);
  std::string out;
  h.greet(out);
  CHECK(out == "Welcome!");
  verdict v;
  CHECK(converse(h, {"Michael"}, &v) == "Hello, Michael!");
  CHECK(v == verdict::keep_open);
}

TEST_CASE("hello: replies end the way requests ended", "[hello]") {
  hello_handler h({}, 1024);
  CHECK(converse(h, {"a\n"}) == "Hello, a!\n");
  CHECK(converse(h, {"b\r\n"}) == "Hello, b!\r\n");
  CHECK(converse(h, {"c\r"}) == "Hello, c!\r");
  CHECK(converse(h, {"d"}) == "Hello, d!");
  CHECK(converse(h, {"x\ny\r\nz"}) == "Hello, x!\nHello, y!\r\nHello, z!");
}

TEST_CASE("exit closes with any line ending, and only exactly exit", "[hello]") {
  for (std::string_view req : {"exit", "exit\n", "exit\r\n", "exit\r"}) {
    INFO(req);
    hello_handler h({}, 1024);
    verdict v;
    CHECK(converse(h, {req}, &v).empty());
    CHECK(v == verdict::quit);
  }
  hello_handler h({}, 1024);
  verdict v;
  CHECK(converse(h, {"exit \n"}, &v) == "Hello, exit !\n");
  CHECK(v == verdict::keep_open);
  CHECK(converse(h, {"EXIT\n"}, &v) == "Hello, EXIT!\n");
}

TEST_CASE("replies before exit in the same read are kept, the rest is dropped", "[hello]") {
  hello_handler h({}, 1024);
  verdict v;
  CHECK(converse(h, {"a\nb\r\nexit\r\nc\n"}, &v) == "Hello, a!\nHello, b!\r\n");
  CHECK(v == verdict::quit);
}

TEST_CASE("a line over the cap gets one error line", "[hello]") {
  hello_handler h({}, 8);
  verdict v;
  CHECK(converse(h, {"123456789\n"}, &v) == "ERR line too long (max 8 bytes)\n");
  CHECK(v == verdict::too_long);
}

TEST_CASE("UTF-8 split across reads is answered whole", "[hello]") {
  hello_handler h({}, 1024);
  std::string const ni_hao = "\xe4\xbd\xa0\xe5\xa5\xbd";
  for (std::size_t cut = 0; cut <= ni_hao.size(); ++cut) {
    CHECK(converse(h, {ni_hao.substr(0, cut), ni_hao.substr(cut) + "\n"}) ==
          "Hello, " + ni_hao + "!\n");
  }
}

TEST_CASE("upper upper-cases ASCII and leaves other bytes alone", "[upper]") {
  text_stream_handler<upper_protocol> h({}, 1024);
  std::string out;
  h.greet(out);
  CHECK(out.empty());
  h.on_bytes("Hello, world 123 \xe4\xbd\xa0\xc3\xa9z\n", out);
  CHECK(out == "HELLO, WORLD 123 \xe4\xbd\xa0\xc3\xa9Z\n");
}

TEST_CASE("echo returns every byte unchanged and never frames", "[echo]") {
  echo_stream_handler h;
  std::string in;
  for (int b = 0; b < 256; ++b) in.push_back(static_cast<char>(b));
  in += "exit\r\n";
  std::string out;
  h.greet(out);
  CHECK(out.empty());
  CHECK(h.on_bytes(in, out) == verdict::keep_open);
  CHECK(out == in);
  CHECK_FALSE(h.wants_pause());
}

TEST_CASE("datagram text roles strip one ending and mirror it", "[datagram]") {
  text_datagram_handler<hello_protocol> h({});
  std::string out;
  CHECK(h.on_datagram("Michael", out));
  CHECK(out == "Hello, Michael!");
  out.clear();
  h.on_datagram("bob\r\n", out);
  CHECK(out == "Hello, bob!\r\n");
  out.clear();
  h.on_datagram("exit", out);  // no sessions over UDP: exit is just a word
  CHECK(out == "Hello, exit!");
  out.clear();
  h.on_datagram("two\n\n", out);
  CHECK(out == "Hello, two\n!\n");
}

TEST_CASE("strip_ending handles every ending and none", "[datagram]") {
  CHECK(strip_ending("a\r\n") == std::pair<std::string_view, line_ending>{"a", line_ending::crlf});
  CHECK(strip_ending("a\n") == std::pair<std::string_view, line_ending>{"a", line_ending::lf});
  CHECK(strip_ending("a\r") == std::pair<std::string_view, line_ending>{"a", line_ending::cr});
  CHECK(strip_ending("a") == std::pair<std::string_view, line_ending>{"a", line_ending::none});
  CHECK(strip_ending("") == std::pair<std::string_view, line_ending>{"", line_ending::none});
}

TEST_CASE("the registry knows every listed role on both transports", "[roles]") {
  for (auto name : role_names) {
    INFO(name);
    bool stream_called = false;
    bool datagram_called = false;
    CHECK(with_stream_role(name, {}, [&](auto) { stream_called = true; }));
    CHECK(with_datagram_role(name, {}, [&](auto) { datagram_called = true; }));
    CHECK(stream_called);
    CHECK(datagram_called);
  }
  CHECK_FALSE(with_stream_role("nope", {}, [](auto) {}));
}

// Issue 11, defect 2: one read of pipelined requests made the handler answer all of them at
// once, whatever the replies cost. With a reply budget it stops once `out` reaches it and
// answers the rest on later calls with empty input, losing and repeating nothing.
TEST_CASE("a reply budget bounds each batch; the held input is answered later, in order",
          "[handlers][backpressure]") {
  std::string input;
  for (int i = 0; i < 5000; ++i) {
    input += 'm';
    input += std::to_string(i);
    input += i % 3 == 0 ? "\r\n" : "\n";
  }
  hello_handler whole({}, 1024);
  std::string want;
  REQUIRE(whole.on_bytes(input, want) == verdict::keep_open);
  for (std::size_t const budget : {1, 100, 4096}) {
    // Split the input at a few places, so that a budget stop can meet a read boundary.
    for (std::size_t const split : {std::size_t{1}, input.size() / 3, input.size() - 1}) {
      hello_handler h({}, 1024);
      std::string got;
      std::size_t batches = 0;
      for (std::string_view part : {std::string_view(input).substr(0, split),
                                    std::string_view(input).substr(split)}) {
        verdict v = h.on_bytes(part, got, budget);
        std::string batch;
        while (v == verdict::more) {
          ++batches;
          batch.clear();
          v = h.on_bytes({}, batch, budget);
          // At most the budget plus the one reply that crossed it.
          CHECK(batch.size() <= budget + 16);
          got += batch;
        }
        CHECK(v == verdict::keep_open);
        CHECK(h.backlog_size() == 0);
      }
      CHECK(got == want);
      CHECK(batches >= (want.size() / (budget + 16)) - 2);
    }
  }
}

TEST_CASE("a budget stop keeps exit: held input after it is never answered", "[handlers][backpressure]") {
  hello_handler h({}, 1024);
  std::string out;
  verdict v = h.on_bytes("a\nb\nexit\nc\n", out, 1);
  while (v == verdict::more) v = h.on_bytes({}, out, 1);
  CHECK(v == verdict::quit);
  CHECK(out == "Hello, a!\nHello, b!\n");
}

TEST_CASE("without a budget the handler answers everything at once", "[handlers][backpressure]") {
  hello_handler h({}, 1024);
  std::string out;
  CHECK(h.on_bytes("a\nb\n", out) == verdict::keep_open);
  CHECK(out == "Hello, a!\nHello, b!\n");
}
