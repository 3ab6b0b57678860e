#include "netdemo/proto/text.hpp"

namespace netdemo {

std::string duration_text(std::chrono::milliseconds d) {
  auto const ms = d.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  std::string s = std::to_string(ms / 1000) + "." + std::to_string(1000 + ms % 1000).substr(1);
  while (s.back() == '0') s.pop_back();
  return s + " s";
}

}  // namespace netdemo
