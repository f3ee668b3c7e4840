// Heap allocations per request through the filesystem core, counted on the
// calling thread by interposing malloc and its relatives (libstdc++'s
// operator new and SQLite both allocate through malloc). In steady state a
// getattr, a hot read, a cold read that hits the frame cache, one that
// misses it (and evicts), a sequential cold read that queues frames for the
// decode-ahead workers, and a write perform none: their buffers come from
// the pools sized at mount, and the pools never fall back to the heap under
// the default sizes. (The workers' own decoding is theirs, not the
// request's.) Built without sanitizers only (they own malloc).
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/temp_dir.h"
#include "fusefs/control/control.h"
#include "fusefs/core/filesystem.h"

extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* __libc_memalign(size_t, size_t);

namespace {
thread_local uint64_t t_allocations = 0;  // initial-exec TLS: no allocation of its own
}  // namespace

extern "C" {
void* malloc(size_t n) {
  ++t_allocations;
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  ++t_allocations;
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  ++t_allocations;
  return __libc_realloc(p, n);
}
int posix_memalign(void** p, size_t alignment, size_t n) {
  ++t_allocations;
  *p = __libc_memalign(alignment, n);
  return *p != nullptr ? 0 : ENOMEM;
}
void* aligned_alloc(size_t alignment, size_t n) {
  ++t_allocations;
  return __libc_memalign(alignment, n);
}
}

namespace tierfs {
namespace {

constexpr uint64_t kChunk = 1 << 20;  // four 256 KiB frames per cold object
constexpr uint64_t kFrame = 256 << 10;
constexpr uint64_t kColdFrames = 32;  // 8 objects
constexpr uint64_t kFramesPerChunk = kChunk / kFrame;

// The k-th frame of an order in which no object's frames are ever read
// in sequence (each object backwards, the objects taken in turn), so that no
// read queues frames for the decode-ahead workers.
uint64_t Scattered(uint64_t k) {
  const uint64_t objects = kColdFrames / kFramesPerChunk;
  return k % objects * kFramesPerChunk + (kFramesPerChunk - 1 - k / objects);
}

// Compressible, so that cold frames go through zstd.
std::vector<std::byte> Text(size_t n, unsigned seed) {
  std::vector<std::byte> out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = std::byte("tierfs cold frame "[(i + seed) % 18] ^ (i >> 12));
  return out;
}

class AllocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MountConfig c;  // default buffer pool
    c.store_dir = dir_.path() + "/store";
    c.chunk_size = kChunk;
    c.cache_size = 16 * kFrame;  // half the cold file: misses evict
    c.policy.cold_after_ns = -1;
    c.policy.promote_reads = 0;
    auto fs = Filesystem::Open(c, Env::Default());
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(fs).value();
    hot_ = NewFile("hot", Text(kChunk, 1));
    cold_ = NewFile("cold", Text(kColdFrames * kFrame, 2));
    ASSERT_TRUE(Control(*fs_).Migrate(cold_, Tier::kCold).ok());
  }
  uint64_t NewFile(const std::string& name, const std::vector<std::byte>& data) {
    auto st = fs_->Create(kRootIno, name, 0644, Caller{});
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_TRUE(fs_->Write(st->st_ino, 0, data).ok());
    return st->st_ino;
  }
  // Allocations made by one request; fails the test when the request does.
  template <class F>
  uint64_t Allocations(F&& request) {
    const uint64_t before = t_allocations;
    EXPECT_TRUE(request());
    return t_allocations - before;
  }
  bool ReadOk(uint64_t ino, uint64_t off, size_t len) {
    auto r = fs_->Read(ino, off, len);
    return r.ok() && r->total == len;
  }
  FrameCacheStats Cache() { return fs_->store().stats().cache; }

  test::TempDir dir_;
  std::unique_ptr<Filesystem> fs_;
  uint64_t hot_ = 0, cold_ = 0;
};

TEST_F(AllocTest, SteadyStateRequestsAllocateNothing) {
  std::vector<std::byte> block = Text(4096, 3);
  auto getattr = [&](uint64_t ino) { return fs_->GetAttr(ino).ok(); };
  auto write = [&](uint64_t off) {
    auto n = fs_->Write(hot_, off, block);
    return n.ok() && *n == block.size();
  };
  // Warm-up: the first of each request opens files, fills the caches and
  // grows the pools' free lists to their working size.
  for (int pass = 0; pass < 2; ++pass) {
    ASSERT_TRUE(getattr(hot_) && getattr(cold_) && write(0) && ReadOk(hot_, 0, 128 << 10));
    for (uint64_t k = 0; k < kColdFrames; ++k)
      ASSERT_TRUE(ReadOk(cold_, Scattered(k) * kFrame, 4096));
  }
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(Allocations([&] { return getattr(hot_); }), 0u) << "getattr";
    EXPECT_EQ(Allocations([&] { return ReadOk(hot_, 8192 * round, 128 << 10); }), 0u) << "hot read";
    EXPECT_EQ(Allocations([&] { return write(4096 * round); }), 0u) << "write";
    for (uint64_t k = 0; k < kColdFrames; ++k) {
      // Scattered (no decode-ahead), through an LRU of half of them: each
      // first read misses.
      const uint64_t f = Scattered(k);
      const uint64_t misses = Cache().misses, hits = Cache().hits;
      EXPECT_EQ(Allocations([&] { return ReadOk(cold_, f * kFrame + 100, 4096); }), 0u)
          << "cold read, frame cache miss, frame " << f;
      EXPECT_EQ(Cache().misses, misses + 1);
      EXPECT_EQ(Allocations([&] { return ReadOk(cold_, f * kFrame + 8192, 4096); }), 0u)
          << "cold read, frame cache hit, frame " << f;
      EXPECT_EQ(Cache().hits, hits + 1);
    }
  }
  // Last (the workers then fill the cache behind the counts above): in order.
  for (uint64_t f = 0; f < kColdFrames; ++f) {
    EXPECT_EQ(Allocations([&] { return ReadOk(cold_, f * kFrame, 4096); }), 0u)
        << "sequential cold read, frame " << f;
  }
  for (int i = 0; i < 1000 && fs_->store().stats().frames_decoded_ahead == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // until the workers ran
  }
  EXPECT_GT(fs_->store().stats().frames_decoded_ahead, 0u);
  EXPECT_GT(Cache().evictions, 0u);
  EXPECT_EQ(fs_->store().stats().pool.overflow_allocations, 0u);
}

}  // namespace
}  // namespace tierfs
