// Migrator against a real store: idle objects go cold in the background,
// pinned groups stay hot, frequently read cold objects come back hot, and
// the rate limit spaces moves out.
#include "store/migrator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <thread>

#include "store/test_util.h"
#include "store/testing/fault_cold.h"
#include "store/testing/fault_env.h"

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

TEST(MigratorTest, ReadsOnSeparateOccasionsPromote) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());  // for its settable clock
  constexpr int64_t kSec = 1'000'000'000;
  int64_t t = 1000 * kSec;
  env.SetNowNanos(t);
  auto s = ObjectStore::Open(&env, dir.path() + "/s", Options());
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
  auto read_at = [&](int64_t when) {
    env.SetNowNanos(when);
    ASSERT_TRUE(store.Read({1, 0}, 0, buf).ok());
  };
  // A burst (a sequential scan) is one access, however many reads it makes.
  for (int i = 0; i < 50; ++i) read_at(t + i * kSec / 100);
  read_at(t + 2 * kSec);  // second occasion
  m.RunOnce();
  EXPECT_EQ(store.Stat({1, 0})->tier, Tier::kCold);
  EXPECT_EQ(store.Stat({1, 0})->recent_reads, 2u);
  read_at(t + 4 * kSec);  // third occasion
  m.RunOnce();
  EXPECT_EQ(store.Stat({1, 0})->tier, Tier::kHot);
  EXPECT_EQ(m.stats().promoted, 1u);
  // Occasions spread wider than the window (60 s) do not add up.
  ASSERT_TRUE(store.Demote({1, 0}).ok());
  for (int i = 1; i <= 3; ++i) read_at(t + i * 70 * kSec);
  m.RunOnce();
  EXPECT_EQ(store.Stat({1, 0})->tier, Tier::kCold);
}

// A cold tier that is full (NoSpace from the disk) or unreachable (EIO, as
// from a RADOS cluster that is down: through the cold backend interface).
struct ColdFault {
  FaultOp op;
  Status status;
};

class MigratorColdFaultTest : public ::testing::TestWithParam<ColdFault> {};

TEST_P(MigratorColdFaultTest, FullOrDownColdTierBacksOffInsteadOfRetryingEveryObject) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  StoreOptions o = Options();
  o.wrap_cold_backend = [&env](std::unique_ptr<ColdBackend> b) {
    return std::make_unique<FaultColdBackend>(std::move(b), &env);
  };
  auto s = ObjectStore::Open(&env, dir.path() + "/s", o);
  ASSERT_TRUE(s.ok());
  ObjectStore& store = **s;
  for (uint64_t g = 1; g <= 5; ++g) ASSERT_TRUE(store.Write({g, 0}, 0, TextBytes(1000, 4)).ok());
  PolicyConfig c;
  c.cold_after_ns = 0;
  Migrator m(&store, c, MigratorOptions{});
  env.FailOp(GetParam().op, GetParam().status);
  m.RunOnce();
  EXPECT_EQ(m.stats().errors, 1u);  // stopped at the first failure
  m.RunOnce();
  EXPECT_EQ(m.stats().errors, 1u);  // backing off: nothing tried
  EXPECT_EQ(store.stats().hot_objects, 5u);
  env.ClearFaults();
  env.SetNowNanos(Env::Default()->NowNanos() + 2'000'000'000);  // past the 1 s backoff
  m.RunOnce();
  EXPECT_EQ(store.stats().cold_objects, 5u);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, MigratorColdFaultTest,
    ::testing::Values(ColdFault{FaultOp::kWrite, Status::NoSpace("cold tier full")},
                      ColdFault{FaultOp::kColdWrite, Status::IOError("cluster down", EIO)}));

TEST(MigratorTest, MovesRecordTheirReasonAndBytesByDirection) {
  TempDir dir;
  auto s = ObjectStore::Open(Env::Default(), dir.path() + "/s", Options());
  ASSERT_TRUE(s.ok());
  ObjectStore& store = **s;
  ASSERT_TRUE(store.Write({1, 0}, 0, TextBytes(1000, 5)).ok());
  ASSERT_TRUE(store.Write({2, 0}, 0, TextBytes(3000, 6)).ok());
  EXPECT_EQ(store.Stat({1, 0})->last_move, MoveReason::kNone);
  PolicyConfig c;
  c.cold_after_ns = 0;
  c.promote_reads = 1;
  Migrator m(&store, c, MigratorOptions{});
  m.RunOnce();
  EXPECT_EQ(store.Stat({1, 0})->last_move, MoveReason::kIdle);
  EXPECT_GT(store.Stat({1, 0})->last_move_ns, 0);
  EXPECT_EQ(m.stats().demoted_bytes, 4000u);
  EXPECT_EQ(m.stats().hot_bytes, 0u);  // the count explain reads: 4000 less what it demoted
  std::vector<std::byte> buf(10);
  ASSERT_TRUE(store.Read({2, 0}, 0, buf).ok());  // one read promotes (promote_reads = 1)
  m.RunOnce();
  EXPECT_EQ(store.Stat({2, 0})->tier, Tier::kHot);
  EXPECT_EQ(store.Stat({2, 0})->last_move, MoveReason::kReads);
  EXPECT_EQ(m.stats().promoted_bytes, 3000u);
  EXPECT_EQ(m.stats().hot_bytes, 3000u);
  EXPECT_EQ(m.stats().failed_moves, 0u);
  // A write into a cold object and an explicit request record theirs.
  ASSERT_TRUE(store.Write({1, 0}, 0, TextBytes(10, 7)).ok());
  EXPECT_EQ(store.Stat({1, 0})->last_move, MoveReason::kWrite);
  ASSERT_TRUE(store.Demote({1, 0}).ok());
  EXPECT_EQ(store.Stat({1, 0})->last_move, MoveReason::kRequest);
}

