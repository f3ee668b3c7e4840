// InlineFiles: small files whose bytes live in the namespace. A new file
// (or an inline one truncated to 0) whose writes all end within inline_max
// keeps its bytes in its row (MetadataStore::WriteInline), not in an object
// file; it has no objects, is never tiered, and an operation that needs
// objects (a write past inline_max, fallocate, copy_file_range) first moves
// its bytes to chunk 0 ("spills" it). A spill writes the object, then drops
// the inline bytes; mount-time recovery removes the objects of any inode
// that still has inline bytes (a spill a crash cut short), so the row is
// the truth. The bytes of one file are changed read-modify-write through a
// pooled buffer under its stripe of stripes_.
//
// Thread-safety: every method is thread-safe. Lock order: the attribute
// write-back's lock (attr_writeback.h) before a stripe before the inode
// table's lock; one stripe at a time, held across metadata and store
// calls. Clang cannot check the stripes: the analysis names no element of
// an array picked at run time, so Stripe's callers and SpillLocked's
// precondition are checked by reading this file, not by the compiler.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "fusefs/core/inode_table.h"
#include "fusefs/core/reclaimer.h"
#include "fusefs/meta/metadata.h"
#include "store/buffer_pool.h"
#include "store/mutex.h"
#include "store/object_store.h"

namespace tierfs {

class InlineFiles {
 public:
  // All must outlive it. inline_max: this mount's limit (config.h).
  InlineFiles(InodeTable* table, MetadataStore* meta, ObjectStore* store, Reclaimer* reclaimer,
              uint64_t inline_max)
      : table_(table), meta_(meta), store_(store), reclaimer_(reclaimer), inline_max_(inline_max) {}
  InlineFiles(const InlineFiles&) = delete;
  InlineFiles& operator=(const InlineFiles&) = delete;

  // Reads `len` bytes at `offset` of a file the table knows as inline: its
  // bytes (the lease's size; zeros follow up to len), or nullopt when it
  // was spilled meanwhile (read the objects).
  Result<std::optional<BufferLease>> Read(uint64_t ino, uint64_t offset, size_t len);
  // A write that lands in the inline bytes (true), or not (false: the
  // caller writes objects; an inline file was spilled first).
  Result<bool> Write(uint64_t ino, uint64_t offset, std::span<const std::byte> data);
  // Truncates an inline file (true: done, it stays inline or is emptied);
  // false when the caller must truncate objects (a spill may have run).
  Result<bool> Truncate(uint64_t ino, uint64_t new_size);
  // Before an operation that works on objects: spills an inline file, and
  // keeps an empty one from going inline meanwhile.
  Status ToObjects(uint64_t ino);

 private:
  // Serializes the read-modify-write of one file's inline bytes and spills.
  Mutex* Stripe(uint64_t ino) { return &stripes_[ino % stripes_.size()]; }
  Status SpillLocked(uint64_t ino);  // Stripe(ino) held, the file inline

  InodeTable* const table_;
  MetadataStore* const meta_;
  ObjectStore* const store_;
  Reclaimer* const reclaimer_;
  const uint64_t inline_max_;
  std::array<Mutex, 64> stripes_;
};

}  // namespace tierfs
