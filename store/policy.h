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
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <vector>

#include "store/object_store.h"

namespace tierfs {

struct PolicyConfig {
  int64_t cold_after_ns = 3600LL * 1000000000LL;  // < 0: never demote for idleness
  uint64_t hot_capacity = 0;                      // bytes; 0: unlimited
  uint32_t hot_high_pct = 90;
  uint32_t hot_low_pct = 70;
  uint32_t promote_reads = 2;  // reads within the window that promote; 0: never on reads
};

struct TieringPlan {
  std::vector<ObjectKey> demote;   // in the order to apply
  std::vector<ObjectKey> promote;
  uint64_t hot_bytes = 0;          // hot bytes before the plan
};

TieringPlan PlanTiering(std::span<const ObjectInfo> objects, const std::set<uint64_t>& pinned,
                        std::span<const ObjectKey> promote_hints, const PolicyConfig& config,
                        int64_t now_ns);

}  // namespace tierfs
