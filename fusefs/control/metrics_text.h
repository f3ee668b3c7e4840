// MetricsText: the Prometheus exposition of a mounted tierfs — everything
// the status report holds plus the request-path counters (Metrics). Every
// metric name and its meaning is listed in docs/metrics.md.
// Thread-safety: a pure function of its arguments (Metrics is read with
// relaxed loads).
#pragma once

#include <string>

#include "fusefs/core/filesystem.h"
#include "fusefs/metrics/metrics.h"

namespace tierfs {

std::string MetricsText(const StatusReport& r, const Metrics& m);

}  // namespace tierfs
