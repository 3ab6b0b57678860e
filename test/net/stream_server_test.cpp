#include "netdemo/net/stream_server.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <sys/resource.h>

#include <catch2/catch.hpp>

#include "netdemo/proto/roles.hpp"
#include "net/stream_test_support.hpp"
#include "support.hpp"

using namespace test_support;
using netdemo::net::event_kind;
using netdemo::net::server_limits;
using netdemo::net::stream_server;
using netdemo::proto::echo_stream_handler;
using netdemo::proto::hello_protocol;
using netdemo::proto::text_stream_handler;
using netdemo::proto::upper_protocol;
using tcp = asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

namespace {

using hello_handler = text_stream_handler<hello_protocol>;

asio::awaitable<tcp::socket> connect_to(tcp::endpoint ep) {
  tcp::socket s(co_await asio::this_coro::executor);
  co_await s.async_connect(ep, asio::use_awaitable);
  co_return s;
}

// The seed 003 client conversation, over any stream socket.
template <class Socket>
asio::awaitable<std::vector<std::string>> seed_conversation(Socket& s) {
  std::vector<std::string> lines;
  lines.push_back(co_await read_at_least(s, 8));
  for (const char* name : {"Michael", "Tracy", "Sarah"}) {
    co_await write_all(s, name);
    std::string const want = std::string("Hello, ") + name + "!";
    lines.push_back(co_await read_at_least(s, want.size()));
  }
  co_await write_all(s, "exit");
  lines.push_back(co_await read_all(s));
  co_return lines;
}

}  // namespace

TEST_CASE("hello over TCP: the seed conversation, then exit closes", "[tcp]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, hello_handler({}, 1024), fast_limits(), log);
  auto const ep = server.local_endpoints().front();
  CHECK(ep.port() != 0);
  std::vector<std::string> lines;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(ep);
    lines = co_await seed_conversation(s);
  }());
  CHECK(lines == std::vector<std::string>{"Welcome!", "Hello, Michael!", "Hello, Tracy!",
                                          "Hello, Sarah!", ""});
  CHECK(log.count(event_kind::opened) == 1);
  CHECK(log.count(event_kind::closed, "exit") == 1);
}

TEST_CASE("hello over a Unix stream socket: the same conversation", "[unix]") {
  asio::io_context ioc;
  event_log log;
  temp_dir dir;
  std::string const path = dir.path("hello.sock");
  std::vector<unix_stream::acceptor> acceptors;
  acceptors.push_back(netdemo::net::open_unix_listener(ioc.get_executor(), path));
  stream_server<unix_stream, hello_handler> server(std::move(acceptors), hello_handler({}, 1024),
                                                   fast_limits(), log.sink());
  std::vector<std::string> lines;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    unix_stream::socket s(co_await asio::this_coro::executor);
    co_await s.async_connect(unix_stream::endpoint(path), asio::use_awaitable);
    lines = co_await seed_conversation(s);
  }());
  CHECK(lines == std::vector<std::string>{"Welcome!", "Hello, Michael!", "Hello, Tracy!",
                                          "Hello, Sarah!", ""});
}

TEST_CASE("several lines in one write get one reply each, in order", "[tcp]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, hello_handler({}, 1024), fast_limits(), log);
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await write_all(s, "a\nb\r\nexit\r\n");
    got = co_await read_all(s);
  }());
  CHECK(got == "Welcome!Hello, a!\nHello, b!\r\n");
}

TEST_CASE("a half-closed peer still gets the answer to its unterminated tail", "[tcp]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, hello_handler({}, 1024), fast_limits(), log);
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await write_all(s, "one\ntwo");
    s.shutdown(tcp::socket::shutdown_send);
    got = co_await read_all(s);
  }());
  CHECK(got == "Welcome!Hello, one!\nHello, two!");
  CHECK(log.count(event_kind::closed, "eof") == 1);
}

TEST_CASE("upper over TCP", "[tcp]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, text_stream_handler<upper_protocol>({}, 1024), fast_limits(), log);
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await write_all(s, "hello\nexit\n");
    got = co_await read_all(s);
  }());
  CHECK(got == "HELLO\n");
}

