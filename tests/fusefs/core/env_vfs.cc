// EnvVfs: SQLite's VFS methods over an Env; see env_vfs.h for what it
// mirrors of the unix VFS and what it leaves out.
#include "fusefs/core/env_vfs.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <span>

namespace tierfs::test {
namespace {

// What SQLite's sqlite3_file memory holds for one open file (constructed in
// place by Open, destroyed by Close). `base` comes first: SQLite sees only it.
struct EnvFile {
  sqlite3_file base;
  Env* env = nullptr;
  std::unique_ptr<File> file;  // null: an unnamed temporary file, in `mem`
  std::string mem;
  std::string path;
  bool dirsync_owed = false;  // UNIXFILE_DIRSYNC: the first Sync also syncs the directory
  bool delete_on_close = false;
};

EnvFile* Of(sqlite3_file* f) { return reinterpret_cast<EnvFile*>(f); }
EnvVfs* Of(sqlite3_vfs* vfs) { return static_cast<EnvVfs*>(vfs->pAppData); }

// An I/O failure as SQLite's code for it: SQLITE_FULL for a full disk (as
// unix's ENOSPC), else the operation's SQLITE_IOERR_* code.
int Code(const Status& s, int ioerr) {
  if (s.ok()) return SQLITE_OK;
  return s.IsNoSpace() ? SQLITE_FULL : ioerr;
}

int Close(sqlite3_file* f) {
  EnvFile* file = Of(f);
  Status st;
  if (file->delete_on_close && file->file) {
    file->file.reset();
    st = file->env->Unlink(file->path);
  }
  file->~EnvFile();
  return Code(st, SQLITE_IOERR_CLOSE);
}

int Read(sqlite3_file* f, void* buf, int amt, sqlite3_int64 off) {
  EnvFile* file = Of(f);
  auto dst = std::span(static_cast<std::byte*>(buf), static_cast<size_t>(amt));
  size_t got = 0;
  if (file->file) {
    auto n = file->file->PRead(static_cast<uint64_t>(off), dst);
    if (!n.ok()) return Code(n.status(), SQLITE_IOERR_READ);
    got = *n;
  } else if (static_cast<uint64_t>(off) < file->mem.size()) {
    got = std::min(dst.size(), file->mem.size() - static_cast<size_t>(off));
    std::memcpy(dst.data(), file->mem.data() + off, got);
  }
  if (got == dst.size()) return SQLITE_OK;
  // SQLite relies on the unfilled part being zeros (unix VFS does this).
  std::fill(dst.begin() + static_cast<ptrdiff_t>(got), dst.end(), std::byte{0});
  return SQLITE_IOERR_SHORT_READ;
}

int Write(sqlite3_file* f, const void* buf, int amt, sqlite3_int64 off) {
  EnvFile* file = Of(f);
  auto src = std::span(static_cast<const std::byte*>(buf), static_cast<size_t>(amt));
  if (file->file)
    return Code(file->file->PWrite(static_cast<uint64_t>(off), src), SQLITE_IOERR_WRITE);
  const size_t end = static_cast<size_t>(off) + src.size();
  if (file->mem.size() < end) file->mem.resize(end);
  std::memcpy(file->mem.data() + off, src.data(), src.size());
  return SQLITE_OK;
}

int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  EnvFile* file = Of(f);
  if (!file->file) {
    file->mem.resize(static_cast<size_t>(size));
    return SQLITE_OK;
  }
  return Code(file->file->Truncate(static_cast<uint64_t>(size)), SQLITE_IOERR_TRUNCATE);
}

int Sync(sqlite3_file* f, int /*flags*/) {
  EnvFile* file = Of(f);
  if (!file->file) return SQLITE_OK;
  if (int rc = Code(file->file->Sync(), SQLITE_IOERR_FSYNC); rc != SQLITE_OK) return rc;
  if (file->dirsync_owed) {
    if (int rc = Code(file->env->SyncDir(DirName(file->path)), SQLITE_IOERR_DIR_FSYNC);
        rc != SQLITE_OK) {
      return rc;
    }
    file->dirsync_owed = false;
  }
  return SQLITE_OK;
}

int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  EnvFile* file = Of(f);
  if (!file->file) {
    *size = static_cast<sqlite3_int64>(file->mem.size());
    return SQLITE_OK;
  }
  auto n = file->file->Size();
  if (!n.ok()) return Code(n.status(), SQLITE_IOERR_FSTAT);
  *size = static_cast<sqlite3_int64>(*n);
  return SQLITE_OK;
}

// One process holds the store lock (and SQLite's exclusive locking mode):
// there is nobody to lock against.
int Lock(sqlite3_file*, int) { return SQLITE_OK; }
int Unlock(sqlite3_file*, int) { return SQLITE_OK; }
int CheckReservedLock(sqlite3_file*, int* reserved) {
  *reserved = 0;
  return SQLITE_OK;
}
int FileControl(sqlite3_file*, int, void*) { return SQLITE_NOTFOUND; }
int SectorSize(sqlite3_file*) { return 4096; }
int DeviceCharacteristics(sqlite3_file*) { return SQLITE_IOCAP_POWERSAFE_OVERWRITE; }

