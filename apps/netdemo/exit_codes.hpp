// The program's exit codes (docs/exit-codes.md) and the one mapping from the library's
// errors to them: exit codes are the command line's idea, not the library's.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace netdemo {

/// Process exit codes; the numbers follow curl's where curl has one.
enum class exit_code : int {
  ok = 0,
  failure = 1,          ///< runtime failure (bind error, I/O error, server closed early)
  usage = 2,            ///< bad command line
  cannot_resolve = 6,   ///< host name lookup failed
  cannot_connect = 7,   ///< connection refused / unreachable
  malformed_reply = 8,  ///< the server's reply could not be understood
  partial_body = 18,    ///< a body was cut short
  http_error = 22,      ///< HTTP status >= 400 with --fail
  write_error = 23,     ///< writing output failed
  timeout = 28,         ///< no answer in time
  too_many_redirects = 47,
  tls_verify = 60,      ///< TLS certificate verification failed
  file_too_large = 63,  ///< a body over http-get --max-filesize
  interrupted = 130,    ///< SIGINT
};

/// A failure of a command itself (not of the library) with the exit code it ends with;
/// `what()` is the one line the user sees.
class cli_error : public std::runtime_error {
 public:
  cli_error(exit_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  exit_code code() const noexcept { return code_; }

 private:
  exit_code code_;
};

/// The exit code of a library failure: the table of docs/exit-codes.md for netdemo::errc,
/// 1 (failure) for every other code (the system's, TLS's) and for no error at all.
exit_code to_exit_code(const std::error_code& ec) noexcept;

}  // namespace netdemo