TEST_CASE("echo moves 4 MiB of binary data unchanged", "[tcp][echo]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, echo_stream_handler{}, fast_limits(), log);
  std::string sent(4 << 20, '\0');
  std::uint32_t x = 1;
  for (auto& ch : sent) {
    x = x * 1664525u + 1013904223u;
    ch = static_cast<char>(x >> 24);
  }
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    auto ex = co_await asio::this_coro::executor;
    // Write and read at once, as a real client must: neither side may deadlock.
    asio::co_spawn(ex, [&]() -> asio::awaitable<void> {
      co_await write_all(s, sent);
      s.shutdown(tcp::socket::shutdown_send);
    }, asio::detached);
    got = co_await read_all(s, 20s);
  }(), 30s);
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
}

TEST_CASE("a line over --max-line gets an error line and the connection closes", "[tcp][limits]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  std::size_t const max_line = 16;
  auto server = tcp_server(ioc, hello_handler({}, max_line), limits, log);
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await write_all(s, "ok\n" + std::string(100000, 'x'));
    got = co_await read_all(s);
  }());
  CHECK(got == "Welcome!Hello, ok!\nERR line too long (max 16 bytes)\n");
  CHECK(log.count(event_kind::closed, "limit:line") == 1);
}

TEST_CASE("over --max-conns a connection gets a one-line refusal; the others still work",
          "[tcp][limits]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  limits.max_connections = 2;
  auto server = tcp_server(ioc, hello_handler({}, 1024), limits, log);
  std::string third;
  std::string first_reply;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto a = co_await connect_to(ep);
    auto b = co_await connect_to(ep);
    co_await read_at_least(a, 8);
    co_await read_at_least(b, 8);
    auto c = co_await connect_to(ep);
    third = co_await read_all(c);
    co_await write_all(a, "still here\n");
    first_reply = co_await read_at_least(a, 18);
  }());
  CHECK(third == "ERR too many connections (max 2)\n");
  CHECK(first_reply == "Hello, still here!\n");
  CHECK(log.count(event_kind::refused, "limit:connections") == 1);
}

TEST_CASE("a silent connection is closed after the idle timeout", "[tcp][limits]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  limits.idle_timeout = 100ms;
  auto server = tcp_server(ioc, hello_handler({}, 1024), limits, log);
  std::string got;
  std::chrono::steady_clock::duration took{};
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    auto const start = std::chrono::steady_clock::now();
    got = co_await read_all(s, 5s);
    took = std::chrono::steady_clock::now() - start;
  }());
  CHECK(got == "Welcome!");
  CHECK(took >= 90ms);
  CHECK(took < 3s);
  CHECK(log.count(event_kind::closed, "idle") == 1);
}

TEST_CASE("graceful stop delivers a reply in flight, then closes", "[tcp][stop]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, echo_stream_handler{}, fast_limits(), log);
  std::size_t received = 0;
  std::size_t sent = 0;
  auto const ep = server.local_endpoints().front();
  bool const ended = run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(ep);
    // Fill both directions without reading, so the server is stuck mid-reply.
    s.non_blocking(true);
    std::string const chunk(64 * 1024, 'e');
    boost::system::error_code ec;
    for (int i = 0; i < 2000; ++i) {
      std::size_t const n = s.write_some(asio::buffer(chunk), ec);
      if (ec) break;
      sent += n;
      co_await sleep_for(1ms);
    }
    s.non_blocking(false);
    server.stop(5s);  // the body's end stops it again, which would abort: stop here first
    std::string const back = co_await read_all(s, 10s);
    received = back.size();
  }(), 20s, 5s);
  CHECK(ended);
  CHECK(received > 0);
  CHECK(received <= sent);
  // Everything the server read, it wrote back before closing.
  REQUIRE(log.count(event_kind::closed) == 1);
  auto const& closed = log.entries.back();
  CHECK(closed.bytes_out == closed.bytes_in);
  CHECK(closed.bytes_out == received);
}

TEST_CASE("graceful stop closes idle sessions at once", "[tcp][stop]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, hello_handler({}, 1024), fast_limits(), log);
  std::string got;
  auto const start = std::chrono::steady_clock::now();
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await read_at_least(s, 8);
    server.stop(10s);
    got = co_await read_all(s);
  }(), 20s, 10s);
  CHECK(got.empty());  // the greeting was read above; then EOF, nothing else
  CHECK(std::chrono::steady_clock::now() - start < 3s);
  CHECK(log.count(event_kind::closed, "shutdown") == 1);
  CHECK(log.count(event_kind::stopping) == 1);
  CHECK(server.aborted_sessions() == 0);  // a clean stop cut nothing off
}

