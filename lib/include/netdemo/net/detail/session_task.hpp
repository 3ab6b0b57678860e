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
#include <tuple>
#include <utility>

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

/// `co_await async_op<void(error_code)>([&](auto handler) { socket.async_wait(..., std::move(handler)); })`
/// starts an Asio operation with a handler that stores the result and resumes the caller.
/// The result is a tuple of the completion arguments. Asio never calls a handler from
/// inside the initiating function, so the frame is always suspended first.
template <class Signature, class Start>
class op_awaiter;

template <class... Args, class Start>
class op_awaiter<void(Args...), Start> {
 public:
  explicit op_awaiter(Start start) : start_(std::move(start)) {}

  bool await_ready() const noexcept { return false; }
  // noexcept: if starting the operation could not allocate, the handler (and with it the
  // suspended frame) would already be gone; there is nothing sane left to unwind.
  void await_suspend(std::coroutine_handle<> h) noexcept {
    start_(handler{owned_coroutine(h), &result_});
  }
  std::tuple<Args...> await_resume() { return std::move(result_); }

 private:
  struct handler {
    using allocator_type = exact_allocator<void>;
    allocator_type get_allocator() const noexcept { return {}; }
    owned_coroutine frame;
    std::tuple<Args...>* result;
    void operator()(Args... args) {
      *result = std::tuple<Args...>(std::move(args)...);
      frame.resume();
    }
  };

  Start start_;
  std::tuple<Args...> result_;
};

template <class Signature, class Start>
op_awaiter<Signature, Start> async_op(Start start) {
  return op_awaiter<Signature, Start>(std::move(start));
}

}  // namespace netdemo::net::detail
