// Name resolution helpers (getaddrinfo / getnameinfo) for `netdemo resolve` and `info`.
#pragma once

namespace netdemo::net {}  // namespace netdemo::net
