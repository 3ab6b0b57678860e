// A fixed-memory latency histogram (HDR-style log-linear buckets). Sans-I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace netdemo::bench {

/// Records non-negative values (nanoseconds, by convention) in log-linear buckets:
/// values below 256 exactly, larger ones in buckets at most 1/128 of their value wide
/// (under 0.8 % error), up to about 2^40 (18 minutes in ns); larger values are clamped
/// into the last bucket but `max()` stays exact. Memory is fixed (about 36 KiB), so
/// recording costs a few instructions and never allocates.
///
/// Not thread safe: give each thread its own and `merge()` them afterwards.
class histogram {
 public:
  /// Adds one value.
  void record(std::uint64_t value) noexcept {
    ++counts_[index_of(value)];
    ++count_;
    if (value > max_) max_ = value;
    if (value < min_) min_ = value;
  }

  /// Adds every value recorded in `other`.
  void merge(const histogram& other) noexcept;

  /// Forgets every value.
  void reset() noexcept;

  /// Values recorded.
  std::uint64_t count() const noexcept { return count_; }

  /// The largest value recorded (exact), 0 when empty.
  std::uint64_t max() const noexcept { return max_; }

  /// The smallest value recorded (exact), 0 when empty.
  std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }

  /// The value at quantile `q` (0..1): the smallest recorded value v such that at least
  /// q of all values are <= v, reported as the middle of its bucket (clamped to the
  /// exact min and max). 0 when empty.
  std::uint64_t percentile(double q) const noexcept;

  /// Bucket helpers, public for tests.
  static std::size_t index_of(std::uint64_t value) noexcept;
  /// The smallest value bucket `index` holds.
  static std::uint64_t lowest_in(std::size_t index) noexcept;
  /// The largest value bucket `index` holds.
  static std::uint64_t highest_in(std::size_t index) noexcept;

  static constexpr unsigned sub_bits = 7;                         ///< 128 sub-buckets
  static constexpr std::uint64_t sub_count = 1ULL << sub_bits;    ///< per power of two
  static constexpr unsigned max_shift = 33;                       ///< largest exponent kept
  static constexpr std::size_t bucket_count = (max_shift + 2) * sub_count;  ///< fixed memory

 private:
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = UINT64_MAX;
};

}  // namespace netdemo::bench
