// Mount option parsing; see config.h.
#include "fusefs/core/config.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

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

constexpr const char* kSizeForms =
    "not a size (bytes, or a number with K, M, G, T, P or KiB..PiB, 1024-based, or KB..PB, "
    "1000-based: 512K, 64MiB, 1.5G, 100GB)";
constexpr const char* kDurationForms =
    "not a duration (seconds, or a number with s, m, h or d: 30s, 90m, 12h, 7d)";

// `number` ("12", "1.5": at most 9 decimals) times `unit`, rounded down to
// a whole number; none when it is not a number, has decimals while `unit`
// is 1 (a fraction of a byte or of a second), or does not fit.
std::optional<uint64_t> Scaled(std::string_view number, uint64_t unit) {
  const size_t dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? "" : number.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (number.empty() || number == "." || !digits(whole) || !digits(frac) || frac.size() > 9 ||
      (dot != std::string_view::npos && unit == 1)) {
    return std::nullopt;
  }
  unsigned __int128 n = 0, scale = 1;
  for (char c : whole) {
    n = n * 10 + static_cast<unsigned>(c - '0');
    if (n > UINT64_MAX) return std::nullopt;
  }
  unsigned __int128 f = 0;
  for (char c : frac) {
    f = f * 10 + static_cast<unsigned>(c - '0');
    scale *= 10;
  }
  const unsigned __int128 v = n * unit + f * unit / scale;
  if (v > UINT64_MAX) return std::nullopt;
  return static_cast<uint64_t>(v);
}

}  // namespace

Result<uint64_t> ParseSize(const std::string& text) {
  // The unit: a letter, then nothing or "iB" (1024-based) or "B" (1000-based).
  std::string_view number = text, suffix;
  const size_t letter = text.find_first_of("kKmMgGtTpPbB");
  if (letter != std::string::npos) {
    number = std::string_view(text).substr(0, letter);
    suffix = std::string_view(text).substr(letter);
  }
  uint64_t unit = 1;
  if (!suffix.empty() && suffix != "B" && suffix != "b") {
    const std::string_view letters = "kmgtp";
    const size_t power = letters.find(static_cast<char>(std::tolower(suffix[0]))) + 1;
    const std::string_view rest = suffix.substr(1);
    const bool decimal = rest == "B" || rest == "b";
    if (power == 0 || !(rest.empty() || decimal || rest == "iB" || rest == "ib")) {
      return Status::InvalidArgument(kSizeForms);
    }
    for (size_t i = 0; i < power; ++i) unit *= decimal ? 1000 : 1024;
  }
  auto v = Scaled(number, unit);
  if (!v) return Status::InvalidArgument(kSizeForms);
  return *v;
}

Result<uint64_t> ParseDuration(const std::string& text) {
  uint64_t unit = 1;
  std::string_view number = text;
  if (!text.empty() && !std::isdigit(static_cast<unsigned char>(text.back()))) {
    switch (std::tolower(static_cast<unsigned char>(text.back()))) {
      case 's':
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return Status::InvalidArgument(kDurationForms);
    }
    number.remove_suffix(1);
  }
  // Seconds are whole: "1.5s" is refused as "1.5" is.
  auto v = Scaled(number, unit);
  if (!v) return Status::InvalidArgument(kDurationForms);
  return *v;
}

