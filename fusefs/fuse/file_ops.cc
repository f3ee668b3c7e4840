// The FUSE ops on open files: open, create, read (spliced from the object
// files where it pays), write, release, fsync, fallocate, copy_file_range
// and lseek (request.h: the guard, replies, cache coherence).
#include <fcntl.h>
#include <sys/types.h>

#include <algorithm>
#include <span>

#include "fusefs/fuse/request.h"

namespace tierfs::ops {

namespace {

constexpr size_t kMaxPieces = ReadResult::kMaxPieces;
alignas(4096) const char kZeros[kMaxRead] = {};

// fi->fh bits.
constexpr uint64_t kKillPrivOnWrite = 1;
// O_NOATIME: the kernel passes the open's flags, having allowed O_NOATIME
// only to the file's owner (or CAP_FOWNER); its reads reach us with this fh
// (page cache fills and readahead name the file that reads). A later
// fcntl(F_SETFL, O_NOATIME) is not passed on.
constexpr uint64_t kNoAtime = 2;

// FUSE_WRITE_KILL_SUIDGID (FUSE_HANDLE_KILLPRIV_V2, libfuse 3.18): the
// kernel saw set-id bits the write must clear and sent it through, with the
// writer's credentials, which happens when they were set after the open
// (kKillPrivOnWrite covers those seen at open).
bool WriteKillsSuidgid(const fuse_file_info* fi) {
#if FUSE_VERSION >= FUSE_MAKE_VERSION(3, 18)
  return fi->kill_suidgid != 0;
#else
  (void)fi;
  return false;
#endif
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, FuseOp::kOpen, [&] {
    // (Linux truncates on O_RDONLY|O_TRUNC too; the kernel checked write access.)
    const bool truncate = (fi->flags & O_TRUNC) != 0;
    const int acc = fi->flags & O_ACCMODE;
    const bool noatime = (fi->flags & O_NOATIME) != 0;
    auto r =
        FS(req)->Open(ino, truncate, acc != O_WRONLY && !noatime, acc != O_RDONLY, CallerOf(req));
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "open", ino));
      return;
    }
    if (r->attr_changed) InvalidateInode(req, ino, -1, 0);
    // Nobody but us changes the data: keep the kernel's pages, unless the
    // next read must reach us to update atime.
    fi->keep_cache = r->keep_cache;
    fi->fh = noatime ? kNoAtime : 0;
    if (r->kill_priv_on_write) {
      fi->direct_io = 1;  // each write comes from the writer, who is known
      fi->fh |= kKillPrivOnWrite;
    }
    // Closing a read-only file has nothing to flush: spare the round trip.
    if ((fi->flags & O_ACCMODE) == O_RDONLY) fi->noflush = 1;
    fuse_reply_open(req, fi);
  });
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  Guarded(req, FuseOp::kCreate, [&] {
    auto r =
        FS(req)->Create(parent, name, mode, CallerOf(req), (fi->flags & O_ACCMODE) != O_RDONLY);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "create", parent));
      return;
    }
    fuse_entry_param e = EntryOf(*FS(req), *r);
    fi->keep_cache = 1;
    fi->fh = (fi->flags & O_NOATIME) != 0 ? kNoAtime : 0;
    fuse_reply_create(req, &e, fi);
  });
}

// A fuse_bufvec with room for kMaxPieces buffers.
struct PieceVec {
  fuse_bufvec vec;
  fuse_buf more[kMaxPieces];
};

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  Guarded(req, FuseOp::kRead, [&] {
    auto r = FS(req)->Read(ino, static_cast<uint64_t>(off), std::min(size, kMaxRead),
                           (fi->fh & kNoAtime) == 0);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "read", ino));
      return;
    }
    PieceVec pv{};
    size_t n = 0;
    for (const ReadPiece& p : r->view()) {
      fuse_buf& b = (&pv.vec.buf[0])[n++];
      b = fuse_buf{};
      b.size = p.length;
      if (p.file) {
        b.flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
        b.fd = p.file->fd();
        b.pos = static_cast<off_t>(p.file_offset);
      } else if (p.data) {
        b.mem = p.data.data();
      } else {
        b.mem = const_cast<char*>(kZeros);
      }
    }
    pv.vec.count = n;
    if (r->atime_changed) InvalidateInode(req, ino, -1, 0);
    if (n == 0) {
      fuse_reply_buf(req, nullptr, 0);
      return;
    }
    // Splice pays when there is a file to splice from (the object file's
    // pages go to the pipe by reference, and the kernel copies them once
    // into the FUSE file's pages); bytes already in our memory (cold
    // frames, zeros) go out with one writev instead, as a splice would first
    // copy them into a pipe. Not SPLICE_MOVE: stealing the object file's
    // pages (unmap, uncharge, re-insert) measured ~1.45x slower than the copy
    // on a 256 MiB sequential read.
    const bool from_file = std::any_of(r->view().begin(), r->view().end(),
                                       [](const ReadPiece& p) { return p.file != nullptr; });
    fuse_reply_data(req, &pv.vec, from_file ? fuse_buf_copy_flags{} : FUSE_BUF_NO_SPLICE);
  });
}

