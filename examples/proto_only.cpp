// The sans-I/O layer alone (linked with netdemo::proto only: no Asio, no Boost.URL, no
// OpenSSL): the line framer turns bytes that arrive in any pieces into messages, and the
// hello protocol answers them. A transport of your own (an event loop, a test, a file)
// feeds bytes in and sends what comes out. Also ctest's layers.proto_alone: exit 1 if a
// reply is not what the framing rules of docs/protocols.md say.
#include <cstdio>
#include <string>
#include <string_view>

#include "netdemo/proto/handlers.hpp"
#include "netdemo/proto/protocols.hpp"

int main() {
  netdemo::proto::text_stream_handler<netdemo::proto::hello_protocol> session({}, 1024);
  std::string out;
  session.greet(out);
  // What one recv() might return, piece by piece: TCP keeps no message boundaries. Each
  // reply ends as its request did (LF, CRLF, or nothing for a bare word).
  for (std::string_view piece : {"Mich", "ael\nTracy\r", "\nSarah"}) {
    session.on_bytes(piece, out);
  }
  // "Sarah" has no line ending: it is a message once the peer pauses.
  session.on_pause(out);
  std::fputs(out.c_str(), stdout);
  std::fputc('\n', stdout);
  bool const replies_ok = out == "Welcome!Hello, Michael!\nHello, Tracy!\r\nHello, Sarah!";
  // `exit` asks the transport to close.
  bool const exit_ok = session.on_bytes("exit\n", out) == netdemo::proto::verdict::quit;
  if (!replies_ok || !exit_ok) std::fputs("proto_only: wrong reply or verdict\n", stderr);
  return replies_ok && exit_ok ? 0 : 1;
}
