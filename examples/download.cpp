// An HTTP download with netdemo's client: the body streams to a file as it arrives
// (nothing holds it whole), redirects are followed, https uses the TLS module.
//   ./download http://127.0.0.1:8000/file.txt file.txt
#include <chrono>
#include <cstdio>
#include <exception>
#include <fstream>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "netdemo/http/client.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: download URL FILE\n");
    return 2;
  }
  std::ofstream file(argv[2], std::ios::binary);
  netdemo::http::request_options o;
  o.url = argv[1];
  o.connect_timeout = 5s;
  o.max_time = 60s;
  o.on_body = [&](std::string_view chunk) { file.write(chunk.data(), static_cast<std::streamsize>(chunk.size())); };

  int status = 1;
  asio::io_context ioc(1);
  asio::co_spawn(ioc, netdemo::http::fetch(o), [&](std::exception_ptr e, netdemo::http::response r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        std::fprintf(stderr, "download: %s\n", x.what());
      }
      return;
    }
    std::printf("%s from %s, %llu bytes\n", r.status_line().c_str(), r.url.c_str(),
                static_cast<unsigned long long>(r.body_bytes));
    status = r.status / 100 == 2 ? 0 : 1;
  });
  ioc.run();
  file.close();
  return file ? status : 1;
}
