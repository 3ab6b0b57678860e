// gzip / deflate decoding (sans-I/O): every split of the input, stacked codings, raw
// deflate, several gzip members, corrupt and cut-short data, bounded output pieces.
#include "netdemo/http/content_coding.hpp"

#include "http/zlib_samples.hpp"

#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "netdemo/proto/error.hpp"
#include "netdemo/exit_codes.hpp"

namespace {

namespace http = netdemo::http;

using test_support::compress;
std::string gzip(const std::string& in) { return compress(in, 31); }

/// Some text that compresses, and some bytes that do not.
std::string sample(std::size_t n, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(n);
  while (s.size() < n) {
    if (rng() % 2 == 0) {
      s.append("hello netdemo, hello zlib; ");
    } else {
      s.push_back(static_cast<char>(rng() & 0xff));
    }
  }
  s.resize(n);
  return s;
}

struct decoded {
  std::string text;
  std::size_t biggest = 0;
  int code = 0;
  std::string message;
};

/// Feeds `encoded` in pieces of `step` bytes (0: all at once) and finishes.
decoded decode(std::vector<http::content_coding> codings, const std::string& encoded,
               std::size_t step = 0) {
  decoded d;
  try {
    http::content_decoder dec(std::move(codings));
    auto const sink = [&d](std::string_view piece) {
      d.text.append(piece);
      d.biggest = std::max(d.biggest, piece.size());
    };
    if (step == 0) step = encoded.size() + 1;
    for (std::size_t at = 0; at < encoded.size(); at += step) dec.write(std::string_view(encoded).substr(at, step), sink);
    dec.finish();
  } catch (const netdemo::error& e) {
    d.code = static_cast<int>(netdemo::to_exit_code(e.code()));
    d.message = e.what();
  }
  return d;
}

using http::content_coding;

}  // namespace

TEST_CASE("content coding: Content-Encoding values", "[http][coding]") {
  auto const g = http::parse_content_encoding("gzip");
  REQUIRE(g);
  CHECK(*g == std::vector<content_coding>{content_coding::gzip});
  CHECK(*http::parse_content_encoding("X-GZip") == std::vector<content_coding>{content_coding::gzip});
  CHECK(*http::parse_content_encoding(" deflate , gzip ") ==
        std::vector<content_coding>{content_coding::deflate, content_coding::gzip});
  CHECK(http::parse_content_encoding("identity")->empty());
  CHECK(http::parse_content_encoding("")->empty());
  CHECK_FALSE(http::parse_content_encoding("br"));
  CHECK_FALSE(http::parse_content_encoding("gzip, zstd"));
  CHECK(http::parse_content_encoding("gzip,gzip,gzip,gzip,gzip")->size() == 5);  // see http_limits_test
}

TEST_CASE("content coding: gzip, zlib and raw deflate, split at every offset", "[http][coding]") {
  std::string const plain = sample(3000);
  struct form {
    const char* name;
    content_coding coding;
    std::string data;
  };
  std::vector<form> const forms{{"gzip", content_coding::gzip, gzip(plain)},
                                {"zlib deflate", content_coding::deflate, compress(plain, 15)},
                                {"raw deflate", content_coding::deflate, compress(plain, -15)}};
  for (const auto& f : forms) {
    INFO(f.name);
    auto whole = decode({f.coding}, f.data);
    INFO(whole.message);
    CHECK(whole.code == 0);
    CHECK(whole.text == plain);
    // Every first piece length (the deflate sniffing sees 1 byte, then the rest), and
    // small fixed steps.
    for (std::size_t cut = 1; cut < f.data.size(); ++cut) {
      decoded d;
      try {
        http::content_decoder dec({f.coding});
        auto const sink = [&d](std::string_view p) { d.text.append(p); };
        dec.write(std::string_view(f.data).substr(0, cut), sink);
        dec.write(std::string_view(f.data).substr(cut), sink);
        dec.finish();
      } catch (const netdemo::error& e) {
        d.message = e.what();
      }
      if (d.text != plain || !d.message.empty()) {
        FAIL("split at " << cut << ": " << d.message);
      }
    }
    for (std::size_t step : {1, 2, 3, 7, 100}) {
      auto d = decode({f.coding}, f.data, step);
      CHECK(d.code == 0);
      CHECK(d.text == plain);
    }
  }
}

TEST_CASE("content coding: several gzip members are one body; stacked codings", "[http][coding]") {
  auto d = decode({content_coding::gzip}, gzip("first ") + gzip("second"), 5);
  CHECK(d.code == 0);
  CHECK(d.text == "first second");
  // "Content-Encoding: deflate, gzip": deflate applied first, so gzip is undone first.
  std::string const plain = sample(5000, 7);
  auto s = decode({content_coding::deflate, content_coding::gzip}, gzip(compress(plain, 15)), 333);
  INFO(s.message);
  CHECK(s.code == 0);
  CHECK(s.text == plain);
}

TEST_CASE("content coding: corrupt and cut-short data give 8", "[http][coding]") {
  std::string const plain = sample(20000, 3);
  std::string const gz = gzip(plain);
  SECTION("not gzip at all") {
    auto d = decode({content_coding::gzip}, "this is not gzip data at all");
    CHECK(d.code == 8);
    CHECK(d.message.find("the gzip data in the body is corrupt") != std::string::npos);
  }
  SECTION("a flipped byte in the middle") {
    std::string bad = gz;
    bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x55);
    auto d = decode({content_coding::gzip}, bad, 1000);
    CHECK(d.code == 8);
  }
  SECTION("a wrong CRC") {
    std::string bad = gz;
    bad[bad.size() - 6] = static_cast<char>(bad[bad.size() - 6] ^ 1);
    auto d = decode({content_coding::gzip}, bad);
    CHECK(d.code == 8);
    // What was decoded before the error reached the sink (it is kept as NAME.part).
    CHECK(d.text == plain);
  }
  SECTION("cut short") {
    auto d = decode({content_coding::gzip}, gz.substr(0, gz.size() - 10), 512);
    CHECK(d.code == 8);
    CHECK(d.message.find("stops before its end") != std::string::npos);
    auto one = decode({content_coding::deflate}, compress(plain, 15).substr(0, 1));
    CHECK(one.code == 8);
  }
  SECTION("an empty body is empty, not an error") {
    auto d = decode({content_coding::gzip}, "");
    CHECK(d.code == 0);
    CHECK(d.text.empty());
  }
}

TEST_CASE("content coding: a large body decodes in bounded pieces", "[http][coding]") {
  // 8 MiB of zeros compresses about 1000:1: the output still comes 64 KiB at a time.
  std::string const plain(8 * 1024 * 1024, '\0');
  std::string const gz = gzip(plain);
  CHECK(gz.size() < 64 * 1024);
  auto d = decode({content_coding::gzip}, gz, 4096);
  CHECK(d.code == 0);
  CHECK(d.text.size() == plain.size());
  CHECK(d.text == plain);
  CHECK(d.biggest <= 64 * 1024);
}
