// The CLI's reporting commands: status (one report, --json, --watch),
// where (per file and in total) and explain, with their help and arguments
// (Command). They ask a mounted daemon through the control xattrs (status
// also opens an unmounted store read-only).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "fusefs/cli/cli_util.h"
#include "fusefs/control/control.h"
#include "fusefs/control/explain.h"
#include "fusefs/core/config.h"
#include "fusefs/core/filesystem.h"
#include "fusefs/core/json.h"
#include "fusefs/core/units.h"

namespace tierfs::cli {

namespace {

// The status report of a mounted tierfs, a store whose daemon runs, or an
// unmounted store (opened read-only).
Result<std::string> StatusOf(const std::string& target) {
  auto report = GetControl(target, "user.tierfs.status");
  if (report.ok()) return report;
  // A store directory: ask its daemon if mounted, else open it.
  std::ifstream mp(target + "/MOUNTPOINT");
  std::string mountpoint;
  if (std::getline(mp, mountpoint)) report = GetControl(mountpoint, "user.tierfs.status");
  if (report.ok()) return report;
  struct stat st;
  if (::stat((target + "/meta.db").c_str(), &st) != 0) {
    return Status::NotFound(target + " is neither a mounted tierfs nor a tierfs store");
  }
  MountConfig c;
  c.store_dir = target;
  c.read_only = true;
  c.inspect = true;
  c.buffer_pool = 1 << 20;
  c.cache_size = 0;
  TIERFS_ASSIGN_OR_RETURN(auto fs, Filesystem::Open(c, Env::Default()));
  return Control(*fs).StatusJson();
}

// `used` of `cap` as a bar of `width` cells ("[#####.....]").
std::string Bar(uint64_t used, uint64_t cap, size_t width) {
  const size_t full = cap ? static_cast<size_t>(std::min<uint64_t>(used, cap) * width / cap) : 0;
  std::string bar(width + 2, '.');
  bar.front() = '[';
  bar.back() = ']';
  std::fill_n(bar.begin() + 1, full, '#');
  return bar;
}

void PrintStatus(const std::string& j, bool tty) {
  uint64_t hot = JsonNumber(j, "hot_bytes"), cold = JsonNumber(j, "cold_bytes");
  uint64_t cold_stored = JsonNumber(j, "cold_stored_bytes"), cap = JsonNumber(j, "hot_capacity");
  std::cout << "hot:    " << HumanBytes(hot) << " in " << JsonNumber(j, "hot_objects")
            << " objects";
  if (cap) std::cout << " (" << (hot * 100 / cap) << "% of " << HumanBytes(cap) << ")";
  if (cap && tty) {
    std::cout << "\n        " << Bar(hot, cap, 40) << " high "
              << HumanBytes(JsonNumber(j, "hot_high_bytes")) << ", low "
              << HumanBytes(JsonNumber(j, "hot_low_bytes"));
  }
  std::cout << "\ncold:   " << HumanBytes(cold) << " in " << JsonNumber(j, "cold_objects")
            << " objects, stored in " << HumanBytes(cold_stored) << " on "
            << JsonText(j, "cold_tier");
  if (const uint64_t files = JsonNumber(j, "inline_files")) {
    std::cout << "\ninline: " << HumanBytes(JsonNumber(j, "inline_bytes")) << " in " << files
              << " small files kept in the namespace (never tiered)";
  }
  std::cout << "\nsaved:  " << HumanBytes(JsonNumber(j, "saved_bytes"))
            << " by compression\nmoves:  " << JsonNumber(j, "demotions") << " demotions, "
            << JsonNumber(j, "promotions") << " promotions\ncache:  " << JsonNumber(j, "hits")
            << " hits, " << JsonNumber(j, "misses") << " misses\n";
  if (const uint64_t pending = JsonNumber(j, "reclaim_pending")) {
    std::cout << "freeing: " << pending << " unlinked inodes (counted as freed above)\n";
  }
}

// One sample of the counters --watch turns into rates.
struct WatchSample {
  std::chrono::steady_clock::time_point at;
  uint64_t read = 0, written = 0, promotions = 0, demotions = 0;
};

WatchSample SampleOf(const std::string& j) {
  return WatchSample{std::chrono::steady_clock::now(),
                     JsonNumber(j, "read_hot_bytes") + JsonNumber(j, "read_cold_bytes") +
                         JsonNumber(j, "read_hole_bytes") + JsonNumber(j, "read_inline_bytes"),
                     JsonNumber(j, "written_bytes"), JsonNumber(j, "promotions"),
                     JsonNumber(j, "demotions")};
}

// tierfs status --watch: a line per second (like vmstat or juicefs stats)
// of the tiers and what moved since the previous line; `count` lines (0:
// until interrupted).
int WatchStatus(const std::string& target, uint64_t count) {
  auto first = StatusOf(target);
  if (!first.ok()) return Fail(first.status().message());
  if (first->find("\"mounted\":true") == std::string::npos) {
    return Fail("--watch needs a mounted tierfs (" + target + " is not mounted)");
  }
  WatchSample prev = SampleOf(*first);
  char line[160];
  std::snprintf(line, sizeof(line), "%-12s %-12s %-12s %-12s %-10s %-10s\n", "hot", "cold",
                "read/s", "write/s", "promote/s", "demote/s");
  std::cout << line << std::flush;
  for (uint64_t n = 0; count == 0 || n < count; ++n) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto j = StatusOf(target);
    if (!j.ok()) return Fail(j.status().message());
    const WatchSample now = SampleOf(*j);
    const double secs = std::chrono::duration<double>(now.at - prev.at).count();
    auto rate = [&](uint64_t a, uint64_t b) { return b >= a ? (b - a) / secs : 0.0; };
    std::snprintf(
        line, sizeof(line), "%-12s %-12s %-12s %-12s %-10.1f %-10.1f\n",
        HumanBytes(JsonNumber(*j, "hot_bytes")).c_str(),
        HumanBytes(JsonNumber(*j, "cold_bytes")).c_str(),
        (HumanBytes(static_cast<uint64_t>(rate(prev.read, now.read))) + "/s").c_str(),
        (HumanBytes(static_cast<uint64_t>(rate(prev.written, now.written))) + "/s").c_str(),
        rate(prev.promotions, now.promotions), rate(prev.demotions, now.demotions));
    std::cout << line << std::flush;
    prev = now;
  }
  return 0;
}

int CmdStatus(const Args& args) {
  const bool json = args.Has("--json"), watch = args.Has("--watch");
  uint64_t count = 0;
  if (args.Has("--count")) {
    const std::string n = args.Value("--count");
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), count);
    if (ec != std::errc() || p != n.data() + n.size() || count == 0) {
      return UsageError("status", "--count " + n + ": not a positive whole number");
    }
    if (!watch) return UsageError("status", "--count is for --watch");
  }
  if (json && watch) return UsageError("status", "--json and --watch do not go together");
  std::string target = Absolute(args.operands[0]);
  if (watch) return WatchStatus(target, count);
  auto report = StatusOf(target);
  if (!report.ok()) return Fail(report.status().message());
  if (json) {
    std::cout << *report << "\n";
    return 0;
  }
  PrintStatus(*report, ::isatty(1));
  return 0;
}

