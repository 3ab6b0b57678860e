// resolve and info: the socket utility functions of the seed tutorials.
#include "cli.hpp"

namespace netdemo::cli {

int resolve(const std::vector<std::string>&) {
  throw error(exit_code::failure, "not implemented yet");
}

int info(const std::vector<std::string>&) {
  throw error(exit_code::failure, "not implemented yet");
}

}  // namespace netdemo::cli
