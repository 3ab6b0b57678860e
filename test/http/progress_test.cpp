// The progress line's text and timing (sans-I/O): units, rate, ETA, unknown length,
// when a line is due, and the padding that overwrites a longer line.
#include "netdemo/http/progress.hpp"

#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "netdemo/proto/text.hpp"

namespace {

namespace http = netdemo::http;
using namespace std::chrono_literals;
using clock_type = http::progress_meter::clock;

}  // namespace

TEST_CASE("progress: bytes, rates and ETA formatting", "[http][progress]") {
  CHECK(http::format_bytes(0) == "0 B");
  CHECK(http::format_bytes(999) == "999 B");
  CHECK(http::format_bytes(1000) == "0.98 KiB");
  CHECK(http::format_bytes(1024) == "1.00 KiB");
  CHECK(http::format_bytes(12345) == "12.1 KiB");
  CHECK(http::format_bytes(1024 * 1024) == "1.00 MiB");
  CHECK(http::format_bytes(500ULL * 1024 * 1024) == "500 MiB");
  CHECK(http::format_bytes(1023ULL * 1024 * 1024) == "1.00 GiB");
  CHECK(http::format_bytes(1536ULL * 1024 * 1024) == "1.50 GiB");
  CHECK(http::format_bytes(UINT64_MAX) == "16.0 EiB");
  CHECK(http::format_rate(-1) == "--- B/s");
  CHECK(http::format_rate(0) == "0 B/s");
  CHECK(http::format_rate(4.5 * 1024 * 1024) == "4.50 MiB/s");
  CHECK(http::format_eta(std::nullopt) == "--:--");
  CHECK(http::format_eta(7s) == "0:07");
  CHECK(http::format_eta(754s) == "12:34");
  CHECK(http::format_eta(3723s) == "1:02:03");
  CHECK(http::format_eta(std::chrono::seconds(100 * 3600)) == "--:--");
}

TEST_CASE("round_to_ll: rounds like std::llround, saturates out of range", "[http][progress]") {
  for (double x : {0.0, 0.49, 0.5, 1.5, 2.5, 2.4999, -0.5, -1.5, -2.6, 1e6 + 0.5, 123456789.49}) {
    INFO(x);
    CHECK(netdemo::round_to_ll(x) == std::llround(x));
  }
  CHECK(netdemo::round_to_ll(1e300) > 9'000'000'000'000'000'000LL);
  CHECK(netdemo::round_to_ll(-1e300) < -9'000'000'000'000'000'000LL);
  CHECK(netdemo::round_to_ll(std::numeric_limits<double>::infinity()) > 0);
  CHECK(netdemo::round_to_ll(std::numeric_limits<double>::quiet_NaN()) == 0);
  // A stalled download: an ETA far beyond any clock is "--:--", not undefined behaviour.
  CHECK(http::format_eta(std::chrono::seconds(netdemo::round_to_ll(1e300))) == "--:--");
}

TEST_CASE("progress: a known large body, at most 4 lines a second", "[http][progress]") {
  auto const t0 = clock_type::time_point{} + 1h;
  std::uint64_t const total = 10 * 1024 * 1024;
  http::progress_meter m(total, t0);
  auto first = m.update(0, t0);
  CHECK(first.rfind("\r  0%  0 B of 10.0 MiB", 0) == 0);
  CHECK(m.update(1024, t0 + 100ms).empty());  // under 250 ms since the last line
  // 1 MiB/s: at 1 s, 1 MiB of 10 done, 9 s left.
  auto l = m.update(1024 * 1024, t0 + 1s);
  CHECK(l == "\r 10%  1.00 MiB of 10.0 MiB  1.00 MiB/s  ETA 0:09");
  auto done = m.finish(total, t0 + 10s);
  // One character shorter than the line before: padded with a space.
  CHECK(done == "\r100%  10.0 MiB of 10.0 MiB  1.00 MiB/s  in 0:10 \n");
}

TEST_CASE("progress: small bodies draw nothing; unknown length after 1 s", "[http][progress]") {
  auto const t0 = clock_type::time_point{} + 1h;
  http::progress_meter small(1024 * 1024, t0);
  CHECK(small.update(0, t0).empty());
  CHECK(small.update(1024 * 1024, t0 + 5s).empty());
  CHECK(small.finish(1024 * 1024, t0 + 5s).empty());
  CHECK_FALSE(small.shown());

  http::progress_meter unknown(std::nullopt, t0);
  CHECK(unknown.update(5000, t0 + 500ms).empty());
  auto l = unknown.update(2 * 1024 * 1024, t0 + 2s);
  CHECK(l == "\r2.00 MiB  1.00 MiB/s");
  CHECK(unknown.shown());
  CHECK(unknown.finish(4 * 1024 * 1024, t0 + 4s) == "\r4.00 MiB  1.00 MiB/s  in 0:04\n");
}

TEST_CASE("progress: the rate follows recent samples; a shorter line is padded", "[http][progress]") {
  auto const t0 = clock_type::time_point{} + 1h;
  http::progress_meter m(1000ULL * 1024 * 1024, t0);
  std::uint64_t bytes = 0;
  std::string last;
  // 10 s at 10 MiB/s, then 10 s stalled at 1 KiB/s: the rate drops to ~0, not 5 MiB/s.
  for (int i = 1; i <= 40; ++i) {
    bytes += 10 * 1024 * 1024 / 4;
    last = m.update(bytes, t0 + i * 250ms);
  }
  CHECK(last.find("10.0 MiB/s") != std::string::npos);
  for (int i = 41; i <= 80; ++i) {
    bytes += 256;
    last = m.update(bytes, t0 + i * 250ms);
  }
  CHECK(last.find(" KiB/s") != std::string::npos);
  CHECK(last.find("ETA --:--") != std::string::npos);  // over 99 hours at that rate
  // The line before was longer: the new one is padded with spaces to cover it.
  http::progress_meter p(std::nullopt, t0);
  auto const a = p.update(123456789, t0 + 2s);
  auto const b = p.update(5, t0 + 3s);
  CHECK(b.size() == a.size());
  CHECK(b.back() == ' ');
}
