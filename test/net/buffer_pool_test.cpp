#include "netdemo/net/detail/buffer_pool.hpp"

#include <catch2/catch.hpp>

using netdemo::net::detail::buffer_pool;

TEST_CASE("buffer_pool lends at most its maximum and reuses what comes back", "[pool]") {
  buffer_pool pool(1024, 2);
  auto a = pool.take();
  auto b = pool.take();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.get() != b.get());
  CHECK_FALSE(pool.take());  // both lent: the third borrower goes without
  CHECK(pool.lent() == 2);

  char* const first = a.get();
  pool.give_back(a);
  CHECK_FALSE(a);
  CHECK(pool.lent() == 1);
  auto c = pool.take();
  CHECK(c.get() == first);  // the same buffer again, no new allocation

  buffer_pool::buffer none;
  pool.give_back(none);  // giving back nothing changes nothing
  CHECK(pool.lent() == 2);
  CHECK_FALSE(pool.take());
}
