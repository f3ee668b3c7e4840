// PlanTiering: idle demotion, watermarks, pins, promotion hints; the
// reasons of its demotions and OutlookOf's reading of one object.
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

TEST(PolicyTest, IdleDemotionsComeFirstAndCarryTheirReason) {
  PolicyConfig c;
  c.cold_after_ns = 50 * kSec;
  c.hot_capacity = 1000;
  c.hot_high_pct = 50;
  c.hot_low_pct = 40;
  // 1 is idle; 2..4 are not, and 800 hot bytes after it is gone are over
  // 500: 2 and 3 go (down to 300 <= 400).
  std::vector<ObjectInfo> objs = {Obj(1, Tier::kHot, 200, 0), Obj(2, Tier::kHot, 200, 60 * kSec),
                                  Obj(3, Tier::kHot, 300, 70 * kSec),
                                  Obj(4, Tier::kHot, 300, 80 * kSec)};
  TieringPlan p = PlanTiering(objs, {}, {}, c, 100 * kSec);
  ASSERT_EQ(p.demote.size(), 3u);
  EXPECT_EQ(p.idle_demotions, 1u);
  EXPECT_EQ(p.DemoteReason(0), MoveReason::kIdle);
  EXPECT_EQ(p.DemoteReason(1), MoveReason::kWatermark);
  EXPECT_EQ(p.demote[1].group, 2u);
  EXPECT_EQ(HighWatermark(c), 500u);
  EXPECT_EQ(LowWatermark(c), 400u);
}

TEST(PolicyTest, OutlookJudgesOneObjectFromTheHotBytes) {
  constexpr int64_t kWindow = 60 * kSec;
  const int64_t now = 100 * kSec;
  PolicyConfig c;
  c.cold_after_ns = 50 * kSec;
  c.promote_reads = 2;
  ObjectInfo idle = Obj(1, Tier::kHot, 100, 0);
  ObjectInfo fresh = Obj(2, Tier::kHot, 100, 90 * kSec);
  ObjectInfo pinned = Obj(3, Tier::kHot, 100, 0);
  ObjectInfo read_once = Obj(4, Tier::kCold, 100, 95 * kSec, 1);
  read_once.read_window_start_ns = 95 * kSec;
  ObjectInfo read_long_ago = Obj(5, Tier::kCold, 100, 0, 1);  // its window is over
  ObjectInfo read_twice = Obj(6, Tier::kCold, 100, 95 * kSec, 2);
  read_twice.read_window_start_ns = 90 * kSec;
  uint64_t hot_bytes = 200;  // fresh and pinned, once idle is demoted
  auto outlook = [&](const ObjectInfo& o, bool is_pinned = false) {
    return OutlookOf(o, is_pinned, hot_bytes, c, kWindow, now);
  };
  EXPECT_EQ(outlook(idle).outlook, Outlook::kDemote);
  EXPECT_EQ(outlook(idle).reason, MoveReason::kIdle);
  EXPECT_EQ(outlook(fresh).outlook, Outlook::kUntilIdle);
  EXPECT_EQ(outlook(fresh).due_ns, 140 * kSec);
  EXPECT_EQ(outlook(pinned, true).outlook, Outlook::kPinned);
  EXPECT_EQ(outlook(read_once).outlook, Outlook::kNeedsReads);
  EXPECT_EQ(outlook(read_once).reads_needed, 1u);
  EXPECT_EQ(outlook(read_long_ago).reads_needed, 2u);
  EXPECT_EQ(outlook(read_twice).outlook, Outlook::kPromote);
  EXPECT_EQ(outlook(read_twice).reason, MoveReason::kReads);
  // With a capacity the promotion would cross: no room.
  c.hot_capacity = 300;  // high watermark 270 < 200 hot + 100
  EXPECT_EQ(outlook(read_twice).outlook, Outlook::kNoRoom);
  hot_bytes = 150;  // room again
  EXPECT_EQ(outlook(read_twice).outlook, Outlook::kPromote);
  c.promote_reads = 0;
  EXPECT_EQ(outlook(read_once).outlook, Outlook::kNoReadPromotion);
  c.cold_after_ns = -1;
  EXPECT_EQ(outlook(fresh).outlook, Outlook::kNeverIdle);
  ObjectInfo damaged = read_once;
  damaged.damaged = true;
  EXPECT_EQ(outlook(damaged).outlook, Outlook::kDamaged);
}

}  // namespace
}  // namespace tierfs
