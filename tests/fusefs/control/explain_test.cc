// Explain's wording of the facts: the one-word reason for each case, when
// the migrator acts next, and that the sentence names the facts weighed.
#include "fusefs/control/explain.h"

#include <gtest/gtest.h>

namespace tierfs {
namespace {

constexpr int64_t kSec = 1'000'000'000;

ExplainContext Context() {
  ExplainContext x;
  x.policy.cold_after_ns = 100 * kSec;
  x.policy.hot_capacity = 1000;
  x.promote_window_ns = 60 * kSec;
  x.hot_bytes = 950;
  x.migrator_running = true;
  x.interval_ns = 5 * kSec;
  x.last_pass_ns = 998 * kSec;
  x.now_ns = 1000 * kSec;
  return x;
}

ChunkFacts Chunk(Tier tier, MoveReason last, Outlook outlook) {
  ChunkFacts c;
  c.info.tier = tier;
  c.info.last_move = last;
  c.info.last_move_ns = 990 * kSec;
  c.info.last_access_ns = 950 * kSec;
  c.outlook.outlook = outlook;
  return c;
}

TEST(ExplainTest, OneReasonPerCase) {
  EXPECT_EQ(ChunkReason(Chunk(Tier::kCold, MoveReason::kIdle, Outlook::kNeedsReads)), "idle");
  EXPECT_EQ(ChunkReason(Chunk(Tier::kCold, MoveReason::kWatermark, Outlook::kNeedsReads)),
            "watermark");
  EXPECT_EQ(ChunkReason(Chunk(Tier::kCold, MoveReason::kNone, Outlook::kNeedsReads)), "earlier");
  EXPECT_EQ(ChunkReason(Chunk(Tier::kHot, MoveReason::kReads, Outlook::kUntilIdle)), "reads");
  EXPECT_EQ(ChunkReason(Chunk(Tier::kHot, MoveReason::kWrite, Outlook::kUntilIdle)), "write");
  EXPECT_EQ(ChunkReason(Chunk(Tier::kHot, MoveReason::kRequest, Outlook::kUntilIdle)), "request");
  EXPECT_EQ(ChunkReason(Chunk(Tier::kHot, MoveReason::kNone, Outlook::kUntilIdle)), "new");
  ChunkFacts pinned = Chunk(Tier::kHot, MoveReason::kReads, Outlook::kPinned);
  pinned.pinned = true;
  EXPECT_EQ(ChunkReason(pinned), "pinned");
  ChunkFacts moving = pinned;
  moving.moving = QueuedMove{true, MoveReason::kIdle, false, 3};
  EXPECT_EQ(ChunkReason(moving), "moving");
}

TEST(ExplainTest, NextTimesFollowThePassOrTheIdleDeadline) {
  const ExplainContext x = Context();
  ChunkFacts demote = Chunk(Tier::kHot, MoveReason::kNone, Outlook::kDemote);
  EXPECT_DOUBLE_EQ(NextInSeconds(demote, x), 3.0);  // last pass 2 s ago, every 5 s
  ChunkFacts until = Chunk(Tier::kHot, MoveReason::kNone, Outlook::kUntilIdle);
  until.outlook.due_ns = 1050 * kSec;
  EXPECT_DOUBLE_EQ(NextInSeconds(until, x), 50.0);
  EXPECT_DOUBLE_EQ(NextInSeconds(Chunk(Tier::kCold, MoveReason::kIdle, Outlook::kNeedsReads), x),
                   -1.0);
  ExplainContext stopped = x;
  stopped.migrator_running = false;
  EXPECT_DOUBLE_EQ(NextInSeconds(demote, stopped), -1.0);
}

TEST(ExplainTest, TheSentenceNamesTheFactsWeighed) {
  const ExplainContext x = Context();
  ChunkFacts c = Chunk(Tier::kCold, MoveReason::kWatermark, Outlook::kNeedsReads);
  c.info.recent_reads = 1;
  c.info.read_window_start_ns = 990 * kSec;
  c.outlook.reads_needed = 1;
  const std::string why = ChunkWhy(c, x);
  EXPECT_NE(why.find("demoted 10.0 s ago: the hot tier was over its high watermark"),
            std::string::npos)
      << why;
  EXPECT_NE(why.find("Last access 50.0 s ago (cold_after 100.0 s)"), std::string::npos) << why;
  EXPECT_NE(why.find("1 reads in the promote window"), std::string::npos) << why;
  EXPECT_NE(why.find("stays cold until 1 more reads"), std::string::npos) << why;
  ChunkFacts queued = Chunk(Tier::kHot, MoveReason::kNone, Outlook::kDemote);
  queued.moving = QueuedMove{true, MoveReason::kIdle, false, 2};
  EXPECT_NE(ChunkWhy(queued, x).find("queued to be demoted by the migrator (idle), 2 moves ahead"),
            std::string::npos)
      << ChunkWhy(queued, x);
  // The running pass decided: a fresh plan that would keep the chunk
  // (it was used meanwhile) does not change what happens next.
  ChunkFacts used = Chunk(Tier::kHot, MoveReason::kNone, Outlook::kUntilIdle);
  used.moving = QueuedMove{true, MoveReason::kWatermark, true, 0};
  EXPECT_NE(ChunkWhy(used, x).find("being demoted by the migrator (watermark). "),
            std::string::npos)
      << ChunkWhy(used, x);
  EXPECT_NE(ChunkWhy(used, x).find("Next: cold once the move is done"), std::string::npos);
  EXPECT_NE(ChunkJson(used, x).find("\"next\":\"demote\""), std::string::npos);
  EXPECT_NE(ChunkJson(used, x).find("\"next_reason\":\"watermark\""), std::string::npos);
  const std::string header = ExplainHeaderJson(7, 100, 10, false, x);
  EXPECT_NE(header.find("\"hot_bytes\":950,\"over_high_watermark\":true"), std::string::npos)
      << header;
  const std::string json = ChunkJson(queued, x);
  EXPECT_NE(json.find("\"reason\":\"moving\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"moving\":\"demote\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"moves_ahead\":2"), std::string::npos) << json;
}

}  // namespace
}  // namespace tierfs
