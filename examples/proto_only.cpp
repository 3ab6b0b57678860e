// The sans-I/O layer alone (linked with netdemo::proto only: no Asio, no Boost.URL, no
// OpenSSL): the line framer turns bytes that arrive in any pieces into messages, and the
// hello protocol answers them. A transport of your own (an event loop, a test, a file)
// feeds bytes in and sends what comes out.
#include <cstdio>
#include <string>
#include <string_view>

#include "netdemo/proto/handlers.hpp"
#include "netdemo/proto/protocols.hpp"

int main() {
  netdemo::proto::text_stream_handler<netdemo::proto::hello_protocol> session({}, 1024);
  std::string out;
  session.greet(out);
  // What one recv() might return, piece by piece: TCP keeps no message boundaries.
  for (std::string_view piece : {"Mich", "ael\nTracy\nSa", "rah\n"}) {
    session.on_bytes(piece, out);
  }
  std::fputs(out.c_str(), stdout);
  bool const ok = out == "Welcome!Hello, Michael!\nHello, Tracy!\nHello, Sarah!\n";
  return ok ? 0 : 1;
}