TEST_CASE("after the grace period a stuck session is aborted", "[tcp][stop]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, echo_stream_handler{}, fast_limits(), log);
  auto const start = std::chrono::steady_clock::now();
  bool const ended = run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    s.non_blocking(true);
    std::string const chunk(64 * 1024, 'e');
    boost::system::error_code ec;
    for (int i = 0; i < 200; ++i) {
      s.write_some(asio::buffer(chunk), ec);
      if (ec) break;
      co_await sleep_for(1ms);
    }
    server.stop(200ms);
    co_await sleep_for(1500ms);  // never reads: the server cannot finish its reply
  }(), 10s, 200ms);
  CHECK(ended);
  CHECK(log.count(event_kind::closed, "aborted") == 1);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(server.aborted_sessions() == 1);  // what makes the CLI exit 1
}

TEST_CASE("a client that resets mid-session harms nobody else", "[tcp][isolation]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, hello_handler({}, 1024), fast_limits(), log);
  std::string other;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto const ep = server.local_endpoints().front();
    auto good = co_await connect_to(ep);
    {
      auto bad = co_await connect_to(ep);
      co_await write_all(bad, std::string("\x00\xff\xfe garbage \x01", 13));
      bad.set_option(asio::socket_base::linger(true, 0));
      bad.close();  // RST
    }
    co_await sleep_for(50ms);
    co_await write_all(good, "fine\n");
    other = co_await read_at_least(good, 8 + 13);
  }());
  CHECK(other == "Welcome!Hello, fine!\n");
  CHECK(log.count(event_kind::error) == 0);
}

TEST_CASE("out of file descriptors, accept backs off and keeps accepting", "[tcp][limits]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  limits.accept_backoff = 50ms;
  auto server = tcp_server(ioc, hello_handler({}, 1024), limits, log);
  constexpr int clients = 4;
  std::vector<std::string> greetings;
  ::rlimit original{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &original) == 0);
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    std::vector<tcp::socket> socks;
    for (int i = 0; i < clients; ++i) socks.emplace_back(ex, tcp::v4());  // fds taken now
    // Allow no new descriptor at all: every accept fails with EMFILE.
    int highest = 0;
    for (int fd = 0; fd < 4096; ++fd) {
      if (::fcntl(fd, F_GETFD) != -1) highest = fd;
    }
    std::vector<int> fillers;  // fill the holes below `highest`: accept takes the lowest free fd
    for (;;) {
      int const fd = ::open("/dev/null", O_RDONLY);
      if (fd < 0) break;
      if (fd > highest) {
        ::close(fd);
        break;
      }
      fillers.push_back(fd);
    }
    ::rlimit low = original;
    low.rlim_cur = static_cast<rlim_t>(highest + 1);
    ::setrlimit(RLIMIT_NOFILE, &low);
    for (auto& s : socks) co_await s.async_connect(server.local_endpoints().front(), asio::use_awaitable);
    co_await sleep_for(200ms);
    ::setrlimit(RLIMIT_NOFILE, &original);
    for (int fd : fillers) ::close(fd);
    for (auto& s : socks) greetings.push_back(co_await read_at_least(s, 8, 3s));
  }());
  ::setrlimit(RLIMIT_NOFILE, &original);
  CHECK(log.count(event_kind::warning, "backing off") >= 1);
  CHECK(greetings == std::vector<std::string>(clients, "Welcome!"));
}

TEST_CASE("the same hello session runs over a socketpair (no listener)", "[unix][pipe]") {
  asio::io_context ioc;
  event_log log;
  temp_dir dir;
  std::vector<unix_stream::acceptor> acceptors;
  acceptors.push_back(netdemo::net::open_unix_listener(ioc.get_executor(), dir.path("unused.sock")));
  stream_server<unix_stream, hello_handler> server(std::move(acceptors), hello_handler({}, 1024),
                                                   fast_limits(), log.sink());
  std::vector<std::string> lines;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    unix_stream::socket ours(ioc);
    unix_stream::socket theirs(ioc);
    asio::local::connect_pair(ours, theirs);
    server.adopt(std::move(theirs), "pair");
    lines = co_await seed_conversation(ours);
  }());
  CHECK(lines == std::vector<std::string>{"Welcome!", "Hello, Michael!", "Hello, Tracy!",
                                          "Hello, Sarah!", ""});
  CHECK(log.count(event_kind::closed, "exit") == 1);
}

