#include "netdemo/net/resolve.hpp"

#include <catch2/catch.hpp>
