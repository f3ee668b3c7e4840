// Tier moves racing foreground changes at exact steps: FaultInjectionEnv's
// RunBefore hook runs a remove/re-create or a write while a demotion's
// unlocked copy is in flight; the move must see the change and give up.
#include <gtest/gtest.h>

#include "store/object_store.h"
#include "store/test_util.h"
#include "store/testing/fault_env.h"

namespace tierfs {
namespace {

using test::RandomBytes;
using test::TempDir;
using test::TextBytes;

StoreOptions Options() { return test::TestStoreOptions(16 << 10, 0); }

std::vector<std::byte> ReadAll(ObjectStore& s, ObjectKey k, size_t n) {
  std::vector<std::byte> out(n);
  auto r = s.Read(k, 0, out);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  out.resize(r.ok() ? *r : 0);
  return out;
}

// Remove + re-create restarted the per-entry version at the same value, so
// the demotion swapped its stale copy in over the new bytes.
TEST(ObjectStoreMoveRaceTest, RemoveAndRecreateDuringDemotionCopyMakesItBusy) {
  TempDir dir;
  const std::string path = dir.path() + "/store";
  FaultInjectionEnv env(Env::Default());
  const ObjectKey k{1, 0};
  const auto old_bytes = TextBytes(50000, 1);
  const auto new_bytes = RandomBytes(50000, 2);
  {
    auto s = ObjectStore::Open(&env, path, Options());
    ASSERT_TRUE(s.ok());
    ObjectStore& store = **s;
    ASSERT_TRUE(store.Write(k, 0, old_bytes).ok());
    bool ran = false;
    // The first fsync of the demotion is its temp cold copy's: the copy is
    // complete, the object lock is not held.
    env.RunBefore(FaultOp::kSync, [&] {
      ran = true;
      EXPECT_TRUE(store.Remove(k).ok());
      EXPECT_TRUE(store.Write(k, 0, new_bytes).ok());
    });
    Status st = store.Demote(k);
    EXPECT_TRUE(ran);
    EXPECT_EQ(st.code(), Code::kBusy) << st.ToString();
    EXPECT_EQ(store.Stat(k)->tier, Tier::kHot);
    EXPECT_EQ(ReadAll(store, k, 60000), new_bytes);
    ASSERT_TRUE(store.Sync(k).ok());
  }
  auto s = ObjectStore::Open(Env::Default(), path, Options());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Stat(k)->tier, Tier::kHot);
  EXPECT_EQ(ReadAll(**s, k, 60000), new_bytes);
}

}  // namespace
}  // namespace tierfs
