// PlanTiering implementation; see policy.h for the rules.
#include "store/policy.h"

#include <algorithm>
#include <map>

namespace tierfs {

namespace {
uint64_t PercentOf(uint64_t capacity, uint32_t pct) {
  return capacity / 100 * pct + capacity % 100 * pct / 100;  // no overflow
}
}  // namespace

uint64_t HighWatermark(const PolicyConfig& c) { return PercentOf(c.hot_capacity, c.hot_high_pct); }
uint64_t LowWatermark(const PolicyConfig& c) { return PercentOf(c.hot_capacity, c.hot_low_pct); }

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
  plan.idle_demotions = plan.demote.size();
  const uint64_t high = HighWatermark(config);
  const uint64_t low = LowWatermark(config);
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

uint32_t ReadsInWindow(const ObjectInfo& o, int64_t promote_window_ns, int64_t now_ns) {
  return now_ns - o.read_window_start_ns <= promote_window_ns ? o.recent_reads : 0;
}

const char* OutlookName(Outlook o) {
  switch (o) {
    case Outlook::kDemote:
      return "demote";
    case Outlook::kPromote:
      return "promote";
    case Outlook::kPinned:
      return "pinned";
    case Outlook::kUntilIdle:
      return "until-idle";
    case Outlook::kNeverIdle:
      return "never-idle";
    case Outlook::kNeedsReads:
      return "needs-reads";
    case Outlook::kNoRoom:
      return "no-room";
    case Outlook::kNoReadPromotion:
      return "no-read-promotion";
    case Outlook::kDamaged:
      return "damaged";
  }
  return "until-idle";
}

ObjectOutlook OutlookOf(const ObjectInfo& o, bool pinned, uint64_t hot_bytes,
                        const PolicyConfig& config, int64_t promote_window_ns, int64_t now_ns) {
  ObjectOutlook out;
  if (o.damaged) {
    out.outlook = Outlook::kDamaged;
    return out;
  }
  if (o.tier == Tier::kHot) {
    if (pinned) {
      out.outlook = Outlook::kPinned;
    } else if (config.cold_after_ns < 0) {
      out.outlook = Outlook::kNeverIdle;
    } else if (now_ns - o.last_access_ns >= config.cold_after_ns) {  // rule 1
      out.outlook = Outlook::kDemote;
      out.reason = MoveReason::kIdle;
    } else {
      out.outlook = Outlook::kUntilIdle;
      out.due_ns = o.last_access_ns + config.cold_after_ns;
    }
    return out;
  }
  if (config.promote_reads == 0) {
    out.outlook = Outlook::kNoReadPromotion;
    return out;
  }
  const uint32_t reads = ReadsInWindow(o, promote_window_ns, now_ns);
  if (reads < config.promote_reads) {
    out.outlook = Outlook::kNeedsReads;
    out.reads_needed = config.promote_reads - reads;
  } else if (config.hot_capacity > 0 && hot_bytes + o.logical_size > HighWatermark(config)) {
    out.outlook = Outlook::kNoRoom;  // rule 3's room check
  } else {
    out.outlook = Outlook::kPromote;
    out.reason = MoveReason::kReads;
  }
  return out;
}

}  // namespace tierfs
