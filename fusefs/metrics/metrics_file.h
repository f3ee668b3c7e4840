// MetricsFile: keeps a Prometheus textfile (for node_exporter's textfile
// collector, -o metrics_file=PATH) up to date: every interval, and once more
// when stopped (unmount), it renders the exposition and replaces PATH
// atomically — written to an unnamed O_TMPFILE file in the same directory,
// linked to a random hidden name (one the collector ignores: not *.prom)
// and renamed over PATH, so a scrape sees the old file or the new one,
// never a part. The daemon runs as root and the directory may be writable
// by others: it never opens an existing name there, so a symlink planted
// at any name cannot redirect its write (see TempFile in the .cc). No
// fsync: the file is rewritten every few seconds and worthless after a crash.
//
// The file is mode 0644 so a collector running as another user can read
// it; that is why it is written with plain POSIX calls and not through the
// store's Env (whose files are 0600, and which is for the store's data).
//
// One file has one writer: Start takes an exclusive flock on a lock file
// next to it (DIR/.NAME.lock, not *.prom, so the collector ignores it;
// the file itself cannot carry the lock, each write replaces its inode)
// and fails with Busy, naming the holder, when another mount has it. The
// lock lives as long as the MetricsFile, or the process: a crashed daemon
// leaves no stale lock (the lock file itself stays, harmless).
//
// Thread-safety: Start and Stop from one thread (the daemon's main
// thread); the writer thread calls `render`, which must be thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "compress/status.h"

namespace tierfs {

class MetricsFile {
 public:
  // owner says who writes the file ("store S mounted at M"), for the
  // message another mount gets.
  MetricsFile(std::string path, std::string owner, std::chrono::milliseconds interval,
              std::function<std::string()> render);
  ~MetricsFile();  // Stop(), then releases the lock
  MetricsFile(const MetricsFile&) = delete;
  MetricsFile& operator=(const MetricsFile&) = delete;

  // Takes the file's lock (Busy when another mount holds it), writes the
  // file once (an error here, such as a missing directory, is the mount's
  // error) and starts the thread that rewrites it.
  Status Start();
  // Stops the thread and writes the file a last time; idempotent.
  void Stop();
  // Renders and replaces the file now.
  Status WriteNow();

 private:
  class TempFile;
  Status Lock();
  void Loop();

  const std::string path_;
  const std::string owner_;
  int lock_fd_ = -1;  // the lock file, flocked, once Start has taken it
  const std::chrono::milliseconds interval_;
  const std::function<std::string()> render_;
  std::mutex mu_;  // guards stop_
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace tierfs
