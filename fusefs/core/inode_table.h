// InodeTable: the in-memory state of the inodes the kernel or an open file
// holds — kernel lookup counts (libfuse's passthrough_hp model: raised by
// every entry reply, lowered by forget), open counts, where a file's bytes
// are (Layout), and the attributes that writes, setattr and reads changed
// and SQLite does not have yet (size, mtime, ctime, atime). Those cached
// attributes are laid over SQLite's (Attr) until the attribute write-back
// (attr_writeback.h) commits them; atime follows the mount's atime mode
// here (relatime, strictatime, noatime).
//
// An inode whose link count dropped to 0 is handed to the `free` hook (the
// Reclaimer) once it is neither open nor known to the kernel.
//
// Thread-safety: every method is thread-safe. mu_ is a leaf: it is never
// held across a metadata call, a hook or another class's lock (the
// write-back's and the inline files' locks are taken before it, never
// while it is held).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "compress/status.h"
#include "fusefs/core/config.h"
#include "fusefs/core/kernel_clock.h"
#include "fusefs/meta/metadata.h"
#include "store/mutex.h"

namespace tierfs {

// Where a file's bytes are. kEmpty: no objects and no inline bytes (a new
// file, or one truncated to 0), so its first write may go inline.
enum class Layout : uint8_t { kUnknown, kObjects, kInline, kEmpty };

class InodeTable {
 public:
  // Cached attributes committed to SQLite by a write-back: (inode, values).
  using Updates = std::vector<std::pair<uint64_t, AttrUpdate>>;

  // meta, clock and *read_only (the mount's switch: no atime moves while
  // set) must outlive the table; `free` takes a dead inode (nlink 0, closed,
  // forgotten) and is called without mu_ held.
  InodeTable(MetadataStore* meta, KernelClock* clock, AtimeMode atime,
             const std::atomic<bool>* read_only, std::function<void(uint64_t)> free);
  InodeTable(const InodeTable&) = delete;
  InodeTable& operator=(const InodeTable&) = delete;

  // ---- attributes: SQLite's with the cached ones laid over ----
  // A write-back commits cached values to SQLite, then drops them from the
  // table: attributes read from SQLite before that commit and overlaid
  // after the drop would show SQLite's older values. So a reader notes
  // WriteBacks() before it reads SQLite, and Overlaid reads again when a
  // write-back has run since.
  Result<InodeAttr> Attr(uint64_t ino) EXCLUDES(mu_);
  uint64_t WriteBacks() EXCLUDES(mu_);
  // Records a kernel lookup of the entry `read` from SQLite after
  // WriteBacks() returned `seen`; returns its current attributes.
  Result<InodeAttr> Remember(uint64_t seen, const InodeAttr& read) EXCLUDES(mu_);
  // The kernel dropped nlookup lookups; false (logged as a bug) when it
  // forgot more than were counted, which frees the inode all the same.
  bool Forget(uint64_t ino, uint64_t nlookup) EXCLUDES(mu_);
  Result<uint64_t> FileSize(uint64_t ino) EXCLUDES(mu_);
  // The file's layout, from the table or its row.
  Layout LayoutOf(uint64_t ino) EXCLUDES(mu_);
  void SetLayout(uint64_t ino, Layout layout) EXCLUDES(mu_);
  // FileSize and LayoutOf in one lock when the table knows both (a read's
  // and a write's first question).
  struct Shape {
    uint64_t size = 0;
    Layout layout = Layout::kUnknown;
  };
  Result<Shape> ShapeOf(uint64_t ino) EXCLUDES(mu_);

  // ---- opens and the namespace ----
  void Opened(uint64_t ino, bool for_write) EXCLUDES(mu_);
  // A file just created (empty, `layout`) and opened.
  void Created(uint64_t ino, bool for_write, Layout layout) EXCLUDES(mu_);
  // `for_write`: the open being closed could write (as passed to Opened).
  void Closed(uint64_t ino, bool for_write) EXCLUDES(mu_);
  // After unlink, rmdir or a rename that replaced `a`: freed once closed
  // and forgotten if that was its last link.
  void Unlinked(const InodeAttr& a) EXCLUDES(mu_);
  // The inode's mtime or ctime changed: relatime must look at atime again.
  void Changed(uint64_t ino) EXCLUDES(mu_);

