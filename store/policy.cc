// PlanTiering implementation; see policy.h for the rules.
#include "store/policy.h"

#include <algorithm>
#include <map>

namespace tierfs {

TieringPlan PlanTiering(std::span<const ObjectInfo> objects, const std::set<uint64_t>& pinned,
                        std::span<const ObjectKey> promote_hints, const PolicyConfig& config,
                        int64_t now_ns) {
  TieringPlan plan;
  std::vector<const ObjectInfo*> candidates;  // hot, movable, not yet chosen
  uint64_t hot_after = 0;
  for (const ObjectInfo& o : objects) {
    if (o.tier != Tier::kHot) continue;
    plan.hot_bytes += o.logical_size;
    hot_after += o.logical_size;
    if (pinned.count(o.key.group)) continue;
    if (config.cold_after_ns >= 0 && now_ns - o.last_access_ns >= config.cold_after_ns) {
      plan.demote.push_back(o.key);
      hot_after -= o.logical_size;
    } else {
      candidates.push_back(&o);
    }
  }
  const uint64_t high = config.hot_capacity / 100 * config.hot_high_pct +
                        config.hot_capacity % 100 * config.hot_high_pct / 100;
  const uint64_t low = config.hot_capacity / 100 * config.hot_low_pct +
                       config.hot_capacity % 100 * config.hot_low_pct / 100;
  if (config.hot_capacity > 0 && hot_after > high) {
    std::sort(candidates.begin(), candidates.end(), [](const ObjectInfo* a, const ObjectInfo* b) {
      return a->last_access_ns < b->last_access_ns;
    });
    for (const ObjectInfo* o : candidates) {
      if (hot_after <= low) break;
      plan.demote.push_back(o->key);
      hot_after -= o->logical_size;
    }
  }
  if (config.promote_reads == 0 || promote_hints.empty()) return plan;
  std::map<ObjectKey, const ObjectInfo*> by_key;
  for (const ObjectInfo& o : objects) by_key[o.key] = &o;
  for (const ObjectKey& k : promote_hints) {
    auto it = by_key.find(k);
    if (it == by_key.end()) continue;
    const ObjectInfo& o = *it->second;
    if (o.tier != Tier::kCold || o.damaged || o.recent_reads < config.promote_reads) continue;
    if (config.hot_capacity > 0 && hot_after + o.logical_size > high) continue;
    plan.promote.push_back(k);
    hot_after += o.logical_size;
  }
  return plan;
}

}  // namespace tierfs
