// AttrWriteback: see attr_writeback.h.
#include "fusefs/core/attr_writeback.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace tierfs {

AttrWriteback::AttrWriteback(InodeTable* table, MetadataStore* meta, KernelClock* clock,
                             std::function<void()> after_pass)
    : table_(table), meta_(meta), clock_(clock), after_pass_(std::move(after_pass)) {}

AttrWriteback::~AttrWriteback() { Stop(); }

void AttrWriteback::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void AttrWriteback::Stop() {
  {
    MutexLock lock(&stop_mu_);
    stop_ = true;
  }
  stop_cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

Status AttrWriteback::WriteBack(std::optional<uint64_t> only) {
  MutexLock order(&mu_);
  return WriteBackLocked(only);
}

Status AttrWriteback::WriteBackLocked(std::optional<uint64_t> only) {
  const InodeTable::Updates updates = table_->TakePending(only);
  if (updates.empty()) return Status::OK();
  Status st = meta_->SetAttrs(updates, clock_->Now());
  if (!st.ok()) return st;  // all still pending: tried again at the next write-back
  table_->Committed(updates);
  return st;
}

void AttrWriteback::Loop() {
  stop_mu_.Lock();
  while (!stop_) {
    const auto deadline = std::chrono::steady_clock::now() + kWritebackInterval;
    while (!stop_ && stop_cv_.WaitUntil(&stop_mu_, deadline)) {
    }
    if (stop_) break;
    stop_mu_.Unlock();
    // An exception here would end the daemon (std::terminate): log it and
    // try again at the next interval, as for an error.
    try {
      Status st = WriteBack(std::nullopt);
      if (!st.ok()) spdlog::error("writing back file sizes and times: {}", st.ToString());
      after_pass_();
    } catch (const std::exception& e) {
      spdlog::error("write-back thread: unexpected exception: {}", e.what());
    } catch (...) {
      spdlog::error("write-back thread: unexpected exception");
    }
    stop_mu_.Lock();
  }
  stop_mu_.Unlock();
}

}  // namespace tierfs
