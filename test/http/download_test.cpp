#include "netdemo/http/download.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "http/http_test_support.hpp"

using namespace test_support;
using namespace http_test;
using netdemo::errc;
using netdemo::http::download;
using netdemo::http::download_result;
using netdemo::http::save_policy;

namespace {

std::string reply(unsigned status, std::size_t length, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + (status == 200 ? " OK" : " Not Found") +
         "\r\nContent-Length: " + std::to_string(length) + "\r\nConnection: close\r\n\r\n" + body;
}

std::string contents(const std::string& name) {
  std::ifstream in(name, std::ios::binary);
  if (!in) return "<missing>";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs the test in a fresh directory (url_name saves into the working directory).
struct in_temp_dir {
  temp_dir dir;
  std::string old = std::filesystem::current_path().string();
  in_temp_dir() { std::filesystem::current_path(dir.path("")); }
  ~in_temp_dir() { std::filesystem::current_path(old); }
};

/// One download on `ioc`: its result, or the failure's code and line.
struct attempt {
  std::optional<download_result> result;
  std::error_code code;
  std::string message;
};

attempt run_download(asio::io_context& ioc, netdemo::http::request_options o, save_policy p) {
  attempt a;
  bool done = false;
  asio::co_spawn(ioc, download(std::move(o), std::move(p)), [&](std::exception_ptr e, download_result r) {
    done = true;
    if (!e) {
      a.result = std::move(r);
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::system_error& x) {
      a.code = x.code();
      a.message = x.what();
    }
  });
  auto const deadline = std::chrono::steady_clock::now() + 10s;
  while (!done && std::chrono::steady_clock::now() < deadline) ioc.run_one_until(deadline);
  REQUIRE(done);
  return a;
}

}  // namespace

TEST_CASE("http download: named after the URL, never replacing a file", "[http][download]") {
  in_temp_dir here;
  asio::io_context ioc;
  script_server srv(ioc, always(reply(200, 5, "hello")));
  auto const first = run_download(ioc, opts(srv.url("/dir/file.txt")), {});
  REQUIRE(first.result);
  CHECK(first.result->file == "file.txt");
  CHECK(first.result->bytes == 5);
  CHECK(first.result->head.status == 200);
  CHECK(contents("file.txt") == "hello");
  std::ofstream("file.txt", std::ios::trunc) << "mine";
  auto const second = run_download(ioc, opts(srv.url("/dir/file.txt")), {});
  REQUIRE(second.result);
  CHECK(second.result->file == "file.txt.1");
  CHECK(contents("file.txt") == "mine");
  CHECK(contents("file.txt.1") == "hello");
  auto const index = run_download(ioc, opts(srv.url("/dir/")), {});
  REQUIRE(index.result);
  CHECK(index.result->file == "index.html");
}

TEST_CASE("http download: a cut body is kept as NAME.part", "[http][download]") {
  in_temp_dir here;
  asio::io_context ioc;
  script_server srv(ioc, always(reply(200, 100, std::string(40, 'x'))));
  auto const a = run_download(ioc, opts(srv.url("/big.bin")), {});
  CHECK(!a.result);
  CHECK(a.code == errc::partial_body);
  CHECK(a.message.find("; partial body kept in 'big.bin.part'") != std::string::npos);
  CHECK(contents("big.bin.part") == std::string(40, 'x'));
  CHECK(!std::filesystem::exists("big.bin"));
}

TEST_CASE("http download: a named file is replaced, and keeps its name when cut", "[http][download]") {
  in_temp_dir here;
  asio::io_context ioc;
  std::ofstream("out.txt") << "old contents, longer";
  script_server whole(ioc, always(reply(200, 3, "new")));
  auto const a = run_download(ioc, opts(whole.url("/x")), {save_policy::destination::file, "out.txt"});
  REQUIRE(a.result);
  CHECK(a.result->file == "out.txt");
  CHECK(contents("out.txt") == "new");
  script_server cut(ioc, always(reply(200, 10, "abc")));
  auto const b = run_download(ioc, opts(cut.url("/x")), {save_policy::destination::file, "out.txt"});
  CHECK(b.code == errc::partial_body);
  CHECK(contents("out.txt") == "abc");
  CHECK(!std::filesystem::exists("out.txt.part"));
}

TEST_CASE("http download: fail_after_body keeps the whole body, then fails", "[http][download]") {
  in_temp_dir here;
  asio::io_context ioc;
  script_server srv(ioc, always(reply(404, 4, "gone")));
  auto o = opts(srv.url("/missing.html"));
  o.fail_after_body = true;
  auto const a = run_download(ioc, std::move(o), {});
  CHECK(a.code == errc::http_status);
  CHECK(contents("missing.html") == "gone");
  CHECK(!std::filesystem::exists("missing.html.part"));
}

TEST_CASE("http download: nothing is created when no byte came", "[http][download]") {
  in_temp_dir here;
  asio::io_context ioc;
  std::uint16_t port = 0;
  {
    tcp::acceptor closed(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = closed.local_endpoint().port();
  }
  auto const a = run_download(ioc, opts("http://127.0.0.1:" + std::to_string(port) + "/f.txt"), {});
  CHECK(a.code == errc::cannot_connect);
  CHECK(std::filesystem::is_empty(std::filesystem::current_path()));
}
