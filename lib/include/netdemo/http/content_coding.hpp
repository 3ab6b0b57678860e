// Content-Encoding for the HTTP client (`--compressed`): gzip and deflate bodies decoded
// with zlib as they stream in, in bounded memory. Sans-I/O: bytes in, bytes out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace netdemo::http {

/// A content coding netdemo can undo.
enum class content_coding {
  gzip,     ///< RFC 1952 (also "x-gzip"); several members in a row are one body
  deflate,  ///< RFC 1950 zlib data; raw RFC 1951 data is accepted too, as browsers do
};

/// The most codings a Content-Encoding value may name, as curl (MAX_ENCODE_STACK): each
/// stacked coding multiplies the work and the output of a few bytes of input.
constexpr std::size_t max_content_codings = 5;

/// The codings named by a Content-Encoding value ("gzip", "deflate, gzip"), in the order
/// they were applied; "identity" entries are dropped. nullopt when a coding is unknown
/// ("br", "zstd", ...). Throws netdemo::error(malformed_reply) when the value names more
/// than max_content_codings codings (identity and unknown ones counted, as curl does).
std::optional<std::vector<content_coding>> parse_content_encoding(std::string_view value);

/// Undoes a stack of codings on a body that arrives in pieces. Each stage owns one zlib
/// stream and one 64 KiB output array, so memory stays bounded whatever the body's size.
///
/// Corrupt data throws netdemo::error(malformed_reply) ("the gzip data in the body is
/// corrupt: ..."); out of memory throws netdemo::error(failure).
class content_decoder {
 public:
  /// Receives decoded bytes, at most 64 KiB at a time.
  using sink = std::function<void(std::string_view)>;

  /// `codings` in the order they were applied (as parse_content_encoding returns them).
  explicit content_decoder(std::vector<content_coding> codings);
  ~content_decoder();
  content_decoder(const content_decoder&) = delete;
  content_decoder& operator=(const content_decoder&) = delete;

  /// Decodes the next piece of the body.
  void write(std::string_view encoded, const sink& out);
  /// The body ended. Throws netdemo::error(malformed_reply) when the compressed data
  /// stopped before its end. A body of zero bytes is an empty body, not an error.
  void finish();

  /// Encoded bytes taken so far.
  std::uint64_t bytes_in() const noexcept { return in_; }
  /// Decoded bytes given to the sink so far.
  std::uint64_t bytes_out() const noexcept { return out_; }

 private:
  struct stage;
  void feed(std::size_t index, std::string_view data, const sink& out);

  std::vector<std::unique_ptr<stage>> stages_;  // stages_[0] undoes the last coding applied
  std::uint64_t in_ = 0;
  std::uint64_t out_ = 0;
};

}  // namespace netdemo::http
