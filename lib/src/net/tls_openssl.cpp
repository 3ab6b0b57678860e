// The TLS module's stream side, on OpenSSL: contexts, and channels that read and write their
// socket themselves through a BIO of ours (send/recv with MSG_NOSIGNAL: OpenSSL's socket BIO
// uses write(), which raises SIGPIPE in a library's host program). Built into netdemo-tls.so
// (NETDEMO_TLS_MODULE=ON, the default) or into netdemo::net.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include "tls_module.hpp"

namespace netdemo::net::detail {

namespace {

/// The queued OpenSSL errors as one line ("" when none), emptying the queue. Repeats and
/// the uninformative "system lib" are left out.
std::string openssl_errors() {
  std::string out;
  while (unsigned long const e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    if (r == nullptr || std::strcmp(r, "system lib") == 0 || out.find(r) != std::string::npos) continue;
    if (!out.empty()) out += ": ";
    out += r;
  }
  return out;
}

/// False with `why` ("cannot read 'F': No such file or directory") when `path` cannot be
/// opened: OpenSSL's own message for that is "system lib".
bool readable(const char* path, const char* what, std::string& why) {
  if (std::FILE* f = std::fopen(path, "rb")) {
    std::fclose(f);
    return true;
  }
  why = std::string("cannot read the ") + what + " '" + path + "': " + std::strerror(errno);
  return false;
}

class openssl_channel;

/// The BIO: one socket, not owned, never closed by OpenSSL.
struct socket_bio {
  int fd;
  openssl_channel* owner;
};

class openssl_channel final : public tls_channel {
 public:
  explicit openssl_channel(SSL* ssl) : ssl_(ssl) {}
  ~openssl_channel() override { SSL_free(ssl_); }
  openssl_channel(const openssl_channel&) = delete;
  openssl_channel& operator=(const openssl_channel&) = delete;

  tls_status handshake() noexcept override {
    return guarded([&] { return do_handshake(); });
  }
  tls_status read(void* data, std::size_t size, std::size_t& done) noexcept override {
    return guarded([&] { return do_read(data, size, done); });
  }
  tls_status write(const void* data, std::size_t size, std::size_t& done) noexcept override {
    return guarded([&] { return do_write(data, size, done); });
  }
  tls_status shutdown() noexcept override {
    return guarded([&] { return do_shutdown(); });
  }

  std::size_t pending() const noexcept override {
    int const n = SSL_pending(ssl_);
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  const char* why() const noexcept override { return why_.c_str(); }
  int sys_errno() const noexcept override { return errno_; }

  void set_bio_error(int e) noexcept { errno_ = e; }
  void set_peer_eof() noexcept { peer_eof_ = true; }

  std::string host_;  // what the certificate was checked against, for the message

 private:
  /// No exception leaves the module (it has a C++ runtime of its own): the reasons are
  /// strings, and a string that cannot be made is a failure without a reason.
  template <class F>
  tls_status guarded(F f) noexcept {
    try {
      return f();
    } catch (...) {
      why_.clear();
      ERR_clear_error();
      return tls_status::failed;
    }
  }

  tls_status do_handshake() {
    ERR_clear_error();
    int const r = SSL_do_handshake(ssl_);
    if (r == 1) return tls_status::ok;
    tls_status const st = status_of(r, true);
    if ((st == tls_status::failed || st == tls_status::truncated) && verify_reason()) return tls_status::verify_failed;
    return st;
  }

  tls_status do_read(void* data, std::size_t size, std::size_t& done) {
    ERR_clear_error();
    done = 0;
    int const r = SSL_read_ex(ssl_, data, size, &done);
    return r == 1 ? tls_status::ok : status_of(r, false);
  }

  tls_status do_write(const void* data, std::size_t size, std::size_t& done) {
    ERR_clear_error();
    done = 0;
    int const r = SSL_write_ex(ssl_, data, size, &done);
    return r == 1 ? tls_status::ok : status_of(r, false);
  }

  /// Sends close_notify once, and does not wait for the peer's: reads go on until it comes
  /// (a half-close, as on TCP; the server's lingering close reads what the peer still sends).
  /// A second SSL_shutdown after a complete first would read from the socket: it is not made.
  tls_status do_shutdown() {
    if (close_notify_sent_) return tls_status::ok;
    ERR_clear_error();
    int const r = SSL_shutdown(ssl_);
    if (r < 0) return status_of(r, false);  // want_write: call again, the alert is sent then
    close_notify_sent_ = true;
    return tls_status::ok;
  }

  tls_status status_of(int r, bool handshaking) {
    switch (SSL_get_error(ssl_, r)) {
      case SSL_ERROR_WANT_READ: return tls_status::want_read;
      case SSL_ERROR_WANT_WRITE: return tls_status::want_write;
      case SSL_ERROR_ZERO_RETURN: return tls_status::closed;
      default: break;
    }
    why_ = openssl_errors();
    if (errno_ != 0 && !peer_eof_) return tls_status::sys_error;
    if (peer_eof_) {
      why_ = handshaking ? "the peer closed the connection during the handshake" : "the peer closed TCP without close_notify";
      return tls_status::truncated;
    }
    if (why_.empty()) why_ = "TLS failure";
    return tls_status::failed;
  }

  /// A client's handshake that failed on the server's certificate gets the verifier's reason.
  bool verify_reason() {
    long const v = SSL_get_verify_result(ssl_);
    if (SSL_is_server(ssl_) != 0 || (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) == 0 || v == X509_V_OK) return false;
    std::string reason = X509_verify_cert_error_string(v);
    if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      reason = "the certificate does not match the host name '" + host_ + "'";
    } else if (v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || v == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
               v == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || v == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT) {
      reason += " (unknown CA; use --cacert FILE, or -k to skip the check)";
    }
    why_ = "certificate verify failed: " + reason;
    return true;
  }

