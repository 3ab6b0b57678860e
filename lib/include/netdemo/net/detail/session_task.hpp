// A lean coroutine for per-connection sessions.
//
// Why not asio::awaitable: with `use_awaitable`, an idle session holds the co_spawn entry
// frame, its own frame(s) and one more coroutine frame per pending operation (the
// initiation), about 2 KiB in all. A server that holds 10,000 idle connections in under
// 1 KiB each (issue 5) cannot afford that. A `session_task` is one frame; awaiting an
// operation costs only the operation (its handler is two pointers), and completion resumes
// the frame directly.
#pragma once

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

/// Allocates exactly what is asked. Asio's default (recycling) allocator hands an
/// operation whatever cached block is free, often a larger one left by an accept; a wait
/// that may last for hours should not sit in it.
template <class T>
struct exact_allocator {
  using value_type = T;
  exact_allocator() noexcept = default;
  template <class U>
  exact_allocator(const exact_allocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p); }
  template <class U>
  bool operator==(const exact_allocator<U>&) const noexcept { return true; }
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
  using allocator_type = exact_allocator<void>;
  allocator_type get_allocator() const noexcept { return {}; }
  owned_coroutine frame;
  io_result* result;
  void operator()(boost::system::error_code ec, std::size_t bytes = 0) {
    result->ec = ec;
    result->bytes = bytes;
    frame.resume();
  }
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