// What tierfs where adds up over the files it shows.
struct WhereTotal {
  uint64_t files = 0, hot = 0, cold = 0, inline_bytes = 0, stored = 0, pinned = 0;

  void Add(const std::string& w) {
    ++files;
    hot += JsonNumber(w, "hot_bytes");
    cold += JsonNumber(w, "cold_bytes");
    inline_bytes += JsonNumber(w, "inline_bytes");
    stored += JsonNumber(w, "stored_bytes");
    pinned += w.find("\"pinned\":true") != std::string::npos;
  }
  std::string Json() const {
    return "{\"files\":" + std::to_string(files) + ",\"hot_bytes\":" + std::to_string(hot) +
           ",\"cold_bytes\":" + std::to_string(cold) +
           ",\"inline_bytes\":" + std::to_string(inline_bytes) +
           ",\"stored_bytes\":" + std::to_string(stored) +
           ",\"pinned_files\":" + std::to_string(pinned) + "}";
  }
  std::string Text() const {
    std::string t = "total: " + std::to_string(files) + (files == 1 ? " file" : " files") +
                    ", hot " + HumanBytes(hot) + ", cold " + HumanBytes(cold);
    if (inline_bytes) t += ", inline " + HumanBytes(inline_bytes);
    t += ", stored " + HumanBytes(stored);
    if (pinned) t += ", " + std::to_string(pinned) + " pinned";
    return t;
  }
};

int CmdWhere(const Args& args) {
  const bool json = args.Has("--json"), summary = args.Has("--summary");
  std::vector<std::string> rows;
  WhereTotal total;
  int rc = ForEachFile(FilesUnder(args.operands), [&](const std::string& f) -> Status {
    TIERFS_ASSIGN_OR_RETURN(std::string w, GetControl(f, "user.tierfs.where"));
    total.Add(w);
    if (summary) return Status::OK();
    if (json) {
      rows.push_back("{\"path\":" + JsonString(f) + "," + w.substr(1));
      return Status::OK();
    }
    std::cout << f << ": hot " << HumanBytes(JsonNumber(w, "hot_bytes")) << ", cold "
              << HumanBytes(JsonNumber(w, "cold_bytes"));
    if (const uint64_t in = JsonNumber(w, "inline_bytes")) {
      std::cout << ", inline " << HumanBytes(in) << " (in the namespace, never tiered)";
    }
    if (JsonNumber(w, "cold_bytes")) std::cout << " (on " << JsonText(w, "cold_tier") << ")";
    std::cout << ", stored " << HumanBytes(JsonNumber(w, "stored_bytes"))
              << (w.find("\"pinned\":true") != std::string::npos ? ", pinned" : "") << "\n";
    return Status::OK();
  });
  if (summary) {
    std::cout << (json ? total.Json() : total.Text()) << "\n";
  } else if (json) {
    PrintJsonArray(rows);
  } else if (total.files > 1) {  // one file's line is its own total
    std::cout << total.Text() << "\n";
  }
  return rc;
}

