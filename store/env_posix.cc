// PosixEnv: the real Env over POSIX syscalls. The one place where errno is
// turned into a Status (StatusFromErrno, also used by the RADOS backend). Thread-safe; holds no
// state.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "store/env.h"

namespace tierfs {

namespace {

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Result<size_t> PRead(uint64_t offset, std::span<std::byte> dst) override {
    size_t done = 0;
    while (done < dst.size()) {
      ssize_t n = ::pread(fd_, dst.data() + done, dst.size() - done, offset + done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return StatusFromErrno("read " + path_, errno);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  Status PWrite(uint64_t offset, std::span<const std::byte> src) override {
    size_t done = 0;
    while (done < src.size()) {
      ssize_t n = ::pwrite(fd_, src.data() + done, src.size() - done, offset + done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return StatusFromErrno("write " + path_, errno);
      }
      done += static_cast<size_t>(n);
    }
    return Status::OK();
  }

  Status Sync() override {
    if (::fdatasync(fd_) != 0) return StatusFromErrno("fsync " + path_, errno);
    return Status::OK();
  }

  Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      return StatusFromErrno("truncate " + path_, errno);
    }
    return Status::OK();
  }

  Result<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return StatusFromErrno("stat " + path_, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  Status PunchHole(uint64_t offset, uint64_t len) override {
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                    static_cast<off_t>(len)) != 0) {
      return StatusFromErrno("punch hole " + path_, errno);
    }
    return Status::OK();
  }

  Status Allocate(uint64_t offset, uint64_t len) override {
    int rc;
    do {
      rc = ::fallocate(fd_, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                       static_cast<off_t>(len));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return StatusFromErrno("allocate " + path_, errno);
    return Status::OK();
  }

  void WillNeed() override { (void)::posix_fadvise(fd_, 0, 0, POSIX_FADV_WILLNEED); }
  void StartWriteback() override { (void)::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE); }

  int fd() const override { return fd_; }
  const std::string& path() const override { return path_; }

 private:
  const int fd_;
  const std::string path_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }
  PosixFileLock(const PosixFileLock&) = delete;
  PosixFileLock& operator=(const PosixFileLock&) = delete;

 private:
  const int fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& opts) override {
    int flags = O_CLOEXEC | (opts.write ? O_RDWR : O_RDONLY);
    if (opts.create) flags |= O_CREAT;
    if (opts.create && opts.exclusive) flags |= O_EXCL;
    if (opts.write && opts.truncate) flags |= O_TRUNC;
    int fd;
    do {
      fd = ::open(path.c_str(), flags, 0600);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return StatusFromErrno("open " + path, errno);
    return std::unique_ptr<File>(std::make_unique<PosixFile>(fd, path));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return StatusFromErrno("rename " + from + " -> " + to, errno);
    }
    return Status::OK();
  }

  Status Unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return StatusFromErrno("unlink " + path, errno);
    return Status::OK();
  }

  Status MkDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
      return StatusFromErrno("mkdir " + path, errno);
    }
    return Status::OK();
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return StatusFromErrno("open dir " + path, errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return StatusFromErrno("fsync dir " + path, err);
    return Status::OK();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return StatusFromErrno("opendir " + path, errno);
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view n(e->d_name);
      if (n != "." && n != "..") names.emplace_back(n);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return StatusFromErrno("readdir " + path, err);
    return names;
  }

  Result<FileStat> Stat(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return StatusFromErrno("stat " + path, errno);
    FileStat fs;
    fs.size = static_cast<uint64_t>(st.st_size);
    fs.allocated = static_cast<uint64_t>(st.st_blocks) * 512;
    fs.mtime_ns = st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    fs.ino = static_cast<uint64_t>(st.st_ino);
    fs.is_dir = S_ISDIR(st.st_mode);
    return fs;
  }

  Result<FsSpace> StatFs(const std::string& path) override {
    struct statvfs sv;
    if (::statvfs(path.c_str(), &sv) != 0) return StatusFromErrno("statfs " + path, errno);
    FsSpace s;
    s.total_bytes = static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize;
    s.free_bytes = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
    s.total_inodes = sv.f_files;
    s.free_inodes = sv.f_favail;
    s.block_size = static_cast<uint32_t>(sv.f_frsize);
    s.name_max = static_cast<uint32_t>(sv.f_namemax);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return StatusFromErrno("stat " + path, errno);
    s.device = static_cast<uint64_t>(st.st_dev);
    return s;
  }

  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return StatusFromErrno("open lock " + path, errno);
    return Flock(fd, path);
  }

  Result<std::unique_ptr<FileLock>> LockExistingFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return StatusFromErrno("open lock " + path, errno);
    return Flock(fd, path);
  }

  static Result<std::unique_ptr<FileLock>> Flock(int fd, const std::string& path) {
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return Status::Busy("store is in use by another process (lock " + path + " is held)");
      }
      return StatusFromErrno("lock " + path, err);
    }
    return std::unique_ptr<FileLock>(std::make_unique<PosixFileLock>(fd));
  }

  int64_t NowNanos() override {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
  }
  int64_t CoarseNowNanos() override {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
  }
};

}  // namespace

Status StatusFromErrno(const std::string& context, int err) {
  switch (err) {
    case ENOENT:
      return Status::NotFound(context);
    case ENOSPC:
    case EDQUOT:
      return Status::NoSpace(context);
    case EEXIST:
      return Status::Exists(context);
    case ENOMEM:
      return Status::NoMemory(context);
    case EWOULDBLOCK:
      return Status::Busy(context);
    case EIO:
      return Status::IOError(context, err);
    default:
      return Status::Posix(err, context);
  }
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.find_last_not_of('/');
  slash = slash == std::string::npos ? std::string::npos : path.rfind('/', slash);
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Env* Env::Default() {
  static PosixEnv env;
  return &env;
}

}  // namespace tierfs
