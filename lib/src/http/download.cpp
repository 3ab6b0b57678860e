#include "netdemo/http/download.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <system_error>
#include <utility>

#include "netdemo/http/url.hpp"
#include "netdemo/proto/error.hpp"

namespace netdemo::http {

namespace {

[[noreturn]] void write_failure(const std::string& what) {
  throw error(errc::write_failed, what + ": " + std::strerror(errno));
}

void write_all(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t const n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      write_failure("cannot write to " + what);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

body_output::~body_output() {
  if (fd_ > STDERR_FILENO) ::close(fd_);
}

void body_output::open() {
  if (fd_ >= 0) return;
  if (stdout_) {
    std::cout.flush();
    fd_ = STDOUT_FILENO;
    return;
  }
  if (!no_clobber_) {
    fd_ = ::open(name_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) write_failure("cannot create '" + name_ + "'");
    return;
  }
  std::string const base = name_;
  for (int i = 0; i < 10000; ++i) {
    std::string candidate = base;
    if (i > 0) candidate.append(".").append(std::to_string(i));
    fd_ = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) {
      name_ = std::move(candidate);
      created_ = true;
      return;
    }
    if (errno != EEXIST) write_failure("cannot create '" + candidate + "'");
  }
  throw error(errc::write_failed, "too many files named '" + base + "[.N]' already exist");
}

void body_output::write(std::string_view data) {
  open();
  write_all(fd_, data, stdout_ ? std::string("standard output") : "'" + name_ + "'");
  bytes_ += data.size();
}

void body_output::finish() {
  if (fd_ < 0 && (stdout_ || !name_.empty())) open();
  if (fd_ > STDERR_FILENO) {
    int const fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) write_failure("cannot write to '" + name_ + "'");
  }
}

std::string body_output::keep_partial() noexcept {
  if (stdout_ || fd_ < 0) return {};
  struct ::stat st {};
  bool const regular = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  ::close(std::exchange(fd_, -1));
  if (!regular) return {};
  if (!created_) return name_;
  try {
    std::error_code ec;
    for (int i = 0; i < 10000; ++i) {
      std::string part = name_ + ".part";
      if (i > 0) part.append(".").append(std::to_string(i));
      if (std::filesystem::exists(part, ec)) continue;
      std::filesystem::rename(name_, part, ec);
      return ec ? name_ : part;
    }
    return name_;
  } catch (...) {  // out of memory for a name: the file stays under its own
    return name_;
  }
}

boost::asio::awaitable<download_result> download(request_options options, save_policy policy) {
  body_output out;
  switch (policy.where) {
    case save_policy::destination::standard_output:
      out.to_stdout();
      break;
    case save_policy::destination::file:
      out.to_file(policy.file, false);
      break;
    case save_policy::destination::url_name: {
      auto const name = parse_user_url(options.url).file_name;
      out.to_file(name.empty() ? policy.fallback_name : name, true);
      break;
    }
  }
  options.on_body = [&out, user = std::move(options.on_body)](std::string_view chunk) {
    out.write(chunk);
    if (user) user(chunk);
  };
  bool const keep_whole_on_status = options.fail_after_body;
  download_result r;
  try {
    r.head = co_await fetch(std::move(options));
  } catch (const std::system_error& e) {
    if (keep_whole_on_status && e.code() == errc::http_status) {
      out.finish();
      throw;
    }
    std::string const kept = out.keep_partial();
    if (kept.empty()) throw;
    throw error(e.code(), std::string(e.what()) + "; partial body kept in '" + kept + "'");
  } catch (...) {
    out.keep_partial();
    throw;
  }
  out.finish();
  r.file = out.is_stdout() ? std::string() : out.name();
  r.bytes = out.bytes();
  co_return r;
}

}  // namespace netdemo::http
