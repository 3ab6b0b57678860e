#include "exit_codes.hpp"

#include "netdemo/proto/error.hpp"

namespace netdemo {

exit_code to_exit_code(const std::error_code& ec) noexcept {
  if (ec.category() != category()) return exit_code::failure;
  switch (static_cast<errc>(ec.value())) {
    case errc::invalid_argument: return exit_code::usage;
    case errc::cannot_resolve: return exit_code::cannot_resolve;
    case errc::cannot_connect: return exit_code::cannot_connect;
    case errc::timeout: return exit_code::timeout;
    case errc::malformed_reply: return exit_code::malformed_reply;
    case errc::partial_body: return exit_code::partial_body;
    case errc::http_status: return exit_code::http_error;
    case errc::too_many_redirects: return exit_code::too_many_redirects;
    case errc::tls_verify: return exit_code::tls_verify;
    case errc::file_too_large: return exit_code::file_too_large;
    case errc::write_failed: return exit_code::write_error;
    case errc::lookup_failed:
    case errc::tls_unavailable:
    case errc::decoder_failed:
      return exit_code::failure;
  }
  return exit_code::failure;
}

}  // namespace netdemo
