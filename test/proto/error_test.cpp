#include "netdemo/proto/error.hpp"

#include <catch2/catch.hpp>

#include "netdemo/exit_codes.hpp"

using netdemo::errc;
using netdemo::exit_code;

TEST_CASE("errc: a std::error_code of the category 'netdemo'", "[proto][error]") {
  std::error_code const ec = errc::timeout;
  CHECK(std::string(ec.category().name()) == "netdemo");
  CHECK(ec == errc::timeout);
  CHECK(ec != errc::cannot_connect);
  CHECK(ec.message() == "timed out");
  CHECK(ec != std::error_code(static_cast<int>(errc::timeout), std::generic_category()));
}

TEST_CASE("netdemo::error: what() is the one line given, code() the errc", "[proto][error]") {
  try {
    throw netdemo::error(errc::partial_body, "the body ended after 3 of 10 bytes");
  } catch (const std::system_error& e) {
    CHECK(std::string(e.what()) == "the body ended after 3 of 10 bytes");
    CHECK(e.code() == errc::partial_body);
  }
  netdemo::error const a(std::make_error_code(std::errc::broken_pipe), "send failed");
  netdemo::error const b = a;  // copies share the message
  CHECK(std::string(b.what()) == "send failed");
  CHECK(b.code() == std::errc::broken_pipe);
}

TEST_CASE("to_exit_code: the table of docs/exit-codes.md", "[proto][error][cli]") {
  using netdemo::to_exit_code;
  CHECK(to_exit_code(errc::invalid_argument) == exit_code::usage);
  CHECK(to_exit_code(errc::cannot_resolve) == exit_code::cannot_resolve);
  CHECK(to_exit_code(errc::cannot_connect) == exit_code::cannot_connect);
  CHECK(to_exit_code(errc::malformed_reply) == exit_code::malformed_reply);
  CHECK(to_exit_code(errc::partial_body) == exit_code::partial_body);
  CHECK(to_exit_code(errc::http_status) == exit_code::http_error);
  CHECK(to_exit_code(errc::write_failed) == exit_code::write_error);
  CHECK(to_exit_code(errc::timeout) == exit_code::timeout);
  CHECK(to_exit_code(errc::too_many_redirects) == exit_code::too_many_redirects);
  CHECK(to_exit_code(errc::tls_verify) == exit_code::tls_verify);
  CHECK(to_exit_code(errc::file_too_large) == exit_code::file_too_large);
  CHECK(to_exit_code(errc::lookup_failed) == exit_code::failure);
  CHECK(to_exit_code(std::make_error_code(std::errc::connection_reset)) == exit_code::failure);
  CHECK(static_cast<int>(to_exit_code(errc::file_too_large)) == 63);
}
