#include "netdemo/proto/protocols.hpp"

namespace netdemo::proto {

void hello_protocol::on_message(std::string_view msg, std::string& out) const {
  out.append("Hello, ");
  out.append(msg);
  out.push_back('!');
}

void upper_protocol::on_message(std::string_view msg, std::string& out) const {
  std::size_t const start = out.size();
  out.append(msg);
  for (std::size_t i = start; i < out.size(); ++i) {
    char& c = out[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
}

}  // namespace netdemo::proto
