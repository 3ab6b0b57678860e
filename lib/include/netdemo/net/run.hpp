// Runs servers until SIGINT or SIGTERM, then stops them with grace: what every server
// command does, in one place.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

namespace netdemo::net {

namespace detail {

/// The first of the failures of several threads.
class first_failure {
 public:
  void set(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!failure_) failure_ = std::move(e);
  }
  void rethrow_if_any() {
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr failure_;
};

/// Runs `iocs[1..]` on threads of their own and `iocs[0]` on this one until each has run
/// out of work; what one throws goes to `failure`.
inline void run_on_threads(std::vector<std::unique_ptr<boost::asio::io_context>>& iocs,
                           first_failure& failure) {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < iocs.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        iocs[i]->run();
      } catch (...) {
        failure.set(std::current_exception());
      }
    });
  }
  iocs.front()->run();
  for (auto& t : threads) t.join();
}

}  // namespace detail

/// What a server needs for `run_until_signalled` (`stream_server` and `datagram_server`
/// have it).
template <class S>
concept stoppable_server = requires(S& s, std::chrono::milliseconds grace) {
  s.run();
  s.stop(grace);
  s.abort();
  { s.aborted_sessions() } -> std::convertible_to<std::size_t>;
};

/// How a `run_until_signalled` ended.
struct run_result {
  /// The signal that began the stop (SIGINT or SIGTERM); 0 when the servers ended by
  /// themselves.
  int first_signal = 0;
  /// Signals received; more than one means the stop was an abort.
  std::size_t signals = 0;
  /// Sessions (or datagram replies) the stop cut off, summed over the servers: a second
  /// signal, or the grace ran out. 0 after a clean stop.
  std::size_t aborted = 0;
};

/// Runs `servers[i]` on `iocs[i]`, each on a thread of its own (the calling thread runs
/// the first), until every server has stopped. The first SIGINT or SIGTERM stops them
/// all gracefully (`stop(grace)`); a second one aborts them (`abort()`), after calling
/// `on_second_signal` on the first io_context's thread. Each server is touched only on
/// its own io_context's thread. Call it from one thread, with `iocs.size() ==
/// servers.size() >= 1` and no io_context running yet.
///
/// The handlers of SIGINT and SIGTERM are Asio's while it runs (then the previous ones
/// again). A server whose `run()` throws aborts the others; the first such failure (or
/// one thrown by an io_context) is rethrown once every thread has ended.
template <stoppable_server Server>
run_result run_until_signalled(std::vector<std::unique_ptr<boost::asio::io_context>>& iocs,
                               std::vector<std::unique_ptr<Server>>& servers,
                               std::chrono::milliseconds grace,
                               std::function<void()> on_second_signal = {}) {
  namespace asio = boost::asio;
  asio::io_context& main_ioc = *iocs.front();
  asio::signal_set signals(main_ioc, SIGINT, SIGTERM);
  auto on_every_server = [&](auto action) {
    for (std::size_t i = 0; i < servers.size(); ++i) {
      asio::post(*iocs[i], [&server = *servers[i], action] { action(server); });
    }
  };
  run_result result;
  std::function<void(boost::system::error_code, int)> on_signal =
      [&](boost::system::error_code ec, int signo) {
        if (ec) return;
        if (++result.signals == 1) {
          result.first_signal = signo;
          on_every_server([grace](Server& s) { s.stop(grace); });
        } else {
          if (on_second_signal) on_second_signal();
          on_every_server([](Server& s) { s.abort(); });
        }
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);

  detail::first_failure failure;
  std::atomic<std::size_t> running{servers.size()};
  for (std::size_t i = 0; i < servers.size(); ++i) {
    asio::co_spawn(*iocs[i], servers[i]->run(), [&](std::exception_ptr e) {
      if (e) {
        failure.set(e);
        on_every_server([](Server& s) { s.abort(); });
      }
      if (--running == 0) {
        asio::post(main_ioc, [&] {
          boost::system::error_code ignored;
          signals.cancel(ignored);
        });
      }
    });
  }
  detail::run_on_threads(iocs, failure);
  failure.rethrow_if_any();
  for (const auto& s : servers) result.aborted += s->aborted_sessions();
  return result;
}

}  // namespace netdemo::net
