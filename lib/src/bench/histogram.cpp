#include "netdemo/bench/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace netdemo::bench {

// Layout: indexes [0, 2*sub_count) hold the values 0..255 exactly; above that, a value
// whose highest bit is b (b >= sub_bits + 1) has shift s = b - sub_bits and lands at
// s*sub_count + (value >> s), which is in [(s+1)*sub_count, (s+2)*sub_count): the
// ranges of successive shifts follow each other without gaps.
std::size_t histogram::index_of(std::uint64_t value) noexcept {
  if (value < 2 * sub_count) return static_cast<std::size_t>(value);
  unsigned shift = static_cast<unsigned>(std::bit_width(value)) - 1 - sub_bits;
  if (shift > max_shift) return bucket_count - 1;
  return static_cast<std::size_t>(shift * sub_count + (value >> shift));
}

std::uint64_t histogram::lowest_in(std::size_t index) noexcept {
  if (index < 2 * sub_count) return index;
  std::uint64_t const shift = index / sub_count - 1;
  std::uint64_t const sub = index % sub_count + sub_count;
  return sub << shift;
}

std::uint64_t histogram::highest_in(std::size_t index) noexcept {
  if (index < 2 * sub_count) return index;
  std::uint64_t const shift = index / sub_count - 1;
  return lowest_in(index) + (std::uint64_t{1} << shift) - 1;
}

void histogram::merge(const histogram& other) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  min_ = std::min(min_, other.min_);
}

void histogram::reset() noexcept {
  counts_.fill(0);
  count_ = 0;
  max_ = 0;
  min_ = UINT64_MAX;
}

std::uint64_t histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the value asked for, 1-based: at least one value, at most all of them.
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<std::uint64_t>(rank, 1, count_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      std::uint64_t const lo = lowest_in(i);
      std::uint64_t const mid = lo + (highest_in(i) - lo) / 2;
      return std::clamp(mid, min(), max_);
    }
  }
  return max_;
}

}  // namespace netdemo::bench
