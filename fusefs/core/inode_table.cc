// InodeTable: see inode_table.h.
#include "fusefs/core/inode_table.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tierfs {

namespace {
bool Later(const Timespec& x, const Timespec& y) {
  return x.sec != y.sec ? x.sec > y.sec : x.nsec > y.nsec;
}
}  // namespace

InodeTable::InodeTable(MetadataStore* meta, KernelClock* clock, AtimeMode atime,
                       const std::atomic<bool>* read_only, std::function<void(uint64_t)> free)
    : meta_(meta),
      clock_(clock),
      atime_mode_(atime),
      read_only_(read_only),
      free_(std::move(free)) {}

// ---- attributes --------------------------------------------------------------

bool InodeTable::Overlay(InodeAttr* a, uint64_t seen) {
  MutexLock lock(&mu_);
  if (write_backs_ != seen) return false;
  auto it = inodes_.find(a->ino);
  if (it == inodes_.end()) return true;
  const Inode& n = it->second;
  if (n.size_known) a->size = n.size;
  if (n.atime) a->atime = *n.atime;
  if (n.dirty) {
    a->mtime = n.mtime;
    if (Later(n.ctime, a->ctime)) a->ctime = n.ctime;
  }
  return true;
}

uint64_t InodeTable::WriteBacks() {
  MutexLock lock(&mu_);
  return write_backs_;
}

Result<InodeAttr> InodeTable::Overlaid(uint64_t seen, InodeAttr a) {
  while (!Overlay(&a, seen)) {
    // A write-back committed cached values and dropped them after `a` was
    // read: `a` may hold SQLite's older ones. Read again.
    seen = WriteBacks();
    TIERFS_ASSIGN_OR_RETURN(a, meta_->GetAttr(a.ino));
  }
  return a;
}

Result<InodeAttr> InodeTable::Attr(uint64_t ino) {
  const uint64_t seen = WriteBacks();
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->GetAttr(ino));
  return Overlaid(seen, a);
}

Result<uint64_t> InodeTable::FileSize(uint64_t ino) {
  for (;;) {
    uint64_t seen;
    {
      MutexLock lock(&mu_);
      auto it = inodes_.find(ino);
      if (it != inodes_.end() && it->second.size_known) return it->second.size;
      seen = write_backs_;
    }
    TIERFS_ASSIGN_OR_RETURN(InodeAttr a, meta_->GetAttr(ino));
    MutexLock lock(&mu_);
    if (write_backs_ != seen) continue;  // a.size may be older than one written back since
    Inode& n = inodes_[ino];
    if (!n.size_known) {
      n.size = a.size;
      n.size_known = true;
    }
    return n.size;
  }
}

Layout InodeTable::LayoutOf(uint64_t ino) {
  {
    MutexLock lock(&mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end() && it->second.layout != Layout::kUnknown) return it->second.layout;
  }
  auto a = meta_->GetAttr(ino);
  const Layout layout = a.ok() && a->inline_data ? Layout::kInline : Layout::kObjects;
  MutexLock lock(&mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return layout;  // not held by anyone: nothing to remember
  if (it->second.layout == Layout::kUnknown) it->second.layout = layout;
  return it->second.layout;
}

void InodeTable::SetLayout(uint64_t ino, Layout layout) {
  MutexLock lock(&mu_);
  inodes_[ino].layout = layout;
}

Result<InodeTable::Shape> InodeTable::ShapeOf(uint64_t ino) {
  std::optional<uint64_t> size;
  Shape s;
  {
    MutexLock lock(&mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end()) {
      if (it->second.size_known) size = it->second.size;
      s.layout = it->second.layout;
    }
  }
  // What the table did not know comes as FileSize and LayoutOf find it.
  if (size) {
    s.size = *size;
  } else {
    TIERFS_ASSIGN_OR_RETURN(s.size, FileSize(ino));
  }
  if (s.layout == Layout::kUnknown) s.layout = LayoutOf(ino);
  return s;
}

Result<InodeAttr> InodeTable::Remember(uint64_t seen, const InodeAttr& read) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr a, Overlaid(seen, read));
  MutexLock lock(&mu_);
  ++inodes_[a.ino].lookups;
  return a;
}

bool InodeTable::Forget(uint64_t ino, uint64_t nlookup) {
  uint64_t had = 0;
  bool known = false;
  {
    MutexLock lock(&mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end()) {
      known = true;
      had = it->second.lookups;
      it->second.lookups -= std::min(had, nlookup);
    }
  }
  if (had < nlookup) {
    // The kernel forgets only what we answered: a lookup we counted less
    // often than we sent (or freed early) is a bug of ours. The daemon
    // goes on: the inode is freed as if the counts had matched.
    spdlog::error("bug: the kernel forgot {} lookups of inode {}, which had {}{}", nlookup, ino,
                  had, known ? "" : " (not in the inode table)");
  }
  if (known) MaybeFree(ino);
  return had >= nlookup;
}

// ---- opens and the namespace ---------------------------------------------------

