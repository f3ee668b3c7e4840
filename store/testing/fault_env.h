// FaultInjectionEnv: an Env wrapper for tests that injects I/O errors
// (EIO, ENOSPC, short writes) and simulates a crash.
//
// Crash model (like leveldb's db/fault_injection_test.cc, stricter): file
// *contents* are durable only up to the last File::Sync(), and a directory
// entry change — a file created (Open with create), a directory made, a
// rename, an unlink — is durable only once SyncDir() of the directory it is
// in has been called after it (a rename: of the directories of both names).
// DropUnsyncedData() applies what a power cut leaves: in reverse order,
// un-synced creates vanish (a directory with its contents), un-synced renames
// revert (a file renamed over comes back with its durable content),
// un-synced unlinks come back (with their durable content); then every file
// written through this Env is put back to its content at its last sync (a
// file never synced becomes empty). File::Sync() does not make the file's
// directory entry durable. CrashAfter(n) makes every operation after the next
// n mutating ones fail without effect, so a test can stop the store at each
// step of a multi-step operation.
//
// DropUnsyncedData(PowerCut) applies what a power cut can leave on ext4
// (data=ordered), not only the worst case: the unsynced state is partly
// written out when the power goes. Directory entry changes (creates, mkdirs,
// renames, unlinks) go to disk through the filesystem's journal, one ordered
// stream that commits every few seconds by itself: of those not yet made
// durable by SyncDir, a random PREFIX survives, in the order they happened,
// and the rest is undone as above, newest first. File contents are written
// back by the page cache in no particular order: each file written since its
// last File::Sync independently keeps everything written to it (content and
// size) or reverts to its content at that sync, one coin per file. (ext4
// would also let part of one file's unsynced pages through; a whole-file
// coin never tears a write, which is what SQLite's
// SQLITE_IOCAP_POWERSAFE_OVERWRITE assumes.) The choices are made by a
// generator seeded with PowerCut::seed, so one seed gives one outcome; a
// SyncDir still makes its directory's earlier changes durable for sure, as
// a File::Sync the file's content. The model is stricter than ext4 in one
// way: an fsync on ext4 commits the whole journal (every earlier entry
// change in every directory); here only SyncDir of the directory does.
//
// Thread-safety: thread-safe (one mutex around the bookkeeping).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/env.h"
#include "store/mutex.h"

namespace tierfs {

enum class FaultOp {
  kOpen,
  kRead,
  kWrite,
  kSync,
  kRename,
  kUnlink,
  kTruncate,
  kSyncDir,
  kAllocate,  // File::Allocate (fallocate); e.g. FailOp(kAllocate, NoSpace)
  kWillNeed,  // File::WillNeed (a readahead hint: counted, cannot fail)
  // Operations of a cold backend wrapped by FaultColdBackend (fault_cold.h):
  kColdWrite,   // ColdWrite Append, Finish and Commit (mutating)
  kColdRead,    // ColdBackend::Open and ColdObject reads
  kColdRemove,  // ColdBackend::Remove (mutating)
};

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // The next `count` operations of kind `op` (after skipping `skip` of them)
  // fail with `status`. count < 0: until ClearFaults().
  void FailOp(FaultOp op, Status status, int count = -1, int skip = 0) EXCLUDES(mu_);
  // PWrites write the first half of their data, then fail with ENOSPC.
  void SetShortWrites(bool on) EXCLUDES(mu_);
  // Runs fn once, on the calling thread, just before the (skip+1)-th
  // operation of kind `op` from now is performed (with no lock of this Env
  // held, so fn may use the Env and the store). Lets a test interleave
  // foreground calls at an exact step of a background operation.
  void RunBefore(FaultOp op, std::function<void()> fn, int skip = 0) EXCLUDES(mu_);
  // Counts and checks one operation of another interface under the same
  // faults and crash point (FaultColdBackend): the injected status, or OK.
  Status Inject(FaultOp op, bool mutating) EXCLUDES(mu_) { return Check(op, mutating); }
  // After n more mutating operations, every operation fails ("crashed").
  void CrashAfter(int n) EXCLUDES(mu_);
  bool crashed() const EXCLUDES(mu_);
  // Mutating operations performed so far (to enumerate crash points).
  int mutating_ops() const EXCLUDES(mu_);
  // Operations of kind `op` attempted so far (e.g. how many fsyncs).
  int ops(FaultOp op) const EXCLUDES(mu_);
  void ClearFaults() EXCLUDES(mu_);
  // Applies the crash model to the files written through this Env and
  // clears the crashed state: everything unsynced is lost.
  Status DropUnsyncedData() EXCLUDES(mu_);
  // What a power cut leaves of the unsynced state (see the model above).
  struct PowerCut {
    uint64_t seed = 0;  // one seed, one outcome
  };
  // The power-cut model: a prefix of the unsynced directory entry changes
  // and, per file, all or none of its unsynced content survive; the rest
  // is dropped as by DropUnsyncedData(). Clears the crashed state.
  Status DropUnsyncedData(const PowerCut& cut) EXCLUDES(mu_);

