// The shared-timer deadline list behind pauses and lingers, and the cross-thread
// connection count.
#include <chrono>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "netdemo/net/detail/fifo_deadlines.hpp"
#include "netdemo/net/limits.hpp"

namespace {

using namespace std::chrono_literals;
using netdemo::net::detail::fifo_deadlines;

struct item {
  netdemo::net::detail::deadline_hook deadline_link;
  std::chrono::steady_clock::time_point deadline;
  int id = 0;
};

std::vector<int>* expired_log = nullptr;
void record(item& i) { expired_log->push_back(i.id); }

}  // namespace

TEST_CASE("fifo deadlines expire in the order added, removed ones never", "[fifo]") {
  boost::asio::io_context ioc;
  std::vector<int> expired;
  expired_log = &expired;
  fifo_deadlines<item> list(ioc.get_executor(), 30ms, &record);
  item a, b, c;
  a.id = 1;
  b.id = 2;
  c.id = 3;
  auto const t0 = std::chrono::steady_clock::now();
  list.add(a);
  list.add(b);
  list.add(c);
  list.remove(b);
  ioc.run_for(10ms);
  CHECK(expired.empty());  // not before the timeout
  ioc.restart();
  ioc.run_for(200ms);
  CHECK(expired == std::vector<int>{1, 3});
  CHECK(std::chrono::steady_clock::now() - t0 >= 30ms);
}

TEST_CASE("fifo deadlines: an item destroyed while waiting is forgotten", "[fifo]") {
  boost::asio::io_context ioc;
  std::vector<int> expired;
  expired_log = &expired;
  fifo_deadlines<item> list(ioc.get_executor(), 20ms, &record);
  item kept;
  kept.id = 7;
  {
    item gone;
    gone.id = 8;
    list.add(gone);
  }
  list.add(kept);
  ioc.run_for(200ms);
  CHECK(expired == std::vector<int>{7});
  // Re-added after expiry: the timer is armed again.
  list.add(kept);
  ioc.restart();
  ioc.run_for(200ms);
  CHECK(expired == std::vector<int>{7, 7});
}

TEST_CASE("fifo deadlines: stop() drops every waiting item", "[fifo]") {
  boost::asio::io_context ioc;
  std::vector<int> expired;
  expired_log = &expired;
  fifo_deadlines<item> list(ioc.get_executor(), 10ms, &record);
  item a;
  list.add(a);
  list.stop();
  ioc.run_for(100ms);
  CHECK(expired.empty());
  CHECK_FALSE(a.deadline_link.is_linked());
}

TEST_CASE("connection count: threads together never exceed the maximum", "[limits]") {
  netdemo::net::connection_count count;
  std::vector<std::thread> threads;
  std::atomic<int> taken{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (count.try_add(100)) ++taken;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(taken == 100);
  CHECK(count.open() == 100);
  count.remove();
  CHECK(count.try_add(100));
  CHECK_FALSE(count.try_add(100));
}
