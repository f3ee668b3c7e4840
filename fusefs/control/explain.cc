// Explain: see explain.h.
#include "fusefs/control/explain.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "fusefs/core/json.h"
#include "fusefs/core/units.h"

namespace tierfs {

namespace {

double Seconds(int64_t ns) { return static_cast<double>(ns) / 1e9; }

std::string Secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", s);
  return buf;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

const char* Direction(bool demote) { return demote ? "demote" : "promote"; }

// The move next: the running pass's if it has one for the chunk, else the outlook's.
std::string_view NextMove(const ChunkFacts& c) {
  if (c.moving) return Direction(c.moving->demote);
  if (c.outlook.outlook == Outlook::kDemote) return "demote";
  if (c.outlook.outlook == Outlook::kPromote) return "promote";
  return "stay";
}

MoveReason NextReason(const ChunkFacts& c) {
  return c.moving ? c.moving->reason : c.outlook.reason;
}

}  // namespace

std::string_view ChunkReason(const ChunkFacts& c) {
  if (c.moving) return "moving";
  const MoveReason m = c.info.last_move;
  if (c.info.tier == Tier::kHot) {
    if (c.pinned) return "pinned";
    if (m == MoveReason::kReads || m == MoveReason::kWrite || m == MoveReason::kRequest) {
      return MoveReasonName(m);
    }
    return "new";
  }
  if (m == MoveReason::kIdle || m == MoveReason::kWatermark || m == MoveReason::kRequest) {
    return MoveReasonName(m);
  }
  return "earlier";
}

double NextInSeconds(const ChunkFacts& c, const ExplainContext& x) {
  if (!x.migrator_running) return -1;
  if (c.moving) return 0;
  const int64_t next_pass =
      std::max<int64_t>((x.last_pass_ns ? x.last_pass_ns : x.now_ns) + x.interval_ns - x.now_ns, 0);
  switch (c.outlook.outlook) {
    case Outlook::kDemote:
    case Outlook::kPromote:
      return Seconds(next_pass);
    case Outlook::kUntilIdle:
      return Seconds(std::max<int64_t>(c.outlook.due_ns - x.now_ns, 0));
    default:
      return -1;
  }
}

std::string ChunkWhy(const ChunkFacts& c, const ExplainContext& x) {
  const ObjectInfo& o = c.info;
  const PolicyConfig& p = x.policy;
  std::ostringstream w;
  const std::string ago = Secs(Seconds(x.now_ns - o.last_move_ns)) + " ago";
  const std::string_view reason = ChunkReason(c);
  if (reason == "moving") {
    w << (c.moving->started ? "being " : "queued to be ")
      << (c.moving->demote ? "demoted" : "promoted") << " by the migrator ("
      << MoveReasonName(c.moving->reason) << ")";
    if (!c.moving->started) {
      w << ", " << c.moving->ahead << " moves ahead of it in this pass";
      if (x.rate_bytes_per_sec)
        w << " at migrate_rate " << HumanBytes(x.rate_bytes_per_sec) << "/s";
    }
  } else if (reason == "pinned") {
    w << "the file is pinned, so it is never demoted";
  } else if (reason == "reads") {
    w << "promoted " << ago << " after " << p.promote_reads << " reads within "
      << Secs(Seconds(x.promote_window_ns));
  } else if (reason == "write") {
    w << "promoted " << ago << " by a write into it";
  } else if (reason == "request") {
    w << "moved here " << ago << " by tierfs migrate";
  } else if (reason == "new") {
    w << "hot since it was written (new data lands hot)";
  } else if (reason == "idle") {
    w << "demoted " << ago << ": idle for cold_after (" << Secs(Seconds(p.cold_after_ns))
      << ") or longer";
  } else if (reason == "watermark") {
    w << "demoted " << ago << ": the hot tier was over its high watermark ("
      << HumanBytes(HighWatermark(p)) << " of " << HumanBytes(p.hot_capacity) << ")";
  } else {
    w << "cold since before this mount";
  }
  w << ". Last access " << Secs(Seconds(x.now_ns - o.last_access_ns)) << " ago (cold_after "
    << (p.cold_after_ns < 0 ? std::string("never") : Secs(Seconds(p.cold_after_ns))) << ")";
  if (o.tier == Tier::kCold) {
    w << ", " << ReadsInWindow(o, x.promote_window_ns, x.now_ns)
      << " reads in the promote window (promote_reads " << p.promote_reads << ")";
  }
  w << ". Next: ";
  const double next = NextInSeconds(c, x);
  if (c.moving) {  // the running pass decided already, whatever the outlook says now
    w << (c.moving->demote ? "cold" : "hot") << " once the move is done";
    return w.str();
  }
  switch (c.outlook.outlook) {
    case Outlook::kDemote:
    case Outlook::kPromote:
      w << (c.outlook.outlook == Outlook::kDemote ? "demoted (" : "promoted (")
        << MoveReasonName(c.outlook.reason) << ") at the next migrator pass";
      break;
    case Outlook::kPinned:
      w << "stays hot while pinned";
      break;
    case Outlook::kUntilIdle:
      w << "demoted for idleness when cold_after is reached unless used again";
      if (p.hot_capacity) w << ", or earlier if the hot tier crosses its high watermark";
      break;
    case Outlook::kNeverIdle:
      w << "stays hot; only the high watermark can demote it";
      break;
    case Outlook::kNeedsReads:
      w << "stays cold until " << c.outlook.reads_needed
        << " more reads within the promote window, or a write";
      break;
    case Outlook::kNoRoom:
      w << "stays cold: promoting it would push the hot tier over its high watermark";
      break;
    case Outlook::kNoReadPromotion:
      w << "stays cold (promote_reads=0); a write or tierfs migrate brings it back";
      break;
    case Outlook::kDamaged:
      w << "never moved: the cold object is damaged (see tierfs fsck)";
      break;
  }
  if (!x.migrator_running) {
    w << " (the migrator is stopped: read-only)";
  } else if (next >= 0) {
    w << ", in " << Secs(next);
  }
  return w.str();
}

std::string ChunkJson(const ChunkFacts& c, const ExplainContext& x) {
  const ObjectInfo& o = c.info;
  std::ostringstream j;
  j << "{\"index\":" << o.key.index << ",\"tier\":\"" << (o.tier == Tier::kHot ? "hot" : "cold")
    << "\",\"bytes\":" << o.logical_size << ",\"stored_bytes\":" << o.stored_bytes
    << ",\"reason\":\"" << ChunkReason(c) << "\",\"last_access_ns\":" << o.last_access_ns
    << ",\"idle_s\":" << Num(Seconds(x.now_ns - o.last_access_ns))
    << ",\"reads_in_window\":" << ReadsInWindow(o, x.promote_window_ns, x.now_ns)
    << ",\"last_move\":\"" << MoveReasonName(o.last_move)
    << "\",\"last_move_ns\":" << o.last_move_ns
    << ",\"moving\":" << (c.moving ? JsonString(Direction(c.moving->demote)) : "null")
    << ",\"moving_started\":" << (c.moving && c.moving->started ? "true" : "false")
    << ",\"moves_ahead\":" << (c.moving ? c.moving->ahead : 0) << ",\"next\":\"" << NextMove(c)
    << "\",\"outlook\":\"" << OutlookName(c.outlook.outlook) << "\",\"next_reason\":\""
    << MoveReasonName(NextReason(c)) << "\",\"next_in_s\":" << Num(NextInSeconds(c, x))
    << ",\"reads_needed\":" << c.outlook.reads_needed
    << ",\"damaged\":" << (o.damaged ? "true" : "false")
    << ",\"why\":" << JsonString(ChunkWhy(c, x)) << "}";
  return j.str();
}

std::string ExplainHeaderJson(uint64_t ino, uint64_t size, uint64_t chunk_size, bool pinned,
                              const ExplainContext& x) {
  const PolicyConfig& p = x.policy;
  std::ostringstream j;
  j << "{\"ino\":" << ino << ",\"size\":" << size << ",\"chunk_size\":" << chunk_size
    << ",\"pinned\":" << (pinned ? "true" : "false") << ",\"now_ns\":" << x.now_ns
    << ",\"policy\":{\"cold_after_s\":"
    << (p.cold_after_ns < 0 ? "-1" : Num(Seconds(p.cold_after_ns)))
    << ",\"hot_capacity\":" << p.hot_capacity << ",\"hot_high_bytes\":" << HighWatermark(p)
    << ",\"hot_low_bytes\":" << LowWatermark(p) << ",\"promote_reads\":" << p.promote_reads
    << ",\"promote_window_s\":" << Num(Seconds(x.promote_window_ns)) << "}"
    << ",\"hot_bytes\":" << x.hot_bytes << ",\"over_high_watermark\":"
    << (p.hot_capacity && x.hot_bytes > HighWatermark(p) ? "true" : "false")
    << ",\"migrator\":{\"running\":" << (x.migrator_running ? "true" : "false")
    << ",\"interval_s\":" << Num(Seconds(x.interval_ns)) << ",\"last_pass_ns\":" << x.last_pass_ns
    << ",\"rate_bytes_per_sec\":" << x.rate_bytes_per_sec << "},\"chunks\":[";
  return j.str();
}

}  // namespace tierfs
