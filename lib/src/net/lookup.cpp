#include "netdemo/net/lookup.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "netdemo/net/resolve.hpp"
#include "netdemo/proto/error.hpp"

namespace netdemo::net {

namespace asio = boost::asio;

address_list system_lookup(const std::string& host, int ip_version) {
  auto const family = ip_version == 4   ? family_filter::v4
                      : ip_version == 6 ? family_filter::v6
                                        : family_filter::any;
  auto const found = lookup(host, {}, family);
  address_list out;
  for (const auto& a : found.addresses) {
    boost::system::error_code ec;
    auto const addr = asio::ip::make_address(a.address, ec);
    if (ec) continue;
    if (std::find(out.begin(), out.end(), addr) == out.end()) out.push_back(addr);
  }
  if (out.empty()) throw error(errc::cannot_resolve, "cannot resolve '" + host + "': no address");
  return out;
}

namespace {

/// Shared by the waiting coroutine and the lookup thread.
struct lookup_state {
  std::mutex m;
  bool abandoned = false;    // the waiter is gone: post nothing (guarded by m)
  asio::any_io_executor ex;  // where the answer is posted
  // Written by the thread before it posts; read on `ex` after the post ran.
  address_list found;
  std::exception_ptr failure;
  // Executor-side only.
  bool answered = false;
  asio::steady_timer* timer = nullptr;
};

/// An IP literal of the family asked for, or nullopt (then it is a name to look up).
std::optional<address_list> literal(const std::string& host, int ip_version) {
  boost::system::error_code ec;
  auto const addr = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  if ((ip_version == 4 && !addr.is_v4()) || (ip_version == 6 && !addr.is_v6())) {
    throw error(errc::cannot_resolve,
                "cannot resolve '" + host + "' as IPv" + std::to_string(ip_version) + ": it is an IPv" +
                    (addr.is_v4() ? "4" : "6") + " address");
  }
  return address_list{addr};
}

}  // namespace

asio::awaitable<std::optional<address_list>> async_lookup(std::string host, int ip_version,
                                                          std::chrono::steady_clock::time_point deadline,
                                                          lookup_function fn) {
  if (!fn) {
    if (auto found = literal(host, ip_version)) co_return found;
    fn = system_lookup;
  }
  auto ex = co_await asio::this_coro::executor;
  auto state = std::make_shared<lookup_state>();
  state->ex = ex;
  asio::steady_timer timer(ex);
  timer.expires_at(deadline);
  state->timer = &timer;
  // Whatever ends this frame (answer, deadline, exception, destruction with the
  // io_context) tells the thread not to post any more.
  struct abandon_on_exit {
    std::shared_ptr<lookup_state> s;
    ~abandon_on_exit() {
      std::lock_guard<std::mutex> lock(s->m);
      s->abandoned = true;
      s->timer = nullptr;
    }
  } guard{state};

  std::thread([state, fn = std::move(fn), host, ip_version] {
    address_list found;
    std::exception_ptr failure;
    try {
      found = fn(host, ip_version);
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(state->m);
    if (state->abandoned) return;
    state->found = std::move(found);
    state->failure = failure;
    asio::post(state->ex, [state] {
      // On the executor, like the guard: no lock needed for `timer`.
      state->answered = true;
      if (state->timer != nullptr) state->timer->cancel();
    });
  }).detach();

  // A cancellation of the caller's operation reaches this wait (use_awaitable forwards the
  // coroutine's slot), ends it early and counts as the deadline.
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!state->answered) co_return std::nullopt;
  if (state->failure) std::rethrow_exception(state->failure);
  co_return std::move(state->found);
}

}  // namespace netdemo::net
