// The line framer against the reference framer: the same messages with the same endings,
// whatever the read boundaries and pauses, the same stop on `exit`-like words and on an
// overlong line, and has_partial() telling the truth after every read.
//
// Input: a line cap, then reads (length, bytes, whether a pause follows), all from the
// fuzzer's bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>

#include "fuzz_support.hpp"
#include "netdemo/proto/line_framer.hpp"

using fuzz_support::check;
using fuzz_support::message;
using netdemo::proto::feed_status;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  auto const max_line = in.ConsumeIntegralInRange<std::size_t>(0, 80);
  netdemo::proto::line_framer framer(max_line);
  fuzz_support::reference_framer ref(max_line);
  std::vector<message> got, want;
  auto stop = [](std::string_view m) { return m == "stop"; };
  auto collect = [&](std::string_view m, netdemo::proto::line_ending e) {
    got.push_back({std::string(m), e});
    return !stop(m);
  };
  bool ended = false;  // stopped or too long: the framer must not be fed again
  while (in.remaining_bytes() > 0 && !ended) {
    auto const n = in.ConsumeIntegralInRange<std::size_t>(0, 96);
    bool const pause = in.ConsumeBool();
    std::string const bytes = in.ConsumeBytesAsString(n);
    feed_status const st = framer.feed(bytes, collect);
    bool const ref_going = ref.feed(bytes, want, stop);
    check(got == want, "feed: messages differ from the reference",
          fuzz_support::describe(got) + "| want " + fuzz_support::describe(want));
    if (st == feed_status::too_long) {
      check(ref.too_long(), "feed: too_long where the reference saw no overlong line");
      ended = true;
    } else if (st == feed_status::stopped) {
      check(!ref_going && !ref.too_long(), "feed: stopped where the reference did not");
      ended = true;
    } else {
      check(ref_going, "feed: consumed where the reference stopped or saw an overlong line");
      check(framer.has_partial() == ref.has_partial(), "has_partial() differs from the reference");
      if (pause) {
        bool const going = framer.flush(collect);
        bool const ref_after = ref.pause(want, stop);
        check(got == want, "flush: messages differ from the reference",
              fuzz_support::describe(got) + "| want " + fuzz_support::describe(want));
        check(going == ref_after, "flush: stop differs from the reference");
        check(!framer.has_partial(), "has_partial() after a flush");
        ended = !going;
      }
    }
  }
  return 0;
}
