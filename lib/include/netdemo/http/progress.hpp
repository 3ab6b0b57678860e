// The download progress line of `http-get` (size, percent, rate, ETA), sans-I/O: the
// meter is given byte counts and times and returns the text to write; the caller decides
// whether stderr is a terminal and writes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace netdemo::http {

/// "0 B", "999 B", "1.0 KiB", "12.3 MiB", "1.50 GiB" (binary units, 3 significant digits).
std::string format_bytes(std::uint64_t n);
/// format_bytes(rate) + "/s"; "--- B/s" when not known yet (negative).
std::string format_rate(double bytes_per_second);
/// "0:07", "12:34", "1:02:03"; "--:--" when unknown or more than 99 hours.
std::string format_eta(std::optional<std::chrono::seconds> left);

/// Decides when a progress line is due and what it says.
///
/// A line appears only for a large body: a known length over `min_size`, or an unknown
/// length still going after `unknown_after`. Lines come at most every `interval`; each
/// starts with a carriage return and is padded with spaces to cover a longer line before it. finish()
/// draws the last line and ends it with '\n', or returns "" when nothing was drawn.
class progress_meter {
 public:
  using clock = std::chrono::steady_clock;  ///< the clock of every time point given

  /// When lines appear; the defaults are http-get's.
  struct settings {
    std::uint64_t min_size = 1024 * 1024;             ///< known length: show above this
    std::chrono::milliseconds unknown_after{1000};    ///< unknown length: show after this
    std::chrono::milliseconds interval{250};          ///< at most 4 lines a second
    std::chrono::milliseconds rate_window{3000};      ///< the rate is over this much time
  };

  /// A meter for a body of `total` bytes (nullopt: unknown) that started at `start`.
  /// Pure: it never reads a clock or writes anything; not thread safe.
  progress_meter(std::optional<std::uint64_t> total, clock::time_point start);
  /// The same with other settings (tests use short intervals).
  progress_meter(std::optional<std::uint64_t> total, clock::time_point start, settings s);

  /// `received` bytes so far at `now`: the text to write, or "" when no line is due.
  std::string update(std::uint64_t received, clock::time_point now);
  /// The transfer ended at `now`: the last line and '\n', or "" if no line was drawn.
  std::string finish(std::uint64_t received, clock::time_point now);
  /// A line was drawn (and finish() will end it).
  bool shown() const noexcept { return shown_; }

  /// The line for `received` bytes at `now` (without the carriage return or padding).
  std::string line(std::uint64_t received, clock::time_point now, bool done) const;

 private:
  double rate(std::uint64_t received, clock::time_point now) const;
  std::string draw(std::string text);

  struct sample {
    clock::time_point at;
    std::uint64_t bytes;
  };
  std::optional<std::uint64_t> total_;
  clock::time_point start_;
  settings set_;
  clock::time_point last_draw_{};
  bool shown_ = false;
  std::size_t last_width_ = 0;
  std::vector<sample> samples_;  // one per drawn line, within rate_window
};

}  // namespace netdemo::http
