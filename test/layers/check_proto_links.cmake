# Fails if netdemo::proto's link interface names a dependency (Boost, threads, zlib, OpenSSL,
# libdl): a program using only the sans-I/O layer must not get them.
file(READ ${FILE} interface)
string(STRIP "${interface}" interface)
if(interface MATCHES "Boost|Threads|pthread|ZLIB|OpenSSL|ssl|crypto|dl")
  message(FATAL_ERROR "netdemo::proto links more than the C++ standard library: ${interface}")
endif()
message(STATUS "netdemo::proto link interface: '${interface}'")
