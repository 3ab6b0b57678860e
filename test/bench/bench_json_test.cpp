#include "netdemo/bench_json.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using netdemo::cli::bench_json;

TEST_CASE("bench --json: UTF-8 strings come back as they went in", "[bench][json]") {
  netdemo::bench::options o;
  o.host = "b\xc3\xbc" "cher.example";  // "bücher.example"
  netdemo::bench::result r;
  r.first_error = "connection 1: r\xc3\xa9ponse \xe2\x9c\x93 \"quoted\" \\ tab\t";
  std::string const text = bench_json("tcp", o, r);
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  auto const v = boost::json::parse(text);
  CHECK(v.at("host").as_string() == o.host);
  CHECK(v.at("first_error").as_string() == r.first_error);
  CHECK(v.at("mode").as_string() == "tcp");
  CHECK(v.at("port").is_number());
  CHECK(v.at("lat_us").at("p50").is_double());
  CHECK(v.at("interrupted").as_bool() == false);
}
