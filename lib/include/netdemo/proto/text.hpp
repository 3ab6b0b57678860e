// Small text helpers shared by messages the user reads.
#pragma once

#include <chrono>
#include <string>

namespace netdemo {

/// "2 s", "1.5 s", "250 ms": how durations appear in every message.
std::string duration_text(std::chrono::milliseconds d);

/// `x` rounded to the nearest integer, halves away from zero, like std::llround, but
/// inline and without libm: llround was the one symbol that made every netdemo run map
/// libm.so.6 (~0.3 MiB of RSS). Out of range saturates; NaN gives 0.
constexpr long long round_to_ll(double x) noexcept {
  constexpr double limit = 9.2e18;  // below 2^63
  if (x != x) return 0;
  if (x >= limit) return static_cast<long long>(limit);
  if (x <= -limit) return -static_cast<long long>(limit);
  return x >= 0 ? static_cast<long long>(x + 0.5) : -static_cast<long long>(-x + 0.5);
}

}  // namespace netdemo
