// The tiering policy: a pure function from the objects' access state and the
// configuration to a plan of tier moves. No I/O, no clock, no locks — the
// migrator (store/migrator.h) gathers the inputs and applies the plan.
//
// Rules, in order:
//  1. A hot object idle for at least cold_after is demoted.
//  2. When hot bytes exceed hot_high% of hot_capacity, the least recently
//     used hot objects are demoted until hot bytes are at most hot_low%.
//  3. A cold object named in promote_hints (read promote_reads times within
//     the window) is promoted, unless that would push hot bytes over the
//     high watermark.
//  Pinned groups are never demoted; damaged objects are never moved.
//
// OutlookOf judges one object alone (tierfs explain): the move the next
// pass would make of it and why, or why it stays — from the object, its pin
// and the store-wide hot bytes, never from a plan over every object.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <vector>

#include "store/object_table.h"

namespace tierfs {

struct PolicyConfig {
  int64_t cold_after_ns = 3600LL * 1000000000LL;  // < 0: never demote for idleness
  uint64_t hot_capacity = 0;                      // bytes; 0: unlimited
  uint32_t hot_high_pct = 90;
  uint32_t hot_low_pct = 70;
  uint32_t promote_reads = 2;  // reads within the window that promote; 0: never on reads
};

// The watermarks in bytes (hot_high_pct / hot_low_pct of hot_capacity).
uint64_t HighWatermark(const PolicyConfig& config);
uint64_t LowWatermark(const PolicyConfig& config);

struct TieringPlan {
  std::vector<ObjectKey> demote;  // in the order to apply: rule 1's, then rule 2's
  std::vector<ObjectKey> promote;
  uint64_t hot_bytes = 0;     // hot bytes before the plan
  size_t idle_demotions = 0;  // demote[0, idle_demotions) are rule 1's
  // kIdle or kWatermark for demote[i].
  MoveReason DemoteReason(size_t i) const {
    return i < idle_demotions ? MoveReason::kIdle : MoveReason::kWatermark;
  }
};

TieringPlan PlanTiering(std::span<const ObjectInfo> objects, const std::set<uint64_t>& pinned,
                        std::span<const ObjectKey> promote_hints, const PolicyConfig& config,
                        int64_t now_ns);

enum class Outlook : uint8_t {
  kDemote,           // the plan demotes it (reason kIdle or kWatermark)
  kPromote,          // the plan promotes it (reason kReads)
  kPinned,           // hot and pinned: never demoted
  kUntilIdle,        // hot: demoted for idleness at due_ns unless used again
  kNeverIdle,        // hot, cold_after < 0: only the watermark can move it
  kNeedsReads,       // cold: promoted after reads_needed more reads in the window
  kNoRoom,           // cold, read enough, but promoting it would cross the high watermark
  kNoReadPromotion,  // cold, promote_reads = 0: only a write or a request brings it back
  kDamaged,          // never moved
};
// "demote", "promote", "pinned", "until-idle", "never-idle", "needs-reads",
// "no-room", "no-read-promotion", "damaged".
const char* OutlookName(Outlook o);

struct ObjectOutlook {
  Outlook outlook = Outlook::kUntilIdle;
  MoveReason reason = MoveReason::kNone;  // kDemote, kPromote: why
  int64_t due_ns = 0;                     // kUntilIdle: when it becomes idle
  uint32_t reads_needed = 0;              // kNeedsReads
};

// The object's reads in its promote window at now_ns (0 once it is over).
uint32_t ReadsInWindow(const ObjectInfo& o, int64_t promote_window_ns, int64_t now_ns);

// The outlook of `o` at now_ns with `hot_bytes` in the hot tier. It costs
// one object, so that explaining a file costs what the file's objects cost,
// whatever the size of the store. What it cannot see is a hot object's rank
// among all hot objects, which rule 2 (the watermark) demotes by: that
// choice is the migrator pass's, shown once the pass has queued the move
// (QueuedMove); until then such an object reads kUntilIdle.
ObjectOutlook OutlookOf(const ObjectInfo& o, bool pinned, uint64_t hot_bytes,
                        const PolicyConfig& config, int64_t promote_window_ns, int64_t now_ns);

}  // namespace tierfs
