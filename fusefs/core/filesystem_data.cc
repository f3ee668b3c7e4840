// Filesystem: file data — reads, writes, truncation, fallocate and lseek,
// mapped onto chunk objects of the ObjectStore.
#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

#include "fusefs/core/filesystem.h"

namespace tierfs {

Result<ReadResult> Filesystem::Read(uint64_t ino, uint64_t offset, size_t size, bool touch_atime) {
  // A read takes the inode table's lock twice when the table knows the
  // file: in ShapeOf here and in ReadDone at the end.
  TIERFS_ASSIGN_OR_RETURN(const InodeTable::Shape shape, inodes_->ShapeOf(ino));
  const uint64_t file_size = shape.size;
  ReadResult r;
  if (offset >= file_size) {
    // A read at EOF is a read (for atime).
    r.atime_changed =
        inodes_->ReadDone(ino, offset, offset, /*track=*/false, touch_atime).atime_changed;
    return r;
  }
  const uint64_t end = std::min<uint64_t>(offset + std::min(size, kMaxReadBytes), file_size);
  auto add = [&r]() -> ReadPiece& { return r.pieces[r.count++]; };
  auto zeros = [&](size_t n) {
    if (n == 0) return;
    ReadPiece* last = r.count > 0 ? &r.pieces[r.count - 1] : nullptr;
    if (last && !last->file && !last->data) {
      last->length += n;
    } else {
      add().length = n;
    }
  };
  bool small = false;  // an inline file's bytes
  if (shape.layout == Layout::kInline) {
    const size_t len = static_cast<size_t>(end - offset);
    TIERFS_ASSIGN_OR_RETURN(std::optional<BufferLease> bytes, inline_->Read(ino, offset, len));
    if (bytes) {  // (else spilled meanwhile: read the objects)
      small = true;
      ReadPiece& p = add();
      p.length = bytes->size();
      p.data = std::move(*bytes);
      if (p.length < len) add().length = len - p.length;  // past the bytes, within the size
      r.total = len;
    }
  }
  for (uint64_t pos = small ? end : offset; pos < end;) {
    const ObjectKey key{ino, pos / chunk_size_};
    const uint64_t within = pos % chunk_size_;
    const size_t len = static_cast<size_t>(std::min(end - pos, chunk_size_ - within));
    pos += len;
    r.total += len;
    // One pass over the store: the hot file, the cold bytes, or a hole.
    auto chunk = store_->ReadChunk(key, within, len);
    if (chunk.status().IsCorruption()) {
      return Status::Corruption(chunk.status().message() + " (inode " + std::to_string(ino) +
                                ", chunk " + std::to_string(key.index) + ")");
    }
    TIERFS_RETURN_IF_ERROR(chunk.status());
    if (chunk->file) {
      ReadPiece& p = add();
      p.file = std::move(chunk->file);
      p.file_offset = within;
      p.length = chunk->length;
    } else if (chunk->length > 0) {
      ReadPiece& p = add();
      p.length = chunk->length;
      p.data = std::move(chunk->data);
    }
    zeros(len - chunk->length);
  }
  for (const ReadPiece& p : r.view()) {
    metrics_.CountRead(p.file   ? ReadSource::kHot
                       : p.data ? (small ? ReadSource::kInline : ReadSource::kCold)
                                : ReadSource::kHole,
                       p.length);
  }
  const InodeTable::ReadNote note =
      inodes_->ReadDone(ino, offset, end, /*track=*/!small, touch_atime);
  if (note.sequential) ReadAhead(ino, offset, end);
  r.atime_changed = note.atime_changed;
  return r;
}

void Filesystem::ReadAhead(uint64_t ino, uint64_t offset, uint64_t end) {
  // The kernel reads ahead within one object file, and stops at its end:
  // the next chunk is a different file to it. So a sequential reader has
  // the next chunk's object read in the background once it is halfway
  // through this one (and the first one as it starts).
  if (offset == 0) store_->WillNeed({ino, 0});
  for (uint64_t k = offset / chunk_size_; k * chunk_size_ < end; ++k) {
    const uint64_t half = k * chunk_size_ + chunk_size_ / 2;
    if (offset <= half && half < end) store_->WillNeed({ino, k + 1});
  }
}

Result<size_t> Filesystem::Write(uint64_t ino, uint64_t offset, std::span<const std::byte> data,
                                 bool writeback) {
  if (!writeback) TIERFS_RETURN_IF_ERROR(Writable());
  TIERFS_ASSIGN_OR_RETURN(const InodeTable::Shape shape, inodes_->ShapeOf(ino));
  if (shape.layout != Layout::kObjects) {
    TIERFS_ASSIGN_OR_RETURN(const bool small, inline_->Write(ino, offset, data));
    if (small) {
      inodes_->Wrote(ino, offset + data.size(), writeback);
      metrics_.CountWrite(data.size());
      return data.size();
    }
  }
  size_t done = 0;
  while (done < data.size()) {
    const uint64_t pos = offset + done;
    const uint64_t within = pos % chunk_size_;
    const size_t len =
        static_cast<size_t>(std::min<uint64_t>(data.size() - done, chunk_size_ - within));
    Status st = RetryAfterFrees(*reclaimer_, [&] {
      return store_->Write({ino, pos / chunk_size_}, within, data.subspan(done, len));
    });
    if (!st.ok()) {
      if (done == 0) return st;
      break;  // a short write: report what landed
    }
    done += len;
  }
  inodes_->Wrote(ino, offset + done, writeback);
  metrics_.CountWrite(done);
  return done;
}

Status Filesystem::TruncateData(uint64_t ino, uint64_t new_size) {
  TIERFS_ASSIGN_OR_RETURN(const bool small, inline_->Truncate(ino, new_size));
  if (small) return Status::OK();
  // Chunks before the one new_size falls in are kept whole: list from there.
  std::vector<ObjectInfo> cut =
      store_->ListGroup(ino, new_size / chunk_size_, std::numeric_limits<uint64_t>::max());
  std::erase_if(cut, [&](const ObjectInfo& o) {
    return o.key.index * chunk_size_ + o.logical_size <= new_size;
  });
  if (cut.empty()) return Status::OK();
  // The new size must be durable before any byte goes: the object store's
  // removals may reach the disk before a plain COMMIT does, and a power cut
  // would then show the old size over zeros. Should the cut fail now, the
  // next mount trims what lies past the (durable) size.
  TIERFS_RETURN_IF_ERROR(journal_->CommitDurably());
  for (const ObjectInfo& o : cut) {
    const uint64_t start = o.key.index * chunk_size_;
    if (start >= new_size) {
      TIERFS_RETURN_IF_ERROR(store_->Remove(o.key));
    } else if (start + o.logical_size > new_size) {
      TIERFS_RETURN_IF_ERROR(store_->Truncate(o.key, new_size - start));
    }
  }
  return Status::OK();
}

Status Filesystem::Reserve(uint64_t ino, uint64_t offset, uint64_t length) {
  std::vector<ObjectKey> created;  // removed again if the reservation fails
  Status st;
  for (uint64_t pos = offset; pos < offset + length;) {
    const uint64_t within = pos % chunk_size_;
    const uint64_t len = std::min(offset + length - pos, chunk_size_ - within);
    const ObjectKey key{ino, pos / chunk_size_};
    const bool existed = !store_->Stat(key).status().IsNotFound();
    st = store_->Allocate(key, within, len);
    if (!st.ok()) break;
    if (!existed) created.push_back(key);
    pos += len;
  }
  if (!st.ok()) {
    for (const ObjectKey& key : created) (void)store_->Remove(key);
  }
  return st;
}

Status Filesystem::ZeroData(uint64_t ino, uint64_t offset, uint64_t end) {
  if (offset >= end) return Status::OK();
  // Walks the objects that exist in the range, not its chunk indexes: a
  // missing object is a hole already, and the range is the caller's number
  // (a punch over 4 EiB of a sparse file would otherwise visit 2^40 chunks).
  for (const ObjectInfo& o :
       store_->ListGroup(ino, offset / chunk_size_, (end - 1) / chunk_size_)) {
    const uint64_t start = o.key.index * chunk_size_;
    const uint64_t from = std::max(offset, start);
    const uint64_t to = std::min(end - start, chunk_size_) + start;  // (no overflow near 2^64)
    if (from == start && to - start == chunk_size_) {
      TIERFS_RETURN_IF_ERROR(store_->Remove(o.key));
    } else if (from - start < o.logical_size) {  // bytes past the object's end are zeros
      TIERFS_RETURN_IF_ERROR(store_->PunchHole(o.key, from - start, to - from));
    }
  }
  return Status::OK();
}

Status Filesystem::CheckRoomFor(uint64_t ino, uint64_t offset, uint64_t length) {
  // Each object already in the range may hold up to a chunk of it; the rest
  // needs new blocks of the hot tier's disk. (Counting objects costs what
  // exists in the range, and a range that cannot fit fails before anything
  // is allocated, instead of after a loop that fills the disk chunk by chunk.)
  const uint64_t existing =
      length == 0
          ? 0
          : store_->ListGroup(ino, offset / chunk_size_, (offset + length - 1) / chunk_size_)
                .size();
  const uint64_t covered = existing > length / chunk_size_ ? length : existing * chunk_size_;
  TIERFS_ASSIGN_OR_RETURN(FsSpace hot, env_->StatFs(store_->options().hot_dir));
  if (length - covered > hot.free_bytes) {
    return Status::NoSpace("fallocate of " + std::to_string(length) +
                           " bytes: " + std::to_string(hot.free_bytes) + " free in the hot tier");
  }
  return Status::OK();
}

Status Filesystem::Fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length,
                             const Caller& caller) {
  TIERFS_RETURN_IF_ERROR(Writable());
  TIERFS_RETURN_IF_ERROR(KillPriv(ino, caller).status());
  inodes_->Changed(ino);
  TIERFS_ASSIGN_OR_RETURN(uint64_t size, FileSize(ino));
  TIERFS_RETURN_IF_ERROR(inline_->ToObjects(ino));  // reservations and holes are object things
  const bool keep_size = mode & FALLOC_FL_KEEP_SIZE;
  const int op = mode & ~FALLOC_FL_KEEP_SIZE;
  if (op == FALLOC_FL_PUNCH_HOLE) {
    if (!keep_size) return Status::Posix(EOPNOTSUPP, "PUNCH_HOLE needs KEEP_SIZE");
    TIERFS_RETURN_IF_ERROR(ZeroData(ino, offset, std::min(offset + length, size)));
  } else if (op == 0 || op == FALLOC_FL_ZERO_RANGE) {
    // Mode 0 reserves the range in the hot objects, so that later writes
    // into it cannot fail for lack of space; ZERO_RANGE zeroes it first.
    // Both allocate what the caller asks, so their cost is bounded by the
    // disk: a range that cannot fit fails at once, changing nothing.
    TIERFS_RETURN_IF_ERROR(
        RetryAfterFrees(*reclaimer_, [&] { return CheckRoomFor(ino, offset, length); }));
    if (op == FALLOC_FL_ZERO_RANGE) {
      TIERFS_RETURN_IF_ERROR(ZeroData(ino, offset, std::min(offset + length, size)));
    }
    TIERFS_RETURN_IF_ERROR(
        RetryAfterFrees(*reclaimer_, [&] { return Reserve(ino, offset, length); }));
  } else {
    return Status::Posix(EOPNOTSUPP, "fallocate mode not supported");
  }
  inodes_->Allocated(ino, !keep_size && op != FALLOC_FL_PUNCH_HOLE
                              ? std::optional<uint64_t>(offset + length)
                              : std::nullopt);
  return Status::OK();
}

