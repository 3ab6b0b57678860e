// The TLS side of the HTTP client, on OpenSSL through Asio: certificate verification with
// a readable reason, SNI, the host-name check, close_notify. Built as the module
// netdemo-tls.so (NETDEMO_TLS_MODULE=ON, the default) or into the library.
#include "tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <optional>
#include <utility>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>

namespace netdemo::http::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;

io_status status_of(const boost::system::error_code& ec) {
  if (!ec) return io_status::ok;
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) return io_status::eof;
  if (ec == beast::error::timeout) return io_status::timeout;
  if (ec == asio::error::operation_aborted) return io_status::aborted;
  return io_status::other;
}

class openssl_connection final : public tls_connection {
 public:
  openssl_connection(beast::tcp_stream s, ssl::context& ctx) : stream_(std::move(s), ctx) {}

  /// SNI and verification for `host`.
  void prepare(const std::string& host, bool host_is_address, bool insecure) {
    if (!host_is_address) {
      // SNI (the macro SSL_set_tlsext_host_name, spelled out without its C cast).
      SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(host.c_str()));
    }
    if (insecure) {
      stream_.set_verify_mode(ssl::verify_none);
      return;
    }
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback([this, host, check = ssl::host_name_verification(host)](
                                    bool preverified, ssl::verify_context& ctx) mutable {
      if (!preverified) {
        if (failure_.empty()) {
          int const err = X509_STORE_CTX_get_error(ctx.native_handle());
          failure_ = X509_verify_cert_error_string(err);
          if (err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
              err == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
              err == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ||
              err == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) {
            failure_.append(" (unknown CA; use --cacert FILE, or -k to skip the check)");
          }
        }
        return false;
      }
      if (!check(preverified, ctx)) {
        if (failure_.empty()) failure_ = "the certificate does not match the host name '" + host + "'";
        return false;
      }
      return true;
    });
  }

  beast::tcp_stream& lowest() noexcept override { return stream_.next_layer(); }

  void async_handshake(tls_done_handler h) override {
    stream_.async_handshake(ssl::stream_base::client,
                            [h = std::move(h)](const boost::system::error_code& ec) mutable {
                              std::move(h)(status_of(ec), ec);
                            });
  }

  void async_read_some(asio::mutable_buffer b, tls_io_handler h) override {
    stream_.async_read_some(b, [h = std::move(h)](const boost::system::error_code& ec, std::size_t n) mutable {
      std::move(h)(status_of(ec), ec, n);
    });
  }

  void async_write_some(asio::const_buffer b, tls_io_handler h) override {
    stream_.async_write_some(b, [h = std::move(h)](const boost::system::error_code& ec, std::size_t n) mutable {
      std::move(h)(status_of(ec), ec, n);
    });
  }

  void async_shutdown(tls_done_handler h) override {
    // Marking the server's close_notify as received makes SSL_shutdown send ours and
    // finish, instead of waiting for an answer a keep-alive server may never send.
    SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
    stream_.async_shutdown([h = std::move(h)](const boost::system::error_code& ec) mutable {
      std::move(h)(status_of(ec), ec);
    });
  }

  std::string verify_failure() const override { return failure_; }

 private:
  ssl::stream<beast::tcp_stream> stream_;
  std::string failure_;  // the first reason verification failed
};

class openssl_client final : public tls_client {
 public:
  explicit openssl_client(const tls_config& c) : ctx_(ssl::context::tls_client), insecure_(c.insecure) {
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
  }

  /// Loads the trust store; false with `why` when the CA file cannot be used.
  bool load(const tls_config& c, std::string& why) {
    if (c.insecure) return true;  // nothing will be verified: skip parsing the CA bundle
    boost::system::error_code ec;
    if (!c.ca_file.empty()) {
      ctx_.load_verify_file(c.ca_file, ec);
      if (ec) {
        why = "cannot use CA file '" + c.ca_file + "': " + ec.message();
        return false;
      }
    } else {
      ctx_.set_default_verify_paths(ec);
    }
    return true;
  }

  std::unique_ptr<tls_connection> wrap(beast::tcp_stream s, const std::string& host,
                                       bool host_is_address) override {
    auto c = std::make_unique<openssl_connection>(std::move(s), ctx_);
    c->prepare(host, host_is_address, insecure_);
    return c;
  }

 private:
  ssl::context ctx_;
  bool insecure_;
};

}  // namespace

}  // namespace netdemo::http::detail

extern "C" __attribute__((visibility("default"))) netdemo::http::detail::tls_client*
netdemo_http_make_tls_client_v1(const netdemo::http::detail::tls_config& config, std::string& why) {
  try {
    auto c = std::make_unique<netdemo::http::detail::openssl_client>(config);
    if (!c->load(config, why)) return nullptr;
    return c.release();
  } catch (const std::exception& e) {
    why = std::string("cannot set up TLS: ") + e.what();
    return nullptr;
  }
}
