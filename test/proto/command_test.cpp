#include "netdemo/proto/command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>

#include "netdemo/proto/error.hpp"
#include "support.hpp"

using namespace netdemo::proto;

namespace {

/// A tree: root/{a.txt, b dir/, sub/{x, y}, link-in -> sub, link-out -> /, it's, 你好}
struct tree {
  test_support::temp_dir dir;
  std::string root = dir.path("root");
  tree() {
    ::mkdir(root.c_str(), 0755);
    ::mkdir((root + "/sub").c_str(), 0755);
    ::mkdir((root + "/b dir").c_str(), 0755);
    std::ofstream(root + "/a.txt") << "a";
    std::ofstream(root + "/it's") << "q";
    std::ofstream(root + "/\xe4\xbd\xa0\xe5\xa5\xbd") << "ni hao";
    std::ofstream(root + "/sub/x") << "x";
    std::ofstream(root + "/sub/y") << "y";
    std::ofstream(dir.path("secret")) << "outside";
    REQUIRE(::symlink("sub", (root + "/link-in").c_str()) == 0);
    REQUIRE(::symlink("/", (root + "/link-out").c_str()) == 0);
    REQUIRE(::symlink("../secret", (root + "/link-up").c_str()) == 0);
  }
};

std::string ask(const command_protocol& p, std::string_view msg) {
  std::string out;
  p.on_message(msg, out);
  return out;
}

}  // namespace

TEST_CASE("python repr quoting and escaping", "[command]") {
  auto repr = [](std::string_view s) {
    std::string out;
    append_python_repr(s, out);
    return out;
  };
  CHECK(repr("a.txt") == "'a.txt'");
  CHECK(repr("it's") == "\"it's\"");
  CHECK(repr("both'\"") == "'both\\'\"'");
  CHECK(repr("back\\slash") == "'back\\\\slash'");
  CHECK(repr("new\nline\r\t") == "'new\\nline\\r\\t'");
  CHECK(repr(std::string("nul\0esc\x1b", 8)) == "'nul\\x00esc\\x1b'");
  CHECK(repr("\xe4\xbd\xa0\xe5\xa5\xbd") == "'\xe4\xbd\xa0\xe5\xa5\xbd'");  // valid UTF-8 kept
  CHECK(repr("bad\xff\xe4\xbd") == "'bad\\xff\\xe4\\xbd'");             // invalid escaped
  CHECK(repr("c1\xc2\x9b" "31m") == "'c1\\x9b31m'");                       // C1 CSI
  CHECK(repr("rtl\xe2\x80\xaegnp.exe") == "'rtl\\u202egnp.exe'");        // bidi override
  CHECK(repr("ls\xe2\x80\xa8x") == "'ls\\u2028x'");                       // line separator
  CHECK(repr("\xc3\xa9t\xc3\xa9") == "'\xc3\xa9t\xc3\xa9'");                 // é stays
}

TEST_CASE("command role: date, os, help, welcome", "[command]") {
  tree t;
  command_protocol const p{std::make_shared<const command_config>(t.root)};
  CHECK(std::regex_match(ask(p, "date"),
                         std::regex(R"(\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] \d\d:\d\d:\d\d \d{4}\] date)")));
  CHECK(ask(p, "os").starts_with("[posix] Linux "));
  CHECK(ask(p, "help") == "commands: date | os | ls [path] | help | exit");
  CHECK(ask(p, "hello") == "welcome");
  CHECK(ask(p, "lsx") == "welcome");
  CHECK(ask(p, "") == "welcome");
  CHECK(ask(p, "rm -rf /") == "welcome");
  CHECK(ask(p, "date; ls /") == "welcome");
}

TEST_CASE("ls lists the root and directories inside it, sorted, one line", "[command]") {
  tree t;
  command_protocol const p{std::make_shared<const command_config>(t.root)};
  std::string const all =
      "['a.txt', 'b dir', \"it's\", 'link-in', 'link-out', 'link-up', 'sub', '\xe4\xbd\xa0\xe5\xa5\xbd']";
  CHECK(ask(p, "ls") == all);
  CHECK(ask(p, "ls .") == all);
  CHECK(ask(p, "ls sub") == "['x', 'y']");
  CHECK(ask(p, "ls sub/") == "['x', 'y']");
  CHECK(ask(p, "ls b dir") == "[]");
  CHECK(ask(p, "ls link-in") == "['x', 'y']");         // a symlink that stays inside is fine
  CHECK(ask(p, "ls sub/../sub") == "['x', 'y']");       // .. that stays inside is fine
  CHECK(ask(p, "ls " + t.root + "/sub") == "['x', 'y']");  // absolute, inside
  CHECK(ask(p, "ls " + t.root) == all);
}

TEST_CASE("ls never leaves the root", "[command][security]") {
  tree t;
  command_protocol const p{std::make_shared<const command_config>(t.root)};
  for (std::string path : {"..", "../..", "../root/..", "sub/../..", "/", "/etc", "/tmp", "link-out",
                           "link-out/etc", "link-up", "./../"}) {
    INFO(path);
    CHECK(ask(p, "ls " + path).starts_with("ERR outside the root: "));
  }
  // A sibling whose name starts with the root's name is outside too.
  CHECK(ask(p, "ls " + t.root + "x").starts_with("ERR outside the root"));
}

TEST_CASE("ls errors are one line and keep the session", "[command]") {
  tree t;
  command_protocol const p{std::make_shared<const command_config>(t.root)};
  CHECK(ask(p, "ls nope") == "ERR no such directory: 'nope'");
  CHECK(ask(p, "ls a.txt") == "ERR not a directory: 'a.txt'");
  CHECK(ask(p, "ls " + std::string(5000, 'a')).starts_with("ERR path too long: "));
  CHECK(ask(p, std::string("ls a\0b", 6)).starts_with("ERR invalid path: "));
  std::string const ctl = ask(p, "ls \x1b]0;pwned\x07");
  CHECK(ctl == "ERR no such directory: '\\x1b]0;pwned\\x07'");  // no raw control bytes
  if (::geteuid() != 0) {
    ::chmod((t.root + "/sub").c_str(), 0);
    CHECK(ask(p, "ls sub") == "ERR permission denied: 'sub'");
    ::chmod((t.root + "/sub").c_str(), 0755);
  }
}

TEST_CASE("long listings are capped", "[command]") {
  test_support::temp_dir dir;
  for (int i = 0; i < 25; ++i) std::ofstream(dir.path(std::string(1, 'f').append(std::to_string(100 + i)))) << i;
  command_protocol const p{std::make_shared<const command_config>(dir.path("."), 10)};
  std::string const out = ask(p, "ls");
  CHECK(out.starts_with("['f100', 'f101',"));
  CHECK(out.ends_with("'f109'] \xe2\x80\xa6" "and 15 more"));
}

TEST_CASE("a root that is not a directory is a usage error", "[command]") {
  test_support::temp_dir dir;
  std::ofstream(dir.path("file")) << "x";
  CHECK_THROWS_AS(command_config(dir.path("missing")), netdemo::error);
  CHECK_THROWS_AS(command_config(dir.path("file")), netdemo::error);
}
