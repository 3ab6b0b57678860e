#include "netdemo/net/resolve.hpp"
