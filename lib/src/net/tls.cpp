// TLS contexts and engines: the net layer's side of the TLS module (no OpenSSL here).
#include "netdemo/net/tls.hpp"

#include <boost/asio/error.hpp>
#include <system_error>
#include <utility>

#include "tls_module.hpp"

namespace netdemo::net {

namespace {

// boost::system::error_category's destructor is protected and non-virtual: nobody deletes a
// category through it, so -Wnon-virtual-dtor is wrong here (Beast's categories do the same).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class tls_category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "netdemo.tls"; }
  std::string message(int ev) const override {
    switch (static_cast<tls_errc>(ev)) {
      case tls_errc::handshake_failed: return "TLS handshake failed";
      case tls_errc::verify_failed: return "certificate verify failed";
      case tls_errc::truncated: return "the peer closed TCP without close_notify";
      case tls_errc::protocol_error: return "TLS protocol error";
      case tls_errc::no_module: return "the TLS module cannot be loaded";
      case tls_errc::bad_credentials: return "a certificate, key or CA file cannot be used";
      case tls_errc::not_connected: return "the TLS stream is not open";
    }
    return "TLS error " + std::to_string(ev);
  }
};
#pragma GCC diagnostic pop

/// A system_error whose what() is the one-line reason alone (std::system_error's appends the
/// code's message, which here only repeats it).
class tls_failure final : public std::system_error {
 public:
  tls_failure(tls_errc e, std::string why)
      : std::system_error(std::error_code(make_error_code(e))), why_(std::move(why)) {}
  const char* what() const noexcept override { return why_.c_str(); }

 private:
  std::string why_;
};

[[noreturn]] void fail(tls_errc e, const std::string& why) {
  throw tls_failure(e, why.empty() ? make_error_code(e).message() : why);
}

const detail::tls_module_table& module() {
  std::string why;
  const auto* t = detail::tls_module(why);
  if (t == nullptr) fail(tls_errc::no_module, why);
  return *t;
}

}  // namespace

const boost::system::error_category& tls_category() noexcept {
  static const tls_category_impl c;
  return c;
}

tls_context tls_context::server(const std::string& cert_file, const std::string& key_file) {
  std::string why;
  auto* impl = module().make_server_context(cert_file.c_str(), key_file.c_str(), why);
  if (impl == nullptr) fail(tls_errc::bad_credentials, why);
  return tls_context(std::shared_ptr<detail::tls_context_impl>(impl));
}

tls_context tls_context::client(const tls_client_options& options) {
  std::string why;
  auto* impl = module().make_client_context(options.ca_file.c_str(), options.insecure, why);
  if (impl == nullptr) fail(tls_errc::bad_credentials, why);
  return tls_context(std::shared_ptr<detail::tls_context_impl>(impl));
}

bool tls_loaded() noexcept { return detail::tls_module_loaded(); }

bool tls_context::is_server() const noexcept { return impl_ && impl_->is_server(); }

namespace detail {

tls_engine::tls_engine(const tls_context& context, int fd, std::string_view host) : context_(context.impl()) {
  if (!context_) fail(tls_errc::not_connected, "a TLS stream needs a context");
  std::string why;
  std::string const name(host);
  channel_ = context_->open(fd, name.c_str(), why);
  if (channel_ == nullptr) fail(tls_errc::handshake_failed, why);
}

tls_engine::~tls_engine() { reset(); }

tls_engine::tls_engine(tls_engine&& o) noexcept
    : context_(std::move(o.context_)),
      channel_(std::exchange(o.channel_, nullptr)),
      failure_(std::move(o.failure_)),
      read_wants_(o.read_wants_),
      write_wants_(o.write_wants_),
      established_(o.established_) {}

tls_engine& tls_engine::operator=(tls_engine&& o) noexcept {
  if (this != &o) {
    reset();
    context_ = std::move(o.context_);
    channel_ = std::exchange(o.channel_, nullptr);
    failure_ = std::move(o.failure_);
    read_wants_ = o.read_wants_;
    write_wants_ = o.write_wants_;
    established_ = o.established_;
  }
  return *this;
}

void tls_engine::reset() noexcept {
  delete std::exchange(channel_, nullptr);  // the module's destructor, through the vtable
}

std::size_t tls_engine::finish(int status, std::size_t n, bool for_write, bool handshaking,
                               boost::system::error_code& ec) {
  namespace error = boost::asio::error;
  auto& wants = for_write ? write_wants_ : read_wants_;
  switch (static_cast<tls_status>(status)) {
    case tls_status::ok: ec = {}; return n;
    case tls_status::want_read: wants = tls_want::read; ec = error::would_block; return 0;
    case tls_status::want_write: wants = tls_want::write; ec = error::would_block; return 0;
    case tls_status::closed: ec = error::eof; return 0;
    case tls_status::truncated: ec = tls_errc::truncated; break;
    case tls_status::sys_error: ec.assign(channel_->sys_errno(), boost::system::system_category()); break;
    case tls_status::verify_failed: ec = tls_errc::verify_failed; break;
    case tls_status::failed: ec = handshaking ? tls_errc::handshake_failed : tls_errc::protocol_error; break;
  }
  const char* why = channel_->why();
  failure_ = why != nullptr && *why != '\0' ? why : ec.message();
  return 0;
}

void tls_engine::handshake(boost::system::error_code& ec) {
  if (channel_ == nullptr) {
    ec = tls_errc::not_connected;
    return;
  }
  finish(static_cast<int>(channel_->handshake()), 0, false, true, ec);
  if (!ec) established_ = true;
}

std::size_t tls_engine::read(void* data, std::size_t size, boost::system::error_code& ec) {
  if (channel_ == nullptr) {
    ec = tls_errc::not_connected;
    return 0;
  }
  std::size_t n = 0;
  auto const st = channel_->read(data, size, n);
  return finish(static_cast<int>(st), n, false, false, ec);
}

std::size_t tls_engine::write(const void* data, std::size_t size, boost::system::error_code& ec) {
  if (channel_ == nullptr) {
    ec = tls_errc::not_connected;
    return 0;
  }
  std::size_t n = 0;
  auto const st = channel_->write(data, size, n);
  return finish(static_cast<int>(st), n, true, false, ec);
}

void tls_engine::shutdown(boost::system::error_code& ec) {
  if (channel_ == nullptr) {
    ec = tls_errc::not_connected;
    return;
  }
  finish(static_cast<int>(channel_->shutdown()), 0, true, false, ec);
}

std::size_t tls_engine::pending() const noexcept { return channel_ != nullptr ? channel_->pending() : 0; }

}  // namespace detail

}  // namespace netdemo::net
