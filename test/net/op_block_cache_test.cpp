#include "netdemo/net/detail/session_task.hpp"

#include <cstring>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using netdemo::net::detail::op_block_cache;

TEST_CASE("op_block_cache reuses a block for a request of the same size class", "[pool]") {
  void* const a = op_block_cache::allocate(100);  // class 7: 104-byte blocks
  std::memset(a, 0xab, 100);
  op_block_cache::deallocate(a, 100);
  void* const b = op_block_cache::allocate(104);  // same class
  CHECK(b == a);
  std::memset(b, 0xcd, 104);  // the whole request fits
  op_block_cache::deallocate(b, 104);

  void* const c = op_block_cache::allocate(105);  // the next class: not the same block
  CHECK(c != a);
  std::memset(c, 0xef, 105);
  op_block_cache::deallocate(c, 105);
}

TEST_CASE("op_block_cache keeps blocks per thread and passes large ones to the heap", "[pool]") {
  void* const big = op_block_cache::allocate(4096);  // over the largest class
  std::memset(big, 1, 4096);
  op_block_cache::deallocate(big, 4096);

  void* mine = op_block_cache::allocate(64);
  op_block_cache::deallocate(mine, 64);
  void* theirs = nullptr;
  std::thread([&] {
    theirs = op_block_cache::allocate(64);  // another thread's list is empty
    op_block_cache::deallocate(theirs, 64);
  }).join();  // its list is freed when it exits
  CHECK(theirs != mine);
  CHECK(op_block_cache::allocate(64) == mine);  // still on this thread's list
  op_block_cache::deallocate(mine, 64);
}

TEST_CASE("op_block_cache keeps at most `keep` blocks of a class", "[pool]") {
  // On a new thread, whose lists start empty whatever ran before on this one.
  std::thread([] {
    std::vector<void*> blocks;
    for (std::size_t i = 0; i < op_block_cache::keep + 10; ++i) blocks.push_back(op_block_cache::allocate(200));
    for (void* p : blocks) op_block_cache::deallocate(p, 200);
    // The first `keep` came back to the list (last in, first out); the rest went to free.
    for (std::size_t i = 0; i < op_block_cache::keep; ++i) {
      void* const p = op_block_cache::allocate(200);
      CHECK(p == blocks[op_block_cache::keep - 1 - i]);
      blocks[op_block_cache::keep - 1 - i] = p;
    }
    for (std::size_t i = 0; i < op_block_cache::keep; ++i) op_block_cache::deallocate(blocks[i], 200);
  }).join();
}
