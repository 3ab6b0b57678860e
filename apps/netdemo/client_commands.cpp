// tcp-client and udp-client: the seed clients, with timeouts and an interactive mode.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <deque>
#include <iostream>
#include <optional>
#include <variant>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "cli.hpp"
#include "netdemo/client/datagram_client.hpp"
#include "netdemo/client/stream_client.hpp"
#include "netdemo/client/tls_client.hpp"
#include "netdemo/proto/text.hpp"

namespace netdemo::cli {

namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

struct client_settings {
  std::string host;
  std::uint16_t port = 0;
  std::string unix_path;
  std::vector<std::string> messages;
  std::string eol;  // appended to each message sent
  milliseconds timeout{};
  milliseconds connect_timeout{};
  milliseconds greeting_wait{};
  milliseconds pause{};
  int retries = 0;
  bool tls = false;                   // TLS over the TCP connection (--tls)
  client::tls_connect_options trust;  // --cacert, -k
  bool prompt = false;  // print "> " before each line typed on a terminal
};

/// Defaults that differ between the client subcommands.
struct client_defaults {
  int port = 9999;
  const char* greeting_wait = "250ms";
  bool prompt = false;
};

void add_client_options(po::options_description& o, bool stream, const client_defaults& d = {}) {
  o.add_options()
      ("host", po::value<std::string>()->default_value("127.0.0.1"), "server address or name")
      ("port,p", po::value<int>()->default_value(d.port), "server port")
      ("unix", po::value<std::string>(), "talk to a Unix socket at this path instead of IP")
      ("eol", po::value<std::string>()->default_value("none"),
       "ending added to each message sent: none (seed style), lf or crlf")
      ("timeout,t", po::value<std::string>()->default_value(stream ? "10s" : "2s"),
       stream ? "how long to wait for each reply" : "how long to wait for each reply before resending");
  if (stream) {
    o.add_options()
        ("connect-timeout", po::value<std::string>()->default_value("10s"), "how long to wait for the connection")
        ("greeting-wait", po::value<std::string>()->default_value(d.greeting_wait),
         "how long to wait for a greeting before the first message (0: do not wait)")
        ("pause", po::value<std::string>()->default_value("50ms"),
         "a reply without a line ending is complete once the server is quiet this long")
        ("tls", "TLS over the TCP connection; the server's certificate is checked against the "
                "system's CAs and --host")
        ("cacert", po::value<std::string>(), "with --tls: trust the CAs of this PEM file instead")
        ("insecure,k", "with --tls: do not check the server's certificate");
  } else {
    o.add_options()("retries", po::value<int>()->default_value(3), "resends after a timeout before giving up (exit 28)");
  }
  o.add_options()("message", po::value<std::vector<std::string>>(), "messages (positional)");
}

client_settings read_client_settings(const po::variables_map& vm, bool stream) {
  client_settings s;
  s.host = vm["host"].as<std::string>();
  s.port = parse_port(vm["port"].as<int>());
  if (s.port == 0 && !vm.count("unix")) throw cli_error(exit_code::usage, "--port 0 cannot be connected to");
  if (vm.count("unix")) s.unix_path = vm["unix"].as<std::string>();
  if (vm.count("message")) s.messages = vm["message"].as<std::vector<std::string>>();
  auto const eol = vm["eol"].as<std::string>();
  if (eol == "lf") s.eol = "\n";
  else if (eol == "crlf") s.eol = "\r\n";
  else if (eol != "none") throw cli_error(exit_code::usage, "--eol must be none, lf or crlf");
  s.timeout = parse_duration(vm["timeout"].as<std::string>(), "timeout");
  if (stream) {
    s.connect_timeout = parse_duration(vm["connect-timeout"].as<std::string>(), "connect-timeout");
    s.greeting_wait = parse_duration(vm["greeting-wait"].as<std::string>(), "greeting-wait");
    s.pause = parse_duration(vm["pause"].as<std::string>(), "pause");
    s.tls = vm.count("tls") > 0;
    if (vm.count("cacert")) s.trust.ca_file = vm["cacert"].as<std::string>();
    s.trust.insecure = vm.count("insecure") > 0;
    if (!s.tls && (vm.count("cacert") || s.trust.insecure)) {
      throw cli_error(exit_code::usage, std::string(vm.count("cacert") ? "--cacert" : "--insecure") + " needs --tls");
    }
    if (s.tls && !s.unix_path.empty()) throw cli_error(exit_code::usage, "--tls applies to TCP, not to --unix");
    for (const auto& m : s.messages) {
      if (m.empty() && s.eol.empty()) {
        throw cli_error(exit_code::usage,
                    "an empty MESSAGE is zero bytes as a bare word: nothing to send, and no reply "
                    "would come (--eol lf sends it as an empty line)");
      }
    }
  } else {
    s.retries = vm["retries"].as<int>();
    if (s.retries < 0) throw cli_error(exit_code::usage, "--retries must be 0 or more");
  }
  if (s.timeout.count() == 0) throw cli_error(exit_code::usage, "--timeout must be above 0");
  return s;
}

/// Prints one reply on its own line.
void print_reply(std::string_view data) {
  std::cout << data;
  if (!data.empty() && data.back() != '\n') std::cout << '\n';
  std::cout.flush();
}

/// Prints a reply; at its end, says when the TLS end was unclean (the last bytes may be
/// missing, and nothing on the wire can tell).
void print_reply(const client::reply& r) {
  print_reply(r.data);
  if (r.unclean) std::cerr << "warning: the server closed the connection without TLS close_notify\n";
}

/// Lines from stdin, read asynchronously (a terminal, a pipe, or a regular file, which
/// Asio reads directly since epoll cannot watch it). Asio makes the descriptor
/// non-blocking, and a terminal shares that flag with the shell, so it is restored.
class stdin_lines {
 public:
  explicit stdin_lines(asio::io_context& ioc)
      : in_(ioc, STDIN_FILENO), saved_flags_(::fcntl(STDIN_FILENO, F_GETFL)) {}
  stdin_lines(const stdin_lines&) = delete;
  stdin_lines& operator=(const stdin_lines&) = delete;
  ~stdin_lines() {
    in_.release();  // stdin stays open
    if (saved_flags_ != -1) ::fcntl(STDIN_FILENO, F_SETFL, saved_flags_);
  }

