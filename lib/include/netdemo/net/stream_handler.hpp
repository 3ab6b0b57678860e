// What a stream server asks of the role it serves (see proto/handlers.hpp).
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

#include "netdemo/proto/handlers.hpp"

namespace netdemo::net {

/// What a stream session handler must offer (see proto/handlers.hpp). Each session owns
/// a copy and calls it on the server's executor only.
template <class H>
concept stream_handler = std::copy_constructible<H> &&
    requires(H& h, const H& ch, std::string_view in, std::string& out, std::size_t budget) {
      ch.greet(out);
      { h.on_bytes(in, out, budget) } -> std::same_as<proto::verdict>;
      { h.on_pause(out) } -> std::same_as<proto::verdict>;
      { ch.wants_pause() } -> std::convertible_to<bool>;
    };

/// A handler whose reply is always its input (echo): the server sends the input itself.
template <class H>
concept replies_with_input = H::replies_with_input;

}  // namespace netdemo::net
