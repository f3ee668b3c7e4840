// MetricsFile: see metrics_file.h.
#include "fusefs/metrics/metrics_file.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <utility>

namespace tierfs {

namespace {
Status Failed(int err, const std::string& what) {
  return Status::Posix(err, "metrics_file: " + what + ": " + std::strerror(err));
}
}  // namespace

MetricsFile::MetricsFile(std::string path, std::string owner, std::chrono::milliseconds interval,
                         std::function<std::string()> render)
    : path_(std::move(path)),
      owner_(std::move(owner)),
      interval_(interval),
      render_(std::move(render)) {}

MetricsFile::~MetricsFile() {
  Stop();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

// The lock file is opened like the daemon's other names in a directory
// others may write to: a symlink there is not followed (O_NOFOLLOW), a FIFO
// does not block the open (O_NONBLOCK) and anything but a regular file is
// refused. It holds the owner's description, for the next mount's message.
Status MetricsFile::Lock() {
  const size_t slash = path_.rfind('/');
  const std::string lock = path_.substr(0, slash + 1) + "." + path_.substr(slash + 1) + ".lock";
  int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return Failed(errno, "opening its lock file " + lock);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("metrics_file: " + lock + " is not a regular file");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[512];
    const ssize_t n = ::pread(fd, holder, sizeof(holder), 0);
    ::close(fd);
    if (err != EWOULDBLOCK) return Failed(err, "locking " + lock);
    std::string who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "another mount";
    while (!who.empty() && who.back() == '\n') who.pop_back();
    return Status::Busy("metrics_file " + path_ + " is written by " + who + " (locked through " +
                        lock + "); give each mount its own metrics_file");
  }
  const std::string text = owner_ + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    spdlog::warn("metrics_file: writing {}: {}", lock, std::strerror(errno));  // the lock holds
  }
  lock_fd_ = fd;
  return Status::OK();
}

// The file's new content, not yet at any name: an O_TMPFILE file in PATH's
// directory, linked to a fresh name by Publish. Where the directory's
// filesystem has no O_TMPFILE, a file created at a random name with
// O_CREAT|O_EXCL|O_NOFOLLOW. Either way the daemon (root, as a rule) never
// opens a name someone else could have made: a symlink or file planted at a
// name it would use is neither followed nor overwritten, it only makes that
// attempt fail (EEXIST: another random name is tried).
class MetricsFile::TempFile {
 public:
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!name_.empty()) ::unlink(name_.c_str());
  }
  Status Create(const std::string& dir) {
    dir_ = dir;
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd_ >= 0) return Status::OK();
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      return Failed(errno, "creating a file in " + dir);
    }
    for (int attempt = 0;; ++attempt) {
      std::string name = RandomName();
      fd_ = ::open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd_ >= 0) {
        name_ = std::move(name);
        return Status::OK();
      }
      if (errno != EEXIST || attempt == 8) return Failed(errno, "creating " + name);
    }
  }
  Status Write(const std::string& text) {
    for (size_t done = 0; done < text.size();) {
      ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Failed(errno, "writing the new file in " + dir_);
      done += static_cast<size_t>(n);
    }
    return Status::OK();
  }
  // Renames the file over `path` (a name never followed: rename replaces a
  // symlink at `path`, not its target).
  Status Publish(const std::string& path) {
    if (name_.empty()) {
      // linkat never replaces an existing name, so the unnamed file gets a
      // fresh random one first (linked through /proc, which needs no
      // CAP_DAC_READ_SEARCH as AT_EMPTY_PATH would).
      const std::string self = "/proc/self/fd/" + std::to_string(fd_);
      for (int attempt = 0;; ++attempt) {
        std::string name = RandomName();
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) {
          name_ = std::move(name);
          break;
        }
        if (errno != EEXIST || attempt == 8) return Failed(errno, "linking " + name);
      }
    }
    if (::close(std::exchange(fd_, -1)) != 0) return Failed(errno, "writing " + name_);
    if (::rename(name_.c_str(), path.c_str()) != 0) {
      return Failed(errno, "renaming " + name_ + " to " + path);
    }
    name_.clear();  // it is `path` now
    return Status::OK();
  }

 private:
  // ".tierfs.tmp.<16 random hex digits>" in the directory: hidden, not
  // *.prom (so the collector ignores it), and not guessable in advance.
  std::string RandomName() const {
    uint64_t r = 0;
    if (::getrandom(&r, sizeof(r), 0) != sizeof(r)) r ^= std::random_device{}();
    char hex[17];
    std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(r));
    return dir_ + "/.tierfs.tmp." + hex;
  }

  std::string dir_;
  int fd_ = -1;
  std::string name_;  // the file's temp name once it has one (removed if not published)
};

Status MetricsFile::WriteNow() {
  const std::string text = render_();
  const size_t slash = path_.rfind('/');
  TempFile tmp;
  TIERFS_RETURN_IF_ERROR(tmp.Create(slash == 0 ? "/" : path_.substr(0, slash)));
  TIERFS_RETURN_IF_ERROR(tmp.Write(text));
  return tmp.Publish(path_);
}

Status MetricsFile::Start() {
  TIERFS_RETURN_IF_ERROR(Lock());
  TIERFS_RETURN_IF_ERROR(WriteNow());
  thread_ = std::thread([this] { Loop(); });
  return Status::OK();
}

void MetricsFile::Loop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    Status st = WriteNow();
    if (!st.ok()) spdlog::warn("{}", st.ToString());
    lock.lock();
  }
}

void MetricsFile::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  Status st = WriteNow();
  if (!st.ok()) spdlog::warn("{}", st.ToString());
}

}  // namespace tierfs