  /// The next line (without its line ending), or nullopt at end of input. A read error
  /// other than end of input is a failure (exit 1); cancellation ends the read with
  /// operation_aborted.
  asio::awaitable<std::optional<std::string>> next() {
    auto [ec, n] = co_await asio::async_read_until(in_, asio::dynamic_buffer(buf_), '\n',
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
    if (ec && ec != asio::error::eof) {
      throw cli_error(exit_code::failure, "cannot read standard input: " + ec.message());
    }
    if (ec && buf_.empty()) co_return std::nullopt;
    if (ec) n = buf_.size();  // a last line without LF
    std::string line = buf_.substr(0, n);
    buf_.erase(0, n);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (!line.empty() && line.back() == '\r') line.pop_back();
    co_return line;
  }

 private:
  asio::posix::stream_descriptor in_;
  int saved_flags_;
  std::string buf_;
};

/// Runs `task` on `ioc`; Ctrl+C ends the program with exit 130.
int run_client(asio::io_context& ioc, asio::awaitable<int> task) {
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  int code = 0;
  bool interrupted = false;
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    interrupted = true;
    ioc.stop();
  });
  std::exception_ptr failure;
  asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, int c) {
    failure = e;
    code = c;
    boost::system::error_code ignored;
    signals.cancel(ignored);
  });
  ioc.run();
  if (interrupted) {
    std::cout.flush();
    // On a terminal the cursor is after "^C" (or a prompt): start a fresh line.
    std::cerr << (::isatty(STDERR_FILENO) == 1 ? "\nInterrupted.\n" : "Interrupted.\n");
    return static_cast<int>(exit_code::interrupted);
  }
  if (failure) std::rethrow_exception(failure);
  return code;
}

