#include "netdemo/http/content_coding.hpp"

#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "netdemo/proto/error.hpp"

namespace netdemo::http {

namespace {

constexpr std::size_t out_size = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const char* name_of(content_coding c) { return c == content_coding::gzip ? "gzip" : "deflate"; }

}  // namespace

std::optional<std::vector<content_coding>> parse_content_encoding(std::string_view value) {
  std::vector<content_coding> out;
  bool known = true;
  std::size_t named = 0;
  for (;;) {
    auto const comma = value.find(',');
    auto const item = trim(value.substr(0, comma));
    if (!item.empty() && ++named > max_content_codings) {
      throw error(errc::malformed_reply,
                  "the response names more than " + std::to_string(max_content_codings) +
                      " content codings (Content-Encoding)");
    }
    if (iequals(item, "gzip") || iequals(item, "x-gzip")) {
      out.push_back(content_coding::gzip);
    } else if (iequals(item, "deflate")) {
      out.push_back(content_coding::deflate);
    } else if (!item.empty() && !iequals(item, "identity")) {
      known = false;  // the count still goes on: "br, gzip x 9" is refused too
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  if (!known) return std::nullopt;
  return out;
}

/// One zlib inflate stream. z_stream points into itself, so a stage never moves.
struct content_decoder::stage {
  explicit stage(content_coding c) : coding(c), buf(new unsigned char[out_size]) {}
  ~stage() {
    if (started) inflateEnd(&zs);
  }
  stage(const stage&) = delete;
  stage& operator=(const stage&) = delete;

  [[noreturn]] void corrupt(int rc) const {
    std::string why = zs.msg != nullptr ? zs.msg : (rc == Z_NEED_DICT ? "needs a preset dictionary" : zError(rc));
    throw error(errc::malformed_reply,
                std::string("the ") + name_of(coding) + " data in the body is corrupt: " + why);
  }

  void start(int window_bits) {
    int const rc = inflateInit2(&zs, window_bits);
    if (rc != Z_OK) throw error(errc::decoder_failed, std::string("cannot start zlib: ") + zError(rc));
    started = true;
  }

  /// Decodes `in`, handing every filled piece of output to `out`.
  template <class Out>
  void write(std::string_view in, const Out& out) {
    if (in.empty()) return;
    seen_input = true;
    if (!started) {
      if (coding == content_coding::gzip) {
        start(16 + MAX_WBITS);  // gzip wrapper only
      } else {
        // "deflate" should be zlib data (RFC 9110 8.4.1.2), but some servers send raw
        // deflate. A zlib header is two bytes: method 8, window <= 32 KiB, and a check
        // value making the pair a multiple of 31. Decide on those two bytes.
        held.append(in);
        if (held.size() < 2) return;
        auto const b0 = static_cast<unsigned char>(held[0]);
        auto const b1 = static_cast<unsigned char>(held[1]);
        bool const zlib_header = (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((b0 << 8) | b1) % 31 == 0;
        start(zlib_header ? MAX_WBITS : -MAX_WBITS);
        std::string const first = std::move(held);
        held.clear();
        inflate_some(first, out);
        return;
      }
    }
    inflate_some(in, out);
  }

  template <class Out>
  void inflate_some(std::string_view in, const Out& out) {
    zs.next_in = reinterpret_cast<const Bytef*>(in.data());
    zs.avail_in = static_cast<uInt>(in.size());
    while (zs.avail_in > 0) {
      if (ended) {
        // gzip: another member may follow (`cat a.gz b.gz`). deflate: ignore trailing bytes.
        if (coding != content_coding::gzip) return;
        inflateReset(&zs);
        ended = false;
      }
      zs.next_out = buf.get();
      zs.avail_out = static_cast<uInt>(out_size);
      int const rc = inflate(&zs, Z_NO_FLUSH);
      std::size_t const produced = out_size - zs.avail_out;
      // What came before corrupt data is handed on first: the part decoded so far is kept.
      if (produced > 0) out(std::string_view(reinterpret_cast<const char*>(buf.get()), produced));
      if (rc == Z_STREAM_END) {
        ended = true;
      } else if (rc == Z_BUF_ERROR) {
        // No progress possible: needs more input (avail_in is 0 then).
      } else if (rc == Z_MEM_ERROR) {
        throw error(errc::decoder_failed, "zlib ran out of memory");
      } else if (rc != Z_OK) {
        corrupt(rc);
      }
      if (rc == Z_BUF_ERROR) break;
    }
    // Output zlib still holds because the array was full: drain it.
    while (!ended && zs.avail_out == 0) {
      zs.next_out = buf.get();
      zs.avail_out = static_cast<uInt>(out_size);
      int const rc = inflate(&zs, Z_NO_FLUSH);
      std::size_t const produced = out_size - zs.avail_out;
      if (produced > 0) out(std::string_view(reinterpret_cast<const char*>(buf.get()), produced));
      if (rc == Z_STREAM_END) ended = true;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) corrupt(rc);
      if (rc == Z_BUF_ERROR) break;
    }
  }

  void finish() const {
    if (seen_input && !ended) {
      throw error(errc::malformed_reply,
                  std::string("the ") + name_of(coding) + " data in the body stops before its end (cut short, or corrupt)");
    }
  }

  content_coding coding;
  z_stream zs{};
  bool started = false;
  bool ended = false;
  bool seen_input = false;
  std::string held;  // deflate: the first byte, until the second says zlib or raw
  std::unique_ptr<unsigned char[]> buf;
};

content_decoder::content_decoder(std::vector<content_coding> codings) {
  // The last coding applied is undone first.
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    stages_.push_back(std::make_unique<stage>(*it));
  }
}

content_decoder::~content_decoder() = default;

void content_decoder::write(std::string_view encoded, const sink& out) {
  in_ += encoded.size();
  feed(0, encoded, out);
}

void content_decoder::feed(std::size_t index, std::string_view data, const sink& out) {
  if (index == stages_.size()) {
    out_ += data.size();
    out(data);
    return;
  }
  stages_[index]->write(data, [&](std::string_view piece) { feed(index + 1, piece, out); });
}

void content_decoder::finish() {
  for (const auto& s : stages_) s->finish();
}

}  // namespace netdemo::http
