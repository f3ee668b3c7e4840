// BufferPool: classes, alignment, reuse, overflow fallback, thread safety.
#include "store/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <thread>

namespace tierfs {
namespace {

TEST(BufferPoolTest, LeasesAreAlignedAndFromTheSmallestFittingClass) {
  BufferPool pool({{64 << 10, 2}, {256 << 10, 2}});
  EXPECT_EQ(pool.stats().bytes_preallocated, 2u * (64 << 10) + 2u * (256 << 10));
  BufferLease a = pool.Lease(1000).value();
  EXPECT_EQ(a.capacity(), 64u << 10);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % kBufferAlign, 0u);
  BufferLease b = pool.Lease(100 << 10).value();
  EXPECT_EQ(b.capacity(), 256u << 10);
  EXPECT_TRUE(a.pooled());
  EXPECT_TRUE(b.pooled());
  EXPECT_EQ(pool.stats().in_use, 2u);
}

TEST(BufferPoolTest, ReturnedBuffersAreReused) {
  BufferPool pool({{4096, 1}});
  std::byte* first;
  {
    BufferLease a = pool.Lease(4096).value();
    first = a.data();
  }
  BufferLease b = pool.Lease(10).value();
  EXPECT_EQ(b.data(), first);
  EXPECT_EQ(pool.stats().pool_hits, 2u);
  EXPECT_EQ(pool.stats().overflow_allocations, 0u);
}

TEST(BufferPoolTest, ExhaustionFallsBackToCountedHeapAllocation) {
  BufferPool pool({{4096, 1}, {8192, 1}});
  BufferLease a = pool.Lease(4096).value();
  BufferLease b = pool.Lease(4096).value();  // smallest class taken: next larger one
  EXPECT_EQ(b.capacity(), 8192u);
  BufferLease c = pool.Lease(4096).value();  // all taken: heap
  EXPECT_FALSE(c.pooled());
  EXPECT_GE(c.capacity(), 4096u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c.data()) % kBufferAlign, 0u);
  BufferLease big = pool.Lease(1 << 20).value();  // larger than any class: heap
  EXPECT_FALSE(big.pooled());
  EXPECT_EQ(pool.stats().overflow_allocations, 2u);
  EXPECT_EQ(pool.stats().leases, 4u);
}

TEST(BufferPoolTest, MovedLeaseReturnsOnce) {
  BufferPool pool({{4096, 1}});
  {
    BufferLease a = pool.Lease(1).value();
    BufferLease b = std::move(a);
    EXPECT_FALSE(a);
    EXPECT_TRUE(b);
    a = std::move(b);
  }
  EXPECT_EQ(pool.stats().in_use, 0u);
  BufferLease again = pool.Lease(1).value();
  EXPECT_TRUE(again.pooled());
}

TEST(BufferPoolTest, SplitBudgetGivesEachSizeAShare) {
  auto classes = BufferPool::SplitBudget(8 << 20, {256 << 10, 1 << 20, 256 << 10});
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_EQ(classes[0].buffer_size, 256u << 10);
  EXPECT_EQ(classes[0].count, 16u);
  EXPECT_EQ(classes[1].buffer_size, 1u << 20);
  EXPECT_EQ(classes[1].count, 4u);
}

TEST(BufferPoolTest, ConcurrentLeasesNeverShareABuffer) {
  BufferPool pool({{4096, 8}});
  std::vector<std::thread> threads;
  std::atomic<int> clashes{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        BufferLease l = pool.Lease(4096).value();
        auto* p = reinterpret_cast<volatile int*>(l.data());
        *p = t;
        std::this_thread::yield();
        if (*p != t) ++clashes;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(clashes.load(), 0);
  EXPECT_EQ(pool.stats().in_use, 0u);
  EXPECT_EQ(pool.stats().leases, 8000u);
}

TEST(BufferPoolTest, FailedHeapFallbackIsNoMemoryNotAnException) {
  // Heap fallbacks limited to 64 KiB: the allocator "cannot" give more.
  BufferPool pool({{4096, 1}}, 64 << 10);
  BufferLease a = pool.Lease(4096).value();
  Result<BufferLease> big = Status::IOError("not run");
  EXPECT_NO_THROW(big = pool.Lease(128 << 10));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kNoMemory);
  EXPECT_EQ(pool.stats().failed_allocations, 1u);
  // Within the limit the fallback still works.
  auto small = pool.Lease(32 << 10);
  ASSERT_TRUE(small.ok());
  EXPECT_FALSE(small->pooled());
  // A request the heap can never give is refused the same way.
  BufferPool unlimited({{4096, 1}}, SIZE_MAX);
  Result<BufferLease> absurd = Status::IOError("not run");
  EXPECT_NO_THROW(absurd = unlimited.Lease(SIZE_MAX - 100));
  EXPECT_EQ(absurd.status().code(), Code::kNoMemory);
  EXPECT_TRUE(pool.status().ok());
}

}  // namespace
}  // namespace tierfs
