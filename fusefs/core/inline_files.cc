// InlineFiles: see inline_files.h.
#include "fusefs/core/inline_files.h"

#include <algorithm>

#include "fusefs/core/config.h"

namespace tierfs {

static_assert(kMaxInlineMax <= kMinChunkSize, "a spill writes all inline bytes to chunk 0");

Result<std::optional<BufferLease>> InlineFiles::Read(uint64_t ino, uint64_t offset, size_t len) {
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, store_->pool().Lease(len));
  auto got = meta_->ReadInline(ino, offset, lease.span().first(len));
  if (got.status().IsNotFound()) return std::optional<BufferLease>();  // spilled meanwhile
  TIERFS_RETURN_IF_ERROR(got.status());
  lease.set_size(*got);
  return std::optional<BufferLease>(std::move(lease));
}

Result<bool> InlineFiles::Write(uint64_t ino, uint64_t offset, std::span<const std::byte> data) {
  if (data.empty()) return false;  // changes nothing, as for objects
  MutexLock guard(Stripe(ino));
  const Layout layout = table_->LayoutOf(ino);
  if (layout != Layout::kInline && layout != Layout::kEmpty) return false;
  const uint64_t end = offset + data.size();
  // Inline bytes are never more than kMaxInlineMax, whatever inline_max
  // this mount has (an earlier one may have had a larger one).
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, store_->pool().Lease(kMaxInlineMax));
  const std::span<std::byte> buf = lease.span().first(kMaxInlineMax);
  size_t have = 0;
  if (layout == Layout::kInline && end <= inline_max_) {
    auto got = meta_->ReadInline(ino, 0, buf);
    TIERFS_RETURN_IF_ERROR(got.status());
    have = *got;
  }
  if (end > inline_max_ || have > inline_max_) {
    if (layout == Layout::kInline) TIERFS_RETURN_IF_ERROR(SpillLocked(ino));
    table_->SetLayout(ino, Layout::kObjects);
    return false;
  }
  // Between the bytes kept and this write: zeros (the file may have been
  // extended by a truncate, which keeps no bytes for that).
  if (offset > have) std::fill(buf.begin() + have, buf.begin() + offset, std::byte{0});
  std::copy(data.begin(), data.end(), buf.begin() + offset);
  const size_t length = std::max<size_t>(have, end);
  TIERFS_RETURN_IF_ERROR(
      RetryAfterFrees(*reclaimer_, [&] { return meta_->WriteInline(ino, buf.first(length)); }));
  table_->SetLayout(ino, Layout::kInline);
  return true;
}

Status InlineFiles::SpillLocked(uint64_t ino) {
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, store_->pool().Lease(kMaxInlineMax));
  auto got = meta_->ReadInline(ino, 0, lease.span().first(kMaxInlineMax));
  if (!got.ok() && !got.status().IsNotFound()) return got.status();
  const size_t n = got.ok() ? *got : 0;
  // The object first, durable, then the bytes dropped from the row: a crash
  // in between leaves the row's bytes, and the next mount removes the
  // object. Unsynced, the object could lose its bytes to a power cut that
  // the row's change survives (the log reaches the disk on its own time).
  if (n > 0) {
    TIERFS_RETURN_IF_ERROR(RetryAfterFrees(*reclaimer_, [&] {
      return store_->Write({ino, 0}, 0, lease.span().first(n));
    }));
    TIERFS_RETURN_IF_ERROR(store_->Sync({ino, 0}));
  }
  if (got.ok()) TIERFS_RETURN_IF_ERROR(meta_->DropInline(ino));
  table_->SetLayout(ino, Layout::kObjects);
  return Status::OK();
}

Status InlineFiles::ToObjects(uint64_t ino) {
  MutexLock guard(Stripe(ino));
  const Layout layout = table_->LayoutOf(ino);
  if (layout == Layout::kInline) return SpillLocked(ino);
  if (layout == Layout::kEmpty) table_->SetLayout(ino, Layout::kObjects);
  return Status::OK();
}

Result<bool> InlineFiles::Truncate(uint64_t ino, uint64_t new_size) {
  MutexLock guard(Stripe(ino));
  if (table_->LayoutOf(ino) != Layout::kInline) return false;
  if (new_size == 0) {
    TIERFS_RETURN_IF_ERROR(meta_->DropInline(ino));
    table_->SetLayout(ino, Layout::kEmpty);
    return true;
  }
  if (new_size > inline_max_) {
    TIERFS_RETURN_IF_ERROR(SpillLocked(ino));
    return false;
  }
  // Bytes past the new size must not come back if the file grows again.
  TIERFS_ASSIGN_OR_RETURN(BufferLease lease, store_->pool().Lease(kMaxInlineMax));
  TIERFS_ASSIGN_OR_RETURN(size_t have,
                          meta_->ReadInline(ino, 0, lease.span().first(kMaxInlineMax)));
  if (have > new_size) {
    TIERFS_RETURN_IF_ERROR(meta_->WriteInline(ino, lease.span().first(new_size)));
  }
  return true;
}

}  // namespace tierfs
