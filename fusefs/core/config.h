// MountConfig: everything `tierfs mount` can be told, and the parser of the
// -o option list with its table of options. Unknown or malformed options are
// errors naming the option.
// Thread-safety: plain values, a constant table and pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compress/cold_object.h"
#include "compress/status.h"
#include "store/policy.h"

namespace tierfs {

inline constexpr uint64_t kDefaultChunkSize = 4ull << 20;
inline constexpr uint64_t kMinChunkSize = 64ull << 10;  // chunk_size: a power of two, at least this
// inline_max=: off by default (docs/benchmarks.md: the A/B did not win).
inline constexpr uint64_t kDefaultInlineMax = 0;
inline constexpr uint64_t kMaxInlineMax = 64ull << 10;  // = kMinChunkSize: inline bytes fit chunk 0
// Longest cold_after: its nanoseconds must fit an int64_t (about 292 years).
inline constexpr uint64_t kMaxColdAfterSeconds = 9'000'000'000ull;
// How often -o metrics_file is rewritten unless metrics_interval says.
inline constexpr uint32_t kDefaultMetricsIntervalSeconds = 5;

// When a read updates atime: relatime (the Linux default: when atime is not
// newer than mtime or ctime, or is a day old), strictatime (every read),
// noatime (never).
enum class AtimeMode { kRelatime, kStrictatime, kNoatime };

struct MountConfig {
  std::string store_dir;
  std::string mountpoint;
  bool foreground = false;
  PolicyConfig policy;
  CompressionOptions compression;
  uint64_t chunk_size = 0;  // 0: the store's (kDefaultChunkSize for a new store)
  std::string cold_dir;     // empty: the store's (STORE/cold for a new store)
  // -o cold_backend=dir|rados:POOL (fixed at creation; empty: the store's,
  // dir for a new store), and how to reach the cluster: -o ceph_conf,
  // ceph_id (empty: the store's, recorded at creation, else
  // /etc/ceph/ceph.conf and admin), rados_timeout (seconds; 0: 30).
  std::string cold_backend;
  std::string ceph_conf;
  std::string ceph_id;
  uint32_t rados_timeout = 0;
  uint64_t buffer_pool = 64ull << 20;
  uint64_t cache_size = 64ull << 20;
  // New files up to this size keep their bytes in the namespace (SQLite)
  // instead of an object file; 0: never.
  uint64_t inline_max = kDefaultInlineMax;
  uint64_t migrate_rate = 0;  // bytes/s, 0 = unlimited
  std::string log_level = "info";
  bool sync_full = false;  // SQLite synchronous=FULL
  bool read_only = false;
  bool allow_other = false;
  AtimeMode atime = AtimeMode::kRelatime;
  // -o sync / dirsync: a namespace change is durable before it is answered.
  bool dirsync = false;
  // -o remount (mount(8) -o remount,...): change the live mount instead.
  bool remount = false;
  // Options FUSE sets when it mounts (user_id=, group_id=, ...), which
  // mount(8) repeats from the live mount on a remount: accepted only there.
  std::vector<std::string> set_by_fuse;
  // -o metrics_file: the Prometheus textfile kept up to date (absolute,
  // *.prom; empty: none), every metrics_interval seconds (0: the default).
  std::string metrics_file;
  uint32_t metrics_interval = 0;
  // -o metrics=ADDR:PORT: serve the exposition over HTTP (IPv4 address;
  // empty: no endpoint).
  std::string metrics_addr;
  uint16_t metrics_port = 0;
  // Opened by the CLI to inspect an unmounted store (status): no daemon.
  bool inspect = false;
  // Options passed to libfuse unchanged (allow_other, fsname=, ...).
  std::vector<std::string> fuse_options;
  // Tests only, no mount option: the SQLite VFS for meta.db
  // (MetadataOptions::vfs; empty: the default). The power-cut test opens
  // the namespace through a VFS over its fault-injecting Env.
  std::string sqlite_vfs;
};

// One entry of the option parser's table: ApplyMountOptions accepts exactly
// the options of MountOptions(). docs/configuration.md and tierfs(8) are checked against
// this table (tests/admin/options_doc_test.py); the bash completion asks it
// (`tierfs mount --list-options`).
struct MountOption {
  // kFlag: "ro"; kValued: "cold_after=VALUE"; kPrefix: any option starting
  // with name ("x-systemd.automount").
  enum class Form { kFlag, kValued, kPrefix };
  std::string_view name;
  Form form;
  // `text` is the option as written, `value` what follows its '=' (empty
  // for a flag).
  Status (*apply)(const std::string& text, const std::string& value, MountConfig* config);
  // How the docs and `tierfs mount --list-options` write it: "ro",
  // "cold_after=", "x-*".
  std::string Synopsis() const;
};
std::span<const MountOption> MountOptions();

// Parses a size as people type it: bytes ("1048576"), or a number, with a
// fraction if they like, and a unit: K, M, G, T, P and KiB, MiB, GiB, TiB,
// PiB are 1024-based, KB, MB, GB, TB, PB 1000-based (as df -h and df -H,
// coreutils); letters in either case ("64m", "1.5G", "100GB", "4MiB").
// Rounded down to whole bytes.
Result<uint64_t> ParseSize(const std::string& text);
// Parses a duration in whole seconds: "3600", or a number with s, m, h or d
// ("30s", "90m", "12h", "7d", "1.5h").
Result<uint64_t> ParseDuration(const std::string& text);
// Applies a comma-separated option list (as after -o) to config.
Status ApplyMountOptions(const std::string& list, MountConfig* config);

}  // namespace tierfs
