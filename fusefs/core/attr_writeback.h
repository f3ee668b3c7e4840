// AttrWriteback: writes the attributes the inode table caches (sizes and
// times changed by writes, setattr and reads) to SQLite in one transaction
// — every kWritebackInterval on its own thread, and at fsync, setattr, link
// and unmount — never on the data path or per close.
//
// Write-backs are serialized by mu_, so that an older value never lands
// after a newer one; setattr holds it across its own SQLite change
// (WriteBackThen) for the same reason.
//
// Thread-safety: every method is thread-safe. Lock order: mu_ before the
// inline files' stripes (inline_files.h) before the inode table's mu_;
// mu_ is held across SQLite calls, the table's never is.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <type_traits>

#include "fusefs/core/inode_table.h"
#include "fusefs/core/kernel_clock.h"
#include "fusefs/meta/metadata.h"
#include "store/mutex.h"

namespace tierfs {

inline constexpr std::chrono::milliseconds kWritebackInterval{200};

class AttrWriteback {
 public:
  // table, meta and clock must outlive it; `after_pass` runs on the thread
  // after each periodic write-back.
  AttrWriteback(InodeTable* table, MetadataStore* meta, KernelClock* clock,
                std::function<void()> after_pass);
  ~AttrWriteback();  // Stop()
  AttrWriteback(const AttrWriteback&) = delete;
  AttrWriteback& operator=(const AttrWriteback&) = delete;

  // Starts the thread that writes back every kWritebackInterval (once).
  void Start();
  // Ends the thread; WriteBack still works after it.
  void Stop() EXCLUDES(stop_mu_);

  // Writes cached sizes and times to SQLite in one transaction: of one
  // inode, or of all (nullopt). On failure all stays pending.
  Status WriteBack(std::optional<uint64_t> only) EXCLUDES(mu_);
  // Writes back `ino`, then runs op (returning Status or Result<T>) with
  // write-backs held off, so that no older cached value lands after it.
  template <class Op>
  std::invoke_result_t<Op> WriteBackThen(uint64_t ino, Op&& op) EXCLUDES(mu_) {
    MutexLock order(&mu_);
    TIERFS_RETURN_IF_ERROR(WriteBackLocked(ino));
    return op();
  }

 private:
  Status WriteBackLocked(std::optional<uint64_t> only) REQUIRES(mu_);
  void Loop() EXCLUDES(stop_mu_);

  InodeTable* const table_;
  MetadataStore* const meta_;
  KernelClock* const clock_;
  const std::function<void()> after_pass_;

  friend class Filesystem;                 // names mu_ in its lock order
  Mutex mu_ ACQUIRED_BEFORE(table_->mu_);  // orders write-backs
  Mutex stop_mu_;
  bool stop_ GUARDED_BY(stop_mu_) = false;
  CondVar stop_cv_;  // the thread waits on it for the next interval or Stop
  std::thread thread_;
};

}  // namespace tierfs
