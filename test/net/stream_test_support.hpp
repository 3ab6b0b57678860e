// What the stream server tests share: short pauses and a TCP server on 127.0.0.1:0.
#pragma once

#include "netdemo/net/stream_server.hpp"
#include "support.hpp"

namespace test_support {

/// The default limits with a 10 ms pause, so that bare words are answered quickly.
inline netdemo::net::server_limits fast_limits() {
  netdemo::net::server_limits l;
  l.pause = 10ms;
  return l;
}

/// A stream server for `h` listening on 127.0.0.1, port 0.
template <class Handler>
netdemo::net::stream_server<asio::ip::tcp, Handler> tcp_server(asio::io_context& ioc, Handler h,
                                                               netdemo::net::server_limits l,
                                                               event_log& log) {
  return netdemo::net::stream_server<asio::ip::tcp, Handler>(
      netdemo::net::open_tcp_listeners(ioc.get_executor(), "127.0.0.1", 0), std::move(h), l,
      log.sink());
}

}  // namespace test_support