/// Interactive stream session: print what the server sends while sending what the user
/// types. Bare words (no --eol) go one at a time, each after the previous reply (or
/// --timeout), because bare words sent back to back would arrive as one message.
///
/// Two coroutines share this frame: the printer (replies, until the server closes) and
/// the typist (stdin, until its end, then --timeout for the server to finish). They are
/// joined with `||`: whichever ends first cancels the other, and `interactive` returns only
/// once both have finished, so neither can touch this frame after it is gone. Both return
/// their failure as a value, so the `||` never throws past a sibling still running.
template <class Client>
asio::awaitable<int> interactive(Client& client, const client_settings& s, asio::io_context& ioc) {
  using namespace asio::experimental::awaitable_operators;
  using client::reply_framing;
  std::uint64_t replies = 0;
  bool input_ended = false;
  stdin_lines input(ioc);
  asio::steady_timer reply_seen(ioc);  // cancelled by the printer at each reply

  auto printer = [&]() -> asio::awaitable<std::exception_ptr> {
    try {
      for (;;) {
        auto r = co_await client.read_reply(std::chrono::hours(24), s.pause, reply_framing::pause);
        print_reply(r);
        ++replies;
        reply_seen.cancel();
        if (r.eof) co_return nullptr;
      }
    } catch (...) {
      co_return std::current_exception();
    }
  };

  // Once cancelled (the printer has ended), every further co_await here throws
  // operation_aborted (Asio's throw_if_cancelled default), which ends every loop.
  auto typist = [&]() -> asio::awaitable<std::exception_ptr> {
    std::exception_ptr send_failure;
    try {
      bool const show_prompt = s.prompt && ::isatty(STDIN_FILENO) == 1;
      for (;;) {
        if (show_prompt) std::cout << "> " << std::flush;
        auto line = co_await input.next();
        if (!line) {
          if (show_prompt) std::cout << '\n' << std::flush;  // Ctrl+D after "> "
          break;
        }
        // A bare word that is empty is zero bytes: nothing to send, and no reply would
        // come. With --eol it is a line ending, a message the server answers.
        if (line->empty() && s.eol.empty()) continue;
        std::uint64_t const before = replies;
        try {
          co_await client.send(*line + s.eol);
        } catch (const error&) {
          send_failure = std::current_exception();
          break;
        }
        if (s.eol.empty()) {
          reply_seen.expires_after(s.timeout);
          while (replies == before) {
            auto [ec] = co_await reply_seen.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!ec) break;  // no reply in time: go on anyway
          }
        }
      }
      if (!send_failure) {
        // End of input: half-close and show what the server still sends.
        input_ended = true;
        client.shutdown_send();
      }
      // After a failed send the connection is broken: the printer is about to see how
      // (EOF or a reset) and says so; its report is better than ours.
      asio::steady_timer drain(co_await asio::this_coro::executor, s.timeout);
      co_await drain.async_wait(asio::as_tuple(asio::use_awaitable));
    } catch (...) {
      co_return std::current_exception();
    }
    co_return send_failure;
  };

  auto const ended = co_await (printer() || typist());
  auto const failure = std::visit([](const std::exception_ptr& e) { return e; }, ended);
  if (failure) std::rethrow_exception(failure);
  if (ended.index() == 0 && !input_ended) std::cerr << "Connection closed by the server.\n";
  co_return 0;
}

template <class Client>
asio::awaitable<int> stream_session(Client client, client_settings s, asio::io_context& ioc) {
  using client::reply_framing;
  auto const framing = s.eol.empty() ? reply_framing::pause : reply_framing::line;
  if (s.greeting_wait.count() > 0) {
    auto g = co_await client.read_reply(s.greeting_wait, s.pause, reply_framing::pause);
    print_reply(g);
    if (g.eof) throw cli_error(exit_code::failure, "the server closed the connection at once");
  }
  if (s.messages.empty()) co_return co_await interactive(client, s, ioc);
  for (std::size_t i = 0; i < s.messages.size(); ++i) {
    co_await client.send(s.messages[i] + s.eol);
    auto r = co_await client.read_reply(s.timeout, s.pause, framing);
    if (r.timed_out) {
      throw cli_error(exit_code::timeout, "no reply to '" + s.messages[i] + "' within " +
                                          duration_text(s.timeout));
    }
    print_reply(r);
    if (r.eof) {
      if (i + 1 < s.messages.size()) {
        throw cli_error(exit_code::failure, "the server closed the connection after '" +
                                            s.messages[i] + "'");
      }
      co_return 0;
    }
  }
  // Done: half-close, so the server sees EOF, and print anything it still sends.
  client.shutdown_send();
  for (;;) {
    auto r = co_await client.read_reply(s.timeout, s.pause, reply_framing::pause);
    print_reply(r);
    if (r.eof || r.timed_out) break;
  }
  co_return 0;
}

template <class Client>
asio::awaitable<int> datagram_session(Client client, client_settings s, asio::io_context& ioc) {
  auto ask = [&](const std::string& msg) -> asio::awaitable<void> {
    auto r = co_await client.request(msg + s.eol, s.timeout, s.retries);
    if (r.truncated) std::cerr << "warning: the reply was cut at 65536 bytes\n";
    print_reply(r.data);
  };
  if (!s.messages.empty()) {
    for (const auto& m : s.messages) co_await ask(m);
    co_return 0;
  }
  stdin_lines input(ioc);
  while (auto line = co_await input.next()) co_await ask(*line);
  co_return 0;
}

