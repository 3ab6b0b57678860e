#include "netdemo/proto/timestamp.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <regex>

#include "netdemo/proto/handlers.hpp"

using namespace netdemo::proto;

namespace {

/// Sets TZ for the scope of a test (POSIX TZ strings need no tzdata).
class scoped_tz {
 public:
  explicit scoped_tz(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~scoped_tz() {
    if (old_.empty()) {
      ::unsetenv("TZ");
    } else {
      ::setenv("TZ", old_.c_str(), 1);
    }
    ::tzset();
  }

 private:
  std::string old_;
};

std::string stamp(std::time_t t, time_format f) {
  std::string out;
  append_time(t, f, out);
  return out;
}

}  // namespace

TEST_CASE("ctime format is exactly Python's time.ctime() in local time", "[timestamp]") {
  scoped_tz tz("CST-8");
  // Expected strings produced by Python 3.11: TZ=CST-8 python3 -c 'import time; print(time.ctime(T))'
  CHECK(stamp(1795262107, time_format::ctime) == "Sat Nov 21 19:55:07 2026");
  CHECK(stamp(1793494923, time_format::ctime) == "Sun Nov  1 09:02:03 2026");  // day padded
}

TEST_CASE("iso8601 is RFC 3339 with the UTC offset", "[timestamp]") {
  {
    scoped_tz tz("CST-8");
    CHECK(stamp(1793494923, time_format::iso8601) == "2026-11-01T09:02:03+08:00");
  }
  {
    scoped_tz tz("EST5EDT,M3.2.0,M11.1.0");
    CHECK(stamp(1783166400, time_format::iso8601) == "2026-07-04T08:00:00-04:00");
  }
  {
    scoped_tz tz("UTC0");
    CHECK(stamp(0, time_format::iso8601) == "1970-01-01T00:00:00+00:00");
  }
}

TEST_CASE("format names parse", "[timestamp]") {
  CHECK(parse_time_format("ctime") == time_format::ctime);
  CHECK(parse_time_format("iso8601") == time_format::iso8601);
  CHECK_FALSE(parse_time_format("rfc").has_value());
}

TEST_CASE("the timestamp role stamps each message and mirrors its ending", "[timestamp]") {
  text_stream_handler<timestamp_protocol> h({}, 1024);
  std::string out;
  h.on_bytes("hello\r\nworld\n", out);
  std::regex const want(R"(\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] \d\d:\d\d:\d\d \d{4}\] hello\r\n)"
                        R"(\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] \d\d:\d\d:\d\d \d{4}\] world\n)");
  CHECK(std::regex_match(out, want));
  text_datagram_handler<timestamp_protocol> d({time_format::iso8601});
  std::string dout;
  d.on_datagram("hi", dout);
  CHECK(std::regex_match(dout, std::regex(R"(\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d\] hi)")));
}
