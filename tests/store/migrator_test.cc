// Migrator against a real store: idle objects go cold in the background,
// pinned groups stay hot, frequently read cold objects come back hot, and
// the rate limit spaces moves out.
#include "store/migrator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "store/test_util.h"

namespace tierfs {
namespace {

using test::TempDir;
using test::TextBytes;

StoreOptions Options() { return test::TestStoreOptions(64 << 10, 1 << 20); }

TEST(MigratorTest, BackgroundThreadDemotesIdleObjectsButNotPinnedOnes) {
  TempDir dir;
  auto s = ObjectStore::Open(Env::Default(), dir.path() + "/s", Options());
  ASSERT_TRUE(s.ok());
  ObjectStore& store = **s;
  auto data = TextBytes(100000, 1);
  ASSERT_TRUE(store.Write({1, 0}, 0, data).ok());
  ASSERT_TRUE(store.Write({2, 0}, 0, data).ok());
  PolicyConfig c;
  c.cold_after_ns = 0;
  store.SetPinned(2, true);
  Migrator m(&store, c, MigratorOptions{.interval_ms = 20});
  m.Start();
  for (int i = 0; i < 500 && store.Stat({1, 0})->tier != Tier::kCold; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  m.Stop();
  EXPECT_EQ(store.Stat({1, 0})->tier, Tier::kCold);
  EXPECT_EQ(store.Stat({2, 0})->tier, Tier::kHot);
  MigratorStats st = m.stats();
  EXPECT_GE(st.passes, 1u);
  EXPECT_EQ(st.demoted, 1u);
  EXPECT_EQ(st.errors, 0u);
  EXPECT_GT(st.last_pass_ns, 0);
}

TEST(MigratorTest, RepeatedReadsPromote) {
  TempDir dir;
  auto s = ObjectStore::Open(Env::Default(), dir.path() + "/s", Options());
  ASSERT_TRUE(s.ok());
  ObjectStore& store = **s;
  auto data = TextBytes(100000, 2);
  ASSERT_TRUE(store.Write({1, 0}, 0, data).ok());
  ASSERT_TRUE(store.Demote({1, 0}).ok());
  PolicyConfig c;
  c.cold_after_ns = -1;
  c.promote_reads = 3;
  Migrator m(&store, c, MigratorOptions{});
  std::vector<std::byte> buf(100);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(store.Read({1, 0}, 0, buf).ok());
  m.RunOnce();
  EXPECT_EQ(store.Stat({1, 0})->tier, Tier::kCold);
  ASSERT_TRUE(store.Read({1, 0}, 0, buf).ok());
  m.RunOnce();
  EXPECT_EQ(store.Stat({1, 0})->tier, Tier::kHot);
  EXPECT_EQ(m.stats().promoted, 1u);
}

TEST(MigratorTest, RateLimitSpacesMovesOut) {
  TempDir dir;
  auto s = ObjectStore::Open(Env::Default(), dir.path() + "/s", Options());
  ASSERT_TRUE(s.ok());
  ObjectStore& store = **s;
  auto data = TextBytes(100000, 3);
  for (uint64_t g = 1; g <= 4; ++g) ASSERT_TRUE(store.Write({g, 0}, 0, data).ok());
  PolicyConfig c;
  c.cold_after_ns = 0;
  // 4 x 100 kB at 1 MB/s: the pass cannot end before ~0.3 s (the last move
  // is not waited for).
  Migrator m(&store, c, MigratorOptions{.rate_bytes_per_sec = 1000000});
  auto t0 = std::chrono::steady_clock::now();
  m.RunOnce();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(m.stats().demoted, 4u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
}

}  // namespace
}  // namespace tierfs
