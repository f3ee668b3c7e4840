// Progress: see progress.h.
#include "fusefs/cli/progress.h"

#include <cstdio>

#include "fusefs/core/units.h"

namespace tierfs {

Progress::Progress(std::ostream& out, bool enabled, std::string verb, std::string what,
                   std::function<Clock::time_point()> now)
    : out_(out),
      enabled_(enabled),
      verb_(std::move(verb)),
      what_(std::move(what)),
      now_(std::move(now)) {}

Progress::~Progress() {
  if (shown_) out_ << "\n" << std::flush;
}

namespace {

// The share done: bytes when known, else items.
double ShareDone(uint64_t done, uint64_t total, uint64_t bytes_done, uint64_t bytes_total) {
  if (bytes_total) return static_cast<double>(bytes_done) / static_cast<double>(bytes_total);
  return total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
}

}  // namespace

std::optional<double> Progress::Eta(double first_share, double share,
                                    std::chrono::duration<double> elapsed) {
  if (elapsed < std::chrono::seconds(1) || share <= first_share) return std::nullopt;
  return elapsed.count() * (1 - share) / (share - first_share);
}

std::string Progress::Line(const std::string& verb, const std::string& what, uint64_t done,
                           uint64_t total, uint64_t bytes_done, uint64_t bytes_total,
                           std::optional<double> eta_s) {
  std::string line = verb + " " + std::to_string(done) + "/" + std::to_string(total) + " " + what;
  if (bytes_total) line += ", " + HumanBytes(bytes_done) + " of " + HumanBytes(bytes_total);
  if (done < total && eta_s) {
    char eta[32];
    std::snprintf(eta, sizeof(eta), ", ETA %.0f s", *eta_s);
    line += eta;
  }
  return line;
}

void Progress::Update(uint64_t done, uint64_t total, uint64_t bytes_done, uint64_t bytes_total) {
  if (!enabled_) return;
  const auto now = now_();
  const double share = ShareDone(done, total, bytes_done, bytes_total);
  if (!first_at_) {
    first_at_ = now;
    first_share_ = share;
  }
  if (done < total && shown_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  std::string line = Line(verb_, what_, done, total, bytes_done, bytes_total,
                          Eta(first_share_, share, now - *first_at_));
  const size_t width = line.size();
  if (width < width_) line.append(width_ - width, ' ');
  width_ = width;
  out_ << "\r" << line << std::flush;
  shown_ = true;
}

}  // namespace tierfs
