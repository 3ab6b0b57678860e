// The command role: requests over its stream and datagram handlers, and `ls` confinement.
//
// The root is a fresh directory with awkward names in it (a newline, invalid UTF-8, quotes,
// a bidi control, a long name) and symbolic links that point out of it; next to the root,
// in its parent and in a sibling directory, are marker files. Invariants: no listing ever
// names a marker (nothing outside the root is listed), no reply contains a line break of
// its own (a file name cannot forge a reply line), and every reply is one of the command
// set's (protocols.md). In requests, "%R" becomes the root's absolute path, "%S" the
// sibling's and "%P" the parent's, so that absolute paths can be fuzzed too.
#include <fuzzer/FuzzedDataProvider.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz_support.hpp"
#include "netdemo/proto/roles.hpp"

namespace {

using fuzz_support::check;
using namespace netdemo::proto;

constexpr std::string_view marker = "MARKER_OUTSIDE_THE_ROOT";

struct tree {
  std::string parent, root, sibling;
  std::shared_ptr<const command_config> config;
};

void make_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "w");
  check(f != nullptr, "cannot create a file of the test tree", path);
  std::fclose(f);
}

const tree& the_tree() {
  static const tree t = [] {
    tree t;
    char tmpl[] = "/tmp/netdemo-fuzz-ls-XXXXXX";
    check(::mkdtemp(tmpl) != nullptr, "mkdtemp failed");
    t.parent = tmpl;
    t.root = t.parent + "/root";
    t.sibling = t.parent + "/sibling";
    ::mkdir(t.root.c_str(), 0755);
    ::mkdir(t.sibling.c_str(), 0755);
    ::mkdir((t.sibling + "/" + std::string(marker) + "_dir").c_str(), 0755);
    make_file(t.sibling + "/" + std::string(marker) + "_in_sibling");
    make_file(t.parent + "/" + std::string(marker) + "_in_parent");
    ::mkdir((t.root + "/a").c_str(), 0755);
    ::mkdir((t.root + "/a/b").c_str(), 0755);
    make_file(t.root + "/a/b/file");
    make_file(t.root + "/new\nline");
    make_file(t.root + "/bad\xff\xfe utf8");
    make_file(t.root + "/it's \"quoted\"");
    make_file(t.root + "/bidi\xe2\x80\xae" "txt.exe");
    make_file(t.root + "/" + std::string(200, 'L'));
    // Ways out that must stay shut: relative and absolute links, to a directory and up.
    (void)::symlink("../sibling", (t.root + "/up").c_str());
    (void)::symlink(t.sibling.c_str(), (t.root + "/abs").c_str());
    (void)::symlink("..", (t.root + "/a/dotdot").c_str());
    (void)::symlink("/", (t.root + "/slash").c_str());
    (void)::symlink("b/../../../sibling", (t.root + "/a/loop").c_str());
    t.config = std::make_shared<const command_config>(t.root, 50);
    // Removed when the fuzzer exits normally; a crash leaves it in /tmp for the reproducer.
    static std::string const parent = t.parent;
    std::atexit([] { (void)std::system(("rm -rf '" + parent + "'").c_str()); });
    return t;
  }();
  return t;
}

std::string expand(std::string s, const tree& t) {
  for (auto [key, value] : {std::pair<std::string_view, const std::string*>{"%R", &t.root},
                            {"%S", &t.sibling}, {"%P", &t.parent}}) {
    for (std::size_t at = s.find(key); at != std::string::npos; at = s.find(key, at + value->size())) {
      s.replace(at, key.size(), *value);
    }
  }
  return s;
}

/// One reply (its line ending already removed) to one request.
void check_reply(std::string_view request, std::string_view reply, const tree& t) {
  // An ERR reply quotes the request, which may hold the marker's text itself.
  check(reply.starts_with("ERR ") || reply.find(marker) == std::string_view::npos,
        "a reply lists something outside the root", std::string(request) + " -> " + std::string(reply));
  check(reply.find('\n') == std::string_view::npos && reply.find('\r') == std::string_view::npos,
        "a reply contains a line break", std::string(request) + " -> " + std::string(reply));
  check(reply.size() <= 64 * 1024, "an ls reply is larger than its cap", request);
  if (request == "ls" || request.starts_with("ls ")) {
    check(reply.starts_with("[") || reply.starts_with("ERR "), "ls reply is neither a list nor ERR",
          std::string(request) + " -> " + std::string(reply));
  } else if (request == "date") {
    check(reply.starts_with("[") && reply.ends_with("] date"), "date reply", reply);
  } else if (request == "os") {
    check(reply == t.config->os_line(), "os reply", reply);
  } else if (request == "help") {
    check(reply == "commands: date | os | ls [path] | help | exit", "help reply", reply);
  } else {
    check(reply == "welcome", "an unknown request did not get `welcome`",
          std::string(request) + " -> " + std::string(reply));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const tree& t = the_tree();
  FuzzedDataProvider in(data, size);
  role_settings settings;
  settings.commands = t.config;
  if (in.ConsumeBool()) {
    // Datagrams: one request each, one trailing line ending mirrored.
    with_datagram_role("command", settings, [&](auto handler) {
      while (in.remaining_bytes() > 0) {
        std::string const d = expand(in.ConsumeRandomLengthString(300), t);
        std::string out;
        handler.on_datagram(d, out);
        auto [msg, e] = strip_ending(d);
        std::string_view reply = out;
        check(reply.ends_with(ending_bytes(e)), "datagram reply ending differs", out);
        reply.remove_suffix(ending_bytes(e).size());
        check_reply(msg, reply, t);
      }
    });
    return 0;
  }
  // A stream: the requests framed by the reference framer, each reply checked in turn.
  settings.max_line = 1024;
  with_stream_role("command", settings, [&](auto handler) {
    std::string out, input;
    verdict v = verdict::keep_open;
    while (in.remaining_bytes() > 0 && v == verdict::keep_open) {
      std::string const bytes = expand(in.ConsumeRandomLengthString(300), t);
      input += bytes;
      v = handler.on_bytes(bytes, out);
    }
    fuzz_support::reference_framer ref(settings.max_line);
    std::vector<fuzz_support::message> msgs;
    ref.feed(input, msgs, [](std::string_view m) { return m == quit_word; });
    std::size_t pos = 0;
    for (const auto& m : msgs) {
      if (m.text == quit_word) break;
      std::string_view const e = ending_bytes(m.ending);
      // A reply never holds a line break (checked below), so its end is the next one.
      std::size_t const end = out.find_first_of("\r\n", pos);
      check(end != std::string::npos, "a request got no reply", m.text);
      check(std::string_view(out).substr(end, e.size()) == e, "reply ends differently from its request");
      check_reply(m.text, std::string_view(out).substr(pos, end - pos), t);
      pos = end + e.size();
    }
    if (ref.too_long()) {
      check(out.substr(pos).starts_with("ERR line too long"), "no overlong-line error", out.substr(pos));
    } else {
      check(pos == out.size(), "output after the last reply", out.substr(pos));
    }
  });
  return 0;
}
