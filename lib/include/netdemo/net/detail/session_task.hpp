// A lean coroutine for per-connection sessions.
//
// Why not asio::awaitable: with `use_awaitable`, an idle session holds the co_spawn entry
// frame, its own frame(s) and one more coroutine frame per pending operation (the
// initiation), about 2 KiB in all. A server that holds 10,000 idle connections in under
// 1 KiB each (issue 5) cannot afford that. A `session_task` is one frame; awaiting an
// operation costs only the operation (its handler is two pointers), and completion resumes
// the frame directly.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <new>
#include <utility>

#include <boost/system/error_code.hpp>

namespace netdemo::net::detail {

/// A fire-and-forget coroutine that starts at once and frees its frame when it ends.
/// Its body must catch every exception itself (an escaping one terminates).
struct session_task {
  struct promise_type {
    session_task get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

/// Owns a suspended coroutine until it is resumed: a completion handler that is
/// destroyed without being called (the io_context is destroyed with the operation
/// pending) destroys the frame, and with it the socket it owns.
class owned_coroutine {
 public:
  explicit owned_coroutine(std::coroutine_handle<> h) noexcept : h_(h) {}
  owned_coroutine(owned_coroutine&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  owned_coroutine& operator=(owned_coroutine&&) = delete;
  ~owned_coroutine() {
    if (h_) h_.destroy();
  }
  void resume() { std::exchange(h_, {}).resume(); }

 private:
  std::coroutine_handle<> h_;
};

/// Per-thread free lists of operation blocks, one per 16-byte size class (up to 504 bytes).
///
/// Every operation a session starts needs a block: a read or a write per message, a yield,
/// a wait per idle period. With malloc and free for each, they were about half of the
/// server's instructions per echo message (callgrind, 50 connections ping-pong). Asio's
/// own recycling allocator is no help here: it keeps two blocks per thread and hands out
/// any cached block that is large enough, so a wait that lasts for hours could sit in a
/// 344-byte block left by an accept. Here a block of class c is c * 16 - 8 bytes, which
/// glibc's malloc keeps in a chunk of exactly c * 16 (its 8-byte header included), the
/// chunk it would have used for the request itself: an idle wait costs no more than with
/// plain malloc. A free list per class makes a reuse a few instructions. Each list keeps
/// at most `keep` blocks; the rest go back to malloc.
class op_block_cache {
 public:
  static constexpr std::size_t granule = 16;
  static constexpr std::size_t classes = 32;  // blocks of 8 .. 504 bytes
  static constexpr std::size_t keep = 256;    // per class

  static void* allocate(std::size_t size) {
    std::size_t const c = class_of(size);
    if (c > classes) return ::operator new(size);
    op_block_cache& cache = mine();
    if (node* n = cache.head_[c - 1]) {
      cache.head_[c - 1] = n->next;
      --cache.count_[c - 1];
      return n;
    }
    return ::operator new(c * granule - malloc_header);
  }

  static void deallocate(void* p, std::size_t size) noexcept {
    std::size_t const c = class_of(size);
    op_block_cache& cache = mine();
    if (c > classes || cache.closed_ || cache.count_[c - 1] >= keep) {
      ::operator delete(p);
      return;
    }
    cache.head_[c - 1] = ::new (p) node{cache.head_[c - 1]};
    ++cache.count_[c - 1];
  }

  op_block_cache(const op_block_cache&) = delete;
  op_block_cache& operator=(const op_block_cache&) = delete;

 private:
  struct node {
    node* next;
  };
  static constexpr std::size_t malloc_header = 8;

  /// 1 .. classes for the sizes kept; a request of 0 bytes counts as 1.
  static constexpr std::size_t class_of(std::size_t size) noexcept {
    return (std::max<std::size_t>(size, 1) + malloc_header + granule - 1) / granule;
  }

  op_block_cache() = default;
  ~op_block_cache() {
    closed_ = true;  // blocks freed later on this thread (at exit) go straight to free
    for (node*& head : head_) {
      while (node* n = head) {
        head = n->next;
        ::operator delete(n);
      }
    }
  }

  static op_block_cache& mine() noexcept {
    thread_local op_block_cache cache;
    return cache;
  }

  node* head_[classes] = {};
  std::size_t count_[classes] = {};
  bool closed_ = false;
};

/// The allocator of a session's operations: blocks from `op_block_cache`.
template <class T>
struct op_allocator {
  using value_type = T;
  op_allocator() noexcept = default;
  template <class U>
  op_allocator(const op_allocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) { return static_cast<T*>(op_block_cache::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { op_block_cache::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const op_allocator<U>&) const noexcept { return true; }
};

/// The result of the operation a session awaited last. It lives outside the awaiters
/// (in the session) because GCC gives every `co_await` its own slot in the frame: a
/// result stored in each awaiter would make every idle session's frame larger.
struct io_result {
  boost::system::error_code ec;
  std::size_t bytes = 0;
};

/// The completion handler of a session's operation: two pointers. It stores the result
/// and resumes the frame.
struct resume_handler {
  using allocator_type = op_allocator<void>;
  allocator_type get_allocator() const noexcept { return {}; }
  owned_coroutine frame;
  io_result* result;
  void operator()(boost::system::error_code ec, std::size_t bytes = 0) {
    result->ec = ec;
    result->bytes = bytes;
    frame.resume();
  }
};

/// A nullary handler that resumes a session with no error, for `post`: it allocates from
/// `op_block_cache` like `resume_handler` and, unlike `asio::bind_allocator`, declares no
/// executor of its own, which would make `post` wrap it in a work dispatcher.
struct resume_later {
  using allocator_type = op_allocator<void>;
  allocator_type get_allocator() const noexcept { return {}; }
  resume_handler handler;
  void operator()() { handler({}, 0); }
};

/// `co_await start_io(result, [&](resume_handler h) { socket.async_wait(..., std::move(h)); })`
/// starts an Asio operation whose completion stores its result in `result` and resumes
/// the caller. Asio never calls a handler from inside the initiating function, so the
/// frame is always suspended first.
template <class Start>
class io_awaiter {
 public:
  io_awaiter(io_result& result, Start start) : result_(result), start_(std::move(start)) {}

  bool await_ready() const noexcept { return false; }
  // noexcept: if starting the operation could not allocate, the handler (and with it the
  // suspended frame) would already be gone; there is nothing sane left to unwind.
  void await_suspend(std::coroutine_handle<> h) noexcept {
    start_(resume_handler{owned_coroutine(h), &result_});
  }
  void await_resume() const noexcept {}

 private:
  io_result& result_;
  Start start_;
};

template <class Start>
io_awaiter<Start> start_io(io_result& result, Start start) {
  return io_awaiter<Start>(result, std::move(start));
}

}  // namespace netdemo::net::detail
