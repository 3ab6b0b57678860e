// Seed 004's command server, safe by design: a fixed set of commands, no shell, and `ls`
// confined to a root directory.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace netdemo::proto {

/// What the command role needs at run time; shared by every session.
class command_config {
 public:
  /// Opens `root` (a directory) as the only tree `ls` may list. Throws netdemo::error.
  explicit command_config(const std::string& root, std::size_t max_entries = 1000);
  ~command_config();
  command_config(const command_config&) = delete;
  command_config& operator=(const command_config&) = delete;

  /// The root as opened: canonical and absolute.
  const std::string& root() const noexcept { return root_; }
  /// The most names one `ls` lists (the rest is counted, not listed).
  std::size_t max_entries() const noexcept { return max_entries_; }
  /// The `os` reply, read once at construction: `[posix] <sysname> <release> <machine>`.
  const std::string& os_line() const noexcept { return os_line_; }

  /// Appends the one-line listing of `path` (relative to the root, or absolute inside
  /// it), or a one-line `ERR …`, to `out`.
  void list(std::string_view path, std::string& out) const;

 private:
  std::string root_;  // canonical, absolute
  int root_fd_ = -1;
  std::size_t max_entries_;
  std::string os_line_;
};

/// Appends `name` the way Python's repr() shows a str: quoted, with backslash escapes
/// for quotes, control bytes and invalid UTF-8, so it can never break a line.
void append_python_repr(std::string_view name, std::string& out);

/// `date` → `[<ctime>] date`; `os` → `[posix] <sysname> <release> <machine>`;
/// `ls [path]` → `['a', 'b']`; `help` → the command list; anything else → `welcome`.
struct command_protocol {
  static constexpr std::string_view name = "command";  ///< the role name (`--role command`)
  /// Shared, read-only: one config serves every session (and thread) at once.
  std::shared_ptr<const command_config> config;
  /// No greeting.
  std::string_view greeting() const noexcept { return {}; }
  /// Appends the answer to the command in `msg` to `out`. `ls` reads the directory
  /// (blocking, bounded by `max_entries`); a failure is an `ERR` line, never an exception.
  void on_message(std::string_view msg, std::string& out) const;
  /// The refusal of a reply too large for a datagram (in practice a long `ls`): the same
  /// request over TCP gets the whole listing.
  void on_reply_too_large(std::string_view, std::string& out) const {
    out.append("ERR too large for UDP, use TCP");
  }
};

}  // namespace netdemo::proto
