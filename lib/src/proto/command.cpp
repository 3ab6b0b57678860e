#include "netdemo/proto/command.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "netdemo/proto/error.hpp"
#include "netdemo/proto/timestamp.hpp"

namespace netdemo::proto {

namespace {

constexpr std::size_t max_path = 4096;
constexpr std::size_t max_reply = 60 * 1024;

/// Length of the valid UTF-8 sequence at `s[i]`, or 0 when it is not one; `cp_out`
/// receives the code point.
std::size_t utf8_sequence(std::string_view s, std::size_t i, unsigned& cp_out) {
  auto const b = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  unsigned min = 0;
  if (b >= 0xc2 && b <= 0xdf) {
    len = 2;
    min = 0x80;
  } else if (b >= 0xe0 && b <= 0xef) {
    len = 3;
    min = 0x800;
  } else if (b >= 0xf0 && b <= 0xf4) {
    len = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  unsigned cp = b & (0x7f >> len);
  for (std::size_t k = 1; k < len; ++k) {
    auto const c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  cp_out = cp;
  return len;
}

/// Code points that are valid but must not reach a terminal raw: C1 controls (U+009B
/// starts an escape sequence), line and paragraph separators, zero-width and bidi
/// controls that can disguise a name, and the BOM. Python's repr() escapes them too.
bool invisible_or_control(unsigned cp) {
  return (cp >= 0x80 && cp <= 0xa0) || cp == 0xad || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

void append_hex(unsigned char b, std::string& out) {
  static constexpr char digits[] = "0123456789abcdef";
  out.append("\\x");
  out.push_back(digits[b >> 4]);
  out.push_back(digits[b & 0xf]);
}

void append_code_point_escape(unsigned cp, std::string& out) {
  if (cp <= 0xff) return append_hex(static_cast<unsigned char>(cp), out);
  static constexpr char digits[] = "0123456789abcdef";
  out.append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(digits[(cp >> shift) & 0xf]);
}


/// Opens `rel` beneath `root_fd`; no `..`, absolute path or symlink may lead out.
int open_beneath(int root_fd, const std::string& root, const std::string& rel) {
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long const fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
  if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
  // Kernels before 5.6: resolve the whole path and check that it stays under the root.
  std::string const full = root + "/" + rel;
  char resolved[PATH_MAX];
  if (::realpath(full.c_str(), resolved) == nullptr) return -1;
  std::string_view const r(resolved);
  if (r != root && !(r.starts_with(root) && (root == "/" || r[root.size()] == '/'))) {
    errno = EXDEV;
    return -1;
  }
  return ::open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

std::string error_text(int err) {
  switch (err) {
    case EXDEV: return "outside the root";
    case ENOENT: return "no such directory";
    case ENOTDIR: return "not a directory";
    case EACCES:
    case EPERM: return "permission denied";
    case ELOOP: return "too many symbolic links";
    case ENAMETOOLONG: return "path too long";
    default: return std::string("cannot list: ") + std::strerror(err);
  }
}

}  // namespace

void append_python_repr(std::string_view name, std::string& out) {
  // Python's choice of quote: single, unless the text has ' and no ".
  bool const has_single = name.find('\'') != std::string_view::npos;
  bool const has_double = name.find('"') != std::string_view::npos;
  char const quote = has_single && !has_double ? '"' : '\'';
  out.push_back(quote);
  for (std::size_t i = 0; i < name.size();) {
    auto const b = static_cast<unsigned char>(name[i]);
    if (b >= 0x80) {
      unsigned cp = 0;
      std::size_t const len = utf8_sequence(name, i, cp);
      if (len == 0) {
        append_hex(b, out);
        ++i;
      } else {
        if (invisible_or_control(cp)) {
          append_code_point_escape(cp, out);
        } else {
          out.append(name.substr(i, len));
        }
        i += len;
      }
      continue;
    }
    switch (b) {
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (b == static_cast<unsigned char>(quote)) {
          out.push_back('\\');
          out.push_back(quote);
        } else if (b < 0x20 || b == 0x7f) {
          append_hex(b, out);
        } else {
          out.push_back(static_cast<char>(b));
        }
    }
    ++i;
  }
  out.push_back(quote);
}

command_config::command_config(const std::string& root, std::size_t max_entries)
    : max_entries_(max_entries) {
  char resolved[PATH_MAX];
  if (::realpath(root.c_str(), resolved) == nullptr) {
    throw error(errc::invalid_argument, "--root " + root + ": " + std::strerror(errno));
  }
  root_ = resolved;
  root_fd_ = ::open(resolved, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd_ < 0) throw error(errc::invalid_argument, "--root " + root + ": " + std::strerror(errno));
  struct ::utsname u {};
  os_line_ = "[posix]";
  if (::uname(&u) == 0) {
    os_line_ += ' ';
    os_line_ += u.sysname;
    os_line_ += ' ';
    os_line_ += u.release;
    os_line_ += ' ';
    os_line_ += u.machine;
  }
}

command_config::~command_config() {
  if (root_fd_ >= 0) ::close(root_fd_);
}

void command_config::list(std::string_view path, std::string& out) const {
  auto fail = [&](const std::string& why) {
    out.append("ERR ");
    out.append(why);
    out.append(": ");
    append_python_repr(path.substr(0, 256), out);
    if (path.size() > 256) out.append(" \xe2\x80\xa6");  // " …": cut here
  };
  if (path.find('\0') != std::string_view::npos) return fail("invalid path");
  if (path.size() > max_path) return fail("path too long");
  std::string rel(path.empty() ? "." : path);
  if (rel.front() == '/') {
    // Absolute paths are fine while they name something inside the root.
    std::string_view const r(rel);
    if (r == root_) {
      rel.assign(1, '.');
    } else if (r.starts_with(root_) && (root_ == "/" || r[root_.size()] == '/')) {
      rel = root_ == "/" ? std::string(r.substr(1)) : std::string(r.substr(root_.size() + 1));
      if (rel.empty()) rel.assign(1, '.');
    } else {
      return fail("outside the root");
    }
  }
  int const fd = open_beneath(root_fd_, root_, rel);
  if (fd < 0) return fail(error_text(errno));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int const err = errno;
    ::close(fd);
    return fail(error_text(err));
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string_view const n(e->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  out.push_back('[');
  std::size_t shown = 0;
  std::size_t const start = out.size();
  for (const auto& n : names) {
    if (shown == max_entries_ || out.size() - start > max_reply) break;
    if (shown > 0) out.append(", ");
    append_python_repr(n, out);
    ++shown;
  }
  out.push_back(']');
  if (shown < names.size()) {
    out.append(" \xe2\x80\xa6" "and ");  // "…and "
    out.append(std::to_string(names.size() - shown));
    out.append(" more");
  }
}

void command_protocol::on_message(std::string_view msg, std::string& out) const {
  if (msg == "date") {
    out.push_back('[');
    append_time(std::time(nullptr), time_format::ctime, out);
    out.append("] date");
  } else if (msg == "os") {
    out.append(config->os_line());
  } else if (msg == "ls") {
    config->list({}, out);
  } else if (msg.starts_with("ls ")) {
    config->list(msg.substr(3), out);
  } else if (msg == "help") {
    out.append("commands: date | os | ls [path] | help | exit");
  } else {
    out.append("welcome");
  }
}

}  // namespace netdemo::proto
