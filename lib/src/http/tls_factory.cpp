// Finds the http client's TLS side: built in, or in the TLS module (lib/src/net/tls_module.hpp),
// loaded on the first https URL.
#include "../net/tls_module.hpp"
#include "netdemo/proto/error.hpp"
#include "tls.hpp"

#ifdef NETDEMO_TLS_BUILTIN
extern "C" netdemo::http::detail::tls_client* netdemo_http_make_tls_client_v1(
    const netdemo::http::detail::tls_config& config, std::string& why);
#endif

namespace netdemo::http::detail {

make_tls_client_fn tls_factory() {
#ifdef NETDEMO_TLS_BUILTIN
  return &netdemo_http_make_tls_client_v1;
#else
  std::string why;
  void* sym = net::detail::tls_module_symbol(tls_entry_point, why);
  if (sym == nullptr) throw error(errc::tls_unavailable, "https: " + why);
  return reinterpret_cast<make_tls_client_fn>(sym);
#endif
}

}  // namespace netdemo::http::detail