namespace {

// The handlers of the table below: `text` is the option as written
// ("cold_after=60"), `value` what follows its '=' (empty for a flag).
Status Ignore(const std::string&, const std::string&, MountConfig*) { return Status::OK(); }

Status SetByFuse(const std::string& text, const std::string&, MountConfig* c) {
  c->set_by_fuse.push_back(text);
  return Status::OK();
}

Status PassToFuse(const std::string& text, const std::string&, MountConfig* c) {
  c->fuse_options.push_back(text);
  return Status::OK();
}

Status Relatime(const std::string&, const std::string&, MountConfig* c) {
  c->atime = AtimeMode::kRelatime;
  return Status::OK();
}

Status Strictatime(const std::string&, const std::string&, MountConfig* c) {
  c->atime = AtimeMode::kStrictatime;
  return Status::OK();
}

Status Sync(const std::string& text, const std::string&, MountConfig* c) {
  c->dirsync = true;  // the kernel fsyncs each write itself under sync
  c->fuse_options.push_back(text);
  return Status::OK();
}

Status SizeInto(const std::string& text, const std::string& value, uint64_t* out) {
  auto r = ParseSize(value);
  if (!r.ok()) return Status::InvalidArgument("option " + text + ": " + r.status().message());
  *out = *r;
  return Status::OK();
}

// A duration (ParseDuration), in seconds.
Result<uint64_t> DurationOf(const std::string& text, const std::string& value) {
  auto r = ParseDuration(value);
  if (!r.ok()) return Status::InvalidArgument("option " + text + ": " + r.status().message());
  return *r;
}

// An absolute path.
Status PathInto(const std::string& text, const std::string& value, std::string* out) {
  if (value.empty() || value[0] != '/') {
    return Status::InvalidArgument("option " + text + ": must be an absolute path");
  }
  *out = value;
  return Status::OK();
}

// A duration from 1 s to 1 h.
Status SecondsInto(const std::string& text, const std::string& value, uint32_t* out) {
  TIERFS_ASSIGN_OR_RETURN(uint64_t n, DurationOf(text, value));
  if (n < 1 || n > 3600) {
    return Status::InvalidArgument("option " + text + ": must be 1 to 3600 seconds (1s to 1h)");
  }
  *out = static_cast<uint32_t>(n);
  return Status::OK();
}

using Form = MountOption::Form;

// Every option the parser accepts, in the order of the table in
// docs/configuration.md; the docs (that table, tierfs(8)) and the bash
// completion are checked against it.
const MountOption kMountOptions[] = {
    {"cold_after", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       if (v == "never") {  // only the hot watermark demotes
         c->policy.cold_after_ns = -1;
         return Status::OK();
       }
       TIERFS_ASSIGN_OR_RETURN(uint64_t s, DurationOf(text, v));
       if (s > kMaxColdAfterSeconds) {
         return Status::InvalidArgument("option " + text + ": at most " +
                                        std::to_string(kMaxColdAfterSeconds) + " seconds");
       }
       c->policy.cold_after_ns = static_cast<int64_t>(s) * 1000000000LL;
       return Status::OK();
     }},
    {"hot_capacity", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) {
       return SizeInto(text, v, &c->policy.hot_capacity);
     }},
    {"hot_high", Form::kValued,
     [](const std::string&, const std::string& v, MountConfig* c) -> Status {
       TIERFS_ASSIGN_OR_RETURN(c->policy.hot_high_pct, ParsePercent("hot_high", v));
       return Status::OK();
     }},
    {"hot_low", Form::kValued,
     [](const std::string&, const std::string& v, MountConfig* c) -> Status {
       TIERFS_ASSIGN_OR_RETURN(c->policy.hot_low_pct, ParsePercent("hot_low", v));
       return Status::OK();
     }},
    {"compress", Form::kValued,
     [](const std::string&, const std::string& v, MountConfig* c) {
       return ParseCompression(v, &c->compression);
     }},
    {"chunk_size", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       TIERFS_RETURN_IF_ERROR(SizeInto(text, v, &c->chunk_size));
       if (c->chunk_size < kMinChunkSize || c->chunk_size > (64u << 20) ||
           (c->chunk_size & (c->chunk_size - 1)) != 0) {
         return Status::InvalidArgument("option " + text +
                                        ": must be a power of two from 64K to 64M");
       }
       return Status::OK();
     }},
    {"cold_dir", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) {
       return PathInto(text, v, &c->cold_dir);
     }},
    {"cold_backend", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       if (v != "dir" && (v.rfind("rados:", 0) != 0 || v.size() == 6)) {
         return Status::InvalidArgument("option " + text + ": must be dir or rados:POOL");
       }
       c->cold_backend = v;
       return Status::OK();
     }},
    {"ceph_conf", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) {
       return PathInto(text, v, &c->ceph_conf);
     }},
    {"ceph_id", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       if (v.empty() || v.find_first_of(" ,/") != std::string::npos || v.rfind("client.", 0) == 0) {
         return Status::InvalidArgument("option " + text +
                                        ": must be a client id without 'client.' (e.g. tierfs)");
       }
       c->ceph_id = v;
       return Status::OK();
     }},
    {"rados_timeout", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) {
       return SecondsInto(text, v, &c->rados_timeout);
     }},
    {"buffer_pool", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) {
       return SizeInto(text, v, &c->buffer_pool);
     }},
    {"cache_size", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) {
       return SizeInto(text, v, &c->cache_size);
     }},
    {"inline_max", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       TIERFS_RETURN_IF_ERROR(SizeInto(text, v, &c->inline_max));
       if (c->inline_max > kMaxInlineMax) {
         return Status::InvalidArgument("option " + text + ": at most 64K");
       }
       return Status::OK();
     }},
    {"promote_reads", Form::kValued,
     [](const std::string&, const std::string& v, MountConfig* c) -> Status {
       TIERFS_ASSIGN_OR_RETURN(uint64_t n, ParseUint("promote_reads", v));
       c->policy.promote_reads = static_cast<uint32_t>(n);
       return Status::OK();
     }},
    {"migrate_rate", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) {
       return SizeInto(text, v, &c->migrate_rate);
     }},
    {"meta_sync", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       if (v != "normal" && v != "full") {
         return Status::InvalidArgument("option " + text + ": expected normal or full");
       }
       c->sync_full = v == "full";
       return Status::OK();
     }},
    {"log_level", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       static const std::set<std::string> kLevels = {"trace", "debug", "info",
                                                     "warn",  "error", "off"};
       if (!kLevels.count(v)) {
         return Status::InvalidArgument("option " + text +
                                        ": expected trace|debug|info|warn|error|off");
       }
       c->log_level = v;
       return Status::OK();
     }},
    {"metrics_file", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       if (v.empty() || v[0] != '/' || v.size() < 6 || v.compare(v.size() - 5, 5, ".prom") != 0) {
         return Status::InvalidArgument(
             "option " + text +
             ": must be an absolute path ending in .prom (node_exporter's textfile collector "
             "reads only *.prom files)");
       }
       c->metrics_file = v;
       return Status::OK();
     }},
    {"metrics_interval", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) {
       return SecondsInto(text, v, &c->metrics_interval);
     }},
    {"metrics", Form::kValued,
     [](const std::string& text, const std::string& v, MountConfig* c) -> Status {
       const size_t colon = v.rfind(':');
       auto port = ParseUint("metrics", colon == std::string::npos ? "" : v.substr(colon + 1));
       if (colon == std::string::npos || colon == 0 || !port.ok() || *port < 1 || *port > 65535 ||
           v.find_first_not_of("0123456789.") < colon) {
         return Status::InvalidArgument("option " + text +
                                        ": expected IPV4ADDR:PORT, e.g. 127.0.0.1:9477");
       }
       c->metrics_addr = v.substr(0, colon);
       c->metrics_port = static_cast<uint16_t>(*port);
       return Status::OK();
     }},
    // tierfs keeps atime itself (AtimeMode).
    {"relatime", Form::kFlag, Relatime},
    {"atime", Form::kFlag, Relatime},
    {"nostrictatime", Form::kFlag, Relatime},
    {"strictatime", Form::kFlag, Strictatime},
    {"norelatime", Form::kFlag, Strictatime},
    {"noatime", Form::kFlag,
     [](const std::string& text, const std::string&, MountConfig* c) {
       c->atime = AtimeMode::kNoatime;
       return PassToFuse(text, "", c);  // so that mount(8) shows it
     }},
    {"sync", Form::kFlag, Sync},
    {"dirsync", Form::kFlag, Sync},
    {"ro", Form::kFlag,
     [](const std::string&, const std::string&, MountConfig* c) {
       c->read_only = true;
       return Status::OK();
     }},
    {"rw", Form::kFlag,
     [](const std::string&, const std::string&, MountConfig* c) {
       c->read_only = false;
       return Status::OK();
     }},
    {"remount", Form::kFlag,
     [](const std::string&, const std::string&, MountConfig* c) {
       c->remount = true;
       return Status::OK();
     }},
    {"allow_other", Form::kFlag,
     [](const std::string& text, const std::string&, MountConfig* c) {
       c->allow_other = true;
       return PassToFuse(text, "", c);
     }},
    // What libfuse 3.14 / the kernel apply to the mount itself, unchanged.
    {"allow_root", Form::kFlag, PassToFuse},
    {"auto_unmount", Form::kFlag, PassToFuse},
    {"fsname", Form::kValued, PassToFuse},
    {"subtype", Form::kValued, PassToFuse},
    {"dev", Form::kFlag, PassToFuse},
    {"nodev", Form::kFlag, PassToFuse},
    {"suid", Form::kFlag, PassToFuse},
    {"nosuid", Form::kFlag, PassToFuse},
    {"exec", Form::kFlag, PassToFuse},
    {"noexec", Form::kFlag, PassToFuse},
    {"async", Form::kFlag, PassToFuse},
    // What the kernel shows for the live mount (FUSE set it), and mount(8)
    // repeats on a remount: accepted there only.
    {"user_id", Form::kValued, SetByFuse},
    {"group_id", Form::kValued, SetByFuse},
    {"rootmode", Form::kValued, SetByFuse},
    {"max_read", Form::kValued, SetByFuse},
    {"blksize", Form::kValued, SetByFuse},
    // What mount(8), fstab and systemd may hand to mount.tierfs that means
    // nothing to the daemon (x-* options are ignored too, as mount(8) does).
    {"defaults", Form::kFlag, Ignore},
    {"auto", Form::kFlag, Ignore},
    {"noauto", Form::kFlag, Ignore},
    {"user", Form::kFlag, Ignore},
    {"nouser", Form::kFlag, Ignore},
    {"users", Form::kFlag, Ignore},
    {"owner", Form::kFlag, Ignore},
    {"group", Form::kFlag, Ignore},
    {"_netdev", Form::kFlag, Ignore},
    {"nofail", Form::kFlag, Ignore},
    {"x-", Form::kPrefix, Ignore},
    {"comment", Form::kValued, Ignore},
    {"default_permissions", Form::kFlag, Ignore},  // always on
    // Directory atimes are never updated by readdir, so nodiratime always
    // holds; atime updates are always lazy (in memory, written back), so
    // lazytime always holds.
    {"diratime", Form::kFlag, Ignore},
    {"nodiratime", Form::kFlag, Ignore},
    {"lazytime", Form::kFlag, Ignore},
    {"nolazytime", Form::kFlag, Ignore},
    {"iversion", Form::kFlag, Ignore},
    {"noiversion", Form::kFlag, Ignore},
    {"nomand", Form::kFlag, Ignore},
    {"nosymfollow", Form::kFlag, Ignore},
    {"symfollow", Form::kFlag, Ignore},
    {"loud", Form::kFlag, Ignore},
    {"silent", Form::kFlag, Ignore},
};

