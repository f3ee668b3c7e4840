// ColdBackend: where cold objects live. The object store keeps the hot tier
// (plain files under hot_dir) itself and talks to the cold tier only through
// this interface, which is shaped like a small transaction store rather than
// a directory: begin writing an object (a streamed sink), finish (its bytes
// are durable), commit (it atomically becomes the object's committed copy,
// replacing any earlier one), or abort; open the committed copy for ranged
// reads; remove it; list the committed objects at recovery.
//
// A cold object holds exactly the bytes of the cold object format
// (compress/FORMAT.md) whatever the backend. Two backends exist:
//   - DirColdBackend (cold_dir.cc): files under a directory, committed by
//     fsync -> rename -> fsync of the directory (store/STORE.md);
//   - RadosColdBackend (cold_rados.cc): objects in a Ceph RADOS pool,
//     committed by one atomic omap update of the store's index object,
//     since RADOS has no rename (store/STORE.md, "Cold tier on RADOS").
//
// Crash contract every backend keeps: after a crash at any point, Recover()
// lists for each key either the copy committed last or (if the crash came
// before that commit returned) the one before it, never a partial or mixed
// object; uncommitted and superseded copies are removed by Recover() (not in
// read-only mode). A commit or remove whose call failed may or may not have
// taken effect (a timed-out RADOS op can still be applied).
//
// Thread-safety: a backend's methods are thread-safe; a ColdObject may be
// read by several threads at once; a ColdWrite is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compress/byte_io.h"
#include "compress/status.h"
#include "store/object_key.h"

namespace tierfs {

// A committed cold object as Recover() found it.
struct ColdListing {
  uint64_t group = 0, index = 0;
  uint64_t stored_bytes = 0;
  int64_t mtime_ns = 0;  // when it was committed (0 when the backend does not know)
};

// The committed copy of one object, open for ranged reads. size() and
// ReadExactAt() come from ByteSource; ReadExactAt is thread-safe.
class ColdObject : public ByteSource {
 public:
  // Hint: the whole object will be read soon.
  virtual void WillNeed() {}
};

// A new copy of one object being written. Append() streams its bytes;
// Finish() makes them durable (still invisible); Commit() makes the copy the
// object's committed one. Destroying a ColdWrite that was not committed
// aborts it: what it wrote is removed (best effort; Recover() removes what
// a crash leaves).
class ColdWrite : public ByteSink {
 public:
  virtual Status Finish() = 0;
  virtual Status Commit() = 0;
  // After a failed Commit(): whether it may have taken effect anyway.
  virtual bool maybe_committed() const = 0;
  virtual uint64_t written() const = 0;
};

class ColdBackend {
 public:
  virtual ~ColdBackend() = default;
  // What holds the cold bytes, for status and where: "dir:/srv/cold",
  // "rados:pool/namespace".
  virtual std::string Describe() const = 0;
  // Where the committed copy of key lives, for messages: a path, or
  // "rados:pool/namespace/object".
  virtual std::string NameOf(ObjectKey key) const = 0;
  // Makes the backend ready (directories, connection), removes what
  // interrupted writes and superseded copies left (unless read_only), and
  // lists the committed objects.
  virtual Result<std::vector<ColdListing>> Recover() = 0;
  virtual Result<std::unique_ptr<ColdWrite>> Begin(ObjectKey key) = 0;
  // NotFound when key has no committed copy.
  virtual Result<std::unique_ptr<ColdObject>> Open(ObjectKey key) = 0;
  // Removes the committed copy of key (OK when there is none). Durable once
  // SyncRemovals() returns.
  virtual Status Remove(ObjectKey key) = 0;
  virtual Status SyncRemovals() = 0;
  // The bytes of the tier's owner record (store/cold_owner.h); NotFound
  // when it has none. Readable before Recover().
  virtual Result<std::string> ReadOwner() = 0;
  // Replaces the owner record by `record`, durably, if it still is
  // `expected` (nullopt: no record): Busy when it changed meanwhile (another
  // store claimed the tier), so that two claims cannot both succeed.
  virtual Status SwapOwner(const std::optional<std::string>& expected,
                           const std::string& record) = 0;
};

}  // namespace tierfs
