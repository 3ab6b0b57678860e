// Deadlines that all have the same length, kept in one list with one timer.
#pragma once

#include <chrono>

#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

namespace netdemo::net::detail {

/// The hook an item needs to wait in a `fifo_deadlines` (an item waits in one at a time).
using deadline_hook = boost::intrusive::list_member_hook<
    boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

/// Items that wait with the same timeout, in the order they began to wait, so the front
/// is always the next to expire: one timer serves them all, adding and removing are O(1),
/// and an item owns no timer of its own. `Item` has `deadline_hook deadline_link` and
/// `std::chrono::steady_clock::time_point deadline`; destroying an item removes it.
/// Not thread safe: use on the executor given to the constructor.
template <class Item>
class fifo_deadlines {
 public:
  using clock = std::chrono::steady_clock;
  using on_expiry_fn = void (*)(Item&);

  template <class Executor>
  fifo_deadlines(const Executor& ex, clock::duration timeout, on_expiry_fn on_expiry)
      : timer_(ex), timeout_(timeout), on_expiry_(on_expiry) {}

  fifo_deadlines(const fifo_deadlines&) = delete;
  fifo_deadlines& operator=(const fifo_deadlines&) = delete;

  /// Starts `item`'s timeout; `on_expiry(item)` runs when it passes while still waiting.
  void add(Item& item) {
    item.deadline = clock::now() + timeout_;
    items_.push_back(item);
    if (!armed_) arm();
  }

  /// Ends `item`'s wait (no-op when it is not waiting).
  static void remove(Item& item) noexcept { item.deadline_link.unlink(); }

  /// Stops the timer; items still waiting never expire.
  void stop() noexcept {
    items_.clear();
    timer_.cancel();
    armed_ = false;
  }

 private:
  void arm() {
    armed_ = true;
    timer_.expires_at(items_.front().deadline);
    // A cancelled wait must not touch `this`: the owner may be gone by then.
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) expire();
    });
  }

  void expire() {
    armed_ = false;
    auto const now = clock::now();
    while (!items_.empty() && items_.front().deadline <= now) {
      Item& item = items_.front();
      items_.pop_front();
      on_expiry_(item);
    }
    if (!items_.empty()) arm();
  }

  using list_type = boost::intrusive::list<
      Item, boost::intrusive::member_hook<Item, deadline_hook, &Item::deadline_link>,
      boost::intrusive::constant_time_size<false>>;

  boost::asio::steady_timer timer_;
  clock::duration timeout_;
  on_expiry_fn on_expiry_;
  list_type items_;
  bool armed_ = false;
};

}  // namespace netdemo::net::detail
