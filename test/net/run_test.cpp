// run_until_signalled: a signal raised in this process stops the servers with grace; a
// second one aborts them.
#include "netdemo/net/run.hpp"

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "net/stream_test_support.hpp"
#include "netdemo/proto/roles.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::net::event_kind;
using netdemo::proto::echo_stream_handler;
using netdemo::proto::hello_protocol;
using netdemo::proto::text_stream_handler;
using tcp = asio::ip::tcp;

namespace {

/// Stops `ioc` if the test has not ended within `limit`, so that nothing hangs.
class watchdog {
 public:
  watchdog(asio::io_context& ioc, std::chrono::seconds limit)
      : thread_([this, &ioc, limit] {
          std::unique_lock<std::mutex> lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
            fired = true;
            ioc.stop();
          }
        }) {}
  ~watchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_one();
    thread_.join();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  std::atomic<bool> fired{false};  // set by the watchdog's thread

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

template <class Handler>
struct one_server {
  using server_type = netdemo::net::stream_server<tcp, Handler>;
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<std::unique_ptr<server_type>> servers;
  event_log log;
  explicit one_server(Handler h) {
    iocs.push_back(std::make_unique<asio::io_context>(1));
    servers.push_back(std::make_unique<server_type>(
        netdemo::net::open_tcp_listeners(iocs.front()->get_executor(), "127.0.0.1", 0),
        std::move(h), fast_limits(), log.sink()));
  }
  asio::io_context& ioc() { return *iocs.front(); }
  tcp::endpoint endpoint() const { return servers.front()->local_endpoints().front(); }
};

}  // namespace

TEST_CASE("SIGTERM stops gracefully: an idle session closes, nothing is cut off", "[run][signal]") {
  one_server<text_stream_handler<hello_protocol>> s(text_stream_handler<hello_protocol>({}, 1024));
  std::string got;
  tcp::socket client(s.ioc());
  asio::co_spawn(s.ioc(), [&]() -> asio::awaitable<void> {
    co_await client.async_connect(s.endpoint(), asio::use_awaitable);
    co_await read_at_least(client, 8);
    std::raise(SIGTERM);  // handled by the helper's signal_set: the process lives on
    got = co_await read_all(client);
  }, asio::detached);
  watchdog dog(s.ioc(), std::chrono::seconds(10));
  auto const end = netdemo::net::run_until_signalled(s.iocs, s.servers, 5s);
  CHECK_FALSE(dog.fired.load());
  CHECK(end.first_signal == SIGTERM);
  CHECK(end.signals == 1);
  CHECK(end.aborted == 0);
  CHECK(got.empty());  // after the greeting: EOF
  CHECK(s.log.count(event_kind::closed, "shutdown") == 1);
}

TEST_CASE("a second SIGINT aborts a session the grace would still wait for", "[run][signal]") {
  one_server<echo_stream_handler> s(echo_stream_handler{});
  tcp::socket client(s.ioc());
  int second_signal_calls = 0;
  auto const start = std::chrono::steady_clock::now();
  asio::co_spawn(s.ioc(), [&]() -> asio::awaitable<void> {
    co_await client.async_connect(s.endpoint(), asio::use_awaitable);
    // Fill both directions without reading: the server is stuck mid-reply.
    client.non_blocking(true);
    std::string const chunk(64 * 1024, 'e');
    boost::system::error_code ec;
    for (int i = 0; i < 200 && !ec; ++i) {
      client.write_some(asio::buffer(chunk), ec);
      co_await sleep_for(1ms);
    }
    std::raise(SIGINT);
    co_await sleep_for(200ms);
    std::raise(SIGINT);
    co_await sleep_for(1000ms);  // never reads
  }, asio::detached);
  watchdog dog(s.ioc(), std::chrono::seconds(20));
  auto const end = netdemo::net::run_until_signalled(s.iocs, s.servers, 30s,
                                                     [&] { ++second_signal_calls; });
  CHECK_FALSE(dog.fired.load());
  CHECK(std::chrono::steady_clock::now() - start < 10s);  // not the 30 s grace
  CHECK(end.first_signal == SIGINT);
  CHECK(end.signals == 2);
  CHECK(end.aborted == 1);
  CHECK(second_signal_calls == 1);
  CHECK(s.log.count(event_kind::closed, "aborted") == 1);
}