TEST_CASE("graceful stop still answers a bare word waiting for its pause", "[tcp][stop]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  limits.pause = 500ms;
  auto server = tcp_server(ioc, hello_handler({}, 1024), limits, log);
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await read_at_least(s, 8);
    co_await write_all(s, "Michael");
    co_await sleep_for(100ms);  // read by the server, not yet answered
    server.stop(5s);
    got = co_await read_all(s);
  }(), 10s, 5s);
  CHECK(got == "Hello, Michael!");
  CHECK(log.count(event_kind::closed, "shutdown") == 1);
}

TEST_CASE("a busy session reads into a buffer of its own and gives it back when quiet",
          "[tcp][busy]") {
  asio::io_context ioc;
  event_log log;
  auto limits = fast_limits();
  limits.idle_timeout = 2s;  // the sweep runs every 500 ms
  auto server = tcp_server(ioc, hello_handler({}, 1024), limits, log);
  std::vector<std::size_t> busy;
  std::string first;
  std::string second;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await read_at_least(s, 8);
    busy.push_back(server.busy_session_count());  // greeted, no input yet: waits without
    co_await write_all(s, "a\n");
    first = co_await read_at_least(s, 10);
    busy.push_back(server.busy_session_count());  // had input: reads into its own buffer
    co_await sleep_for(1200ms);                    // quiet for two sweeps
    busy.push_back(server.busy_session_count());
    co_await write_all(s, "b\n");
    second = co_await read_at_least(s, 10);
    busy.push_back(server.busy_session_count());
  }());
  CHECK(first == "Hello, a!\n");
  CHECK(second == "Hello, b!\n");
  CHECK(busy == std::vector<std::size_t>{0, 1, 0, 1});
  CHECK(log.count(event_kind::closed, "shutdown") == 1);  // not closed by the cooling
  CHECK(log.count(event_kind::closed) == 1);
}

TEST_CASE("more busy sessions than read buffers: every one is answered", "[tcp][busy]") {
  using server_type = stream_server<tcp, echo_stream_handler>;
  constexpr std::size_t clients = server_type::busy_sessions_max + 6;
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, echo_stream_handler{}, fast_limits(), log);
  std::size_t wrong = 0;
  std::size_t most_busy = 0;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    std::vector<tcp::socket> socks;
    for (std::size_t i = 0; i < clients; ++i) {
      socks.push_back(co_await connect_to(server.local_endpoints().front()));
    }
    for (int round = 0; round < 10; ++round) {
      for (std::size_t i = 0; i < clients; ++i) {
        co_await write_all(socks[i], "msg " + std::to_string(i) + " " + std::to_string(round) + "\n");
      }
      for (std::size_t i = 0; i < clients; ++i) {
        std::string const want = "msg " + std::to_string(i) + " " + std::to_string(round) + "\n";
        if (co_await read_at_least(socks[i], want.size()) != want) ++wrong;
      }
      most_busy = std::max(most_busy, server.busy_session_count());
    }
  }(), 20s);
  CHECK(wrong == 0);
  CHECK(most_busy == server_type::busy_sessions_max);
  CHECK(server.busy_session_count() == 0);  // every session gave its buffer back
  CHECK(log.count(event_kind::closed) == clients);
}

TEST_CASE("graceful stop answers what reached a busy session's pending read", "[tcp][stop][busy]") {
  asio::io_context ioc;
  event_log log;
  auto server = tcp_server(ioc, hello_handler({}, 1024), fast_limits(), log);
  std::size_t busy = 0;
  std::string got;
  run_with_server(ioc, server, [&]() -> asio::awaitable<void> {
    auto s = co_await connect_to(server.local_endpoints().front());
    co_await write_all(s, "first\n");
    co_await read_at_least(s, 8 + 14);  // "Welcome!" "Hello, first!\n"
    busy = server.busy_session_count();
    // Written and stopped with no turn of the loop in between: the server's read is
    // still pending when the stop cancels it.
    s.write_some(asio::buffer(std::string_view("late\n")));
    server.stop(5s);
    got = co_await read_all(s);
  }(), 10s, 5s);
  CHECK(busy == 1);
  CHECK(got == "Hello, late!\n");
  CHECK(log.count(event_kind::closed, "shutdown") == 1);
}