  // Env
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& opts) override
      EXCLUDES(mu_);
  Status Rename(const std::string& from, const std::string& to) override EXCLUDES(mu_);
  Status Unlink(const std::string& path) override EXCLUDES(mu_);
  Status MkDir(const std::string& path) override EXCLUDES(mu_);
  Status SyncDir(const std::string& path) override EXCLUDES(mu_);
  Result<std::vector<std::string>> ListDir(const std::string& path) override EXCLUDES(mu_);
  Result<FileStat> Stat(const std::string& path) override EXCLUDES(mu_);
  Result<FsSpace> StatFs(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override;
  Result<std::unique_ptr<FileLock>> LockExistingFile(const std::string& path) override;
  int64_t NowNanos() override EXCLUDES(mu_);
  int64_t CoarseNowNanos() override EXCLUDES(mu_);
  // Makes NowNanos() and CoarseNowNanos() return ns (0: the base Env's
  // clocks again).
  void SetNowNanos(int64_t ns) EXCLUDES(mu_);

 private:
  friend class FaultFile;
  // Returns the injected status for op, or OK; counts mutating ops.
  Status Check(FaultOp op, bool mutating) EXCLUDES(mu_);
  void NoteWrite(const std::string& path) EXCLUDES(mu_);
  Status NoteSync(const std::string& path) EXCLUDES(mu_);
  bool short_writes() const EXCLUDES(mu_);

  struct Rule {
    Status status;
    int count = -1;
    int skip = 0;
  };

  Env* const base_;
  mutable Mutex mu_;  // guards the fields below
  std::map<FaultOp, Rule> rules_ GUARDED_BY(mu_);
  struct Hook {
    FaultOp op;
    int skip = 0;
    std::function<void()> fn;
  };
  std::vector<Hook> hooks_ GUARDED_BY(mu_);
  bool short_writes_ GUARDED_BY(mu_) = false;
  int crash_countdown_ GUARDED_BY(mu_) = -1;  // < 0: no crash scheduled
  bool crashed_ GUARDED_BY(mu_) = false;
  int mutating_ops_ GUARDED_BY(mu_) = 0;
  std::map<FaultOp, int> ops_ GUARDED_BY(mu_);
  int64_t now_ns_ GUARDED_BY(mu_) = 0;
  // Files written since this Env saw them: content at last sync
  // (nullopt: never synced, so a crash leaves them empty).
  std::map<std::string, std::optional<std::string>> synced_ GUARDED_BY(mu_);

  // A directory entry change not yet made durable by SyncDir.
  struct DirOp {
    enum Kind { kCreate, kMkDir, kRename, kUnlink } kind = kCreate;
    std::string path;                     // the name created, unlinked, or renamed to
    std::string from;                     // kRename: the old name
    std::set<std::string> unsynced_dirs;  // durable once all are synced
    // kUnlink, and kRename over an existing file: that file's durable
    // content, to bring it back.
    bool restore = false;
    std::string content;
  };
  static DirOp MakeOp(DirOp::Kind kind, std::string path, std::string from,
                      std::set<std::string> dirs);
  // The durable content of an existing file as far as this Env knows.
  std::string DurableContentLocked(const std::string& path) REQUIRES(mu_);
  // Both DropUnsyncedData: keeps the first `kept_ops` pending entry changes
  // and the unsynced content of the files `keep_content` says yes to.
  Status Cut(const std::function<size_t(size_t pending)>& kept_ops,
             const std::function<bool(const std::string& path)>& keep_content) EXCLUDES(mu_);
  std::vector<DirOp> pending_ GUARDED_BY(mu_);  // oldest first
};

}  // namespace tierfs