void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
             fuse_file_info* fi) {
  Guarded(req, FuseOp::kWrite, [&] {
    auto r = FS(req)->Write(ino, static_cast<uint64_t>(off), std::as_bytes(std::span(buf, size)),
                            fi->writepage);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "write", ino));
      return;
    }
    // With the writeback cache every buffered write reaches us as a
    // writepage; any other write is O_DIRECT and went around the kernel's
    // pages, which a buffered reader may have filled (or be filling) with
    // older bytes meanwhile: drop them before the write completes.
    if (!fi->writepage && *r > 0) InvalidateInode(req, ino, off, static_cast<off_t>(*r));
    if ((fi->fh & kKillPrivOnWrite) || WriteKillsSuidgid(fi)) {
      auto killed = FS(req)->KillPriv(ino, CallerOf(req));
      if (!killed.ok()) {
        ReplyErr(req, Err(killed.status(), "write", ino));
        return;
      }
      if (*killed) InvalidateInode(req, ino, -1, 0);
    }
    fuse_reply_write(req, *r);
  });
}

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Guarded(req, FuseOp::kRelease, [&] {
    ReplyStatus(req, FS(req)->Release(ino, (fi->flags & O_ACCMODE) != O_RDONLY), "release", ino);
  });
}

void OpFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info*) {
  Guarded(req, FuseOp::kFsync,
          [&] { ReplyStatus(req, FS(req)->Fsync(ino, datasync), "fsync", ino); });
}

void OpFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info*) {
  Guarded(req, FuseOp::kFallocate, [&] {
    Status st = FS(req)->Fallocate(ino, mode, offset, length, CallerOf(req));
    if (st.ok()) InvalidateInode(req, ino, -1, 0);  // the mode may have lost set-id bits
    ReplyStatus(req, st, "fallocate", ino);
  });
}

void OpCopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info*,
                     fuse_ino_t ino_out, off_t off_out, fuse_file_info*, size_t len, int flags) {
  Guarded(req, FuseOp::kCopyFileRange, [&] {
    if (flags != 0) {
      ReplyErr(req, EINVAL);
      return;
    }
    auto r = FS(req)->CopyFileRange(ino_in, static_cast<uint64_t>(off_in), ino_out,
                                    static_cast<uint64_t>(off_out), len, CallerOf(req));
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "copy_file_range", ino_out));
      return;
    }
    InvalidateInode(req, ino_out, -1, 0);  // the mode may have lost set-id bits
    fuse_reply_write(req, *r);
  });
}

void OpLseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, fuse_file_info*) {
  Guarded(req, FuseOp::kLseek, [&] {
    if (whence != SEEK_DATA && whence != SEEK_HOLE) {
      ReplyErr(req, EINVAL);
      return;
    }
    auto r = FS(req)->Lseek(ino, static_cast<uint64_t>(off), whence);
    if (!r.ok()) {
      ReplyErr(req, Err(r.status(), "lseek", ino));
      return;
    }
    fuse_reply_lseek(req, static_cast<off_t>(*r));
  });
}

}  // namespace

void AddFileOps(fuse_lowlevel_ops* ops) {
  ops->open = OpOpen;
  ops->create = OpCreate;
  ops->read = OpRead;
  ops->write = OpWrite;
  // No flush: close() promises no durability here (sizes and times reach
  // SQLite with the next write-back, fsync or unmount), so FLUSH would do
  // nothing. Unimplemented, the first one gets ENOSYS and the kernel sends
  // no more (fc->no_flush), saving a round trip per close; it still writes
  // the file's dirty pages back at every close, before the release.
  ops->release = OpRelease;
  ops->fsync = OpFsync;
  ops->fallocate = OpFallocate;
  ops->lseek = OpLseek;
  ops->copy_file_range = OpCopyFileRange;
}

}  // namespace tierfs::ops
