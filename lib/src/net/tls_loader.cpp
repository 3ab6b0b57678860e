// Finds the TLS module: built in, or netdemo-tls.so loaded on first use.
#include <dlfcn.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "tls_module.hpp"

#ifdef NETDEMO_TLS_BUILTIN
extern "C" const netdemo::net::detail::tls_module_table* netdemo_tls_module_v2();
#endif

namespace netdemo::net::detail {

namespace {

/// Checks a table from the module: a module older than this library has fewer fields.
const tls_module_table* checked(const tls_module_table* t, std::string& why) {
  if (t == nullptr || t->version < tls_module_version || t->size < sizeof(tls_module_table)) {
    why = "the TLS module netdemo-tls.so is older than this netdemo (table version " +
          std::to_string(t == nullptr ? 0 : t->version) + ", need " + std::to_string(tls_module_version) + ")";
    return nullptr;
  }
  return t;
}

}  // namespace

#ifdef NETDEMO_TLS_BUILTIN

const tls_module_table* tls_module(std::string& why) { return checked(netdemo_tls_module_v2(), why); }

void* tls_module_symbol(const char* name, std::string& why) {
  why = std::string("a built-in TLS has no module symbol ") + name;
  return nullptr;
}

bool tls_module_loaded() noexcept { return true; }

#else

namespace {

std::atomic<bool> loaded{false};

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

struct module_handle {
  void* handle = nullptr;
  std::string why;  // why it could not be loaded
};

module_handle open_module() {
  module_handle m;
  std::string tried;
  for (const auto& path : candidates()) {
    if (::access(path.c_str(), R_OK) != 0) continue;
    // Never closed: error messages and code of the module stay in use until exit.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle != nullptr) {
      m.handle = handle;
      loaded = true;
      return m;
    }
    const char* why = ::dlerror();
    tried.append("; ").append(why != nullptr ? why : path);
  }
  m.why = "TLS needs the module netdemo-tls.so next to the netdemo executable" +
          (tried.empty() ? std::string(" (not found)") : tried);
  return m;
}

const module_handle& the_module() {
  static const module_handle m = open_module();  // thread-safe, once
  return m;
}

}  // namespace

void* tls_module_symbol(const char* name, std::string& why) {
  const auto& m = the_module();
  if (m.handle == nullptr) {
    why = m.why;
    return nullptr;
  }
  void* sym = ::dlsym(m.handle, name);
  if (sym == nullptr) why = std::string("the TLS module netdemo-tls.so has no ") + name;
  return sym;
}

const tls_module_table* tls_module(std::string& why) {
  void* sym = tls_module_symbol(tls_module_entry, why);
  if (sym == nullptr) return nullptr;
  return checked(reinterpret_cast<tls_module_entry_fn>(sym)(), why);
}

bool tls_module_loaded() noexcept { return loaded; }

#endif

}  // namespace netdemo::net::detail
