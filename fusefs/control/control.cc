// Control: see control.h.
#include "fusefs/control/control.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "fusefs/control/explain.h"
#include "fusefs/core/json.h"

namespace tierfs {

namespace {
constexpr std::string_view kControlPrefix = "user.tierfs.";
}  // namespace

bool IsControlName(std::string_view name) { return name.rfind(kControlPrefix, 0) == 0; }

Status Control::RootOnly(const Caller& caller, const std::string& name) const {
  if (caller.uid == 0 || caller.uid == daemon_uid_) return Status::OK();
  return Status::Posix(EPERM, name + " changes or reports the whole mount: root only");
}

Status Control::OwnerOrRoot(uint64_t ino, const Caller& caller, const std::string& name) {
  if (caller.uid == 0 || caller.uid == daemon_uid_) return Status::OK();
  TIERFS_ASSIGN_OR_RETURN(const struct stat st, fs_.GetAttr(ino));
  if (st.st_uid == caller.uid) return Status::OK();
  return Status::Posix(EPERM, name + " changes how the file is stored: its owner or root only");
}

Status Control::Set(uint64_t ino, const std::string& name, const std::string& value,
                    const Caller& caller) {
  if (name == "user.tierfs.readonly" && (value == "1" || value == "0")) {
    TIERFS_RETURN_IF_ERROR(RootOnly(caller, name));
    return fs_.SetReadOnly(value == "1");
  }
  TIERFS_RETURN_IF_ERROR(fs_.Writable());
  if (name == "user.tierfs.pin" && (value == "1" || value == "0")) {
    TIERFS_RETURN_IF_ERROR(OwnerOrRoot(ino, caller, name));
    return SetPinned(ino, value == "1");
  }
  if (name == "user.tierfs.migrate" && (value == "hot" || value == "cold")) {
    TIERFS_RETURN_IF_ERROR(OwnerOrRoot(ino, caller, name));
    return Migrate(ino, value == "hot" ? Tier::kHot : Tier::kCold);
  }
  return Status::Posix(EINVAL, "unknown tierfs control " + name + "=" + value);
}

Result<std::string> Control::Get(uint64_t ino, const std::string& name, const Caller& caller) {
  if (name == "user.tierfs.where") return WhereJson(ino);
  if (name == "user.tierfs.status") {
    TIERFS_RETURN_IF_ERROR(RootOnly(caller, name));
    return StatusJson();
  }
  if (name == kExplainControl) return ExplainJson(ino, 0);
  if (name.rfind(std::string(kExplainControl) + "@", 0) == 0) {
    uint64_t first = 0;
    const std::string n = name.substr(kExplainControl.size() + 1);
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), first);
    if (n.empty() || ec != std::errc() || p != n.data() + n.size()) {
      return Status::Posix(EINVAL, "bad chunk number in " + name);
    }
    return ExplainJson(ino, first);
  }
  return fs_.GetXattr(ino, name);
}

Status Control::Remove(const std::string&) {
  return Status::Posix(EINVAL, "tierfs controls cannot be removed");
}

std::string Control::WhereJson(uint64_t ino) {
  const FsUsage u = fs_.UsageOf(ino);
  std::ostringstream o;
  o << "{\"hot_bytes\":" << u.hot_bytes << ",\"cold_bytes\":" << u.cold_bytes
    << ",\"stored_bytes\":" << u.stored_bytes << ",\"inline_bytes\":" << u.inline_bytes
    << ",\"pinned\":" << (u.pinned ? "true" : "false")
    << ",\"cold_tier\":" << JsonString(fs_.store().ColdTier()) << "}";
  return o.str();
}