  // ---- attributes changed here, written back later ----
  // setattr of times only on a regular file whose attributes are `cur`;
  // ctime is the kernel's when it sent one, else now.
  void SetTimes(uint64_t ino, const InodeAttr& cur, std::optional<Timespec> mtime,
                std::optional<Timespec> atime, std::optional<Timespec> ctime) EXCLUDES(mu_);
  // A truncate to `size` committed to the namespace.
  void Truncated(uint64_t ino, uint64_t size) EXCLUDES(mu_);
  // Bytes up to `end` of a file were written (write, copy_file_range): the
  // size grows to it, mtime and ctime are now. With `kernel_times` (pages
  // the kernel cached: writepage) the times stay: the kernel stamped the
  // write itself and sends its times (a setattr), and one that landed in
  // the tick of the last stamp changed none.
  void Wrote(uint64_t ino, uint64_t end, bool kernel_times) EXCLUDES(mu_);
  // fallocate: the size grows to `end` if given; mtime and ctime are now.
  void Allocated(uint64_t ino, std::optional<uint64_t> end) EXCLUDES(mu_);
  // The pending cached attributes of one inode, or of all (nullopt). They
  // stay in place (and keep answering getattr) until Committed: cleared
  // before, a getattr meanwhile would read SQLite's older ones.
  Updates TakePending(std::optional<uint64_t> only) EXCLUDES(mu_);
  // `updates` (from TakePending) are in SQLite: drops what has not changed
  // again since, and forgets inodes nothing holds any more.
  void Committed(const Updates& updates) EXCLUDES(mu_);

  // ---- atime ----
  // Whether a read now would change atime (so the kernel must not answer
  // it from its cache).
  bool AtimeDue(uint64_t ino) EXCLUDES(mu_);
  void SetAtimeNow(uint64_t ino) EXCLUDES(mu_);
  // After a read of [offset, end): `sequential` when it began where the
  // last one ended (tracked only with `track`, an object read); atime moved
  // when `touch_atime` and due (`atime_changed`). One lock when atime is
  // not due or its mode says so at once.
  struct ReadNote {
    bool sequential = false;
    bool atime_changed = false;
  };
  ReadNote ReadDone(uint64_t ino, uint64_t offset, uint64_t end, bool track, bool touch_atime)
      EXCLUDES(mu_);

 private:
  // One per inode the kernel or an open file holds (a million of them with
  // a million files looked up): fields ordered largest first, so that the
  // flags share one word (96 bytes; see the scale point in docs/benchmarks.md).
  struct Inode {
    uint64_t lookups = 0;
    uint64_t size = 0;
    uint64_t read_end =
        0;  // where the last read ended: the next one is sequential if it starts here
    Timespec mtime, ctime;
    std::optional<Timespec> atime;  // set by setattr or a read, not yet written
    uint32_t opens = 0;
    // Opens that can write: the kernel may hold their writes in its cache,
    // with an mtime the daemon has not seen yet.
    uint32_t write_opens = 0;
    Layout layout = Layout::kUnknown;  // kUnknown: ask LayoutOf
    bool size_known = false;           // `size` is authoritative
    bool dirty = false;                // size/mtime/ctime newer than SQLite
    bool unlinked = false;             // nlink reached 0: free when closed and forgotten
    bool atime_touches_ctime = true;   // false when a read set `atime`
    // relatime: atime is known to be newer than mtime and ctime, so reads
    // need not look at it until the next change.
    bool atime_fresh = false;
    bool pending() const { return dirty || atime.has_value(); }
  };
  static_assert(sizeof(Inode) <= 96, "the inode table's entry grew");

  // What the atime mode alone says of a read's atime.
  enum class AtimeAnswer { kNo, kYes, kAsk };
  AtimeAnswer AtimeByMode() const;
  // kAsk resolved from the table (the entry, or null); kAsk when it cannot tell.
  static AtimeAnswer AtimeByEntry(const Inode* n);
  // kAsk resolved from the attributes (reads SQLite).
  bool AtimeDueByAttr(uint64_t ino) EXCLUDES(mu_);
  void SetAtime(Inode& n, const Timespec& now, const Timespec& fine) REQUIRES(mu_);
  // Lays the cached attributes over `a`; false when a write-back has run
  // since `seen` (a must be read again).
  bool Overlay(InodeAttr* a, uint64_t seen) EXCLUDES(mu_);
  Result<InodeAttr> Overlaid(uint64_t seen, InodeAttr a) EXCLUDES(mu_);
  // Hands the inode to `free_` if unlinked, closed and forgotten.
  void MaybeFree(uint64_t ino) EXCLUDES(mu_);

  MetadataStore* const meta_;
  KernelClock* const clock_;
  const AtimeMode atime_mode_;
  const std::atomic<bool>* const read_only_;
  const std::function<void(uint64_t)> free_;

  friend class AttrWriteback;  // names mu_ in its lock order
  Mutex mu_;
  std::unordered_map<uint64_t, Inode> inodes_ GUARDED_BY(mu_);
  uint64_t write_backs_ GUARDED_BY(mu_) = 0;  // committed write-backs (see Overlaid)
};

}  // namespace tierfs
