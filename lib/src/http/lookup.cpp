#include "lookup.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "netdemo/proto/error.hpp"
#include "netdemo/net/resolve.hpp"

namespace netdemo::http::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

endpoints system_resolve(const std::string& host, std::uint16_t port, int ip_version) {
  auto const family = ip_version == 4   ? net::family_filter::v4
                      : ip_version == 6 ? net::family_filter::v6
                                        : net::family_filter::any;
  auto const found = net::lookup(host, std::to_string(port), family);
  endpoints out;
  for (const auto& a : found.addresses) {
    if (a.socktype != SOCK_STREAM && a.socktype != 0) continue;
    boost::system::error_code ec;
    auto const addr = asio::ip::make_address(a.address, ec);
    if (ec) continue;
    tcp::endpoint const ep(addr, port);
    if (std::find(out.begin(), out.end(), ep) == out.end()) out.push_back(ep);
  }
  if (out.empty()) {
    throw error(errc::cannot_resolve, "cannot resolve '" + host + "': no TCP address");
  }
  return out;
}

namespace {

/// Shared by the waiting coroutine and the lookup thread.
struct lookup_state {
  std::mutex m;
  bool abandoned = false;       // the waiter is gone: post nothing (guarded by m)
  asio::any_io_executor ex;     // where the answer is posted
  // Written by the thread before it posts; read on `ex` after the post ran.
  endpoints found;
  std::exception_ptr failure;
  // Executor-side only.
  bool answered = false;
  asio::steady_timer* timer = nullptr;
};

}  // namespace

asio::awaitable<std::optional<endpoints>> lookup(resolve_function fn, std::string host,
                                                 std::uint16_t port, int ip_version,
                                                 std::chrono::steady_clock::time_point deadline) {
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

  std::thread([state, fn = std::move(fn), host, port, ip_version] {
    endpoints found;
    std::exception_ptr failure;
    try {
      found = fn(host, port, ip_version);
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

  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!state->answered) co_return std::nullopt;
  if (state->failure) std::rethrow_exception(state->failure);
  co_return std::move(state->found);
}

}  // namespace netdemo::http::detail
