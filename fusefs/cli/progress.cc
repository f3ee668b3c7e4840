// Progress: see progress.h.
#include "fusefs/cli/progress.h"

#include <cstdio>

#include "fusefs/core/units.h"

namespace tierfs {

Progress::Progress(std::ostream& out, bool enabled, std::string verb, std::string what)
    : out_(out), enabled_(enabled), verb_(std::move(verb)), what_(std::move(what)) {}

Progress::~Progress() {
  if (shown_) out_ << "\n" << std::flush;
}

std::string Progress::Line(const std::string& verb, const std::string& what, uint64_t done,
                           uint64_t total, uint64_t bytes_done, uint64_t bytes_total,
                           std::chrono::duration<double> elapsed) {
  std::string line = verb + " " + std::to_string(done) + "/" + std::to_string(total) + " " + what;
  if (bytes_total) line += ", " + HumanBytes(bytes_done) + " of " + HumanBytes(bytes_total);
  // ETA from the share done so far: bytes when known, else items.
  const double share = bytes_total ? static_cast<double>(bytes_done) / bytes_total
                       : total     ? static_cast<double>(done) / total
                                   : 1.0;
  if (done < total && share > 0) {
    char eta[32];
    std::snprintf(eta, sizeof(eta), ", ETA %.0f s", elapsed.count() * (1 - share) / share);
    line += eta;
  }
  return line;
}

void Progress::Update(uint64_t done, uint64_t total, uint64_t bytes_done, uint64_t bytes_total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && shown_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  std::string line = Line(verb_, what_, done, total, bytes_done, bytes_total, now - start_);
  const size_t width = line.size();
  if (width < width_) line.append(width_ - width, ' ');
  width_ = width;
  out_ << "\r" << line << std::flush;
  shown_ = true;
}

}  // namespace tierfs