int stream_client_command(const command_info& info, const std::vector<std::string>& args,
                          const client_defaults& d) {
  po::options_description o("Options");
  add_client_options(o, true, d);
  po::positional_options_description pos;
  pos.add("message", -1);
  po::variables_map vm;
  if (!parse(info, args, o, pos, vm)) return 0;
  auto s = read_client_settings(vm, true);
  s.prompt = d.prompt;
  asio::io_context ioc(1);
  auto task = [&]() -> asio::awaitable<int> {
    if (!s.unix_path.empty()) {
      co_return co_await stream_session(co_await client::connect_unix(s.unix_path, s.connect_timeout), s, ioc);
    }
    if (s.tls) {
      auto stream = co_await client::connect_tls(s.host, s.port, s.connect_timeout, s.trust);
      co_return co_await stream_session(client::stream_client<asio::ip::tcp, net::tls_stream>(std::move(stream)),
                                        s, ioc);
    }
    co_return co_await stream_session(co_await client::connect_tcp(s.host, s.port, s.connect_timeout), s, ioc);
  };
  return run_client(ioc, task());
}

}  // namespace

int tcp_client(const std::vector<std::string>& args) {
  command_info const info{
      "tcp-client", "[options] [MESSAGE...]",
      "Connect to a stream server, print its greeting (if it sends one), send each MESSAGE\n"
      "and print each reply on its own line (seed 003's client). Messages go as bare words,\n"
      "as the seed sends them; --eol lf sends lines instead. With no MESSAGE, lines typed on\n"
      "stdin are sent as they come and everything the server sends is printed; at end of\n"
      "input the client half-closes and prints what still arrives.",
      "  netdemo tcp-client Michael Tracy Sarah  # Welcome! / Hello, Michael! / ...\n"
      "  netdemo tcp-client --port 9999          # interactive; Ctrl+D ends\n"
      "  netdemo tcp-client --unix /tmp/echo.sock --eol lf hello\n"
      "  netdemo tcp-client --tls --cacert ca.pem --host localhost Michael\n"};
  return stream_client_command(info, args, {});
}

int command_client(const std::vector<std::string>& args) {
  command_info const info{
      "command-client", "[options] [COMMAND...]",
      "Seed 004's client for the command server: type a command at the '> ' prompt and see\n"
      "the answer; Ctrl+D ends, Ctrl+C quits. With COMMAND arguments it runs them in order,\n"
      "prints each answer and exits. Works against the seed's Python server too.",
      "  netdemo command-client                  # > date / > os / > ls / > ls sub\n"
      "  netdemo command-client date os 'ls .'\n"
      "  netdemo command-client --tls -k --port 8443 os\n"};
  return stream_client_command(info, args, client_defaults{21560, "0", true});
}

int udp_client(const std::vector<std::string>& args) {
  command_info const info{
      "udp-client", "[options] [MESSAGE...]",
      "Send each MESSAGE as one datagram and print each reply on its own line (seeds 000 and\n"
      "001). A lost datagram is sent again after --timeout, up to --retries times; then the\n"
      "client gives up with exit 28 instead of waiting forever. With no MESSAGE, each line\n"
      "typed on stdin is one datagram.",
      "  netdemo udp-client Michael Tracy Sarah  # Hello, Michael! / ...\n"
      "  netdemo udp-client --port 8080 hello    # against 'udp-server --role upper --port 8080'\n"
      "  netdemo udp-client --unix /tmp/echo.dgram ping\n"};
  po::options_description o("Options");
  add_client_options(o, false);
  po::positional_options_description pos;
  pos.add("message", -1);
  po::variables_map vm;
  if (!parse(info, args, o, pos, vm)) return 0;
  auto s = read_client_settings(vm, false);
  asio::io_context ioc(1);
  auto task = [&]() -> asio::awaitable<int> {
    if (!s.unix_path.empty()) {
      co_return co_await datagram_session(co_await client::connect_unix_datagram(s.unix_path), s, ioc);
    }
    co_return co_await datagram_session(co_await client::connect_udp(s.host, s.port), s, ioc);
  };
  return run_client(ioc, task());
}

}  // namespace netdemo::cli
