// A bounded set of equal read buffers lent to busy sessions.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace netdemo::net::detail {

/// Lends at most `max_buffers` buffers of `buffer_size` bytes; a borrower that gets
/// none carries on without. Buffers are allocated on first use and kept for the next
/// borrower (never zeroed: the kernel only backs the pages a read has touched).
/// A buffer not given back frees itself. Not thread safe.
class buffer_pool {
 public:
  using buffer = std::unique_ptr<char[]>;

  buffer_pool(std::size_t buffer_size, std::size_t max_buffers)
      : buffer_size_(buffer_size), max_buffers_(max_buffers) {}

  buffer_pool(const buffer_pool&) = delete;
  buffer_pool& operator=(const buffer_pool&) = delete;

  /// A buffer, or null when all `max_buffers` are lent.
  buffer take() {
    if (!free_.empty()) {
      buffer b = std::move(free_.back());
      free_.pop_back();
      ++lent_;
      return b;
    }
    if (lent_ >= max_buffers_) return nullptr;
    ++lent_;
    return buffer(new char[buffer_size_]);
  }

  /// Takes back a buffer from `take()` (null is ignored) and leaves `b` null.
  void give_back(buffer& b) {
    if (!b) return;
    free_.push_back(std::move(b));
    --lent_;
  }

  std::size_t buffer_size() const noexcept { return buffer_size_; }
  std::size_t lent() const noexcept { return lent_; }

 private:
  std::size_t buffer_size_;
  std::size_t max_buffers_;
  std::size_t lent_ = 0;
  std::vector<buffer> free_;
};

}  // namespace netdemo::net::detail
