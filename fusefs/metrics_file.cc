// MetricsFile: see metrics_file.h.
#include "fusefs/metrics_file.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace tierfs {

namespace {
Status Failed(int err, const std::string& what) {
  return Status::Posix(err, "metrics_file: " + what + ": " + std::strerror(err));
}
}  // namespace

MetricsFile::MetricsFile(std::string path, std::chrono::milliseconds interval,
                         std::function<std::string()> render)
    : path_(std::move(path)), interval_(interval), render_(std::move(render)) {}

MetricsFile::~MetricsFile() { Stop(); }

Status MetricsFile::WriteNow() {
  const std::string text = render_();
  const size_t slash = path_.rfind('/');
  const std::string tmp = path_.substr(0, slash + 1) + "." + path_.substr(slash + 1) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Failed(errno, "creating " + tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Failed(err, "writing " + tmp);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Failed(err, "writing " + tmp);
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Failed(err, "renaming " + tmp + " to " + path_);
  }
  return Status::OK();
}

Status MetricsFile::Start() {
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