// The table entry `text` ("name" or "name=value") is an instance of, if any.
const MountOption* FindOption(const std::string& text) {
  const auto eq = text.find('=');
  const std::string name = text.substr(0, eq);
  for (const MountOption& o : kMountOptions) {
    const bool match = o.form == Form::kPrefix ? text.rfind(o.name, 0) == 0 : name == o.name;
    if (match) return &o;
  }
  return nullptr;
}

}  // namespace

std::span<const MountOption> MountOptions() { return kMountOptions; }

std::string MountOption::Synopsis() const {
  switch (form) {
    case Form::kFlag:
      return std::string(name);
    case Form::kValued:
      return std::string(name) + "=";
    case Form::kPrefix:
      return std::string(name) + "*";
  }
  return std::string(name);
}

Status ApplyMountOptions(const std::string& list, MountConfig* c) {
  std::stringstream ss(list);
  std::string text;
  while (std::getline(ss, text, ',')) {
    if (text.empty()) continue;
    const MountOption* o = FindOption(text);
    const auto eq = text.find('=');
    if (o == nullptr || (o->form == Form::kFlag && eq != std::string::npos)) {
      return Status::InvalidArgument("unknown mount option: " + text);
    }
    if (o->form == Form::kValued && eq == std::string::npos) {
      return Status::InvalidArgument("option " + text + " needs a value (" + text + "=...)");
    }
    const std::string value = eq == std::string::npos ? "" : text.substr(eq + 1);
    TIERFS_RETURN_IF_ERROR(o->apply(text, value, c));
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
