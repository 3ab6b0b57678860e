// What `netdemo http-get` does with a body, for any program: a file named after the URL
// that never replaces an existing one, a named file, or standard output; a cut body kept
// as NAME.part.
//
//   netdemo::http::request_options o;
//   o.url = "http://127.0.0.1:8000/file.txt";
//   auto r = co_await netdemo::http::download(std::move(o), {});  // saves ./file.txt
//   // r.file == "file.txt" (or "file.txt.1" if that existed), r.bytes: its size
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "netdemo/http/client.hpp"

namespace netdemo::http {

/// Where a download's body goes.
struct save_policy {
  /// The kinds of destination.
  enum class destination {
    url_name,         ///< a file named after the URL's last path segment (or `fallback_name`)
                      ///< in the working directory; an existing file is never replaced:
                      ///< NAME.1, NAME.2, ... are tried instead
    file,             ///< the file `file`, created or truncated
    standard_output,  ///< file descriptor 1 (std::cout is flushed first)
  };
  destination where = destination::url_name;  ///< where the body goes
  std::string file;                           ///< the file for destination::file
  std::string fallback_name = "index.html";   ///< url_name for a URL without a file name
};

/// The destination of one body: opened at the first byte (so a failure before it leaves
/// no file), written as chunks come, closed by finish(), or renamed NAME.part by
/// keep_partial() after a failure. Used by download(); a program that drives fetch()
/// itself (the CLI, to put heads in the same file) uses it directly.
///
/// Threading: not thread-safe; use it from one thread (the fetch's executor). Blocking
/// writes: a slow disk or pipe holds that thread.
class body_output {
 public:
  body_output() = default;
  body_output(const body_output&) = delete;
  body_output& operator=(const body_output&) = delete;
  /// Closes a file still open (nothing is renamed).
  ~body_output();

  /// Sends the body to file descriptor 1.
  void to_stdout() { stdout_ = true; }
  /// Sends the body to `name`; with `no_clobber`, an existing file is kept and NAME.1,
  /// NAME.2, ... are tried instead.
  void to_file(std::string name, bool no_clobber) {
    name_ = std::move(name);
    no_clobber_ = no_clobber;
  }
  /// True for to_stdout().
  bool is_stdout() const noexcept { return stdout_; }
  /// The file's name (after open(): the one used); empty for stdout.
  const std::string& name() const noexcept { return name_; }
  /// Bytes written so far.
  std::uint64_t bytes() const noexcept { return bytes_; }

  /// Opens the destination if it is not open yet.
  /// @throws netdemo::error errc::write_failed: the file cannot be created, or 10000
  ///         names NAME.N exist already.
  void open();
  /// Writes all of `data` (opening first). @throws netdemo::error errc::write_failed.
  void write(std::string_view data);
  /// Opens the destination if no byte came (an empty body is an empty file), then closes
  /// a file. @throws netdemo::error errc::write_failed if the data did not reach it.
  void finish();
  /// After a failure: a file this object created is renamed NAME.part (or NAME.part.N); a
  /// file named with no_clobber false keeps its name. Returns the name of the regular file
  /// kept, or "" when nothing was kept (no byte came, or the output is stdout, a device or
  /// a FIFO). Does not throw.
  std::string keep_partial() noexcept;

 private:
  bool stdout_ = false;
  bool created_ = false;  // opened with O_EXCL by this object (safe to rename)
  bool no_clobber_ = true;
  std::string name_;
  int fd_ = -1;
  std::uint64_t bytes_ = 0;
};

/// What a download saved.
struct download_result {
  response head;       ///< the final response (its body_bytes as received)
  std::string file;    ///< the file the body went to; empty for standard output
  std::uint64_t bytes = 0;  ///< bytes written (decoded with decode_content)
};

/// Fetches `options.url` (fetch()) and saves the body by `policy`. `options.on_body`, if
/// set, still sees every chunk, after it is written.
///
/// Threading: co_await it on one executor; callbacks and file writes happen there.
/// Cancellation: as fetch(); the partial body is then kept as on any failure.
/// @throws netdemo::error as fetch() does, or errc::write_failed. On a failure after the
///         first byte, the file is renamed NAME.part (url_name) or kept (file), and the
///         message ends with "; partial body kept in 'NAME'". With fail_after_body, a
///         status >= 400 keeps the whole body under its name, then throws
///         errc::http_status.
boost::asio::awaitable<download_result> download(request_options options, save_policy policy);

}  // namespace netdemo::http
