// Progress: the one-line progress report of a long CLI run (tierfs migrate,
// tierfs fsck) on a terminal — count, bytes, ETA — rewritten in place at
// most every 100 ms and ended with a newline. Quiet when not enabled (the
// CLI enables it only when stderr is a terminal, so piped output stays
// clean).
// Thread-safety: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace tierfs {

class Progress {
 public:
  // `what` names the items ("files", "objects"); `out` is written only when
  // `enabled`.
  Progress(std::ostream& out, bool enabled, std::string verb, std::string what);
  ~Progress();  // ends the line if anything was shown
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // done of total items, bytes_done of bytes_total bytes (bytes_total 0:
  // no bytes shown). The last call (done == total) is always shown.
  void Update(uint64_t done, uint64_t total, uint64_t bytes_done, uint64_t bytes_total);
  // The line Update would show after `elapsed` (for tests).
  static std::string Line(const std::string& verb, const std::string& what, uint64_t done,
                          uint64_t total, uint64_t bytes_done, uint64_t bytes_total,
                          std::chrono::duration<double> elapsed);

 private:
  std::ostream& out_;
  const bool enabled_;
  const std::string verb_, what_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_{};
  bool shown_ = false;
  size_t width_ = 0;  // of the last line, to blank its tail
};

}  // namespace tierfs
