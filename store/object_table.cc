// ObjectTable: see object_table.h.
#include "store/object_table.h"

#include <optional>

namespace tierfs {

const char* MoveReasonName(MoveReason r) {
  switch (r) {
    case MoveReason::kNone:
      return "none";
    case MoveReason::kIdle:
      return "idle";
    case MoveReason::kWatermark:
      return "watermark";
    case MoveReason::kReads:
      return "reads";
    case MoveReason::kWrite:
      return "write";
    case MoveReason::kRequest:
      return "request";
  }
  return "none";
}

ObjectInfo ObjectTable::InfoOf(const ObjectKey& key, const ObjectEntry& e) {
  return ObjectInfo{key,     e.tier,    e.logical_size, e.stored,       e.last_access,
                    e.reads, e.damaged, e.last_move,    e.last_move_ns, e.window_start};
}

bool ObjectTable::Contains(const ObjectKey& key) const {
  MutexLock lock(&mu_);
  return table_.count(key) > 0;
}

void ObjectTable::Count(const ObjectEntry& e, bool add) {
  auto apply = [add](uint64_t& total, uint64_t n) { total = add ? total + n : total - n; };
  if (e.tier == Tier::kHot) {
    apply(totals_.hot_objects, 1);
    apply(totals_.hot_bytes, e.logical_size);
    apply(totals_.hot_stored_bytes, e.stored);
  } else {
    apply(totals_.cold_objects, 1);
    apply(totals_.cold_bytes, e.logical_size);
    apply(totals_.cold_stored_bytes, e.stored);
    apply(totals_.damaged_objects, e.damaged ? 1 : 0);
  }
}

void ObjectTable::Install(const ObjectKey& key, ObjectEntry e) {
  e.version = NewVersion();
  if (e.tier == Tier::kCold) e.generation = NewGeneration();
  MutexLock lock(&mu_);
  auto [it, added] = table_.try_emplace(key);
  if (!added) Count(it->second, false);
  it->second = std::move(e);
  Count(it->second, true);
  promote_hints_.erase(key);
}

void ObjectTable::Erase(const ObjectKey& key) {
  MutexLock lock(&mu_);
  auto it = table_.find(key);
  if (it != table_.end()) {
    Count(it->second, false);
    table_.erase(it);
  }
  promote_hints_.erase(key);
}

Result<ReadView> ObjectTable::NoteRead(const ObjectKey& key, uint64_t offset, ReadKind kind,
                                       int64_t now) {
  MutexLock lock(&mu_);
  auto it = table_.find(key);
  if (it == table_.end()) return Status::NotFound("no such object");
  ObjectEntry& e = it->second;
  if (e.damaged) return Status::Corruption("damaged cold object");
  const ReadView view{e.tier, e.logical_size, e.generation};
  if (kind == ReadKind::kChunk) {
    if (offset >= e.logical_size) return view;  // nothing of the object is read
    if (e.tier == Tier::kHot) {
      e.last_access = now;
      return view;
    }
  }
  if (now - e.window_start > counting_.window_ns) {
    e.window_start = now;
    e.reads = 0;
  }
  // A burst of reads (a sequential scan) is one access.
  if (e.reads == 0 || now - e.last_read >= counting_.gap_ns) ++e.reads;
  e.last_read = now;
  e.last_access = now;
  const uint32_t pr = counting_.promote_reads->load();
  if (e.tier == Tier::kCold && pr > 0 && e.reads >= pr) promote_hints_.insert(key);
  return view;
}

Result<ObjectInfo> ObjectTable::Stat(const ObjectKey& key) const {
  MutexLock lock(&mu_);
  auto it = table_.find(key);
  if (it == table_.end()) return Status::NotFound("no such object");
  return InfoOf(key, it->second);
}

void ObjectTable::Demoted(const ObjectKey& key, uint64_t stored, MoveReason why, int64_t now) {
  const uint64_t generation = NewGeneration();
  MutexLock lock(&mu_);
  auto [it, added] = table_.try_emplace(key);
  ObjectEntry& e = it->second;
  if (!added) Count(e, false);
  e.tier = Tier::kCold;
  e.stray_copy = false;  // the commit replaced any stray cold copy
  e.stored = stored;
  e.reserved = false;  // the cold object holds logical bytes only
  e.generation = generation;
  e.dir_dirty = false;
  e.reads = 0;
  e.last_move = why;
  e.last_move_ns = now;
  Count(e, true);
  ++demotions_;
}

void ObjectTable::Promoted(const ObjectKey& key, bool stray, MoveReason why, int64_t now) {
  MutexLock lock(&mu_);
  auto [it, added] = table_.try_emplace(key);
  ObjectEntry& e = it->second;
  if (!added) Count(e, false);
  e.tier = Tier::kHot;
  e.stray_copy = stray;
  e.stored = e.logical_size;
  e.reserved = false;
  e.version = NewVersion();
  e.last_move = why;
  e.last_move_ns = now;
  Count(e, true);
  ++promotions_;
  promote_hints_.erase(key);
}

bool ObjectTable::Unchanged(const ObjectKey& key,
                            const std::function<bool(const ObjectEntry&)>& unchanged) {
  MutexLock lock(&mu_);
  auto it = table_.find(key);
  if (it != table_.end() && unchanged(it->second)) return true;
  ++abandoned_;
  return false;
}

void ObjectTable::ForEachSliced(
    const std::function<void(const ObjectKey&, const ObjectEntry&)>& fn) const {
  std::optional<ObjectKey> next = ObjectKey{0, 0};
  while (next) {
    MutexLock lock(&mu_);
    auto it = table_.lower_bound(*next);
    next.reset();
    for (size_t n = 0; it != table_.end(); ++it, ++n) {
      if (n == kListSlice) {
        next = it->first;  // resumed from here with the lock taken again
        break;
      }
      fn(it->first, it->second);
    }
  }
}

std::vector<ObjectInfo> ObjectTable::List() const {
  std::vector<ObjectInfo> out;
  ForEachSliced([&](const ObjectKey& k, const ObjectEntry& e) { out.push_back(InfoOf(k, e)); });
  return out;
}

std::vector<ObjectInfo> ObjectTable::ListGroup(uint64_t group, uint64_t first, uint64_t last,
                                               size_t limit) const {
  MutexLock lock(&mu_);
  std::vector<ObjectInfo> out;
  for (auto it = table_.lower_bound(ObjectKey{group, first});
       it != table_.end() && it->first.group == group && it->first.index <= last &&
       out.size() < limit;
       ++it) {
    out.push_back(InfoOf(it->first, it->second));
  }
  return out;
}

GroupUsage ObjectTable::UsageOf(uint64_t group) const {
  GroupUsage u;  // (no ListGroup: a getattr asks, and must not allocate)
  MutexLock lock(&mu_);
  ForEachInGroup(group, [&](const ObjectKey&, const ObjectEntry& e) {
    (e.tier == Tier::kHot ? u.hot_bytes : u.cold_bytes) += e.logical_size;
    u.stored_bytes += e.stored;
  });
  return u;
}

std::vector<ObjectKey> ObjectTable::GroupKeys(uint64_t group) const {
  std::vector<ObjectKey> keys;
  MutexLock lock(&mu_);
  ForEachInGroup(group, [&](const ObjectKey& k, const ObjectEntry&) { keys.push_back(k); });
  return keys;
}

std::vector<ObjectKey> ObjectTable::UnsyncedKeys() const {
  std::vector<ObjectKey> keys;
  MutexLock lock(&mu_);
  for (const auto& [key, e] : table_) {
    if (e.tier == Tier::kHot && (e.dir_dirty || e.synced_version != e.version)) {
      keys.push_back(key);
    }
  }
  return keys;
}

TableStats ObjectTable::stats() const {
  MutexLock lock(&mu_);
  TableStats s = totals_;
  s.promotions = promotions_;
  s.demotions = demotions_;
  s.moves_abandoned = abandoned_;
  return s;
}

void ObjectTable::SetPinned(uint64_t group, bool pinned) {
  MutexLock lock(&mu_);
  if (pinned) {
    pinned_.insert(group);
  } else {
    pinned_.erase(group);
  }
}

bool ObjectTable::IsPinned(uint64_t group) const {
  MutexLock lock(&mu_);
  return pinned_.count(group) > 0;
}

std::set<uint64_t> ObjectTable::PinnedGroups() const {
  MutexLock lock(&mu_);
  return pinned_;
}

std::vector<ObjectKey> ObjectTable::TakePromoteHints() {
  MutexLock lock(&mu_);
  std::vector<ObjectKey> out(promote_hints_.begin(), promote_hints_.end());
  promote_hints_.clear();
  return out;
}

}  // namespace tierfs