  SSL* ssl_;
  std::string why_;
  int errno_ = 0;
  bool peer_eof_ = false;
  bool close_notify_sent_ = false;
};

int bio_write(BIO* b, const char* data, size_t size, size_t* done) {
  auto* s = static_cast<socket_bio*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  ssize_t const n = ::send(s->fd, data, size, MSG_NOSIGNAL);
  if (n >= 0) {
    *done = static_cast<size_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    BIO_set_retry_write(b);
  } else {
    s->owner->set_bio_error(errno);
  }
  return 0;
}

int bio_read(BIO* b, char* data, size_t size, size_t* done) {
  auto* s = static_cast<socket_bio*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  ssize_t const n = ::recv(s->fd, data, size, 0);
  if (n > 0) {
    *done = static_cast<size_t>(n);
    return 1;
  }
  if (n == 0) {
    s->owner->set_peer_eof();
  } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    BIO_set_retry_read(b);
  } else {
    s->owner->set_bio_error(errno);
  }
  return 0;
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_destroy(BIO* b) {
  delete static_cast<socket_bio*>(BIO_get_data(b));
  BIO_set_data(b, nullptr);
  return 1;
}

BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const m = [] {
    BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "netdemo socket");
    BIO_meth_set_write_ex(meth, bio_write);
    BIO_meth_set_read_ex(meth, bio_read);
    BIO_meth_set_ctrl(meth, bio_ctrl);
    BIO_meth_set_destroy(meth, bio_destroy);
    return meth;
  }();
  return m;
}

class openssl_context final : public tls_context_impl {
 public:
  openssl_context(SSL_CTX* ctx, bool server) : ctx_(ctx), server_(server) {}
  ~openssl_context() override { SSL_CTX_free(ctx_); }
  openssl_context(const openssl_context&) = delete;
  openssl_context& operator=(const openssl_context&) = delete;

  bool is_server() const noexcept override { return server_; }

  tls_channel* open(int fd, const char* host, std::string& why) noexcept override {
    try {
      return do_open(fd, host, why);
    } catch (...) {
      ERR_clear_error();
      return nullptr;  // out of memory: `why` may stay empty
    }
  }

