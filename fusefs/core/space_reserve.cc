// SpaceReserve: see space_reserve.h.
#include "fusefs/core/space_reserve.h"

#include <spdlog/spdlog.h>

#include <vector>

namespace tierfs {

void SpaceReserve::ReleaseIfNearlyFull() {
  if (!present_) return;
  auto space = env_->StatFs(dir_);
  if (!space.ok() || space->free_bytes >= 2 * kReserveBytes) return;
  if (!present_.exchange(false)) return;
  spdlog::warn("store is nearly full: releasing the {} MiB reserve for SQLite's commit",
               kReserveBytes >> 20);
  (void)env_->Unlink(path_);
}

void SpaceReserve::Ensure() {
  auto existing = env_->Stat(path_);
  if (existing.ok()) {
    // Taken for the reserve only at its exact size. Anything else — a file
    // the store did not create, or a reserve a crash cut short while it was
    // written — is left as it is: the store never overwrites a file it
    // cannot tell it made.
    if (existing->size == kReserveBytes) {
      present_ = true;
    } else {
      spdlog::warn(
          "{} is {} bytes, not the {} MiB reserve tierfs makes: left as it is, and "
          "the store has no reserve for a full disk (remove the file to get one)",
          path_, existing->size, kReserveBytes >> 20);
    }
    return;
  }
  if (!existing.status().IsNotFound()) return;
  auto space = env_->StatFs(dir_);
  if (!space.ok() || space->free_bytes < 4 * kReserveBytes) return;
  // exclusive: should a file appear meanwhile, it is not ours to fill.
  auto f = env_->Open(path_, OpenOptions{.write = true, .create = true, .exclusive = true});
  if (!f.ok()) return;
  std::vector<std::byte> zeros(1 << 20);
  Status st;
  for (uint64_t off = 0; st.ok() && off < kReserveBytes; off += zeros.size()) {
    st = (*f)->PWrite(off, zeros);
  }
  if (st.ok()) st = (*f)->Sync();
  if (!st.ok()) {
    (void)env_->Unlink(path_);
    return;
  }
  present_ = true;
}

Status SpaceReserve::FreeingSpace(const std::function<Status()>& op) {
  Status st = op();
  if (!st.IsNoSpace() || !present_.exchange(false)) return st;
  // The disk is full and SQLite cannot log the very change that would free
  // space: give it the reserve, then try once more.
  spdlog::warn("store is full: releasing the {} MiB reserve to let deletions through",
               kReserveBytes >> 20);
  (void)env_->Unlink(path_);
  return op();
}

}  // namespace tierfs
