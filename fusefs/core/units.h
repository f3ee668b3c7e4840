// HumanBytes: a byte count in binary units for people ("1.5 MiB").
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace tierfs {

inline std::string HumanBytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace tierfs