// Never called with locking_mode=EXCLUSIVE set before journal_mode=WAL;
// if SQLite asks anyway, the open fails rather than bypass the Env.
int ShmMap(sqlite3_file*, int, int, int, void volatile**) { return SQLITE_IOERR_SHMMAP; }
int ShmLock(sqlite3_file*, int, int, int) { return SQLITE_IOERR_SHMLOCK; }
void ShmBarrier(sqlite3_file*) {}
int ShmUnmap(sqlite3_file*, int) { return SQLITE_IOERR; }

constexpr sqlite3_io_methods kMethods = {
    2,  // iVersion: with the shm methods, so that a need for them shows
    Close,       Read,       Write,
    Truncate,    Sync,       FileSize,
    Lock,        Unlock,     CheckReservedLock,
    FileControl, SectorSize, DeviceCharacteristics,
    ShmMap,      ShmLock,    ShmBarrier,
    ShmUnmap,    nullptr,    nullptr,
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  EnvFile* file = new (f) EnvFile{};
  file->base.pMethods = nullptr;  // SQLite calls no xClose on a failed open
  file->env = Of(vfs)->env();
  file->delete_on_close = (flags & SQLITE_OPEN_DELETEONCLOSE) != 0;
  if (name != nullptr) {
    file->path = name;
    const bool create = (flags & SQLITE_OPEN_CREATE) != 0;
    const int type = flags & 0x0FFF00;
    file->dirsync_owed = create && (type == SQLITE_OPEN_SUPER_JOURNAL ||
                                    type == SQLITE_OPEN_MAIN_JOURNAL || type == SQLITE_OPEN_WAL);
    auto opened =
        file->env->Open(file->path, OpenOptions{.write = (flags & SQLITE_OPEN_READWRITE) != 0,
                                                .create = create,
                                                .exclusive = (flags & SQLITE_OPEN_EXCLUSIVE) != 0});
    if (!opened.ok()) {
      file->~EnvFile();
      return SQLITE_CANTOPEN;
    }
    file->file = std::move(opened).value();
  }
  file->base.pMethods = &kMethods;
  if (out_flags != nullptr) *out_flags = flags;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  Env* env = Of(vfs)->env();
  Status st = env->Unlink(name);
  if (st.IsNotFound()) return SQLITE_IOERR_DELETE_NOENT;
  if (!st.ok()) return Code(st, SQLITE_IOERR_DELETE);
  if (sync_dir) return Code(env->SyncDir(DirName(name)), SQLITE_IOERR_DIR_FSYNC);
  return SQLITE_OK;
}

int Access(sqlite3_vfs* vfs, const char* name, int what, int* out) {
  auto st = Of(vfs)->env()->Stat(name);
  // As unix: an empty file does not exist (a journal that was truncated).
  *out = what == SQLITE_ACCESS_EXISTS ? st.ok() && (st->is_dir || st->size > 0) : st.ok();
  return SQLITE_OK;
}

// The rest is the default VFS's.
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  sqlite3_vfs* base = Of(vfs)->base();
  return base->xFullPathname(base, name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  sqlite3_vfs* base = Of(vfs)->base();
  return base->xDlOpen(base, name);
}
void DlError(sqlite3_vfs* vfs, int n, char* msg) {
  sqlite3_vfs* base = Of(vfs)->base();
  base->xDlError(base, n, msg);
}
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* sym))(void) {
  sqlite3_vfs* base = Of(vfs)->base();
  return base->xDlSym(base, handle, sym);
}
void DlClose(sqlite3_vfs* vfs, void* handle) {
  sqlite3_vfs* base = Of(vfs)->base();
  base->xDlClose(base, handle);
}
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  sqlite3_vfs* base = Of(vfs)->base();
  return base->xRandomness(base, n, out);
}
int Sleep(sqlite3_vfs* vfs, int us) {
  sqlite3_vfs* base = Of(vfs)->base();
  return base->xSleep(base, us);
}
int CurrentTime(sqlite3_vfs* vfs, double* now) {
  sqlite3_vfs* base = Of(vfs)->base();
  return base->xCurrentTime(base, now);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* msg) {
  sqlite3_vfs* base = Of(vfs)->base();
  return base->xGetLastError(base, n, msg);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* now) {
  sqlite3_vfs* base = Of(vfs)->base();
  return base->xCurrentTimeInt64(base, now);
}

}  // namespace

EnvVfs::EnvVfs(std::string name, Env* env)
    : name_(std::move(name)), env_(env), base_(sqlite3_vfs_find(nullptr)) {
  vfs_.iVersion = 2;  // up to xCurrentTimeInt64
  vfs_.szOsFile = sizeof(EnvFile);
  vfs_.mxPathname = base_->mxPathname;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.xOpen = Open;
  vfs_.xDelete = Delete;
  vfs_.xAccess = Access;
  vfs_.xFullPathname = FullPathname;
  vfs_.xDlOpen = DlOpen;
  vfs_.xDlError = DlError;
  vfs_.xDlSym = DlSym;
  vfs_.xDlClose = DlClose;
  vfs_.xRandomness = Randomness;
  vfs_.xSleep = Sleep;
  vfs_.xCurrentTime = CurrentTime;
  vfs_.xGetLastError = GetLastError;
  vfs_.xCurrentTimeInt64 = CurrentTimeInt64;
  sqlite3_vfs_register(&vfs_, /*makeDflt=*/0);
}

EnvVfs::~EnvVfs() { sqlite3_vfs_unregister(&vfs_); }

}  // namespace tierfs::test
