// An HTTP download with netdemo's client, saved as `netdemo http-get` saves it: the body
// streams to a file named after the URL (never replacing one: NAME.1, NAME.2, ...) or to
// the FILE given, redirects are followed, https uses the TLS module, and a body cut short
// is kept as NAME.part.
//   ./download http://127.0.0.1:8000/file.txt [FILE]
#include <chrono>
#include <cstdio>
#include <exception>
#include <system_error>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "netdemo/http/download.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: download URL [FILE]\n");
    return 2;
  }
  netdemo::http::request_options o;
  o.url = argv[1];
  o.connect_timeout = 5s;
  o.max_time = 60s;
  netdemo::http::save_policy policy;  // default: named after the URL, no clobbering
  if (argc == 3) policy = {netdemo::http::save_policy::destination::file, argv[2]};

  int status = 1;
  asio::io_context ioc(1);
  asio::co_spawn(ioc, netdemo::http::download(o, policy),
                 [&](std::exception_ptr e, netdemo::http::download_result r) {
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::system_error& x) {  // netdemo::error: one line, an errc
                       std::fprintf(stderr, "download: %s\n", x.what());
                     }
                     return;
                   }
                   std::printf("%s from %s, %llu bytes saved in %s\n", r.head.status_line().c_str(),
                               r.head.url.c_str(), static_cast<unsigned long long>(r.bytes), r.file.c_str());
                   status = r.head.status / 100 == 2 ? 0 : 1;
                 });
  ioc.run();
  return status;
}
