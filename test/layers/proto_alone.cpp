// A program that links netdemo::proto and nothing else (no Asio, no Boost.URL, no OpenSSL):
// it drives the hello protocol through the line framer on bytes in memory, as a transport
// would. Built and run by ctest (layers.proto_alone); check_layers.py keeps the headers
// honest, and this keeps the link honest.
#include <cstdio>
#include <string>

#include "netdemo/proto/handlers.hpp"
#include "netdemo/proto/protocols.hpp"

int main() {
  netdemo::proto::text_stream_handler<netdemo::proto::hello_protocol> handler({}, 64);
  std::string out;
  handler.greet(out);
  // Two lines in one read, the second split across two reads, then a bare word and a pause.
  handler.on_bytes("Michael\nTra", out);
  handler.on_bytes("cy\r\nSarah", out);
  handler.on_pause(out);
  auto const expected = std::string("Welcome!Hello, Michael!\nHello, Tracy!\r\nHello, Sarah!");
  if (out != expected) {
    std::fprintf(stderr, "proto_alone: got \"%s\"\n", out.c_str());
    return 1;
  }
  if (handler.on_bytes("exit\n", out) != netdemo::proto::verdict::quit) {
    std::fprintf(stderr, "proto_alone: exit did not quit\n");
    return 1;
  }
  std::puts("proto_alone: ok");
  return 0;
}