Status Control::Migrate(uint64_t ino, Tier to) {
  ObjectStore& store = fs_.store();
  const std::vector<ObjectInfo> objects = store.ListGroup(ino);
  // The chunks move on a few threads at once, so that one compresses while
  // another's copy is written (or, on RADOS, waits on the network).
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status first;  // guarded by mu
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < objects.size();) {
      Status st;
      // Busy: the object changed while it was copied; try again a few times.
      for (int attempt = 0; attempt < 5; ++attempt) {
        st = to == Tier::kCold ? store.Demote(objects[i].key) : store.Promote(objects[i].key);
        if (st.code() != Code::kBusy) break;
      }
      if (st.ok() || st.IsNotFound()) continue;
      std::lock_guard lock(mu);
      if (first.ok()) first = st;
      next.store(objects.size());  // the first error ends the move
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (size_t t = 1; t < std::min<size_t>(objects.size(), kMigrateThreads); ++t) {
      helpers.emplace_back(work);
    }
    work();
  }
  return first;
}

Status Control::SetPinned(uint64_t ino, bool pinned) {
  TIERFS_RETURN_IF_ERROR(fs_.metadata().SetPinned(ino, pinned));
  fs_.store().SetPinned(ino, pinned);
  return Status::OK();
}

std::string Control::StatusJson() {
  const StatusReport r = fs_.Report();
  const StoreStats& s = r.store;
  const MigratorStats& m = r.migrator;
  const Metrics& metrics = fs_.metrics();
  uint64_t requests = 0, errors = 0, negatives = 0;
  for (size_t i = 0; i < kFuseOpCount; ++i) {
    requests += metrics.requests(static_cast<FuseOp>(i));
    errors += metrics.errors(static_cast<FuseOp>(i));
    negatives += metrics.negatives(static_cast<FuseOp>(i));
  }
  std::ostringstream o;
  o << "{\"store\":" << JsonString(r.store_dir) << ",\"mounted\":" << (r.mounted ? "true" : "false")
    << ",\"read_only\":" << (r.read_only ? "true" : "false") << ",\"chunk_size\":" << r.chunk_size
    << ",\"inodes\":" << r.inodes << ",\"reclaim_pending\":" << r.reclaim.pending
    << ",\"inline_files\":" << r.inline_files << ",\"inline_bytes\":" << r.inline_bytes
    << ",\"hot_objects\":" << s.hot_objects << ",\"hot_bytes\":" << s.hot_bytes
    << ",\"hot_stored_bytes\":" << s.hot_stored_bytes
    << ",\"hot_capacity\":" << r.policy.hot_capacity
    << ",\"hot_high_bytes\":" << HighWatermark(r.policy)
    << ",\"hot_low_bytes\":" << LowWatermark(r.policy)
    << ",\"cold_tier\":" << JsonString(fs_.store().ColdTier())
    << ",\"cold_objects\":" << s.cold_objects << ",\"cold_bytes\":" << s.cold_bytes
    << ",\"cold_stored_bytes\":" << s.cold_stored_bytes << ",\"saved_bytes\":" << SavedBytes(s)
    << ",\"damaged_objects\":" << s.damaged_objects << ",\"promotions\":" << s.promotions
    << ",\"demotions\":" << s.demotions << ",\"moves_abandoned\":" << s.moves_abandoned
    << ",\"buffer_pool\":{\"bytes_preallocated\":"
    << s.pool.bytes_preallocated - s.frame_cache_preallocated << ",\"leases\":" << s.pool.leases
    << ",\"pool_hits\":" << s.pool.pool_hits
    << ",\"overflow_allocations\":" << s.pool.overflow_allocations
    << ",\"failed_allocations\":" << s.pool.failed_allocations << ",\"in_use\":" << s.pool.in_use
    << "}"
    << ",\"frame_cache\":{\"capacity\":" << s.cache.capacity
    << ",\"bytes_preallocated\":" << s.frame_cache_preallocated << ",\"bytes\":" << s.cache.bytes
    << ",\"hits\":" << s.cache.hits << ",\"misses\":" << s.cache.misses
    << ",\"evictions\":" << s.cache.evictions << "}"
    << ",\"migrator\":{\"passes\":" << m.passes << ",\"last_pass_ns\":" << m.last_pass_ns
    << ",\"queued\":" << m.queued << ",\"demoted\":" << m.demoted << ",\"promoted\":" << m.promoted
    << ",\"bytes_moved\":" << m.bytes_moved << ",\"demoted_bytes\":" << m.demoted_bytes
    << ",\"promoted_bytes\":" << m.promoted_bytes << ",\"failed_moves\":" << m.failed_moves
    << ",\"errors\":" << m.errors << "}"
    << ",\"reclaimer\":{\"reclaimed\":" << r.reclaim.reclaimed
    << ",\"batches\":" << r.reclaim.batches << ",\"errors\":" << r.reclaim.errors << "}"
    << ",\"io\":{\"read_hot_bytes\":" << metrics.read_bytes(ReadSource::kHot)
    << ",\"read_cold_bytes\":" << metrics.read_bytes(ReadSource::kCold)
    << ",\"read_hole_bytes\":" << metrics.read_bytes(ReadSource::kHole)
    << ",\"read_inline_bytes\":" << metrics.read_bytes(ReadSource::kInline)
    << ",\"written_bytes\":" << metrics.written_bytes() << ",\"requests\":" << requests
    << ",\"request_errors\":" << errors << ",\"request_negatives\":" << negatives << "}}";
  return o.str();
}

