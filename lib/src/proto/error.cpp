#include "netdemo/proto/error.hpp"

namespace netdemo {
namespace {

class netdemo_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "netdemo"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_argument: return "invalid argument";
      case errc::cannot_resolve: return "cannot resolve the host name";
      case errc::lookup_failed: return "the name lookup failed";
      case errc::cannot_connect: return "cannot connect";
      case errc::timeout: return "timed out";
      case errc::malformed_reply: return "malformed reply";
      case errc::partial_body: return "partial body";
      case errc::http_status: return "HTTP error status";
      case errc::too_many_redirects: return "too many redirects";
      case errc::tls_verify: return "TLS certificate verification failed";
      case errc::tls_unavailable: return "TLS is not available";
      case errc::file_too_large: return "body too large";
      case errc::write_failed: return "cannot write the output";
      case errc::decoder_failed: return "the body decoder failed";
    }
    return "unknown netdemo error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const netdemo_category instance;
  return instance;
}

}  // namespace netdemo