void InodeTable::Opened(uint64_t ino, bool for_write) {
  MutexLock lock(&mu_);
  Inode& n = inodes_[ino];
  ++n.opens;
  if (for_write) ++n.write_opens;
}

void InodeTable::Created(uint64_t ino, bool for_write, Layout layout) {
  MutexLock lock(&mu_);
  Inode& n = inodes_[ino];
  ++n.opens;
  if (for_write) ++n.write_opens;
  n.size = 0;
  n.size_known = true;
  n.layout = layout;
}

void InodeTable::Closed(uint64_t ino, bool for_write) {
  {
    MutexLock lock(&mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end() && it->second.opens > 0) --it->second.opens;
    if (for_write && it != inodes_.end() && it->second.write_opens > 0) {
      --it->second.write_opens;
    }
  }
  MaybeFree(ino);
}

void InodeTable::MaybeFree(uint64_t ino) {
  {
    MutexLock lock(&mu_);
    auto it = inodes_.find(ino);
    if (it == inodes_.end()) return;
    Inode& n = it->second;
    if (n.lookups > 0 || n.opens > 0) return;
    if (!n.unlinked) {
      // Still linked: forget it once its cached attributes are written back.
      if (!n.pending()) inodes_.erase(it);
      return;
    }
    inodes_.erase(it);
  }
  // Unlinked, closed and forgotten: its objects and row go in the
  // background (a crash first leaves an orphan that the next mount frees).
  free_(ino);
}

void InodeTable::Unlinked(const InodeAttr& a) {
  Changed(a.ino);
  if (a.nlink > 0 || a.ino == kRootIno) return;
  {
    MutexLock lock(&mu_);
    inodes_[a.ino].unlinked = true;
  }
  MaybeFree(a.ino);
}

void InodeTable::Changed(uint64_t ino) {
  MutexLock lock(&mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) it->second.atime_fresh = false;
}

// ---- attributes changed here -----------------------------------------------------

void InodeTable::SetTimes(uint64_t ino, const InodeAttr& cur, std::optional<Timespec> mtime,
                          std::optional<Timespec> atime, std::optional<Timespec> ctime) {
  const Timespec now = ctime ? *ctime : clock_->Now();
  MutexLock lock(&mu_);
  Inode& n = inodes_[ino];
  if (!n.size_known) {
    n.size = cur.size;
    n.size_known = true;
  }
  n.mtime = mtime.value_or(cur.mtime);
  if (atime) n.atime = atime;
  // The kernel's ctime when it sent one: it shows its own for a file it
  // caches writes of (ours, stamped when its pages landed, are later).
  n.ctime = now;
  n.dirty = true;
  n.atime_touches_ctime = true;
}

void InodeTable::Truncated(uint64_t ino, uint64_t size) {
  MutexLock lock(&mu_);
  auto it = inodes_.find(ino);
  if (it != inodes_.end()) {
    it->second.size = size;
    it->second.size_known = true;
  }
}

void InodeTable::Wrote(uint64_t ino, uint64_t end, bool kernel_times) {
  // A dirty inode's cached times are what a write-back stores: one made
  // dirty here without new times starts from the current ones.
  std::optional<InodeAttr> cur;
  if (kernel_times) {
    bool dirty;
    {
      MutexLock lock(&mu_);
      auto it = inodes_.find(ino);
      dirty = it != inodes_.end() && it->second.dirty;
    }
    if (!dirty) {
      auto a = Attr(ino);
      if (a.ok()) {
        cur = *a;
      } else {
        kernel_times = false;
      }
    }
  }
  const Timespec now = clock_->Now();
  MutexLock lock(&mu_);
  Inode& n = inodes_[ino];
  n.size = std::max(n.size, end);
  n.size_known = true;
  if (!kernel_times) {
    n.mtime = n.ctime = now;
    n.atime_fresh = false;
  } else if (!n.dirty) {
    n.mtime = cur->mtime;
    n.ctime = cur->ctime;
  }
  n.dirty = true;
}

void InodeTable::Allocated(uint64_t ino, std::optional<uint64_t> end) {
  const Timespec now = clock_->Now();
  MutexLock lock(&mu_);
  Inode& n = inodes_[ino];
  if (end && *end > n.size) {
    n.size = *end;
    n.size_known = true;
  }
  n.ctime = n.mtime = now;
  n.dirty = true;
}

InodeTable::Updates InodeTable::TakePending(std::optional<uint64_t> only) {
  Updates updates;
  MutexLock lock(&mu_);
  auto take = [&](uint64_t ino, const Inode& n) {
    if (!n.pending()) return;
    AttrUpdate u;
    if (n.dirty) {
      if (n.size_known) u.size = n.size;
      u.mtime = n.mtime;
      u.ctime = n.ctime;
    } else {
      u.keep_ctime = !n.atime_touches_ctime;
    }
    u.atime = n.atime;
    updates.emplace_back(ino, u);
  };
  if (only) {
    auto it = inodes_.find(*only);
    if (it != inodes_.end()) take(it->first, it->second);
  } else {
    for (const auto& [ino, n] : inodes_) take(ino, n);
  }
  return updates;
}

