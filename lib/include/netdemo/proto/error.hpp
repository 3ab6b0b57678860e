// The library's failures as std::error_code values of one category, "netdemo".
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

namespace netdemo {

/// What went wrong, as the library reports it: the value of a std::error_code of category()
/// (the code of the netdemo::error / std::system_error the library throws). Failures that
/// come from the system (a send refused by the kernel) keep the system's own code instead.
/// The numbers are stable; the meaning of each value is its message().
enum class errc : int {
  invalid_argument = 1,   ///< an unusable argument: a bad URL, host, port, path or option value
  cannot_resolve,         ///< the name system has no address for the host
  lookup_failed,          ///< the name lookup itself failed locally (not "no such name")
  cannot_connect,         ///< connection refused or the peer unreachable
  timeout,                ///< no connection, reply or body within the deadline
  malformed_reply,        ///< the peer's reply could not be understood
  partial_body,           ///< the connection ended before the whole body
  http_status,            ///< an HTTP status >= 400 where the caller asked to fail on it
  too_many_redirects,     ///< more redirects than the caller allows
  tls_verify,             ///< the peer's TLS certificate was refused
  tls_unavailable,        ///< TLS is not available (the TLS module could not be loaded)
  file_too_large,         ///< a body over the caller's size limit
  write_failed,           ///< the body could not be written where it was to go
  decoder_failed,         ///< a body decoder (zlib) could not start or ran out of memory
};

/// The category of errc, named "netdemo". Thread-safe; the same object for the whole program.
const std::error_category& category() noexcept;

/// An error_code of category() (found by argument-dependent lookup, so `ec == errc::timeout`
/// and `std::error_code ec = errc::timeout` work).
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

/// The exception the library throws: a std::system_error whose code() is an errc (or the
/// system's code where the system failed) and whose what() is exactly the one line given,
/// without the code's message appended (std::system_error's own what() would append it).
/// Catch it as std::system_error. Copying it does not throw.
class error : public std::system_error {
 public:
  /// @param code what went wrong; @param message the one line for the user.
  error(std::error_code code, const std::string& message)
      : std::system_error(code), message_(message) {}
  /// @param code what went wrong; @param message the one line for the user.
  error(errc code, const std::string& message) : error(make_error_code(code), message) {}
  /// The one line given to the constructor.
  const char* what() const noexcept override { return message_.what(); }

 private:
  std::runtime_error message_;  // reference-counted: a copy never throws
};

}  // namespace netdemo

namespace std {
/// errc converts to std::error_code.
template <>
struct is_error_code_enum<netdemo::errc> : true_type {};
}  // namespace std
