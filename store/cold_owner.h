// Who owns the cold tier: the owner record (store/STORE.md, "Who owns the
// cold tier"). A cold tier outside the store directory (cold_dir elsewhere,
// a RADOS pool) is shared by every copy of the store directory (cp -a, a
// restored backup, a cloned VM): the copies have the same store id, and each
// would take the other's cold objects for garbage (recovery removes what
// its own metadata does not name). So:
//   - the cold tier records its owner: the store id and an epoch;
//   - the store directory records (STORE/OWNER) the epoch it last held and
//     its own inode number, which a copy does not keep;
//   - a writable open claims the tier by moving both to a new epoch, and is
//     refused, before it touches the tier, when the record says the tier is
//     another store's, or another copy's: the directory's inode is not the
//     one it recorded (this directory is a copy, or was moved), or its
//     epoch is not the tier's (another copy took the tier over since).
// Taking a tier over is an explicit act (tierfs takeover: take_over below).
// A store made before owner records (or a new one) has no record: its
// first writable open claims the tier.
//
// A claim is crash-safe: the store directory first records the epoch it is
// claiming, then the cold tier's record is swapped (compare-and-swap, so
// that two copies opening at once cannot both win), then the store
// directory records the new epoch as held; an open after a crash at any
// step accepts either epoch.
//
// Thread-safety: functions without state of their own; ClaimColdTier runs
// at open, under the store lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "compress/status.h"
#include "store/cold_backend.h"
#include "store/env.h"

namespace tierfs {

// The owner record (version 1, 80 bytes): "tierfs-owner" and 4 zero bytes,
// the version byte 01 and 7 zero bytes, the store id (32 lowercase hex
// digits), then LE64 each: the epoch, the claiming epoch (the epoch an
// unfinished claim is moving to; 0 when none, always 0 in the cold tier)
// and the inode number of the store directory that wrote it. Decode is
// bounds-checked: nullopt for any other input.
struct OwnerRecord {
  std::string store_id;
  uint64_t epoch = 0;
  uint64_t claiming = 0;
  uint64_t dir_ino = 0;
  bool operator==(const OwnerRecord&) const = default;
};
inline constexpr size_t kOwnerRecordSize = 80;
std::string EncodeOwnerRecord(const OwnerRecord& r);
std::optional<OwnerRecord> DecodeOwnerRecord(std::span<const std::byte> in);

// A record file (the store directory's STORE/OWNER, a cold directory's
// OWNER): its bytes (at most 4 KiB are read; NotFound when missing), and
// its replacement by a temp file, fsynced, renamed over it, with the
// directory fsynced, so that a crash leaves the old or the new bytes.
Result<std::string> ReadRecordFile(Env* env, const std::string& path);
Status ReplaceRecordFile(Env* env, const std::string& path, const std::string& bytes);

// Where the store directory keeps its side of the record.
std::string StoreOwnerPath(const std::string& store_dir);

// Claims the cold tier for the store in store_dir (its id store_id), as
// the header comment says. A tier owned by another store id is always
// refused; one owned by another copy of this store only without
// take_over. Refusals are Busy, with a message saying what owns the tier
// and how to take it over. Must run under the store lock, before anything
// recovers or writes the cold tier.
Status ClaimColdTier(Env* env, const std::string& store_dir, ColdBackend& cold,
                     const std::string& store_id, bool take_over);

}  // namespace tierfs
