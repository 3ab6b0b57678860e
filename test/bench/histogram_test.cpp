#include "netdemo/bench/histogram.hpp"

#include <cmath>
#include <memory>

#include <catch2/catch.hpp>

using netdemo::bench::histogram;

namespace {

// Within the histogram's promised error (1/128 of the value) of `want`.
bool close_to(std::uint64_t got, double want) {
  return std::abs(static_cast<double>(got) - want) <= want / 128.0 + 1.0;
}

}  // namespace

TEST_CASE("histogram: buckets tile the value range without gaps or overlaps", "[bench][histogram]") {
  for (std::size_t i = 0; i + 1 < histogram::bucket_count; ++i) {
    REQUIRE(histogram::highest_in(i) + 1 == histogram::lowest_in(i + 1));
    REQUIRE(histogram::index_of(histogram::lowest_in(i)) == i);
    REQUIRE(histogram::index_of(histogram::highest_in(i)) == i);
  }
  // Bucket width stays within 1/128 of the values it holds.
  for (std::size_t i = 256; i < histogram::bucket_count; i += 97) {
    std::uint64_t const lo = histogram::lowest_in(i);
    REQUIRE((histogram::highest_in(i) - lo + 1) * 128 <= lo);
  }
  CHECK(histogram::index_of(UINT64_MAX) == histogram::bucket_count - 1);
}

TEST_CASE("histogram: percentiles of a uniform 1..100000 sample", "[bench][histogram]") {
  auto h = std::make_unique<histogram>();
  for (std::uint64_t v = 1; v <= 100000; ++v) h->record(v);
  CHECK(h->count() == 100000);
  CHECK(h->min() == 1);
  CHECK(h->max() == 100000);
  CHECK(close_to(h->percentile(0.50), 50000));
  CHECK(close_to(h->percentile(0.90), 90000));
  CHECK(close_to(h->percentile(0.99), 99000));
  CHECK(close_to(h->percentile(0.999), 99900));
  CHECK(h->percentile(1.0) == 100000);
  CHECK(h->percentile(0.0) == 1);
}

TEST_CASE("histogram: small values are exact, a single value is every percentile", "[bench][histogram]") {
  auto h = std::make_unique<histogram>();
  CHECK(h->percentile(0.5) == 0);
  CHECK(h->max() == 0);
  CHECK(h->min() == 0);
  h->record(37);
  CHECK(h->percentile(0.0) == 37);
  CHECK(h->percentile(0.5) == 37);
  CHECK(h->percentile(0.999) == 37);
  // 90 values of 10 and 10 of 200: p90 is 10, p91 is 200.
  h->reset();
  for (int i = 0; i < 90; ++i) h->record(10);
  for (int i = 0; i < 10; ++i) h->record(200);
  CHECK(h->percentile(0.90) == 10);
  CHECK(h->percentile(0.91) == 200);
  CHECK(h->percentile(0.5) == 10);
}

TEST_CASE("histogram: an outlier shows in max and p99.9, not in p99", "[bench][histogram]") {
  auto h = std::make_unique<histogram>();
  for (int i = 0; i < 999; ++i) h->record(40'000);   // 40 us
  h->record(7'000'000'000ULL);                       // 7 s
  CHECK(close_to(h->percentile(0.99), 40'000));
  CHECK(h->max() == 7'000'000'000ULL);
  CHECK(close_to(h->percentile(1.0), 7e9));
  // Beyond the last bucket: clamped, but max stays exact.
  h->record(UINT64_MAX / 2);
  CHECK(h->max() == UINT64_MAX / 2);
}

TEST_CASE("histogram: merging two equals recording into one", "[bench][histogram]") {
  auto a = std::make_unique<histogram>();
  auto b = std::make_unique<histogram>();
  auto both = std::make_unique<histogram>();
  for (std::uint64_t v = 1; v < 5000; v += 3) {
    a->record(v);
    both->record(v);
  }
  for (std::uint64_t v = 100000; v < 200000; v += 7) {
    b->record(v);
    both->record(v);
  }
  a->merge(*b);
  CHECK(a->count() == both->count());
  CHECK(a->min() == both->min());
  CHECK(a->max() == both->max());
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) CHECK(a->percentile(q) == both->percentile(q));
}