 private:
  tls_channel* do_open(int fd, const char* host, std::string& why) {
    ERR_clear_error();
    SSL* ssl = SSL_new(ctx_);
    if (ssl == nullptr) return fail(why, "cannot make a TLS connection");
    std::unique_ptr<openssl_channel> ch(new (std::nothrow) openssl_channel(ssl));
    if (!ch) {
      SSL_free(ssl);
      return fail(why, "cannot make a TLS connection: out of memory");
    }
    auto* data = new (std::nothrow) socket_bio{fd, ch.get()};
    BIO* bio = data != nullptr ? BIO_new(socket_bio_method()) : nullptr;
    if (bio == nullptr) {
      delete data;
      return fail(why, "cannot make a TLS connection");
    }
    BIO_set_data(bio, data);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl, bio, bio);
    if (server_) {
      SSL_set_accept_state(ssl);
    } else {
      SSL_set_connect_state(ssl);
      if (host != nullptr && *host != '\0' && !name_check(ssl, host, why)) return nullptr;
      if (host != nullptr) ch->host_ = host;
    }
    return ch.release();
  }

  /// SNI for a name, and the certificate check against the name or address.
  static bool name_check(SSL* ssl, const char* host, std::string& why) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1) return true;  // an address: no SNI
    ERR_clear_error();
    // SSL_set_tlsext_host_name, spelled out without its C cast.
    if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host)) != 1 ||
        SSL_set1_host(ssl, host) != 1) {
      why = std::string("cannot use the host name '") + host + "' for TLS";
      return false;
    }
    return true;
  }

  static tls_channel* fail(std::string& why, const char* what) {
    why = what;
    if (auto const e = openssl_errors(); !e.empty()) why += ": " + e;
    return nullptr;
  }

  SSL_CTX* ctx_;
  bool server_;
};

/// What both roles share: TLS 1.2 or newer, no renegotiation (TLS 1.2's renegotiation is what
/// makes a read need a write; without it, only TLS 1.3's key updates and tickets do), and
/// buffers released while a connection is idle (docs/architecture.md, memory per link).
SSL_CTX* new_context(bool server, std::string& why) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) {
    why = "cannot set up TLS: " + openssl_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

tls_context_impl* do_make_server(const char* cert_file, const char* key_file, std::string& why) {
  ERR_clear_error();
  if (!readable(cert_file, "certificate file", why) || !readable(key_file, "key file", why)) return nullptr;
  SSL_CTX* ctx = new_context(true, why);
  if (ctx == nullptr) return nullptr;
  auto fail = [&](const std::string& what) -> tls_context_impl* {
    why = what;
    if (auto const e = openssl_errors(); !e.empty()) why += ": " + e;
    SSL_CTX_free(ctx);
    return nullptr;
  };
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
    return fail(std::string("cannot use the certificate file '") + cert_file + "'");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();  // OpenSSL's "key values mismatch" only repeats it
      return fail(std::string("the key '") + key_file + "' does not belong to the certificate '" + cert_file + "'");
    }
    return fail(std::string("cannot use the key file '") + key_file + "'");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail(std::string("the key '") + key_file + "' does not belong to the certificate '" + cert_file + "'");
  }
  // No session cache and no tickets: line clients do not resume, and each ticket is bytes
  // on the wire and, cached, memory per connection.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  try {
    return new openssl_context(ctx, true);
  } catch (const std::bad_alloc&) {
    return fail("cannot set up TLS: out of memory");
  }
}

tls_context_impl* do_make_client(const char* ca_file, bool insecure, std::string& why) {
  ERR_clear_error();
  bool const has_ca_file = ca_file != nullptr && *ca_file != '\0';
  if (!insecure && has_ca_file && !readable(ca_file, "CA file", why)) return nullptr;
  SSL_CTX* ctx = new_context(false, why);
  if (ctx == nullptr) return nullptr;
  if (!insecure) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    bool const ok = has_ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, nullptr) == 1
                                : SSL_CTX_set_default_verify_paths(ctx) == 1;
    if (!ok) {
      why = has_ca_file ? std::string("cannot use CA file '") + ca_file + "'"
                        : std::string("cannot use the system's CA store");
      if (auto const e = openssl_errors(); !e.empty()) why += ": " + e;
      SSL_CTX_free(ctx);
      return nullptr;
    }
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  try {
    return new openssl_context(ctx, false);
  } catch (const std::bad_alloc&) {
    SSL_CTX_free(ctx);
    why = "cannot set up TLS: out of memory";
    return nullptr;
  }
}

// The entry points: no exception leaves the module.
tls_context_impl* make_server(const char* cert_file, const char* key_file, std::string& why) noexcept {
  try {
    return do_make_server(cert_file, key_file, why);
  } catch (...) {
    return nullptr;
  }
}

tls_context_impl* make_client(const char* ca_file, bool insecure, std::string& why) noexcept {
  try {
    return do_make_client(ca_file, insecure, why);
  } catch (...) {
    return nullptr;
  }
}

constexpr tls_module_table table{tls_module_version, sizeof(tls_module_table), &make_server, &make_client};

}  // namespace

}  // namespace netdemo::net::detail

extern "C" __attribute__((visibility("default"))) const netdemo::net::detail::tls_module_table*
netdemo_tls_module_v2() {
  return &netdemo::net::detail::table;
}
