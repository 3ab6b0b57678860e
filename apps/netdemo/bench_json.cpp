#include "bench_json.hpp"

#include <chrono>
#include <cstdio>
#include <sstream>

// Boost.JSON header-only: its sources are compiled here, in this one file of the program.
#include <boost/json/src.hpp>

namespace netdemo::cli {
namespace {

/// `s` as a JSON string, quotes included. Boost.JSON escapes only what JSON requires (quotes,
/// backslashes, control characters), so UTF-8 passes through unchanged.
std::string json_string(std::string_view s) { return boost::json::serialize(boost::json::string_view(s.data(), s.size())); }

double per_second(std::uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; }

}  // namespace

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string bench_json(std::string_view mode, const bench::options& o, const bench::result& r) {
  const auto& h = r.latency;
  const auto& e = r.errors;
  auto us = [](std::uint64_t ns) { return fixed(static_cast<double>(ns) / 1e3, 1); };
  std::ostringstream out;
  out << "{\"mode\":" << json_string(mode) << ",\"host\":" << json_string(o.host) << ",\"port\":" << o.port
      << ",\"role\":" << json_string(bench::role_name(o.kind)) << ",\"connections\":" << o.connections
      << ",\"message_size\":" << o.message_size << ",\"pipeline\":" << o.pipeline
      << ",\"threads\":" << o.threads << ",\"warmup_s\":" << fixed(std::chrono::duration<double>(o.warmup).count(), 3)
      << ",\"duration_s\":" << fixed(r.measured_s, 3) << ",\"messages\":" << r.messages
      << ",\"msgs_per_s\":" << fixed(per_second(r.messages, r.measured_s), 1)
      << ",\"bytes_sent\":" << r.bytes_sent << ",\"bytes_received\":" << r.bytes_received
      << ",\"mb_per_s\":" << fixed(per_second(r.bytes_received, r.measured_s) / 1e6, 3)
      << ",\"lat_us\":{\"p50\":" << us(h.percentile(0.5)) << ",\"p90\":" << us(h.percentile(0.9))
      << ",\"p99\":" << us(h.percentile(0.99)) << ",\"p999\":" << us(h.percentile(0.999))
      << ",\"max\":" << us(h.max()) << "},\"errors\":{\"total\":" << e.total() << ",\"mismatch\":" << e.mismatch
      << ",\"unexpected\":" << e.unexpected << ",\"truncated\":" << e.truncated << ",\"closed\":" << e.closed
      << ",\"reset\":" << e.reset << ",\"refused\":" << e.refused << ",\"connect_failed\":" << e.connect_failed
      << ",\"timeouts\":" << e.timeouts << ",\"losses\":" << e.losses << "},\"late_replies\":" << r.late_replies
      << ",\"client_cpu\":" << fixed(r.measured_s > 0 ? r.cpu_s / r.measured_s : 0.0, 3)
      << ",\"connects\":" << r.connects << ",\"open_at_end\":" << r.open_at_end
      << ",\"first_error\":" << json_string(r.first_error)
      << ",\"interrupted\":" << (r.interrupted ? "true" : "false") << "}\n";
  return out.str();
}

}  // namespace netdemo::cli
