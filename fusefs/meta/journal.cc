// Journal: see journal.h.
#include "fusefs/meta/journal.h"

#include <spdlog/spdlog.h>

namespace tierfs {

Journal::Journal(Hooks hooks) : hooks_(std::move(hooks)) {}

Journal::~Journal() { Stop(); }

void Journal::Start(MetadataStore* meta) {
  meta_ = meta;
  thread_ = std::thread([this] { Loop(); });
}

void Journal::Opened() {
  {
    std::lock_guard lock(mu_);
    opened_ = true;
  }
  cv_.notify_one();
}

Status Journal::Commit() { return Counted(&MetadataStore::Commit); }

Status Journal::CommitDurably() { return Counted(&MetadataStore::CommitDurably); }

Status Journal::Counted(Status (MetadataStore::*commit)()) {
  if (hooks_.before_commit) hooks_.before_commit();
  Status st = (meta_->*commit)();
  if (st.ok()) {
    commits_.fetch_add(1);
  } else {
    commit_errors_.fetch_add(1);
  }
  return st;
}

void Journal::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Journal::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || opened_; });
    // Let the batch gather; Stop ends the wait and commits at once.
    cv_.wait_for(lock, kCommitDelay, [&] { return stop_; });
    opened_ = false;
    const bool stopping = stop_;
    lock.unlock();
    // An exception here would end the daemon (std::terminate): log it; the
    // batch stays open for the next commit.
    try {
      Status st = Commit();
      if (!st.ok()) {
        spdlog::error("committing namespace changes: {}", st.ToString());
        // Not lost (still open, e.g. no space yet): try again after a delay.
        if (meta_->health().ok()) {
          std::lock_guard relock(mu_);
          opened_ = true;
        }
      }
    } catch (const std::exception& e) {
      spdlog::error("journal thread: unexpected exception: {}", e.what());
    }
    if (stopping) return;
    lock.lock();
  }
}

}  // namespace tierfs
