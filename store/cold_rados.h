// RadosColdBackend: the cold tier in a Ceph RADOS pool (librados C API).
//
// Each store keeps its objects in its own RADOS namespace of the pool (the
// store id, recorded in the store), so several stores can share one pool.
// In that namespace:
//   - data objects "<group:016x>.<index:016x>.<nonce:016x>", each holding
//     exactly the bytes of one cold object (compress/FORMAT.md); a nonce is
//     unique to one write, so a new copy never overwrites the committed one;
//   - one index object "tierfs.index" whose omap maps
//     "<group:016x>.<index:016x>" to the committed copy (a 32-byte value,
//     versioned: store/STORE.md, EncodeRadosIndexValue below);
//   - the owner object "tierfs.owner", whose xattr "owner" is the owner
//     record (store/cold_owner.h), swapped by compare-and-set.
// A commit is one omap update of the index object, which RADOS applies
// atomically; the superseded copy is removed after it. Recover() reads the
// index and removes every data object it does not name (interrupted writes,
// superseded copies). Reads are ranged rados_read()s straight into the
// caller's (pooled) buffer. Every operation is bounded by timeout_s
// (rados_osd_op_timeout, rados_mon_op_timeout, client_mount_timeout): a
// cluster that is down gives ETIMEDOUT, which the store reports as EIO.
//
// Thread-safety: thread-safe (librados I/O contexts are; one mutex guards
// the in-memory copy of the index).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "store/cold_backend.h"

namespace tierfs {

struct RadosOptions {
  std::string pool;  // empty: no RADOS cold tier
  std::string conf = "/etc/ceph/ceph.conf";
  std::string id = "admin";  // client.<id>
  std::string ns;            // RADOS namespace: the store id
  uint32_t timeout_s = 30;   // every RADOS operation, and connecting
  bool read_only = false;
};

// Connects to the cluster and opens the pool (NotFound when the pool does
// not exist; IOError naming the cluster when it cannot be reached in
// timeout_s).
Result<std::unique_ptr<ColdBackend>> OpenRadosColdBackend(const RadosOptions& opts);

// The index value: version byte (1), 7 zero bytes, nonce, stored bytes and
// commit time in ns since the epoch (each LE64). Decode is bounds-checked:
// nullopt for any other input.
struct RadosIndexValue {
  uint64_t nonce = 0;
  uint64_t stored_bytes = 0;
  int64_t mtime_ns = 0;
};
inline constexpr size_t kRadosIndexValueSize = 32;
void EncodeRadosIndexValue(const RadosIndexValue& v,
                           std::span<std::byte, kRadosIndexValueSize> out);
std::optional<RadosIndexValue> DecodeRadosIndexValue(std::span<const std::byte> in);

}  // namespace tierfs
