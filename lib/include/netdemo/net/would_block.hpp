// The one test for "a non-blocking call found nothing to do".
#pragma once

#include <boost/asio/error.hpp>
#include <boost/system/error_code.hpp>

namespace netdemo::net {

/// True when a non-blocking read or write would have blocked (EWOULDBLOCK / EAGAIN; the
/// same value on Linux, not everywhere). Success is tested first: comparing error codes
/// compares categories, which is not free on a path taken for every message.
inline bool would_block(const boost::system::error_code& ec) noexcept {
  return ec && (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again);
}

}  // namespace netdemo::net