TEST(MigratorTest, RateLimitSpacesMovesOutAndTheQueuedOnesAreVisible) {
  TempDir dir;
  auto s = ObjectStore::Open(Env::Default(), dir.path() + "/s", Options());
  ASSERT_TRUE(s.ok());
  ObjectStore& store = **s;
  auto data = TextBytes(100000, 3);
  for (uint64_t g = 1; g <= 4; ++g) ASSERT_TRUE(store.Write({g, 0}, 0, data).ok());
  PolicyConfig c;
  c.cold_after_ns = 0;
  // 4 x 100 kB at 1 MB/s: the pass cannot end before ~0.3 s (the last move
  // is not waited for); meanwhile the later moves wait in the pass.
  Migrator m(&store, c, MigratorOptions{.rate_bytes_per_sec = 1000000});
  auto t0 = std::chrono::steady_clock::now();
  std::thread pass([&] { m.RunOnce(); });
  std::optional<QueuedMove> last;
  for (int i = 0; i < 2000 && !(last = m.QueuedMoveOf({4, 0})); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  pass.join();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(m.stats().demoted, 4u);
  EXPECT_GE(elapsed, std::chrono::milliseconds(300));
  ASSERT_TRUE(last.has_value());
  EXPECT_TRUE(last->demote);
  EXPECT_EQ(last->reason, MoveReason::kIdle);
  EXPECT_LE(last->ahead, 3u);
  EXPECT_FALSE(m.QueuedMoveOf({4, 0}).has_value());
  EXPECT_EQ(m.stats().queued, 0u);
}

// An Env whose clock throws while armed: a migrator pass that calls it
// throws from inside the store's Env, as a bug or bad_alloc would.
class ThrowingClockEnv final : public Env {
 public:
  explicit ThrowingClockEnv(Env* base) : base_(base) {}
  std::atomic<int> throws{0};

  int64_t NowNanos() override {
    if (throws.load() > 0) {
      throws.fetch_sub(1);
      throw std::runtime_error("injected exception in NowNanos");
    }
    return base_->NowNanos();
  }
  Result<std::unique_ptr<File>> Open(const std::string& p, const OpenOptions& o) override {
    return base_->Open(p, o);
  }
  Status Rename(const std::string& a, const std::string& b) override { return base_->Rename(a, b); }
  Status Unlink(const std::string& p) override { return base_->Unlink(p); }
  Status MkDir(const std::string& p) override { return base_->MkDir(p); }
  Status SyncDir(const std::string& p) override { return base_->SyncDir(p); }
  Result<std::vector<std::string>> ListDir(const std::string& p) override {
    return base_->ListDir(p);
  }
  Result<FileStat> Stat(const std::string& p) override { return base_->Stat(p); }
  Result<FsSpace> StatFs(const std::string& p) override { return base_->StatFs(p); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p) override {
    return base_->LockFile(p);
  }

 private:
  Env* const base_;
};

TEST(MigratorTest, ExceptionInAPassIsCaughtAndTheThreadKeepsRunning) {
  TempDir dir;
  ThrowingClockEnv env(Env::Default());
  auto s = ObjectStore::Open(&env, dir.path() + "/s", Options());
  ASSERT_TRUE(s.ok());
  ObjectStore& store = **s;
  ASSERT_TRUE(store.Write({1, 0}, 0, TextBytes(10000, 5)).ok());
  PolicyConfig c;
  c.cold_after_ns = 0;
  Migrator m(&store, c, MigratorOptions{.interval_ms = 10, .error_backoff_ms = 10});
  env.throws = 1;
  EXPECT_NO_THROW(m.RunOnce());  // a direct pass is guarded too
  EXPECT_EQ(m.stats().errors, 1u);
  EXPECT_NE(m.stats().last_error.find("injected exception"), std::string::npos);
  env.throws = 2;
  m.Start();
  // The thread survives both throwing passes (backing off after each) and
  // then does its work.
  for (int i = 0; i < 1500 && store.Stat({1, 0})->tier != Tier::kCold; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  m.Stop();
  EXPECT_EQ(store.Stat({1, 0})->tier, Tier::kCold);
  EXPECT_EQ(env.throws.load(), 0);
  EXPECT_EQ(m.stats().errors, 3u);
  EXPECT_GE(m.stats().passes, 1u);
}

}  // namespace
}  // namespace tierfs
