// Mount option parsing; see config.h.
#include "fusefs/config.h"

#include <charconv>
#include <set>
#include <sstream>

namespace tierfs {

namespace {

Result<uint64_t> ParseUint(const std::string& name, const std::string& v) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    return Status::InvalidArgument("option " + name + "=" + v + ": not a whole number");
  }
  return n;
}

Result<uint32_t> ParsePercent(const std::string& name, const std::string& v) {
  TIERFS_ASSIGN_OR_RETURN(uint64_t n, ParseUint(name, v));
  if (n == 0 || n > 100) {
    return Status::InvalidArgument("option " + name + "=" + v + ": must be 1..100");
  }
  return static_cast<uint32_t>(n);
}

Status ParseCompression(const std::string& v, CompressionOptions* out) {
  if (v == "none") {
    out->codec = Codec::kNone;
    return Status::OK();
  }
  if (v == "zstd") {
    out->codec = Codec::kZstd;
    return Status::OK();
  }
  if (v.rfind("zstd:", 0) == 0) {
    auto level = ParseUint("compress", v.substr(5));
    if (!level.ok() || *level < 1 || *level > 19) {
      return Status::InvalidArgument("option compress=" + v + ": zstd level must be 1..19");
    }
    out->codec = Codec::kZstd;
    out->level = static_cast<int>(*level);
    return Status::OK();
  }
  return Status::InvalidArgument("option compress=" + v + ": expected zstd[:LEVEL] or none");
}

// Options that libfuse 3.14 / the kernel apply to the mount itself, passed
// through unchanged.
const std::set<std::string> kFuseFlags = {"allow_root", "auto_unmount", "nodev", "nosuid", "dev",
                                          "suid", "exec", "noexec", "async"};
// atime flags: tierfs keeps atime itself (AtimeMode). Directory atimes are
// never updated by readdir, so nodiratime always holds and diratime is
// accepted and ignored; atime updates are always lazy (in memory, written
// back), so lazytime always holds.
const std::set<std::string> kAtimeIgnored = {"diratime", "nodiratime", "lazytime",
                                             "nolazytime"};
const std::set<std::string> kFuseValued = {"fsname", "subtype"};
// Options mount(8), fstab and systemd may hand to mount.tierfs that mean
// nothing to the daemon (x-* options are ignored too, as mount(8) does).
const std::set<std::string> kIgnored = {"defaults", "auto", "noauto", "user", "nouser", "users",
                                        "owner", "group", "_netdev", "nofail",
                                        "default_permissions", "loud", "silent", "iversion",
                                        "noiversion", "nomand", "nosymfollow", "symfollow"};
}  // namespace

Result<uint64_t> ParseSize(const std::string& text) {
  if (text.empty()) return Status::InvalidArgument("empty size");
  std::string digits = text;
  uint64_t mult = 1;
  switch (text.back()) {
    case 'k': case 'K': mult = 1ull << 10; break;
    case 'm': case 'M': mult = 1ull << 20; break;
    case 'g': case 'G': mult = 1ull << 30; break;
    case 't': case 'T': mult = 1ull << 40; break;
    default: break;
  }
  if (mult != 1) digits.pop_back();
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) {
    return Status::InvalidArgument("not a size: " + text);
  }
  if (n > UINT64_MAX / mult) return Status::InvalidArgument("size too large: " + text);
  return n * mult;
}