void InodeTable::Committed(const Updates& updates) {
  MutexLock lock(&mu_);
  ++write_backs_;  // what is dropped below: a getattr that read SQLite before the commit reads
                   // again
  for (const auto& [ino, u] : updates) {
    auto it = inodes_.find(ino);
    if (it == inodes_.end()) continue;
    Inode& n = it->second;
    // What changed again since it was taken stays pending.
    if (n.dirty && u.mtime && n.mtime == *u.mtime && n.ctime == *u.ctime &&
        (!u.size || n.size == *u.size)) {
      n.dirty = false;
    }
    if (n.atime && u.atime && *n.atime == *u.atime) {
      n.atime.reset();
      n.atime_touches_ctime = true;
    }
    if (n.lookups == 0 && n.opens == 0 && !n.pending() && !n.unlinked) {
      inodes_.erase(it);  // nothing left to remember
    }
  }
}

// ---- atime -----------------------------------------------------------------------

InodeTable::AtimeAnswer InodeTable::AtimeByMode() const {
  if (atime_mode_ == AtimeMode::kNoatime || *read_only_) return AtimeAnswer::kNo;
  if (atime_mode_ == AtimeMode::kStrictatime) return AtimeAnswer::kYes;
  return AtimeAnswer::kAsk;
}

InodeTable::AtimeAnswer InodeTable::AtimeByEntry(const Inode* n) {
  if (n == nullptr) return AtimeAnswer::kAsk;
  // A writer's cached writes carry an mtime we have not seen: take atime
  // as due, as relatime would once they land.
  if (n->write_opens > 0) return AtimeAnswer::kYes;
  if (n->atime_fresh) return AtimeAnswer::kNo;
  return AtimeAnswer::kAsk;
}

bool InodeTable::AtimeDueByAttr(uint64_t ino) {
  auto a = Attr(ino);
  if (!a.ok()) return false;
  auto not_after = [](const Timespec& x, const Timespec& y) { return !Later(x, y); };
  const bool due = not_after(a->atime, a->mtime) || not_after(a->atime, a->ctime) ||
                   clock_->Now().sec - a->atime.sec >= 24 * 3600;
  if (!due) {
    MutexLock lock(&mu_);
    inodes_[ino].atime_fresh = true;
  }
  return due;
}

bool InodeTable::AtimeDue(uint64_t ino) {
  AtimeAnswer answer = AtimeByMode();
  if (answer == AtimeAnswer::kAsk) {
    MutexLock lock(&mu_);
    auto it = inodes_.find(ino);
    answer = AtimeByEntry(it == inodes_.end() ? nullptr : &it->second);
  }
  if (answer != AtimeAnswer::kAsk) return answer == AtimeAnswer::kYes;
  return AtimeDueByAttr(ino);
}

void InodeTable::SetAtime(Inode& n, const Timespec& now, const Timespec& fine) {
  if (!n.atime) n.atime_touches_ctime = false;
  // A writer's cached writes carry an mtime the kernel stamped and has not
  // sent: at most the fine clock, which a read's atime takes then so that
  // the read leaves atime >= mtime (relatime's rule) once they land.
  n.atime = n.write_opens > 0 ? fine : now;
  n.atime_fresh = atime_mode_ == AtimeMode::kRelatime;
}

void InodeTable::SetAtimeNow(uint64_t ino) {
  const Timespec now = clock_->Now();
  const Timespec fine = clock_->FineNow();
  MutexLock lock(&mu_);
  SetAtime(inodes_[ino], now, fine);
}

InodeTable::ReadNote InodeTable::ReadDone(uint64_t ino, uint64_t offset, uint64_t end, bool track,
                                          bool touch_atime) {
  ReadNote note;
  AtimeAnswer answer = touch_atime ? AtimeByMode() : AtimeAnswer::kNo;
  if (!track && answer == AtimeAnswer::kNo) return note;
  // strictatime: atime moves at every read, set under the same lock.
  std::optional<std::pair<Timespec, Timespec>> times;
  if (answer == AtimeAnswer::kYes) times.emplace(clock_->Now(), clock_->FineNow());
  {
    MutexLock lock(&mu_);
    Inode* n = nullptr;
    if (track) {
      n = &inodes_[ino];
      note.sequential = n->read_end == offset;
      n->read_end = end;
    } else if (answer == AtimeAnswer::kAsk) {
      auto it = inodes_.find(ino);
      if (it != inodes_.end()) n = &it->second;
    }
    if (answer == AtimeAnswer::kAsk) answer = AtimeByEntry(n);
    if (times) {
      SetAtime(n ? *n : inodes_[ino], times->first, times->second);
      note.atime_changed = true;
      return note;
    }
  }
  if (answer == AtimeAnswer::kYes || (answer == AtimeAnswer::kAsk && AtimeDueByAttr(ino))) {
    SetAtimeNow(ino);
    note.atime_changed = true;
  }
  return note;
}

}  // namespace tierfs
