// The length-prefix framers (len16, len32) against a byte-at-a-time reference: the same
// messages whatever the read boundaries, too_long exactly when a declared length goes over
// the cap, and never more memory held than the bytes of the unfinished message received.
//
// Input: the prefix size (2 or 4), a cap, then reads (length, bytes), all from the fuzzer's
// bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "netdemo/proto/framers.hpp"

using fuzz_support::check;
using netdemo::proto::feed_status;

namespace {

// Reads one byte at a time: the prefix, then the body. Returns false on a length over the cap.
struct reference {
  reference(std::size_t prefix_bytes, std::size_t cap) : prefix(prefix_bytes), max(cap) {}
  std::size_t prefix, max;
  std::size_t have = 0;
  std::uint64_t len = 0;
  bool in_body = false;
  std::string body;

  bool feed(std::string_view bytes, std::vector<std::string>& out) {
    for (char ch : bytes) {
      if (!in_body) {
        len = (len << 8) | static_cast<unsigned char>(ch);
        if (++have < prefix) continue;
        if (len > max) return false;
        in_body = true;
        if (len == 0) out.emplace_back(), in_body = false, have = 0;
        continue;
      }
      body.push_back(ch);
      if (body.size() == len) {
        out.push_back(std::move(body));
        body.clear();
        in_body = false;
        have = 0;
        len = 0;
      }
    }
    return true;
  }
  std::size_t pending() const { return body.size(); }
};

template <class Framer>
void run(FuzzedDataProvider& in, std::size_t prefix) {
  auto const max = in.ConsumeIntegralInRange<std::size_t>(0, 300);
  Framer framer(max);
  reference ref(prefix, max);
  std::vector<std::string> got, want;
  auto collect = [&](std::string_view m, netdemo::proto::line_ending) {
    got.emplace_back(m);
    return true;
  };
  while (in.remaining_bytes() > 0) {
    auto const n = in.ConsumeIntegralInRange<std::size_t>(0, 96);
    std::string const bytes = in.ConsumeBytesAsString(n);
    feed_status const st = framer.feed(bytes, collect);
    bool const ref_going = ref.feed(bytes, want);
    check(got == want, "messages differ from the reference");
    if (st == feed_status::too_long) {
      check(!ref_going, "too_long where the reference saw no length over the cap");
      return;
    }
    check(st == feed_status::consumed, "stopped without being asked to");
    check(ref_going, "consumed where the reference saw a length over the cap");
    check(framer.held_bytes() <= 2 * ref.pending() + 256 + prefix,
          "the framer holds more than the bytes it received");
    check(!framer.wants_pause(), "a length framer waits for a pause");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    run<netdemo::proto::len16_framer>(in, 2);
  } else {
    run<netdemo::proto::len32_framer>(in, 4);
  }
  return 0;
}