Status ApplyMountOptions(const std::string& list, MountConfig* c) {
  std::stringstream ss(list);
  std::string opt;
  while (std::getline(ss, opt, ',')) {
    if (opt.empty()) continue;
    auto eq = opt.find('=');
    std::string name = opt.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : opt.substr(eq + 1);
    bool has_value = eq != std::string::npos;
    auto size = [&](uint64_t* out) -> Status {
      auto r = ParseSize(value);
      if (!r.ok()) return Status::InvalidArgument("option " + opt + ": " + r.status().message());
      *out = *r;
      return Status::OK();
    };
    if (kIgnored.count(opt) || opt.rfind("x-", 0) == 0 || name == "comment") continue;
    if (kAtimeIgnored.count(opt)) continue;
    if (opt == "noatime") {
      c->atime = AtimeMode::kNoatime;
      c->fuse_options.push_back(opt);  // so that mount(8) shows it
    } else if (opt == "atime" || opt == "relatime" || opt == "nostrictatime") {
      c->atime = AtimeMode::kRelatime;
    } else if (opt == "strictatime" || opt == "norelatime") {
      c->atime = AtimeMode::kStrictatime;
    } else if (opt == "sync" || opt == "dirsync") {
      c->dirsync = true;  // the kernel fsyncs each write itself under sync
      c->fuse_options.push_back(opt);
    } else if (opt == "remount") {
      c->remount = true;
    } else if (kFuseFlags.count(opt) || (has_value && kFuseValued.count(name))) {
      c->fuse_options.push_back(opt);
    } else if (opt == "allow_other") {
      c->allow_other = true;
      c->fuse_options.push_back(opt);
    } else if (opt == "ro") {
      c->read_only = true;
    } else if (opt == "rw") {
      c->read_only = false;
    } else if (!has_value) {
      return Status::InvalidArgument("unknown mount option: " + opt);
    } else if (name == "cold_after") {
      TIERFS_ASSIGN_OR_RETURN(uint64_t s, ParseUint(name, value));
      if (s > kMaxColdAfterSeconds) {
        return Status::InvalidArgument("option " + opt + ": at most " +
                                       std::to_string(kMaxColdAfterSeconds) + " seconds");
      }
      c->policy.cold_after_ns = static_cast<int64_t>(s) * 1000000000LL;
    } else if (name == "hot_capacity") {
      TIERFS_RETURN_IF_ERROR(size(&c->policy.hot_capacity));
    } else if (name == "hot_high") {
      TIERFS_ASSIGN_OR_RETURN(c->policy.hot_high_pct, ParsePercent(name, value));
    } else if (name == "hot_low") {
      TIERFS_ASSIGN_OR_RETURN(c->policy.hot_low_pct, ParsePercent(name, value));
    } else if (name == "compress") {
      TIERFS_RETURN_IF_ERROR(ParseCompression(value, &c->compression));
    } else if (name == "chunk_size") {
      TIERFS_RETURN_IF_ERROR(size(&c->chunk_size));
      if (c->chunk_size < (64u << 10) || c->chunk_size > (64u << 20) ||
          (c->chunk_size & (c->chunk_size - 1)) != 0) {
        return Status::InvalidArgument("option " + opt +
                                       ": must be a power of two from 64K to 64M");
      }
    } else if (name == "cold_dir") {
      if (value.empty() || value[0] != '/') {
        return Status::InvalidArgument("option " + opt + ": must be an absolute path");
      }
      c->cold_dir = value;
    } else if (name == "buffer_pool") {
      TIERFS_RETURN_IF_ERROR(size(&c->buffer_pool));
    } else if (name == "cache_size") {
      TIERFS_RETURN_IF_ERROR(size(&c->cache_size));
    } else if (name == "migrate_rate") {
      TIERFS_RETURN_IF_ERROR(size(&c->migrate_rate));
    } else if (name == "promote_reads") {
      TIERFS_ASSIGN_OR_RETURN(uint64_t n, ParseUint(name, value));
      c->policy.promote_reads = static_cast<uint32_t>(n);
    } else if (name == "log_level") {
      static const std::set<std::string> kLevels = {"trace", "debug", "info", "warn",
                                                    "error", "off"};
      if (!kLevels.count(value)) {
        return Status::InvalidArgument("option " + opt +
                                       ": expected trace|debug|info|warn|error|off");
      }
      c->log_level = value;
    } else if (name == "metrics_file") {
      if (value.empty() || value[0] != '/' || value.size() < 6 ||
          value.compare(value.size() - 5, 5, ".prom") != 0) {
        return Status::InvalidArgument(
            "option " + opt +
            ": must be an absolute path ending in .prom (node_exporter's textfile collector "
            "reads only *.prom files)");
      }
      c->metrics_file = value;
    } else if (name == "metrics") {
      const size_t colon = value.rfind(':');
      auto port = ParseUint(name, colon == std::string::npos ? "" : value.substr(colon + 1));
      if (colon == std::string::npos || colon == 0 || !port.ok() || *port < 1 || *port > 65535 ||
          value.find_first_not_of("0123456789.") < colon) {
        return Status::InvalidArgument("option " + opt +
                                       ": expected IPV4ADDR:PORT, e.g. 127.0.0.1:9477");
      }
      c->metrics_addr = value.substr(0, colon);
      c->metrics_port = static_cast<uint16_t>(*port);
    } else if (name == "metrics_interval") {
      TIERFS_ASSIGN_OR_RETURN(uint64_t s, ParseUint(name, value));
      if (s < 1 || s > 3600) {
        return Status::InvalidArgument("option " + opt + ": must be 1..3600 seconds");
      }
      c->metrics_interval = static_cast<uint32_t>(s);
    } else if (name == "meta_sync") {
      if (value != "normal" && value != "full") {
        return Status::InvalidArgument("option " + opt + ": expected normal or full");
      }
      c->sync_full = value == "full";
    } else {
      return Status::InvalidArgument("unknown mount option: " + opt);
    }
  }
  if (c->metrics_interval != 0 && c->metrics_file.empty()) {
    return Status::InvalidArgument("option metrics_interval needs metrics_file");
  }
  if (c->policy.hot_low_pct > c->policy.hot_high_pct) {
    return Status::InvalidArgument("option hot_low must not exceed hot_high");
  }
  return Status::OK();
}

}  // namespace tierfs
