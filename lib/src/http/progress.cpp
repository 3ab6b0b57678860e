#include "netdemo/http/progress.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "netdemo/proto/text.hpp"

namespace netdemo::http {

namespace {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

double seconds_between(progress_meter::clock::time_point a, progress_meter::clock::time_point b) {
  return duration<double>(b - a).count();
}

std::string hms(long long s) {
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

}  // namespace

std::string format_bytes(std::uint64_t n) {
  if (n < 1000) return std::to_string(n) + " B";
  static constexpr const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(n) / 1024.0;
  std::size_t u = 0;
  while (v >= 999.5 && u + 1 < std::size(units)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  if (v < 9.995) {
    std::snprintf(buf, sizeof buf, "%.2f %s", v, units[u]);
  } else if (v < 99.95) {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f %s", v, units[u]);
  }
  return buf;
}

std::string format_rate(double bytes_per_second) {
  if (!(bytes_per_second >= 0) || std::isinf(bytes_per_second)) return "--- B/s";
  return format_bytes(static_cast<std::uint64_t>(netdemo::round_to_ll(bytes_per_second))) + "/s";
}

std::string format_eta(std::optional<std::chrono::seconds> left) {
  if (!left || left->count() < 0 || left->count() >= 100LL * 3600) return "--:--";
  return hms(left->count());
}

progress_meter::progress_meter(std::optional<std::uint64_t> total, clock::time_point start)
    : progress_meter(total, start, settings{}) {}

progress_meter::progress_meter(std::optional<std::uint64_t> total, clock::time_point start,
                               settings s)
    : total_(total), start_(start), set_(s) {}

double progress_meter::rate(std::uint64_t received, clock::time_point now) const {
  // Over the oldest sample still inside the window; before there is one, since the start.
  auto from = sample{start_, 0};
  for (const auto& s : samples_) {
    if (now - s.at <= set_.rate_window) {
      from = s;
      break;
    }
  }
  double const dt = seconds_between(from.at, now);
  if (dt < 0.05) {
    double const all = seconds_between(start_, now);
    if (all < 0.05) return -1;
    return static_cast<double>(received) / all;
  }
  return static_cast<double>(received - std::min(received, from.bytes)) / dt;
}

std::string progress_meter::line(std::uint64_t received, clock::time_point now, bool done) const {
  std::string out;
  double const elapsed = seconds_between(start_, now);
  // When done, the rate is the average over the whole transfer.
  double const r = done ? (elapsed > 0 ? static_cast<double>(received) / elapsed : -1)
                        : rate(received, now);
  if (total_ && *total_ > 0) {
    auto const pct = static_cast<int>(std::min<std::uint64_t>(received, *total_) * 100 / *total_);
    char buf[8];
    std::snprintf(buf, sizeof buf, "%3d%%", pct);
    out.append(buf).append("  ");
    out.append(format_bytes(received)).append(" of ").append(format_bytes(*total_));
  } else {
    out.append(format_bytes(received));
  }
  out.append("  ").append(format_rate(r));
  if (done) {
    out.append("  in ").append(hms(netdemo::round_to_ll(elapsed)));
  } else if (total_ && *total_ > 0) {
    std::optional<std::chrono::seconds> left;
    if (r > 0 && received <= *total_) {
      left = std::chrono::seconds(netdemo::round_to_ll(static_cast<double>(*total_ - received) / r));
    }
    out.append("  ETA ").append(format_eta(left));
  }
  return out;
}

std::string progress_meter::draw(std::string text) {
  std::size_t const width = text.size();
  if (width < last_width_) text.append(last_width_ - width, ' ');
  last_width_ = width;
  shown_ = true;
  return "\r" + text;
}

std::string progress_meter::update(std::uint64_t received, clock::time_point now) {
  bool const large = total_ ? *total_ > set_.min_size : now - start_ >= set_.unknown_after;
  if (!large) return {};
  if (shown_ && now - last_draw_ < set_.interval) return {};
  last_draw_ = now;
  std::string text = draw(line(received, now, false));
  // Keep one sample per drawn line, dropping those that left the window.
  while (samples_.size() > 1 && now - samples_[1].at > set_.rate_window) samples_.erase(samples_.begin());
  samples_.push_back({now, received});
  return text;
}

std::string progress_meter::finish(std::uint64_t received, clock::time_point now) {
  if (!shown_) return {};
  std::string text = draw(line(received, now, true));
  text.push_back('\n');
  return text;
}

}  // namespace netdemo::http
