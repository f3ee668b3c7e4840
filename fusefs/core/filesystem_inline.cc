// Filesystem: inline files — small files whose bytes live in the namespace
// (see "Inline files" in filesystem.h). The bytes of one file are changed
// read-modify-write under its InlineLock, through a pooled buffer.
#include <algorithm>
#include <cstring>

#include "fusefs/core/filesystem.h"

namespace tierfs {

static_assert(kMaxInlineMax <= kMinChunkSize, "a spill writes all inline bytes to chunk 0");

Filesystem::Layout Filesystem::LayoutOf(uint64_t ino) {
  {
    std::lock_guard lock(mu_);
    auto it = inodes_.find(ino);
    if (it != inodes_.end() && it->second.layout != Layout::kUnknown) return it->second.layout;
  }
  auto a = meta_->GetAttr(ino);
  const Layout layout = a.ok() && a->inline_data ? Layout::kInline : Layout::kObjects;
  std::lock_guard lock(mu_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return layout;  // not held by anyone: nothing to remember
  if (it->second.layout == Layout::kUnknown) it->second.layout = layout;
  return it->second.layout;
}

void Filesystem::SetLayout(uint64_t ino, Layout layout) {
  std::lock_guard lock(mu_);
  inodes_[ino].layout = layout;
}

Result<bool> Filesystem::InlineRead(uint64_t ino, uint64_t offset, uint64_t end, ReadResult* r) {
  if (LayoutOf(ino) != Layout::kInline) return false;
  const size_t len = static_cast<size_t>(end - offset);
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, store_->pool().Lease(len));
  auto got = meta_->ReadInline(ino, offset, lease.span().first(len));
  if (got.status().IsNotFound()) return false;  // spilled meanwhile: read the objects
  TIERFS_RETURN_IF_ERROR(got.status());
  lease.set_size(*got);
  ReadPiece& p = r->pieces[r->count++];
  p.length = *got;
  p.data = std::move(lease);
  if (*got < len) r->pieces[r->count++].length = len - *got;  // past the bytes, within the size
  r->total = len;
  return true;
}

Result<bool> Filesystem::InlineWrite(uint64_t ino, uint64_t offset,
                                     std::span<const std::byte> data) {
  if (data.empty()) return false;  // changes nothing, as for objects
  std::lock_guard guard(InlineLock(ino));
  const Layout layout = LayoutOf(ino);
  if (layout != Layout::kInline && layout != Layout::kEmpty) return false;
  const uint64_t end = offset + data.size();
  // Inline bytes are never more than kMaxInlineMax, whatever inline_max
  // this mount has (an earlier one may have had a larger one).
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, store_->pool().Lease(kMaxInlineMax));
  const std::span<std::byte> buf = lease.span().first(kMaxInlineMax);
  size_t have = 0;
  if (layout == Layout::kInline && end <= config_.inline_max) {
    auto got = meta_->ReadInline(ino, 0, buf);
    TIERFS_RETURN_IF_ERROR(got.status());
    have = *got;
  }
  if (end > config_.inline_max || have > config_.inline_max) {
    if (layout == Layout::kInline) TIERFS_RETURN_IF_ERROR(SpillLocked(ino));
    SetLayout(ino, Layout::kObjects);
    return false;
  }
  // Between the bytes kept and this write: zeros (the file may have been
  // extended by a truncate, which keeps no bytes for that).
  if (offset > have) std::fill(buf.begin() + have, buf.begin() + offset, std::byte{0});
  std::copy(data.begin(), data.end(), buf.begin() + offset);
  const size_t length = std::max<size_t>(have, end);
  TIERFS_RETURN_IF_ERROR(RetryAfterFrees([&] { return meta_->WriteInline(ino, buf.first(length)); }));
  SetLayout(ino, Layout::kInline);
  return true;
}

Status Filesystem::SpillLocked(uint64_t ino) {
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, store_->pool().Lease(kMaxInlineMax));
  auto got = meta_->ReadInline(ino, 0, lease.span().first(kMaxInlineMax));
  if (!got.ok() && !got.status().IsNotFound()) return got.status();
  const size_t n = got.ok() ? *got : 0;
  // The object first, durable, then the bytes dropped from the row: a crash
  // in between leaves the row's bytes, and the next mount removes the
  // object. Unsynced, the object could lose its bytes to a power cut that
  // the row's change survives (the log reaches the disk on its own time).
  if (n > 0) {
    TIERFS_RETURN_IF_ERROR(RetryAfterFrees(
        [&] { return store_->Write({ino, 0}, 0, lease.span().first(n)); }));
    TIERFS_RETURN_IF_ERROR(store_->Sync({ino, 0}));
  }
  if (got.ok()) TIERFS_RETURN_IF_ERROR(meta_->DropInline(ino));
  SetLayout(ino, Layout::kObjects);
  return Status::OK();
}

Status Filesystem::ToObjects(uint64_t ino) {
  std::lock_guard guard(InlineLock(ino));
  const Layout layout = LayoutOf(ino);
  if (layout == Layout::kInline) return SpillLocked(ino);
  if (layout == Layout::kEmpty) SetLayout(ino, Layout::kObjects);
  return Status::OK();
}

Result<bool> Filesystem::InlineTruncate(uint64_t ino, uint64_t new_size) {
  std::lock_guard guard(InlineLock(ino));
  if (LayoutOf(ino) != Layout::kInline) return false;
  if (new_size == 0) {
    TIERFS_RETURN_IF_ERROR(meta_->DropInline(ino));
    SetLayout(ino, Layout::kEmpty);
    return true;
  }
  if (new_size > config_.inline_max) {
    TIERFS_RETURN_IF_ERROR(SpillLocked(ino));
    return false;
  }
  // Bytes past the new size must not come back if the file grows again.
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, store_->pool().Lease(kMaxInlineMax));
  TIERFS_ASSIGN_OR_RETURN(size_t have, meta_->ReadInline(ino, 0, lease.span().first(kMaxInlineMax)));
  if (have > new_size) {
    TIERFS_RETURN_IF_ERROR(meta_->WriteInline(ino, lease.span().first(new_size)));
  }
  return true;
}

}  // namespace tierfs
