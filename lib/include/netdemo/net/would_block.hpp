// The one test for "a non-blocking call found nothing to do".
#pragma once

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

namespace netdemo::net {

/// True when a non-blocking read or write would have blocked (EWOULDBLOCK / EAGAIN; the
/// same value on Linux, not everywhere).
inline bool would_block(const boost::system::error_code& ec) noexcept {
  return ec == boost::asio::error::would_block || ec == boost::asio::error::try_again;
}

}  // namespace netdemo::net
