// The tierfs CLI: mount (and the daemon it starts), umount, pin, migrate,
// fsck, and the table of commands with the one dispatcher (RunCommand) that
// answers --help, --version and wrong usage alike for all; the reporting
// commands (status, where, explain) are in cli_report.cc, shared helpers in
// cli_util.h. Commands on a
// mounted store talk to the daemon through the control xattrs
// (user.tierfs.*, see fusefs/control/control.h); commands on an unmounted store
// open it directly.
#include "fusefs/cli/cli.h"

#include <fcntl.h>
#include <ftw.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fusefs/cli/args.h"
#include "fusefs/cli/cli_util.h"
#include "fusefs/cli/mount_checks.h"
#include "fusefs/cli/progress.h"
#include "fusefs/cli/version.h"
#include "fusefs/control/control.h"
#include "fusefs/control/metrics_text.h"
#include "fusefs/core/config.h"
#include "fusefs/core/filesystem.h"
#include "fusefs/core/fsck.h"
#include "fusefs/fuse/fuse_ops.h"
#include "fusefs/metrics/metrics_file.h"
#include "fusefs/metrics/metrics_http.h"

namespace tierfs::cli {

namespace {

constexpr const char* kUsage =
    "usage: tierfs COMMAND [ARGS]\n"
    "       tierfs --version\n"
    "\n"
    "commands:\n"
    "  mount STORE MOUNTPOINT [-f] [-o OPT[,OPT...]]  mount a store (created on first use)\n"
    "  status STORE|MOUNTPOINT [--json|--watch]         hot/cold usage, savings, counters\n"
    "  where PATH... [--json] [--summary]               bytes hot and cold per file, and total\n"
    "  explain PATH... [--json]                         per chunk: where, why, what next\n"
    "  pin PATH... | unpin PATH...                      keep files hot / let them go cold\n"
    "  migrate --to hot|cold PATH...                    move files now\n"
    "  umount MOUNTPOINT                                unmount; returns once the daemon has "
    "exited\n"
    "  fsck STORE [--repair] [--scrub] [--json]         check an unmounted store\n"
    "  takeover STORE                                   claim the cold tier from a copy of the "
    "store\n"
    "\n"
    "Every command takes --help (or -h) and --version; '--' ends its flags.\n"
    "Run 'tierfs COMMAND --help' for a command's options.\n";

constexpr const char* kMountHelp =
    "usage: tierfs mount STORE MOUNTPOINT [-f] [-o OPT[,OPT...]]\n"
    "       tierfs mount --list-options\n"
    "  STORE is a tierfs store, or a new or empty directory to make one in; it must\n"
    "  not be MOUNTPOINT or lie under it, nor hold MOUNTPOINT\n"
    "  -f                    stay in the foreground (log to stderr; under systemd,\n"
    "                        tell it READY=1 once the mount is up)\n"
    "  --list-options        print every option -o accepts, one a line\n"
    "  -o cold_after=TIME    demote data idle this long: SECONDS, 30s, 90m, 12h, 7d or never\n"
    "                        (default 1h)\n"
    "  -o hot_capacity=SIZE  hot tier budget (default unlimited); a SIZE is bytes or 10G,\n"
    "                        10GiB (both 1024-based), 10GB (1000-based), 1.5T, ...\n"
    "  -o hot_high=PCT,hot_low=PCT  watermarks of hot_capacity (default 90, 70)\n"
    "  -o compress=zstd[:LEVEL]|none  cold tier codec (default zstd:3)\n"
    "  -o chunk_size=SIZE    object size, 64K..64M, fixed at creation (default 4M)\n"
    "  -o cold_dir=PATH      cold tier directory, fixed at creation (default STORE/cold)\n"
    "  -o cold_backend=rados:POOL  cold tier in a Ceph RADOS pool, fixed at creation\n"
    "  -o ceph_conf=PATH, ceph_id=NAME, rados_timeout=TIME\n"
    "                        how to reach the cluster (default /etc/ceph/ceph.conf, admin, 30)\n"
    "  -o buffer_pool=SIZE   preallocated read buffers (default 64M)\n"
    "  -o cache_size=SIZE    decompressed frame cache (default 64M)\n"
    "  -o promote_reads=N    promote cold data read on N occasions in a minute (default 2, 0 = "
    "never)\n"
    "  -o migrate_rate=SIZE  migrator bytes per second (default unlimited)\n"
    "  -o meta_sync=normal|full  SQLite synchronous mode (default normal)\n"
    "  -o metrics_file=PATH.prom  Prometheus textfile for node_exporter, replaced atomically\n"
    "  -o metrics_interval=TIME  how often metrics_file is rewritten (default 5)\n"
    "  -o metrics=ADDR:PORT  serve the metrics over HTTP at http://ADDR:PORT/metrics (IPv4)\n"
    "  -o log_level=trace|debug|info|warn|error|off\n"
    "  -o relatime|strictatime|noatime  when reads update atime (default relatime)\n"
    "  -o sync|dirsync       namespace changes durable before they are answered\n"
    "  -o remount,ro|rw      switch a live mount (as mount(8) -o remount does)\n"
    "  -o allow_other,ro,fsname=...,auto_unmount,...  passed to FUSE\n";

// p made absolute, with symlinks resolved as far as it exists: how mount(8)
// spells an fstab line's source, so the mount's source (the store) too.
std::string Canonical(const std::string& p) {
  std::error_code ec;
  std::string out = std::filesystem::weakly_canonical(Absolute(p), ec).string();
  if (ec) out = Absolute(p);
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// The tierfs mounted at `mountpoint`, if one is (topmost wins). Its source
// is the store's path (RunSession's fsname), which is what mount(8)
// compares an fstab line's first field with.
std::optional<MountEntry> TierfsMountedAt(const std::string& mountpoint) {
  std::optional<MountEntry> found;
  for (const MountEntry& m : Mounts()) {
    if (m.mountpoint != mountpoint) continue;
    found.reset();
    if (m.fstype == "fuse.tierfs" && !m.source.empty() && m.source[0] == '/') found = m;
  }
  return found;
}

// The store of the tierfs mounted at `mountpoint`, if one is.
std::optional<std::string> StoreMountedAt(const std::string& mountpoint) {
  auto m = TierfsMountedAt(mountpoint);
  if (!m) return std::nullopt;
  return m->source;
}

bool StoreMounted(const std::string& store) {
  const std::string canonical = Canonical(store);
  for (const MountEntry& m : Mounts()) {
    if (m.fstype == "fuse.tierfs" && m.source == canonical) return true;
  }
  return false;
}

// True when no process holds STORE/LOCK (a store without one is free too).
bool StoreLockFree(const std::string& store) {
  int fd = ::open((store + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

// Waits up to `limit` for STORE/LOCK to be released.
bool WaitForStoreLock(const std::string& store, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!StoreLockFree(store)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// A daemon whose mount is gone (fusermount3 -u has returned) may still be
// flushing and exiting: give it a bounded time before the store is taken.
// A store that is still mounted is left to the caller's "in use" error.
void WaitForExitingDaemon(const std::string& store) {
  if (StoreLockFree(store) || StoreMounted(store)) return;
  std::cerr << "tierfs: waiting up to 10 s for the previous daemon of " << store << " to exit\n";
  (void)WaitForStoreLock(store, std::chrono::seconds(10));
}

void SetUpLogging(const MountConfig& c) {
  std::shared_ptr<spdlog::logger> logger;
  if (c.foreground) {
    logger = spdlog::stderr_color_mt("tierfs");
  } else {
    logger = spdlog::basic_logger_mt("tierfs", c.store_dir + "/tierfs.log");
  }
  logger->set_level(spdlog::level::from_str(c.log_level));
  // Every line that passes log_level reaches the file as it is logged, so
  // that `tail -f STORE/tierfs.log` follows a running daemon (a line costs
  // a write(2); at info and above there are few).
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

// Runs the daemon in this process until unmounted. `ready` reports the
// outcome of opening and mounting.
int Serve(const MountConfig& config, const std::function<void(const Status&)>& ready) {
  // Create the store (0700) before the log file lands in it.
  Status made = Env::Default()->MkDir(config.store_dir);
  if (!made.ok()) {
    ready(made);
    return 1;
  }
  SetUpLogging(config);
  auto fs = Filesystem::Open(config, Env::Default());
  if (!fs.ok()) {
    ready(fs.status());
    return 1;
  }
  std::unique_ptr<MetricsFile> metrics;
  if (!config.metrics_file.empty()) {
    Filesystem* f = fs->get();
    metrics = std::make_unique<MetricsFile>(
        config.metrics_file, "the store " + config.store_dir + " mounted at " + config.mountpoint,
        std::chrono::seconds(config.metrics_interval ? config.metrics_interval
                                                     : kDefaultMetricsIntervalSeconds),
        [f] { return MetricsText(f->Report(), f->metrics()); });
    Status started = metrics->Start();
    if (!started.ok()) {
      ready(started);
      return 1;
    }
  }
  std::unique_ptr<MetricsHttp> endpoint;
  if (!config.metrics_addr.empty()) {
    Filesystem* f = fs->get();
    auto started = MetricsHttp::Start(config.metrics_addr, config.metrics_port,
                                      [f] { return MetricsText(f->Report(), f->metrics()); });
    if (!started.ok()) {
      ready(started.status());
      return 1;
    }
    endpoint = std::move(started).value();
  }
  std::ofstream(config.store_dir + "/MOUNTPOINT") << config.mountpoint << "\n";
  spdlog::info("serving store {} at {}", config.store_dir, config.mountpoint);
  Control control(**fs);  // answers the control xattrs while mounted
  Status st = RunSession(fs->get(), &control, config, ready);
  endpoint.reset();
  if (metrics) metrics->Stop();  // the last counts, after the final flush
  std::remove((config.store_dir + "/MOUNTPOINT").c_str());
  fs->reset();  // stops the migrator, flushes metadata, releases the store lock
  spdlog::info("unmounted {}", config.mountpoint);
  spdlog::shutdown();
  return st.ok() ? 0 : 1;
}

// mount -o remount,ro|rw: the daemon stops (or resumes) writing and the
// kernel's mount flips. Going read-only, the daemon is told first, so that
// what the kernel flushes while it remounts (pages it accepted earlier) still
// lands; going read-write, the kernel first, since it refuses the control
// xattr while read-only. Only ro/rw change: mount(8) hands the helper every
// option the live mount has (user_id=0, nosuid, ...), which are accepted;
// any other (cold_after=, a mount flag the mount does not have) keeps the
// value the mount began with, and a warning names it.
int Remount(const MountConfig& config, const std::string& mountpoint,
            const std::vector<std::string>& options) {
  auto mounted = TierfsMountedAt(mountpoint);
  if (!mounted) return Fail(mountpoint + " is not a mounted tierfs");
  if (::geteuid() != 0) return Fail("remount needs root (it calls mount(2))");
  std::vector<std::string> unchanged;
  const std::string have = "," + mounted->options + ",";
  for (const std::string& o : options) {
    if (o == "remount" || o == "ro" || o == "rw") continue;
    if (have.find("," + o + ",") == std::string::npos) unchanged.push_back(o);
  }
  if (!unchanged.empty()) {
    std::string list;
    for (const std::string& o : unchanged) list += (list.empty() ? "" : ",") + o;
    std::cerr << "tierfs: warning: a remount changes only ro/rw; " << list
              << " left as the mount has it (unmount and mount to change it)\n";
  }
  struct statvfs sv;
  if (::statvfs(mountpoint.c_str(), &sv) != 0) {
    return Fail("statvfs " + mountpoint + ": " + std::strerror(errno));
  }
  unsigned long flags = MS_REMOUNT;  // keep the per-mount flags as they are
  if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  if (sv.f_flag & ST_SYNCHRONOUS) flags |= MS_SYNCHRONOUS;
  auto tell = [&](const char* v) {
    if (::setxattr(mountpoint.c_str(), "user.tierfs.readonly", v, 1, 0) == 0) return true;
    std::cerr << "tierfs: telling the daemon at " << mountpoint << ": " << std::strerror(errno)
              << "\n";
    return false;
  };
  if (config.read_only) {
    if (!tell("1")) return 1;
    if (::mount(nullptr, mountpoint.c_str(), nullptr, flags | MS_RDONLY, nullptr) != 0) {
      int err = errno;
      (void)tell("0");
      return Fail("remount of " + mountpoint + " read-only: " + std::strerror(err) +
                  (err == EBUSY ? " (a file is open for writing)" : ""));
    }
    return 0;
  }
  if (::mount(nullptr, mountpoint.c_str(), nullptr, flags, nullptr) != 0) {
    return Fail("remount of " + mountpoint + " read-write: " + std::strerror(errno));
  }
  return tell("0") ? 0 : 1;
}

// tierfs umount MOUNTPOINT: unmounts and returns once the daemon has exited
// and released its store, so that a mount or fsck right after succeeds.
int CmdUmount(const Args& args) {
  const std::string mountpoint = Absolute(args.operands[0]);
  auto store = StoreMountedAt(mountpoint);
  if (!store) return Fail(mountpoint + " is not a mounted tierfs");
  if (::geteuid() == 0) {
    if (::umount2(mountpoint.c_str(), 0) != 0) {
      return Fail("unmount " + mountpoint + ": " + std::strerror(errno));
    }
  } else {
    pid_t pid = ::fork();
    if (pid == 0) {
      ::execlp("fusermount3", "fusermount3", "-u", mountpoint.c_str(), nullptr);
      _exit(127);
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      return Fail("fusermount3 -u " + mountpoint + " failed");
    }
  }
  if (!WaitForStoreLock(*store, std::chrono::seconds(60))) {
    return Fail("the daemon of " + *store + " still holds it 60 s after the unmount");
  }
  return 0;
}

int CmdMount(const Args& parsed) {
  std::vector<std::string> args = parsed.operands;
  if (HasFlag(args, "--list-options")) {
    for (const MountOption& o : MountOptions()) std::cout << o.Synopsis() << "\n";
    return 0;
  }
  MountConfig config;
  std::vector<std::string> positional, options;
  auto apply = [&](const std::string& list) {
    std::stringstream ss(list);
    for (std::string o; std::getline(ss, o, ',');) {
      if (!o.empty()) options.push_back(o);
    }
    return ApplyMountOptions(list, &config);
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-f") {
      config.foreground = true;
    } else if (a == "-o") {
      if (i + 1 == args.size()) return UsageError("mount", "-o needs an option list");
      Status st = apply(args[++i]);
      if (!st.ok()) return Fail(st.message());
    } else if (a.rfind("-o", 0) == 0) {
      Status st = apply(a.substr(2));
      if (!st.ok()) return Fail(st.message());
    } else if (a == "-n" || a == "-s" || a == "-v") {
      // mount(8) helper flags: no mtab, sloppy, verbose.
    } else if (!a.empty() && a[0] == '-') {
      return UsageError("mount", "unknown flag " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (config.remount && !positional.empty()) {
    return Remount(config, Absolute(positional.back()), options);
  }
  if (!config.set_by_fuse.empty()) {
    return Fail("option " + config.set_by_fuse.front() +
                " is set by FUSE when it mounts; it is accepted only with remount");
  }
  if (positional.size() != 2) return UsageError("mount", "needs STORE and MOUNTPOINT");
  config.store_dir = Canonical(positional[0]);
  config.mountpoint = Absolute(positional[1]);
  struct stat st;
  if (::stat(config.mountpoint.c_str(), &st) != 0) {
    return Fail("mountpoint " + config.mountpoint + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) return Fail("mountpoint " + config.mountpoint + " is not a directory");
  struct stat parent;
  if (::stat((config.mountpoint + "/..").c_str(), &parent) == 0 &&
      (parent.st_dev != st.st_dev || parent.st_ino == st.st_ino)) {
    return Fail("mountpoint " + config.mountpoint + " is busy: something is mounted there");
  }
  if (::stat(config.store_dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    return Fail("store " + config.store_dir + " is not a directory");
  }
  for (const Status& check : {CheckStoreAndMountpointApart(config.store_dir, config.mountpoint),
                              CheckStoreDirectory(config.store_dir)}) {
    if (!check.ok()) return Fail(check.message());
  }
  if (!config.metrics_file.empty()) {  // before anything is created
    const std::string dir = config.metrics_file.substr(0, config.metrics_file.rfind('/') + 1);
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Fail("option metrics_file=" + config.metrics_file + ": directory " + dir +
                  " does not exist");
    }
  }
  WaitForExitingDaemon(config.store_dir);
  if (config.foreground) {
    // Under a Type=notify unit (tierfs@.service) the service is up once the
    // mount is; sd_notify does nothing when systemd did not ask for it.
    return Serve(config, [](const Status& s) {
      if (s.ok()) {
        (void)sd_notify(0, "READY=1");
      } else {
        std::cerr << "tierfs: " << s.message() << "\n";
      }
    });
  }
  // Daemonize: the child mounts and tells the parent through a pipe; the
  // parent returns only once the mount is ready (or failed).
  int fds[2];
  if (::pipe(fds) != 0) return Fail(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) return Fail(std::string("fork: ") + std::strerror(errno));
  if (pid > 0) {
    ::close(fds[1]);
    std::string msg;
    char buf[512];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) msg.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    if (msg == "OK") return 0;
    return Fail(msg.empty() ? "the daemon exited before the mount was ready" : msg);
  }
  ::close(fds[0]);
  ::setsid();
  int wfd = fds[1];
  return Serve(config, [wfd](const Status& s) {
    std::string msg = s.ok() ? "OK" : s.message();
    (void)!::write(wfd, msg.data(), msg.size());
    ::close(wfd);
    if (s.ok()) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      if (null > 2) ::close(null);
      (void)!::chdir("/");
    }
  });
}

int SetPin(const Args& args, const char* value) {
  return ForEachFile(FilesUnder(args.operands),
                     [&](const std::string& f) { return SetControl(f, "user.tierfs.pin", value); });
}

int CmdPin(const Args& args) { return SetPin(args, "1"); }

int CmdUnpin(const Args& args) { return SetPin(args, "0"); }

int CmdMigrate(const Args& args) {
  const std::string to = args.Value("--to");
  if (to != "hot" && to != "cold") {
    return UsageError("migrate", to.empty() ? "--to hot|cold is required"
                                            : "--to " + to + ": expected hot or cold");
  }
  const std::vector<std::string> files = FilesUnder(args.operands);
  auto size_of = [](const std::string& f) -> uint64_t {
    struct stat st;
    return ::stat(f.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  };
  uint64_t bytes_total = 0, bytes_done = 0, done = 0;
  for (const std::string& f : files) bytes_total += size_of(f);
  Progress progress(std::cerr, ::isatty(2), "migrated", "files");
  // (Files not on a mounted tierfs are refused, not counted.)
  return ForEachFile(files, [&](const std::string& f) {
    Status st = SetControl(f, "user.tierfs.migrate", to);
    bytes_done += size_of(f);
    progress.Update(++done, files.size(), bytes_done, bytes_total);
    return st;
  });
}

int CmdFsck(const Args& args) {
  const bool scrub = args.Has("--scrub");
  const std::string store = Absolute(args.operands[0]);
  WaitForExitingDaemon(store);
  auto r = [&] {  // the progress line ends before the report is printed
    Progress progress(std::cerr, ::isatty(2), scrub ? "checked (scrub)" : "checked", "objects");
    return RunFsck(store, args.Has("--repair"), scrub,
                   [&](uint64_t done, uint64_t total, uint64_t bytes_done, uint64_t bytes_total) {
                     progress.Update(done, total, bytes_done, scrub ? bytes_total : 0);
                   });
  }();
  if (!r.ok()) {
    std::cerr << "tierfs: fsck: " << r.status().message() << "\n";
    return 2;
  }
  if (args.Has("--json")) {
    std::cout << FsckJson(*r) << "\n";
  } else {
    for (const FsckProblem& p : r->problems) {
      std::cout << p.kind << ": " << p.detail << (p.path.empty() ? "" : " [" + p.path + "]")
                << (p.repaired ? " (repaired)" : "") << "\n";
    }
    if (r->reclaimed > 0) std::cout << "freed " << r->reclaimed << " unlinked inodes\n";
    if (r->reclaim_pending > 0) {
      std::cout << r->reclaim_pending
                << " unlinked inodes not freed yet (the next mount frees them)\n";
    }
    std::cout << r->inodes << " inodes, " << r->objects << " objects: "
              << (r->problems.empty() ? "clean"
                  : r->clean()        ? "repaired"
                                      : "PROBLEMS FOUND")
              << "\n";
  }
  return r->clean() ? 0 : 1;
}

int CmdTakeover(const Args& args) {
  const std::string store = Absolute(args.operands[0]);
  WaitForExitingDaemon(store);
  Status st = TakeOverColdTier(store);
  if (!st.ok()) return Fail("takeover: " + st.message());
  std::cout << store << " owns its cold tier now; check it with: tierfs fsck " << store << "\n";
  return 0;
}

const Command kMountCommand{"mount", kMountHelp, {}, /*raw=*/true, CmdMount};

const Command kPinCommand{"pin",
                          "usage: tierfs pin PATH...\n"
                          "  keeps the files hot: pinned files are never demoted (directories\n"
                          "  are walked); the file's owner or root only\n",
                          {{}, "PATH", /*many=*/true},
                          false,
                          CmdPin};

const Command kUnpinCommand{"unpin",
                            "usage: tierfs unpin PATH...\n"
                            "  lets pinned files go cold again (directories are walked)\n",
                            {{}, "PATH", /*many=*/true},
                            false,
                            CmdUnpin};

const Command kMigrateCommand{"migrate",
                              "usage: tierfs migrate --to hot|cold PATH...\n"
                              "  moves the files now, whatever the policy says (directories\n"
                              "  are walked); progress on stderr when it is a terminal\n",
                              {{{"--to", "", /*takes_value=*/true}}, "PATH", /*many=*/true},
                              false,
                              CmdMigrate};

const Command kUmountCommand{"umount",
                             "usage: tierfs umount MOUNTPOINT\n"
                             "  unmounts; returns once the daemon has flushed, exited and\n"
                             "  released the store (also: tierfs unmount)\n",
                             {{}, "MOUNTPOINT"},
                             false,
                             CmdUmount};

const Command kFsckCommand{"fsck",
                           "usage: tierfs fsck STORE [--repair] [--scrub] [--json]\n"
                           "  checks an unmounted store; exit 0 clean (or repaired), 1 problems\n"
                           "  remain, 2 it cannot run\n"
                           "  --repair  repair what can be repaired\n"
                           "  --scrub   also verify every frame checksum of every cold object\n"
                           "  --json    the result as JSON\n",
                           {{{"--repair"}, {"--scrub"}, {"--json"}}, "STORE"},
                           false,
                           CmdFsck};

const Command kTakeoverCommand{
    "takeover",
    "usage: tierfs takeover STORE\n"
    "Makes STORE the owner of its cold tier although another copy of the store\n"
    "(same store id) has claimed it since STORE was copied. The other copy is\n"
    "refused from then on. Run it only when that copy is retired.\n",
    {{}, "STORE"},
    false,
    CmdTakeover};

const Command* const kCommands[] = {
    &kMountCommand, &kStatusCommand,  &kWhereCommand,  &kExplainCommand, &kPinCommand,
    &kUnpinCommand, &kMigrateCommand, &kUmountCommand, &kFsckCommand,    &kTakeoverCommand};

const Command* FindCommand(std::string_view name) {
  if (name == "unmount") name = "umount";
  for (const Command* c : kCommands) {
    if (c->name == name) return c;
  }
  return nullptr;
}

int PrintVersion() {
  std::cout << "tierfs " << kVersion << "\n";
  return 0;
}

// Runs `cmd` on its words: --help and --version, then wrong usage, are
// answered here, the same way for every command.
int RunCommand(const Command& cmd, const std::vector<std::string>& words) {
  Args args;
  if (cmd.raw) {
    for (const std::string& w : words) {
      if (w == "--") break;
      args.help |= w == "--help" || w == "-h";
      args.version |= w == "--version";
    }
    args.operands = words;
  } else {
    auto parsed = ParseArgs(cmd.args, words);
    if (!parsed.ok()) return UsageError(std::string(cmd.name), parsed.status().message());
    args = std::move(parsed).value();
  }
  if (args.help) {
    std::cout << cmd.help;
    return 0;
  }
  if (args.version) return PrintVersion();
  return cmd.run(args);
}

int Run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string self = std::filesystem::path(argv[0]).filename().string();
  // The mount(8) helpers: mount.tierfs for type "tierfs", mount.fuse.tierfs
  // for "fuse.tierfs" (what the kernel calls a live tierfs mount, so what a
  // remount of one asks for).
  if (self == "mount.tierfs" || self == "mount.fuse.tierfs") return RunCommand(kMountCommand, args);
  if (args.empty()) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  if (args[0] == "--version") return PrintVersion();
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    // "tierfs help COMMAND" is "tierfs COMMAND --help".
    const Command* cmd = args.size() > 1 ? FindCommand(args[1]) : nullptr;
    std::cout << (cmd ? cmd->help : kUsage);
    return 0;
  }
  const Command* cmd = FindCommand(args[0]);
  if (cmd == nullptr) {
    std::cerr << "tierfs: unknown command '" << args[0] << "' (see 'tierfs --help')\n";
    return kExitUsage;
  }
  args.erase(args.begin());
  return RunCommand(*cmd, args);
}

}  // namespace
}  // namespace tierfs::cli

namespace tierfs {

int RunCli(int argc, char** argv) { return cli::Run(argc, argv); }

}  // namespace tierfs
