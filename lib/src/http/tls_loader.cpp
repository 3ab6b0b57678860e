// Finds the TLS side of the HTTP client: built in, or netdemo-tls.so loaded on first use.
#include "tls.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "netdemo/exit_codes.hpp"

#ifdef NETDEMO_TLS_BUILTIN
extern "C" netdemo::http::detail::tls_client* netdemo_http_make_tls_client_v1(
    const netdemo::http::detail::tls_config& config, std::string& why);
#endif

namespace netdemo::http::detail {

#ifdef NETDEMO_TLS_BUILTIN

make_tls_client_fn tls_factory() { return &netdemo_http_make_tls_client_v1; }

#else

namespace {

/// The directory of the running executable ("" if unknown).
std::string exe_dir() {
  std::string path(4096, '\0');
  ssize_t const n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
  if (n <= 0) return {};
  path.resize(static_cast<std::size_t>(n));
  auto const slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

/// Where the module may be, in order: $NETDEMO_TLS_MODULE, next to the executable,
/// <exe>/../lib/netdemo (an installed netdemo, wherever the prefix was moved), the prefix
/// it was configured to install into, the build tree it was built in.
std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("NETDEMO_TLS_MODULE"); env != nullptr && *env != '\0') out.emplace_back(env);
  if (auto const dir = exe_dir(); !dir.empty()) {
    out.push_back(dir + "/netdemo-tls.so");
#ifdef NETDEMO_TLS_MODULE_RELDIR
    out.push_back(dir + "/../" NETDEMO_TLS_MODULE_RELDIR "/netdemo-tls.so");
#endif
  }
#ifdef NETDEMO_TLS_MODULE_INSTALLED
  out.emplace_back(NETDEMO_TLS_MODULE_INSTALLED);
#endif
#ifdef NETDEMO_TLS_MODULE_PATH
  out.emplace_back(NETDEMO_TLS_MODULE_PATH);
#endif
  return out;
}

make_tls_client_fn load() {
  std::string tried;
  for (const auto& path : candidates()) {
    if (::access(path.c_str(), R_OK) != 0) continue;
    // Never closed: error messages and code of the module stay in use until exit.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      tried.append("; ").append(why != nullptr ? why : path);
      continue;
    }
    if (void* sym = ::dlsym(handle, tls_entry_point)) return reinterpret_cast<make_tls_client_fn>(sym);
    tried.append("; ").append(path).append(" has no ").append(tls_entry_point);
  }
  throw error(exit_code::failure,
              "https needs the TLS module netdemo-tls.so next to the netdemo executable" +
                  (tried.empty() ? std::string(" (not found)") : tried));
}

}  // namespace

make_tls_client_fn tls_factory() {
  static std::once_flag once;
  static make_tls_client_fn fn = nullptr;
  std::call_once(once, [] { fn = load(); });
  if (fn == nullptr) throw error(exit_code::failure, "https: the TLS module could not be loaded");
  return fn;
}

#endif

}  // namespace netdemo::http::detail
