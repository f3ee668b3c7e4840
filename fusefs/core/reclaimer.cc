// Reclaimer: see reclaimer.h.
#include "fusefs/core/reclaimer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tierfs {

Reclaimer::Reclaimer(MetadataStore* meta, ObjectStore* store, Hooks hooks)
    : meta_(meta), store_(store), hooks_(std::move(hooks)) {}

void Reclaimer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

Reclaimer::~Reclaimer() { Stop(); }

void Reclaimer::Enqueue(uint64_t ino) {
  {
    MutexLock lock(&mu_);
    queue_.push_back(ino);
    queued_.fetch_add(1);
  }
  work_cv_.NotifyOne();
}

Status Reclaimer::FreeNow(std::span<const uint64_t> inos) {
  Status first;
  for (size_t i = 0; i < inos.size(); i += kBatch) {
    Status st = FreeBatch(inos.subspan(i, std::min(kBatch, inos.size() - i)));
    if (first.ok()) first = st;
  }
  return first;
}

bool Reclaimer::Drain(std::chrono::milliseconds timeout) {
  MutexLock lock(&mu_);
  const uint64_t target = queued_.load();
  if (done_.load() >= target) return true;
  ++drainers_;
  work_cv_.NotifyOne();  // no gathering while someone waits
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (done_.load() < target && done_cv_.WaitUntil(&mu_, deadline)) {
  }
  --drainers_;
  return done_.load() >= target;
}

void Reclaimer::Stop() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  work_cv_.NotifyOne();
  if (thread_.joinable()) thread_.join();
}

ReclaimStats Reclaimer::stats() const {
  return ReclaimStats{pending(), reclaimed_.load(), batches_.load(), errors_.load()};
}

StoreStats Reclaimer::AfterPending(StoreStats s) const {
  std::vector<uint64_t> inos;
  {
    MutexLock lock(&mu_);
    inos = queue_;
    inos.insert(inos.end(), in_flight_.begin(), in_flight_.end());
  }
  auto take = [](uint64_t& from, uint64_t n) { from -= std::min(from, n); };
  for (uint64_t ino : inos) {
    for (const ObjectInfo& o : store_->ListGroup(ino)) {
      const bool hot = o.tier == Tier::kHot;
      take(hot ? s.hot_objects : s.cold_objects, 1);
      take(hot ? s.hot_bytes : s.cold_bytes, o.logical_size);
      take(hot ? s.hot_stored_bytes : s.cold_stored_bytes, o.stored_bytes);
    }
  }
  return s;
}

void Reclaimer::Loop() {
  mu_.Lock();
  for (;;) {
    while (!stop_ && queue_.empty()) work_cv_.Wait(&mu_);
    if (queue_.empty()) break;  // stopped, and nothing left to free
    const auto gathered = std::chrono::steady_clock::now() + kGather;
    while (!(stop_ || drainers_ > 0 || queue_.size() >= kBatch) &&
           work_cv_.WaitUntil(&mu_, gathered)) {
    }
    const size_t n = std::min(queue_.size(), kBatch);
    in_flight_.assign(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(n));
    const std::vector<uint64_t> batch = in_flight_;
    mu_.Unlock();
    // An exception here would end the daemon (std::terminate): log it and
    // leave the batch to the next mount, as for an error.
    try {
      Status st = FreeBatch(batch);
      if (!st.ok()) spdlog::error("freeing unlinked inodes: {}", st.ToString());
    } catch (const std::exception& e) {
      errors_.fetch_add(batch.size());
      spdlog::error("reclaimer thread: unexpected exception: {}", e.what());
    }
    mu_.Lock();
    in_flight_.clear();
    done_.fetch_add(n);
    done_cv_.NotifyAll();
  }
  mu_.Unlock();
}

Status Reclaimer::FreeBatch(std::span<const uint64_t> batch) {
  if (hooks_.commit) {
    if (Status st = hooks_.commit(); !st.ok()) {
      errors_.fetch_add(batch.size());  // rows and objects kept for the next mount
      return st;
    }
  }
  Status first;
  std::vector<uint64_t> emptied;
  emptied.reserve(batch.size());
  for (uint64_t ino : batch) {
    // Data first, then the row: a crash in between leaves an orphan row
    // that the next mount frees, never a row-less object.
    Status st = store_->RemoveGroup(ino).status();
    if (!st.ok()) {
      errors_.fetch_add(1);
      if (first.ok()) first = st;
      continue;
    }
    store_->SetPinned(ino, false);
    emptied.push_back(ino);
  }
  if (emptied.empty()) return first;
  Status rows = hooks_.freeing_space([&] { return meta_->DeleteInodes(emptied); });
  batches_.fetch_add(1);
  if (!rows.ok()) {
    errors_.fetch_add(emptied.size());
    return first.ok() ? rows : first;
  }
  reclaimed_.fetch_add(emptied.size());
  hooks_.freed(emptied);
  return first;
}

}  // namespace tierfs
