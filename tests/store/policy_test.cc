// PlanTiering: idle demotion, watermarks, pins, promotion hints.
#include "store/policy.h"

#include <gtest/gtest.h>

namespace tierfs {
namespace {

constexpr int64_t kSec = 1000000000;

ObjectInfo Obj(uint64_t group, Tier tier, uint64_t size, int64_t access, uint32_t reads = 0) {
  ObjectInfo o;
  o.key = {group, 0};
  o.tier = tier;
  o.logical_size = size;
  o.last_access_ns = access;
  o.recent_reads = reads;
  return o;
}

TEST(PolicyTest, DemotesObjectsIdleLongerThanColdAfter) {
  PolicyConfig c;
  c.cold_after_ns = 10 * kSec;
  std::vector<ObjectInfo> objs = {Obj(1, Tier::kHot, 100, 0), Obj(2, Tier::kHot, 100, 95 * kSec),
                                  Obj(3, Tier::kCold, 100, 0)};
  TieringPlan p = PlanTiering(objs, {}, {}, c, 100 * kSec);
  ASSERT_EQ(p.demote.size(), 1u);
  EXPECT_EQ(p.demote[0].group, 1u);
  EXPECT_EQ(p.hot_bytes, 200u);
}

TEST(PolicyTest, NeverDemotesPinnedGroups) {
  PolicyConfig c;
  c.cold_after_ns = 0;
  std::vector<ObjectInfo> objs = {Obj(1, Tier::kHot, 100, 0), Obj(2, Tier::kHot, 100, 0)};
  TieringPlan p = PlanTiering(objs, {1}, {}, c, kSec);
  ASSERT_EQ(p.demote.size(), 1u);
  EXPECT_EQ(p.demote[0].group, 2u);
}

TEST(PolicyTest, HighWatermarkDemotesLeastRecentlyUsedDownToLowWatermark) {
  PolicyConfig c;
  c.cold_after_ns = -1;
  c.hot_capacity = 1000;
  c.hot_high_pct = 90;
  c.hot_low_pct = 50;
  std::vector<ObjectInfo> objs;
  for (uint64_t g = 1; g <= 10; ++g) objs.push_back(Obj(g, Tier::kHot, 100, g * kSec));
  // 1000 hot bytes > 900: demote oldest until <= 500.
  TieringPlan p = PlanTiering(objs, {3}, {}, c, 100 * kSec);
  std::vector<uint64_t> groups;
  for (auto& k : p.demote) groups.push_back(k.group);
  EXPECT_EQ(groups, (std::vector<uint64_t>{1, 2, 4, 5, 6}));
}

TEST(PolicyTest, BelowHighWatermarkNothingMoves) {
  PolicyConfig c;
  c.cold_after_ns = -1;
  c.hot_capacity = 1000;
  std::vector<ObjectInfo> objs = {Obj(1, Tier::kHot, 900, 0)};
  EXPECT_TRUE(PlanTiering(objs, {}, {}, c, kSec).demote.empty());
}

TEST(PolicyTest, PromotesHintedColdObjectsThatFit) {
  PolicyConfig c;
  c.cold_after_ns = -1;
  c.hot_capacity = 1000;
  c.promote_reads = 2;
  std::vector<ObjectInfo> objs = {Obj(1, Tier::kCold, 300, 0, 2), Obj(2, Tier::kCold, 300, 0, 5),
                                  Obj(3, Tier::kCold, 300, 0, 1), Obj(4, Tier::kHot, 500, kSec)};
  std::vector<ObjectKey> hints = {{1, 0}, {2, 0}, {3, 0}};
  TieringPlan p = PlanTiering(objs, {}, hints, c, kSec);
  // 500 hot + 300 = 800 fits under 900; a second would not; 3 has too few reads.
  ASSERT_EQ(p.promote.size(), 1u);
  EXPECT_EQ(p.promote[0].group, 1u);
}

TEST(PolicyTest, PromoteReadsZeroNeverPromotes) {
  PolicyConfig c;
  c.promote_reads = 0;
  std::vector<ObjectInfo> objs = {Obj(1, Tier::kCold, 1, 0, 100)};
  std::vector<ObjectKey> hints = {{1, 0}};
  EXPECT_TRUE(PlanTiering(objs, {}, hints, c, kSec).promote.empty());
}

TEST(PolicyTest, DamagedObjectsAreNotPromoted) {
  PolicyConfig c;
  ObjectInfo o = Obj(1, Tier::kCold, 1, 0, 100);
  o.damaged = true;
  std::vector<ObjectInfo> objs = {o};
  std::vector<ObjectKey> hints = {{1, 0}};
  EXPECT_TRUE(PlanTiering(objs, {}, hints, c, kSec).promote.empty());
}

}  // namespace
}  // namespace tierfs
