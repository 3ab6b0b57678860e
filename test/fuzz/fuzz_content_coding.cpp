// Content decoding (--compressed), checked against zlib.
//
// Two halves, chosen by the first byte:
// * round trip: a fuzzed plain text is compressed by zlib itself with one or two stacked
//   codings (gzip, zlib "deflate", raw deflate, gzip members in a row), then decoded in
//   fuzzed pieces: the output must be the plain text exactly, with no error;
// * hostile bytes: a fuzzed body and Content-Encoding value, decoded in fuzzed pieces and
//   again in one piece: both must agree (same output, same success), and the only error
//   allowed is netdemo::error with exit code 8 (malformed reply). For one gzip coding, a
//   success must also be what zlib's own one-shot inflate gives.
// The output is counted, not kept past 1 MiB, and cut at 64 MiB (a bomb is not a failure
// of the decoder, whose caps are the HTTP client's business).
#include <fuzzer/FuzzedDataProvider.h>

#define ZLIB_CONST
#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "netdemo/proto/error.hpp"
#include "netdemo/http/content_coding.hpp"

using fuzz_support::check;
using netdemo::http::content_coding;
using netdemo::http::content_decoder;

namespace {

struct too_much {};

struct result {
  bool ok = false;
  std::string out;  // the first 1 MiB
  std::uint64_t size = 0;
  std::string error;
};

result decode(const std::vector<content_coding>& codings, std::string_view body,
              const std::vector<std::size_t>& cuts) {
  result r;
  try {
    content_decoder d(codings);
    auto sink = [&](std::string_view piece) {
      check(piece.size() <= 64 * 1024, "the decoder gave the sink more than 64 KiB at once");
      r.size += piece.size();
      if (r.out.size() < (1u << 20)) r.out.append(piece.substr(0, (1u << 20) - r.out.size()));
      if (r.size > (64u << 20)) throw too_much{};
    };
    std::size_t from = 0;
    for (std::size_t cut : cuts) {
      cut = std::min(cut, body.size());
      if (cut < from) continue;
      d.write(body.substr(from, cut - from), sink);
      from = cut;
    }
    d.write(body.substr(from), sink);
    d.finish();
    check(d.bytes_in() == body.size(), "bytes_in() is not the body's size");
    check(d.bytes_out() == r.size, "bytes_out() is not what the sink received");
    r.ok = true;
  } catch (const netdemo::error& e) {
    check(e.code() == netdemo::errc::malformed_reply, "a decoding error that is not exit 8", e.what());
    r.error = e.what();
  } catch (const too_much&) {
    r.ok = true;
    r.error = "cut";
  }
  return r;
}

/// zlib's deflate with `window_bits` (15 zlib, -15 raw, 31 gzip).
std::string compress(std::string_view in, int window_bits, int level) {
  z_stream zs{};
  check(deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK, "deflateInit2");
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<const Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  check(deflate(&zs, Z_FINISH) == Z_STREAM_END, "deflate did not finish");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

/// zlib's inflate over the whole body at once, for gzip members in a row.
std::optional<std::string> reference_gunzip(std::string_view in) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return std::nullopt;
  std::string out;
  char buf[16384];
  zs.next_in = reinterpret_cast<const Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  bool ended = in.empty();
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    int const rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > (1u << 20)) break;
    if (rc == Z_STREAM_END) {
      ended = true;
      if (zs.avail_in == 0) break;
      inflateReset(&zs);
      ended = false;
      continue;
    }
    if (rc != Z_OK) break;
    if (zs.avail_in == 0 && zs.avail_out != 0) break;
  }
  inflateEnd(&zs);
  if (!ended) return std::nullopt;
  return out;
}

std::vector<std::size_t> consume_cuts(FuzzedDataProvider& in) {
  std::vector<std::size_t> cuts;
  std::size_t at = 0;
  for (int n = in.ConsumeIntegralInRange(0, 8); n > 0; --n) {
    at += in.ConsumeIntegralInRange<std::size_t>(0, 300);
    cuts.push_back(at);
  }
  return cuts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    // Round trip through zlib.
    std::vector<content_coding> codings;
    std::string body = in.ConsumeRandomLengthString(4096);
    std::string const plain = body;
    int const layers = in.ConsumeIntegralInRange(1, 2);
    for (int i = 0; i < layers; ++i) {
      int const level = in.ConsumeIntegralInRange(0, 9);
      switch (in.ConsumeIntegralInRange(0, 3)) {
        case 0: body = compress(body, 16 + MAX_WBITS, level); codings.push_back(content_coding::gzip); break;
        case 1: body = compress(body, MAX_WBITS, level); codings.push_back(content_coding::deflate); break;
        case 2: body = compress(body, -MAX_WBITS, level); codings.push_back(content_coding::deflate); break;
        default: {
          // Two gzip members in a row are one body (`cat a.gz b.gz`).
          std::size_t const half = body.size() / 2;
          body = compress(body.substr(0, half), 16 + MAX_WBITS, level) +
                 compress(body.substr(half), 16 + MAX_WBITS, level);
          codings.push_back(content_coding::gzip);
        }
      }
    }
    auto const r = decode(codings, body, consume_cuts(in));
    check(r.ok && r.error.empty(), "zlib's own output did not decode", r.error);
    check(r.out == plain, "decoded output differs from the plain text", r.out);
    return 0;
  }
  // Hostile bytes.
  std::string const encoding = in.ConsumeRandomLengthString(40);
  std::optional<std::vector<content_coding>> codings;
  try {
    codings = netdemo::http::parse_content_encoding(encoding);
  } catch (const netdemo::error& e) {
    // More than 5 named codings: refused as a malformed reply (issue 11), never decoded.
    check(e.code() == netdemo::errc::malformed_reply, "too many codings is not exit 8", e.what());
    return 0;
  }
  if (!codings) return 0;
  check(codings->size() <= 5, "more stacked codings accepted than the cap", encoding);
  auto const cuts = consume_cuts(in);
  std::string const body = in.ConsumeRemainingBytesAsString();
  auto const pieces = decode(*codings, body, cuts);
  auto const whole = decode(*codings, body, {});
  check(pieces.ok == whole.ok, "success depends on where the body was cut", pieces.error + " | " + whole.error);
  if (whole.ok) {
    // Past the 64 MiB cut the two runs stop at different points; before it, they agree.
    check(pieces.out == whole.out, "output depends on where the body was cut");
    check(pieces.size == whole.size || whole.error == "cut", "output size depends on where the body was cut");
  }
  if (whole.ok && whole.error.empty() && codings->size() == 1 && codings->front() == content_coding::gzip) {
    auto const ref = reference_gunzip(body);
    check(ref.has_value(), "decoded a gzip body that zlib rejects");
    check(*ref == whole.out.substr(0, ref->size()) && (ref->size() >= (1u << 20) || *ref == whole.out),
          "gzip output differs from zlib's");
  }
  return 0;
}
