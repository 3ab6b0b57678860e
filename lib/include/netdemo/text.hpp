// Small text helpers shared by messages the user reads.
#pragma once

#include <chrono>
#include <string>

namespace netdemo {

/// "2 s", "1.5 s", "250 ms": how durations appear in every message.
std::string duration_text(std::chrono::milliseconds d);

}  // namespace netdemo