Status Filesystem::CopyPiece(uint64_t ino_in, uint64_t pos_in, uint64_t ino_out, uint64_t pos_out,
                             size_t n) {
  const ObjectKey src{ino_in, pos_in / chunk_size_}, dst{ino_out, pos_out / chunk_size_};
  auto lease = store_->ReadLease(src, pos_in % chunk_size_, n);
  if (!lease.ok() && !lease.status().IsNotFound()) return lease.status();
  const size_t got = lease.ok() ? lease->size() : 0;
  if (got > 0) {  // (an empty write would still stretch the object's size)
    TIERFS_RETURN_IF_ERROR(store_->Write(dst, pos_out % chunk_size_, lease->contents()));
  }
  // A hole in the source (or its object ends early): zeros at the target.
  return got < n ? ZeroData(ino_out, pos_out + got, pos_out + n) : Status::OK();
}

Result<size_t> Filesystem::CopyFileRange(uint64_t ino_in, uint64_t off_in, uint64_t ino_out,
                                         uint64_t off_out, size_t len, const Caller& caller) {
  TIERFS_RETURN_IF_ERROR(Writable());
  // The kernel has clamped len to the source's size as it knows it, which
  // can be larger than ours: pages it holds dirty past the copied range are
  // not flushed yet. Bytes of the range we have no object for are holes.
  TIERFS_RETURN_IF_ERROR(FileSize(ino_in).status());
  TIERFS_ASSIGN_OR_RETURN(uint64_t dst_size, FileSize(ino_out));
  if (len == 0) return size_t{0};
  // Objects are copied as objects: an inline source or target spills first.
  TIERFS_RETURN_IF_ERROR(inline_->ToObjects(ino_in));
  TIERFS_RETURN_IF_ERROR(inline_->ToObjects(ino_out));
  TIERFS_RETURN_IF_ERROR(KillPriv(ino_out, caller).status());
  const size_t max_piece = store_->options().max_io;
  // The chunks of either range that have objects: where neither the source
  // nor the target has one, the target already reads as the source's hole,
  // so the loop jumps to the next object instead of visiting every chunk.
  auto indexes = [&](uint64_t ino, uint64_t off) {
    std::vector<uint64_t> out;
    for (const ObjectInfo& o :
         store_->ListGroup(ino, off / chunk_size_, (off + len - 1) / chunk_size_)) {
      out.push_back(o.key.index);
    }
    return out;
  };
  const std::vector<uint64_t> src_objects = indexes(ino_in, off_in);
  const std::vector<uint64_t> dst_objects = indexes(ino_out, off_out);
  // The copy offset at which the chunk after `index` that has an object
  // begins (len when none).
  auto next_object = [&](const std::vector<uint64_t>& objects, uint64_t index, uint64_t off) {
    auto it = std::upper_bound(objects.begin(), objects.end(), index);
    return it == objects.end() ? uint64_t{len} : *it * chunk_size_ - off;
  };
  auto has = [](const std::vector<uint64_t>& objects, uint64_t index) {
    return std::binary_search(objects.begin(), objects.end(), index);
  };
  for (size_t done = 0; done < len;) {
    const uint64_t pos_in = off_in + done, pos_out = off_out + done;
    const uint64_t n = std::min<uint64_t>(len - done, chunk_size_ - pos_in % chunk_size_);
    const ObjectKey src{ino_in, pos_in / chunk_size_}, dst{ino_out, pos_out / chunk_size_};
    if (!has(src_objects, src.index) && !has(dst_objects, dst.index)) {
      // (An object the copy itself made meanwhile holds zeros here: the
      // ranges do not overlap, and it was a hole when the copy began.)
      done = std::min(next_object(src_objects, src.index, off_in),
                      next_object(dst_objects, dst.index, off_out));
      continue;
    }
    if (pos_in % chunk_size_ == 0 && pos_out % chunk_size_ == 0) {
      // A whole object moves as one when it covers the target chunk: all
      // of it, or all the source object holds with nothing after it in the
      // target.
      auto info = store_->Stat(src);
      if (!info.ok() && !info.status().IsNotFound()) return info.status();
      const uint64_t src_bytes = info.ok() ? info->logical_size : 0;
      if (n == chunk_size_ || (src_bytes <= n && pos_out + n >= dst_size)) {
        Status st = store_->CopyObject(src, dst);
        if (st.IsNotFound()) st = store_->Remove(dst);  // a hole copies as a hole
        TIERFS_RETURN_IF_ERROR(st);
        done += n;
        continue;
      }
    }
    const size_t piece = static_cast<size_t>(
        std::min<uint64_t>({n, chunk_size_ - pos_out % chunk_size_, max_piece}));
    TIERFS_RETURN_IF_ERROR(CopyPiece(ino_in, pos_in, ino_out, pos_out, piece));
    done += piece;
  }
  inodes_->Wrote(ino_out, off_out + len, false);
  return len;
}

Result<uint64_t> Filesystem::Lseek(uint64_t ino, uint64_t offset, int whence) {
  TIERFS_ASSIGN_OR_RETURN(uint64_t size, FileSize(ino));
  if (offset >= size) return Status::Posix(ENXIO, "offset past end of file");
  if (LayoutOf(ino) == Layout::kInline) return whence == SEEK_DATA ? offset : size;  // all data
  // Data regions at object granularity: [chunk start, chunk start + object size).
  for (const ObjectInfo& o : store_->ListGroup(ino)) {
    const uint64_t start = o.key.index * chunk_size_;
    const uint64_t stop = std::min(start + o.logical_size, size);
    if (stop <= offset || start >= stop) continue;
    if (whence == SEEK_DATA) return std::max(start, offset);
    if (start > offset) return offset;  // offset is in a hole
    offset = stop;                      // in data: the hole starts after it, or later
  }
  if (whence == SEEK_DATA) return Status::Posix(ENXIO, "no data after offset");
  return std::min(offset, size);
}

}  // namespace tierfs
