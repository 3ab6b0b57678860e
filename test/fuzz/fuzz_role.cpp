// One text role (NETDEMO_FUZZ_ROLE: hello, upper, echo, timestamp), as the transports drive
// it: its stream handler fed reads and pauses, and its datagram handler fed datagrams. The
// whole output is checked against the reference framer and the role's rule (protocols.md):
// greeting, one reply per message with the request's line ending, `exit` closes, an
// overlong line gets the one error line. Built once per role (fuzz_<role>).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

#include "fuzz_support.hpp"
#include "netdemo/proto/roles.hpp"

#ifndef NETDEMO_FUZZ_ROLE
#error "define NETDEMO_FUZZ_ROLE"
#endif

namespace {

using fuzz_support::check;
using fuzz_support::message;
using namespace netdemo::proto;

constexpr std::string_view role = NETDEMO_FUZZ_ROLE;

/// Checks that `got[pos...]` starts with the reply to `msg` and moves `pos` past it.
void expect_reply(std::string_view got, std::size_t& pos, std::string_view msg, time_format tf) {
  std::string want;
  if (role == "hello") {
    want = "Hello, " + std::string(msg) + "!";
  } else if (role == "upper") {
    for (char c : msg) want.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c);
  } else if (role == "echo") {
    want = msg;
  } else if (role == "timestamp") {
    // "[<time>] msg": the time has a fixed width (ctime 24, RFC 3339 with offset 25), and
    // only its characters can be told apart from a clock read here.
    std::size_t const width = tf == time_format::ctime ? 24 : 25;
    check(got.substr(pos, 1) == "[", "timestamp: reply does not start with '['", got.substr(pos));
    for (std::size_t i = pos + 1; i < pos + 1 + width && i < got.size(); ++i) {
      char const c = got[i];
      check((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                c == ' ' || c == ':' || c == '-' || c == '+',
            "timestamp: a character in the time is not a clock's", got.substr(pos));
    }
    want = got.substr(pos, 1 + width);
    want += "] ";
    want += msg;
  }
  check(got.substr(pos, want.size()) == want, "reply differs from the role's rule",
        std::string(got.substr(pos, want.size() + 8)) + " | want " + want);
  pos += want.size();
}

void fuzz_stream(FuzzedDataProvider& in, time_format tf) {
  auto const max_line = in.ConsumeIntegralInRange<std::size_t>(1, 80);
  role_settings settings;
  settings.max_line = max_line;
  settings.time = tf;
  with_stream_role(role, settings, [&](auto handler) {
    std::string out;
    handler.greet(out);
    std::string input;  // everything the peer sent, with where it paused
    std::vector<std::size_t> pauses;
    verdict v = verdict::keep_open;
    while (in.remaining_bytes() > 0 && v == verdict::keep_open) {
      std::string const bytes = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<std::size_t>(0, 96));
      input += bytes;
      v = handler.on_bytes(bytes, out);
      if (v == verdict::keep_open && in.ConsumeBool()) {
        // A transport pauses only when the handler has a partial line to wait for.
        if (handler.wants_pause()) {
          pauses.push_back(input.size());
          v = handler.on_pause(out);
        }
      }
    }
    if (role == "echo") {
      check(out == input, "echo: output is not the input", out);
      check(v == verdict::keep_open, "echo: closed by itself");
      return;
    }
    // The reference: frame the same bytes with the same pauses, answer each message.
    fuzz_support::reference_framer ref(max_line);
    std::vector<message> msgs;
    auto stop = [](std::string_view m) { return m == quit_word; };
    std::size_t from = 0;
    bool going = true;
    for (std::size_t p : pauses) {
      going = ref.feed(std::string_view(input).substr(from, p - from), msgs, stop) && ref.pause(msgs, stop);
      from = p;
      if (!going) break;
    }
    if (going) going = ref.feed(std::string_view(input).substr(from), msgs, stop);
    std::size_t pos = 0;
    std::string_view const greeting = role == "hello" ? "Welcome!" : "";
    check(std::string_view(out).substr(0, greeting.size()) == greeting, "no greeting", out);
    pos = greeting.size();
    for (const auto& m : msgs) {
      if (m.text == quit_word) break;
      expect_reply(out, pos, m.text, tf);
      std::string_view const e = ending_bytes(m.ending);
      check(std::string_view(out).substr(pos, e.size()) == e, "reply ends differently from its request",
            std::string_view(out).substr(pos));
      pos += e.size();
    }
    if (ref.too_long()) {
      std::string const err = "ERR line too long (max " + std::to_string(max_line) + " bytes)\n";
      check(v == verdict::too_long, "an overlong line did not end the session");
      check(std::string_view(out).substr(pos) == err, "the overlong-line error differs", out.substr(pos));
      pos += err.size();
    } else if (!going) {
      check(v == verdict::quit, "`exit` did not close the session");
    } else {
      check(v == verdict::keep_open, "the session ended without `exit` or an overlong line");
    }
    check(pos == out.size(), "output after the last expected reply", out.substr(pos));
  });
}

void fuzz_datagrams(FuzzedDataProvider& in, time_format tf) {
  with_datagram_role(role, role_settings{.time = tf}, [&](auto handler) {
    while (in.remaining_bytes() > 0) {
      std::string const d = in.ConsumeBytesAsString(in.ConsumeIntegralInRange<std::size_t>(0, 200));
      std::string out;
      check(handler.on_datagram(d, out), "a datagram got no reply");
      if (role == "echo") {
        check(out == d, "echo: reply is not the datagram", out);
        continue;
      }
      // One trailing line ending is stripped and mirrored; `exit` means nothing here.
      std::string_view msg = d;
      std::string_view ending;
      for (std::string_view e : {"\r\n", "\n", "\r"}) {
        if (msg.ends_with(e)) {
          ending = e;
          msg.remove_suffix(e.size());
          break;
        }
      }
      std::size_t pos = 0;
      expect_reply(out, pos, msg, tf);
      check(std::string_view(out).substr(pos) == ending, "datagram reply ending differs", out);
    }
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  bool const datagrams = in.ConsumeBool();
  time_format const tf = in.ConsumeBool() ? time_format::iso8601 : time_format::ctime;
  if (datagrams) {
    fuzz_datagrams(in, tf);
  } else {
    fuzz_stream(in, tf);
  }
  return 0;
}
