// Progress: the one-line progress report of a long CLI run (tierfs migrate,
// tierfs fsck) on a terminal — count, bytes, ETA — rewritten in place at
// most every 100 ms and ended with a newline. Quiet when not enabled (the
// CLI enables it only when stderr is a terminal, so piped output stays
// clean). The ETA is the rate measured from the first update on (what came
// before it, such as opening a store, is not work done), shown only once
// that rate has been measured for a second.
// Thread-safety: one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace tierfs {

class Progress {
 public:
  using Clock = std::chrono::steady_clock;
  // `what` names the items ("files", "objects"); `out` is written only when
  // `enabled`; `now` is the clock (tests give their own).
  Progress(std::ostream& out, bool enabled, std::string verb, std::string what,
           std::function<Clock::time_point()> now = Clock::now);
  ~Progress();  // ends the line if anything was shown
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // done of total items, bytes_done of bytes_total bytes (bytes_total 0:
  // no bytes shown). The last call (done == total) is always shown.
  void Update(uint64_t done, uint64_t total, uint64_t bytes_done, uint64_t bytes_total);
  // The line Update shows, with the ETA in seconds if there is one.
  static std::string Line(const std::string& verb, const std::string& what, uint64_t done,
                          uint64_t total, uint64_t bytes_done, uint64_t bytes_total,
                          std::optional<double> eta_s);
  // The seconds left when the share done (0..1) went from `first_share` to
  // `share` in `elapsed`; none until `elapsed` is a second and the share
  // has grown, since a rate over less says nothing.
  static std::optional<double> Eta(double first_share, double share,
                                   std::chrono::duration<double> elapsed);

 private:
  std::ostream& out_;
  const bool enabled_;
  const std::string verb_, what_;
  const std::function<Clock::time_point()> now_;
  std::optional<Clock::time_point> first_at_;  // of the first Update
  double first_share_ = 0;
  Clock::time_point last_{};
  bool shown_ = false;
  size_t width_ = 0;  // of the last line, to blank its tail
};

}  // namespace tierfs