// The explanation of one file, all pages of user.tierfs.explain joined:
// the first page's fields, every page's chunks.
Result<std::string> ExplainOf(const std::string& path) {
  constexpr std::string_view kTail = "],\"next_chunk\":";
  std::string joined;
  std::string name(kExplainControl);
  for (;;) {
    TIERFS_ASSIGN_OR_RETURN(std::string page, GetControl(path, name.c_str()));
    const size_t tail = page.rfind(kTail);
    const size_t chunks = page.find("\"chunks\":[");
    if (tail == std::string::npos || chunks == std::string::npos) {
      return Status::Corruption(path + ": malformed explain reply");
    }
    if (joined.empty()) {
      joined = page.substr(0, tail);
    } else {
      const size_t begin = chunks + 10;
      if (tail > begin) joined.append(",").append(page, begin, tail - begin);
    }
    const std::string next = page.substr(tail + kTail.size());
    if (next.rfind("null", 0) == 0) break;
    name = std::string(kExplainControl) + "@" + next.substr(0, next.size() - 1);
  }
  return joined + "]}";
}

int CmdExplain(const Args& args) {
  const bool json = args.Has("--json");
  std::vector<std::string> rows;
  int rc = ForEachFile(FilesUnder(args.operands), [&](const std::string& f) -> Status {
    TIERFS_ASSIGN_OR_RETURN(std::string e, ExplainOf(f));
    if (json) {
      rows.push_back("{\"path\":" + JsonString(f) + "," + e.substr(1));
      return Status::OK();
    }
    const uint64_t cap = JsonNumber(e, "hot_capacity");
    std::cout << f << ": " << HumanBytes(JsonNumber(e, "size")) << " in chunks of "
              << HumanBytes(JsonNumber(e, "chunk_size"))
              << (e.find("\"pinned\":true") != std::string::npos ? ", pinned" : "") << "; hot tier "
              << HumanBytes(JsonNumber(e, "hot_bytes"));
    if (cap) {
      std::cout << " of " << HumanBytes(cap) << " (high "
                << HumanBytes(JsonNumber(e, "hot_high_bytes")) << ", low "
                << HumanBytes(JsonNumber(e, "hot_low_bytes")) << ")";
    }
    std::cout << "\n";
    size_t n = 0;
    for (size_t p = e.find("{\"index\":"); p != std::string::npos;
         p = e.find("{\"index\":", p + 1), ++n) {
      std::cout << "  chunk " << JsonNumber(e.substr(p), "index") << ": " << JsonText(e, "tier", p)
                << " (" << JsonText(e, "reason", p) << "): " << JsonText(e, "why", p) << "\n";
    }
    if (n == 0) std::cout << "  no chunks (empty or all holes)\n";
    return Status::OK();
  });
  if (json) PrintJsonArray(rows);
  return rc;
}

}  // namespace

const Command kStatusCommand{
    "status",
    "usage: tierfs status STORE|MOUNTPOINT [--json | --watch [--count N]]\n"
    "  hot and cold usage, what compression saved, moves, cache counters; an unmounted\n"
    "  store is opened read-only\n"
    "  --json   the report as one JSON object\n"
    "  --watch  a line per second: tier sizes, reads, writes and moves per second\n"
    "  --count  with --watch: stop after N lines\n",
    {{{"--json"}, {"--watch"}, {"--count", "", /*takes_value=*/true}}, "STORE|MOUNTPOINT"},
    false,
    CmdStatus};

const Command kWhereCommand{
    "where",
    "usage: tierfs where PATH... [--json] [--summary]\n"
    "  per file (directories are walked): bytes hot, cold and stored, and whether it\n"
    "  is pinned; then, for more than one file, the total\n"
    "  --json          one JSON object per file, in an array\n"
    "  -s, --summary   only the total: files, bytes hot, cold, inline and stored,\n"
    "                  pinned files (with --json: one object)\n",
    {{{"--json"}, {"--summary", "-s"}}, "PATH", /*many=*/true},
    false,
    CmdWhere};

const Command kExplainCommand{
    "explain",
    "usage: tierfs explain PATH... [--json]\n"
    "  per chunk of each file: its tier, why it is there (reason), and what the\n"
    "  migrator does with it next and when\n"
    "  --json  one JSON object per file, in an array\n",
    {{{"--json"}}, "PATH", /*many=*/true},
    false,
    CmdExplain};

}  // namespace tierfs::cli
