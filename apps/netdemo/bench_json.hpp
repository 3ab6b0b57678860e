// bench --json: the one JSON object of a run.
#pragma once

#include <string>
#include <string_view>

#include "netdemo/bench/load.hpp"

namespace netdemo::cli {

/// `v` with `decimals` digits after the point ("12.30"), as the report and the JSON show it.
std::string fixed(double v, int decimals);

/// The --json line of a run (with its '\n'): `mode` ("tcp", "udp", "stream"), the options
/// it ran with and its result. Strings are escaped by Boost.JSON, so UTF-8 stays UTF-8.
std::string bench_json(std::string_view mode, const bench::options& o, const bench::result& r);

}  // namespace netdemo::cli
