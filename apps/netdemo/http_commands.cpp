// http-get: seeds 000/003's "fetch a page, print the header, save the body", on the
// library's HTTP client. Here: options, where the head and body go, and file naming.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "cli.hpp"
#include "netdemo/http/client.hpp"
#include "netdemo/http/cookies.hpp"
#include "netdemo/http/download.hpp"
#include "netdemo/version.hpp"
#include "netdemo/http/progress.hpp"
#include "netdemo/http/url.hpp"

namespace netdemo::cli {

namespace {

namespace asio = boost::asio;

/// Prints lines of `text` (CRLF or LF separated) on stderr, each after `prefix`.
void print_prefixed(std::string_view text, std::string_view prefix) {
  std::string out;
  while (!text.empty()) {
    auto const nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.append(prefix).append(line).append("\n");
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  std::cerr << out << std::flush;
}

/// An HTTP method is a token (RFC 9110 5.6.2).
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char const c : s) {
    auto const u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

/// A control character other than tab: CR and LF would end the header line and start
/// another one of the user's making (header injection); the others are not allowed in a
/// field value either (RFC 9110 5.5).
bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto const u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

/// "line 1\r\nX: y" → "line 1\\r\\nX: y": control characters shown, for an error message.
std::string shown(std::string_view s) {
  std::string out;
  for (char const c : s) {
    auto const u = static_cast<unsigned char>(c);
    if (c == '\r') {
      out.append("\\r");
    } else if (c == '\n') {
      out.append("\\n");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out.append(hex);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

/// --max-filesize: bytes, or with a K, M, G or T suffix (powers of 1024, as curl).
std::uint64_t parse_size(const std::string& text, const std::string& option) {
  auto const bad = [&] {
    return cli_error(exit_code::usage, "--" + option + " wants a number of bytes (like 500000, 200K, 3M, 1G), not '" +
                                       text + "'");
  };
  std::size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    auto const digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) throw bad();
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) throw bad();
  int shift = 0;
  if (i + 1 == text.size()) {
    switch (text[i]) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      default: throw bad();
    }
  } else if (i != text.size()) {
    throw bad();
  }
  if (shift > 0 && value > (UINT64_MAX >> shift)) throw bad();
  return value << shift;
}

/// --data-urlencode: "content", "=content" or "name=content"; the content percent-encoded
/// (everything but unreserved characters, space as %20, as curl does).
std::string urlencode_data(const std::string& arg) {
  namespace urls = boost::urls;
  auto const eq = arg.find('=');
  if (eq == std::string::npos) return urls::encode(arg, urls::unreserved_chars);
  std::string out = arg.substr(0, eq);
  if (!out.empty()) out.push_back('=');
  out.append(urls::encode(std::string_view(arg).substr(eq + 1), urls::unreserved_chars));
  return out;
}

std::string read_file(const std::string& name, const std::string& what) {
  std::ifstream in(name, std::ios::binary);
  if (!in) throw cli_error(exit_code::failure, "cannot read " + what + " '" + name + "': " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The options of http-get.
po::options_description http_get_options() {
  po::options_description o("Options");
  o.add_options()
      ("url", po::value<std::string>(), "URL or host (positional)")
      ("output,o", po::value<std::string>(), "write the body to FILE ('-': stdout, body only)")
      ("include,i", po::bool_switch(), "put the headers before the body in the output")
      ("head,I", po::bool_switch(), "HEAD request: print the headers only (to FILE with -o FILE)")
      ("silent,s", po::bool_switch(), "no notes on stderr (errors still appear)")
      ("verbose,v", po::bool_switch(), "show the request and response headers on stderr")
      ("request,X", po::value<std::string>(), "request METHOD (default GET, or POST with -d)")
      ("data,d", po::value<std::vector<std::string>>(), "form data 'k=v', sent as is (repeatable, joined with '&'); makes a POST")
      ("data-urlencode", po::value<std::vector<std::string>>(), "form data 'k=v' with v percent-encoded (repeatable)")
      ("get,G", po::bool_switch(), "put the -d data in the URL's query and send a GET")
      ("user,u", po::value<std::string>(), "Basic auth 'user:password' (not sent to another host on redirect)")
      ("cookie,b", po::value<std::vector<std::string>>(), "cookies 'k=v; k2=v2', or a Netscape cookie FILE to read (repeatable)")
      ("cookie-jar,c", po::value<std::string>(), "write all cookies to FILE after the run (Netscape format)")
      ("header,H", po::value<std::vector<std::string>>(), "extra header 'Name: value' (repeatable; 'Name:' removes a default)")
      ("user-agent,A", po::value<std::string>(), "User-Agent to send")
      ("max-redirs", po::value<int>()->default_value(20), "most redirects to follow (more: exit 47)")
      ("no-follow", po::bool_switch(), "do not follow redirects")
      ("fail,f", po::bool_switch(), "exit 22 without saving the body when the status is 400 or more")
      ("fail-with-body", po::bool_switch(), "exit 22 when the status is 400 or more, after saving the body")
      ("ipv4,4", po::bool_switch(), "connect over IPv4 only")
      ("ipv6,6", po::bool_switch(), "connect over IPv6 only")
      ("connect-timeout", po::value<std::string>()->default_value("30s"), "limit for the name lookup, connecting and the TLS handshake")
      ("idle-timeout", po::value<std::string>()->default_value("60s"), "limit for each read or write")
      ("max-time,m", po::value<std::string>()->default_value("0"), "limit for the whole transfer (0: none)")
      ("compressed", po::bool_switch(), "ask for gzip or deflate and save the body decoded")
      ("max-filesize", po::value<std::string>(), "save at most BYTES of body (decoded with --compressed; K, M, G suffixes; more: exit 63)")
      ("insecure,k", po::bool_switch(), "https: do not verify the server's certificate")
      ("cacert", po::value<std::string>(), "https: trust the CA certificates in this PEM file");
  return o;
}

/// -b: cookies 'k=v; ...' for `host`, or a Netscape cookie file, into `jar`.
void load_cookies(const po::variables_map& vm, const std::string& host, http::cookie_jar& jar) {
  if (vm.count("cookie")) {
    for (const auto& b : vm["cookie"].as<std::vector<std::string>>()) {
      if (has_control(b)) {
        throw cli_error(exit_code::usage, "-b '" + shown(b) + "' has a control character (CR, LF, ...)");
      }
      if (b.find('=') != std::string::npos) {
        if (jar.add_pairs(b, host) > 0) {
          throw cli_error(exit_code::usage, "-b '" + shown(b) +
                                            "' has a cookie with a tab inside, or over " +
                                            std::to_string(http::cookie_jar::max_name_value) + " bytes");
        }
      } else if (std::filesystem::exists(b)) {
        jar.load_netscape(read_file(b, "cookie file"));
      }  // a file that does not exist yet (-b jar -c jar) is no cookies, as with curl
    }
  }
}

/// -A and -H into `req`, checked (no control characters, header names are tokens).
void add_headers(const po::variables_map& vm, http::request_options& req) {
  req.user_agent = std::string("netdemo/") + NETDEMO_VERSION;
  if (vm.count("user-agent")) {
    req.user_agent = vm["user-agent"].as<std::string>();
    if (has_control(req.user_agent)) {
      throw cli_error(exit_code::usage, "-A '" + shown(req.user_agent) + "' has a control character (CR, LF, ...)");
    }
  }
  if (vm.count("header")) {
    for (const auto& h : vm["header"].as<std::vector<std::string>>()) {
      auto const colon = h.find(':');
      if (colon == std::string::npos || colon == 0) {
        throw cli_error(exit_code::usage, "--header wants 'Name: value', not '" + shown(h) + "'");
      }
      if (has_control(h)) {
        throw cli_error(exit_code::usage, "-H '" + shown(h) + "' has a control character (CR, LF, ...)");
      }
      if (!is_token(std::string_view(h).substr(0, colon))) {
        throw cli_error(exit_code::usage, "-H '" + shown(h) + "': '" + h.substr(0, colon) +
                                          "' is not a header name (a token: letters, digits, !#$%&'*+-.^_`|~)");
      }
      std::string value = h.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t") == std::string::npos ? value.size()
                                                                           : value.find_first_not_of(" \t"));
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      req.headers.push_back({h.substr(0, colon), std::move(value)});
    }
  }
}

/// Redirects, --fail, -4/-6, timeouts, TLS, --compressed and --max-filesize into `req`.
void set_limits(const po::variables_map& vm, http::request_options& req) {
  req.max_redirects = vm["max-redirs"].as<int>();
  if (req.max_redirects < 0) throw cli_error(exit_code::usage, "--max-redirs must be 0 or more");
  req.follow_redirects = !vm["no-follow"].as<bool>();
  req.fail_on_error = vm["fail"].as<bool>();
  req.fail_after_body = vm["fail-with-body"].as<bool>();
  if (req.fail_on_error && req.fail_after_body) {
    throw cli_error(exit_code::usage, "--fail and --fail-with-body exclude each other");
  }
  if (vm["ipv4"].as<bool>() && vm["ipv6"].as<bool>()) {
    throw cli_error(exit_code::usage, "-4 and -6 exclude each other");
  }
  req.ip_version = vm["ipv4"].as<bool>() ? 4 : vm["ipv6"].as<bool>() ? 6 : 0;
  req.connect_timeout = parse_duration(vm["connect-timeout"].as<std::string>(), "connect-timeout");
  req.idle_timeout = parse_duration(vm["idle-timeout"].as<std::string>(), "idle-timeout");
  req.max_time = parse_duration(vm["max-time"].as<std::string>(), "max-time");
  req.insecure = vm["insecure"].as<bool>();
  if (vm.count("cacert")) req.ca_file = vm["cacert"].as<std::string>();
  req.decode_content = vm["compressed"].as<bool>();
  if (vm.count("max-filesize")) req.max_body_bytes = parse_size(vm["max-filesize"].as<std::string>(), "max-filesize");
}

/// -d and --data-urlencode joined with '&', in command-line order; `have_data`: any given.
std::string form_data(const std::vector<std::string>& args, const po::options_description& o,
                      const po::positional_options_description& pos, bool& have_data) {
  std::string data;
  for (const auto& opt : po::command_line_parser(args).options(o).positional(pos).run().options) {
    if (opt.string_key != "data" && opt.string_key != "data-urlencode") continue;
    for (const auto& v : opt.value) {
      if (have_data) data.push_back('&');
      have_data = true;
      data.append(opt.string_key == "data" ? v : urlencode_data(v));
    }
  }
  return data;
}

/// Where http-get prints a response head.
enum class head_to { none, out_stream, err_stream, body_output };

/// -o, -I, -i and -s: sets the body's destination in `out`; returns where heads go.
head_to choose_output(const po::variables_map& vm, const http::target_url& url, bool head, bool include,
                      bool silent, http::body_output& out) {
  bool const named = vm.count("output") > 0;
  std::string const output = named ? vm["output"].as<std::string>() : std::string();
  if (head) {
    // -I -o FILE writes the head to FILE, as curl does; -I -o - is the default, stdout.
    if (!named || output == "-") return head_to::out_stream;
    out.to_file(output, false);
    return head_to::body_output;
  }
  if (named && output == "-") {
    out.to_stdout();
    return include ? head_to::body_output : (silent ? head_to::none : head_to::err_stream);
  }
  if (named) {
    out.to_file(output, false);
  } else {
    out.to_file(url.file_name.empty() ? "index.html" : url.file_name, true);
  }
  return include ? head_to::body_output : head_to::out_stream;
}

/// A progress line on stderr, best effort: a progress line is not worth failing for.
void draw_progress(const std::string& text) {
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t const n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

/// Runs the fetch until it ends or SIGINT/SIGTERM comes; its failure (exit 130 for a
/// signal), or null.
std::exception_ptr fetch_interruptible(http::request_options req) {
  asio::io_context ioc(1);
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  bool interrupted = false;
  std::exception_ptr failure;
  asio::co_spawn(ioc, http::fetch(std::move(req)), [&](std::exception_ptr e, const http::response&) {
    failure = e;
    signals.cancel();
  });
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    interrupted = true;
    ioc.stop();
  });
  ioc.run();
  if (interrupted) return std::make_exception_ptr(cli_error(exit_code::interrupted, "interrupted"));
  return failure;
}

/// -c FILE: every cookie, Netscape format; a write error fails the run unless it failed.
void save_cookie_jar(const po::variables_map& vm, const http::cookie_jar& jar, bool failed) {
  if (!vm.count("cookie-jar")) return;
  std::string const name = vm["cookie-jar"].as<std::string>();
  std::ofstream jar_out(name, std::ios::binary | std::ios::trunc);
  jar_out << jar.to_netscape(static_cast<std::int64_t>(std::time(nullptr)));
  jar_out.close();
  if (!jar_out && !failed) throw cli_error(exit_code::write_error, "cannot write the cookie jar '" + name + "'");
}

/// After a failed fetch: --fail-with-body keeps the whole body under its name; otherwise a
/// partial body is kept (NAME.part) and said so. Rethrows the failure.
[[noreturn]] void report_failure(std::exception_ptr failure, http::body_output& out, bool fail_after_body,
                                 bool silent) {
  try {
    std::rethrow_exception(failure);
  } catch (const error& e) {
    if (e.code() == errc::http_status && fail_after_body) {
      out.finish();
      if (!out.is_stdout() && !silent && !out.name().empty()) {
        std::cerr << "Saved " << out.bytes() << " bytes to '" << out.name() << "'\n";
      }
      throw;
    }
  } catch (...) {
  }
  std::string const kept = out.keep_partial();
  if (!kept.empty()) {
    std::cerr << "netdemo http-get: partial body (" << out.bytes() << " bytes) kept in '" << kept << "'\n";
  }
  std::rethrow_exception(failure);
}

/// The request of the URL, -d/--data-urlencode (-G: in the query), -X and -u; `url` is set
/// to the URL fetched.
http::request_options build_request(const std::vector<std::string>& args, const po::options_description& o,
                                    const po::positional_options_description& pos, const po::variables_map& vm,
                                    http::target_url& url) {
  std::string url_text = vm["url"].as<std::string>();
  url = http::parse_user_url(url_text);
  bool const head = vm["head"].as<bool>();

  bool have_data = false;
  std::string const data = form_data(args, o, pos, have_data);
  bool const get = vm["get"].as<bool>();
  if (head && have_data && !get) throw cli_error(exit_code::usage, "-I cannot send data (-d); add -G to put it in the URL");
  if (get && have_data) {
    std::string with_query = url.url;
    with_query.push_back(url.target.find('?') == std::string::npos ? '?' : '&');
    with_query.append(data);
    url = http::parse_user_url(with_query);
    url_text = url.url;
  }

  http::request_options req;
  req.url = url_text;
  req.method = head ? "HEAD" : "GET";
  if (have_data && !get) {
    req.method = "POST";
    req.body = data;
    req.content_type = "application/x-www-form-urlencoded";
  }
  if (vm.count("request")) {
    req.method = vm["request"].as<std::string>();
    if (!is_token(req.method)) throw cli_error(exit_code::usage, "-X wants an HTTP method, not '" + req.method + "'");
  }
  if (vm.count("user")) {
    req.basic_auth = vm["user"].as<std::string>();
    if (req.basic_auth.find(':') == std::string::npos) {
      throw cli_error(exit_code::usage, "-u wants 'user:password'");
    }
  }
  return req;
}

/// http-get's help: what it does, and examples.
command_info http_get_info() {
  return {
      "http-get", "URL-or-HOST [options]",
      "Fetches a URL over HTTP/1.1 or HTTPS (a bare host means http://HOST/). Prints the status "
      "line and headers to stdout and saves the body to a file named after the URL's last path "
      "segment (or index.html), never replacing an existing file: name.1, name.2, ... are used "
      "instead. Redirects are followed (up to --max-redirs); https verifies the certificate "
      "against the system's CAs.",
      "  netdemo http-get www.sina.com.cn\n"
      "  netdemo http-get -o - http://127.0.0.1:8000/file.txt > copy.txt\n"
      "  netdemo http-get -I https://example.com/\n"
      "  netdemo http-get --cacert ca.pem -H 'Accept: text/plain' https://localhost:8443/\n"
      "  netdemo http-get -d name=x --data-urlencode 'q=a b&c' -o - http://127.0.0.1:8000/post\n"
      "  netdemo http-get -G -d page=2 -u user:secret -b cookies.txt -c cookies.txt example.com\n"};
}

}  // namespace

int http_get(const std::vector<std::string>& args) {
  command_info const info = http_get_info();
  po::options_description o = http_get_options();
  po::positional_options_description pos;
  pos.add("url", 1);
  po::variables_map vm;
  if (!parse(info, args, o, pos, vm)) return 0;
  if (!vm.count("url")) throw cli_error(exit_code::usage, "a URL or host is required");

  bool const head = vm["head"].as<bool>();
  bool const include = vm["include"].as<bool>();
  bool const silent = vm["silent"].as<bool>();
  bool const verbose = vm["verbose"].as<bool>();
  http::target_url url;
  http::request_options req = build_request(args, o, pos, vm, url);
  http::cookie_jar jar;
  load_cookies(vm, url.host, jar);
  req.cookies = &jar;
  add_headers(vm, req);
  set_limits(vm, req);

  // The body's destination, and where the head is printed.
  http::body_output out;
  head_to const head_dest = choose_output(vm, url, head, include, silent, out);

  if (verbose) {
    req.on_info = [](std::string_view line) { print_prefixed(line, "* "); };
    req.on_request = [](std::string_view text) { print_prefixed(text, "> "); };
  }
  bool const fail = req.fail_on_error;
  bool const req_fail_after_body = req.fail_after_body;
  req.on_response = [&](const http::response& r, bool final) {
    if (verbose) print_prefixed(r.head_text(), "< ");
    // -i and -I show every hop's head, as curl -iL does; otherwise only the final one.
    if (!final && !include && !head) return;
    if (final && fail && r.status >= 400) return;  // the client stops with exit 22; no file
    std::string const text = r.head_text();
    switch (head_dest) {
      case head_to::none:
        break;
      case head_to::out_stream:
        std::cout << text << std::flush;
        break;
      case head_to::err_stream:
        if (!verbose) std::cerr << text << std::flush;
        break;
      case head_to::body_output:
        out.write(text);
        break;
    }
  };
  req.on_body = [&](std::string_view chunk) { out.write(chunk); };

  // A progress line on stderr for a large body, only where a person watches it: stderr
  // is a terminal, no -s, and the body does not go to that same terminal.
  bool const show_progress = !silent && !head && ::isatty(STDERR_FILENO) == 1 &&
                             !(out.is_stdout() && ::isatty(STDOUT_FILENO) == 1);
  std::optional<http::progress_meter> meter;
  std::uint64_t progress_bytes = 0;
  if (show_progress) {
    req.on_progress = [&](std::uint64_t received, std::optional<std::uint64_t> total) {
      auto const now = std::chrono::steady_clock::now();
      if (!meter) meter.emplace(total, now);
      progress_bytes = received;
      draw_progress(meter->update(received, now));
    };
  }

  std::exception_ptr failure = fetch_interruptible(std::move(req));
  if (meter) draw_progress(meter->finish(progress_bytes, std::chrono::steady_clock::now()));
  save_cookie_jar(vm, jar, failure != nullptr);
  if (failure) report_failure(failure, out, req_fail_after_body, silent);
  out.finish();
  if ((!head || head_dest == head_to::body_output) && !out.is_stdout() && !silent &&
      !out.name().empty()) {
    std::cerr << "Saved " << out.bytes() << " bytes to '" << out.name() << "'\n";
  }
  return 0;
}

}  // namespace netdemo::cli