Result<std::string> Control::ExplainJson(uint64_t ino, uint64_t first) {
  TIERFS_ASSIGN_OR_RETURN(const struct stat st, fs_.GetAttr(ino));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  ObjectStore& store = fs_.store();
  const MigratorOptions& mig = fs_.migrator_options();
  ExplainContext x;
  x.policy = fs_.config().policy;
  x.promote_window_ns = store.options().promote_window_ns;
  x.rate_bytes_per_sec = mig.rate_bytes_per_sec;
  x.interval_ns = mig.interval_ms * 1000000;
  x.migrator_running = !fs_.read_only();
  const bool pinned = store.IsPinned(ino);
  // Any reader of the file may ask, as often as it likes: the cost is a
  // page of the file's objects (one ranged listing from chunk `first`, of
  // at most kMaxExplainChunks + 1, under the store's lock only for that
  // copy) and, per object, the policy's judgement with the store-wide
  // input — the hot bytes — taken from the migrator's count
  // (MigratorStats::hot_bytes), never from a scan or a plan over the store.
  const std::vector<ObjectInfo> objects =
      store.ListGroup(ino, first, std::numeric_limits<uint64_t>::max(), kMaxExplainChunks + 1);
  x.now_ns = fs_.env()->NowNanos();
  std::string out;
  std::optional<uint64_t> next_chunk;
  fs_.WithMigrator([&](const Migrator& migrator) {
    const MigratorStats m = migrator.stats();
    x.last_pass_ns = m.last_pass_ns;
    x.hot_bytes = m.hot_bytes;
    out = ExplainHeaderJson(ino, size, fs_.chunk_size(), pinned, x);
    bool any = false;
    size_t count = 0;
    for (const ObjectInfo& o : objects) {
      if (count++ == kMaxExplainChunks) {
        next_chunk = o.key.index;
        break;
      }
      ChunkFacts c{o, pinned,
                   OutlookOf(o, pinned, x.hot_bytes, x.policy, x.promote_window_ns, x.now_ns),
                   migrator.QueuedMoveOf(o.key)};
      std::string chunk = ChunkJson(c, x);
      if (any && out.size() + chunk.size() + 64 > kMaxExplainBytes) {
        next_chunk = o.key.index;
        break;
      }
      out += (any ? "," : "") + chunk;
      any = true;
    }
  });
  out += "],\"next_chunk\":" + (next_chunk ? std::to_string(*next_chunk) : "null") + "}";
  return out;
}

}  // namespace tierfs
