#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "support.hpp"

#include <cstdlib>
#include <filesystem>

namespace test_support {

temp_dir::temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "netdemo-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace test_support
