// The power-cut harness: the whole filesystem core (Filesystem: namespace in
// SQLite through EnvVfs, objects through the ObjectStore) runs over one
// FaultInjectionEnv, is stopped at a cut point (CrashAfter(k): the k-th
// mutating I/O from now, on any thread, and everything after it fails), and
// the power-cut model of store/testing/fault_env.h decides, from a seed, what of the
// unsynced state reached the disk: a prefix of the directory entry changes,
// each file's unsynced content whole or not at all. The store is then
// mounted again (mount-time recovery runs) and checked against a model of
// the scenario:
//  - the namespace (names, types, which names are links of one inode) is the
//    state after some prefix of the operations, at least up to the last
//    acknowledged fsync, fsyncdir or clean unmount, at most up to the
//    operation the cut interrupted;
//  - every file's content is one it had at or after its last acknowledged
//    fsync (a truncate's old or new content, the old or the new inode under
//    a name a rename replaced: never zeros, never another inode's bytes);
//    for a file written since its fsync, every byte the writes did not touch
//    is still its fsync'ed byte;
//  - fsck --repair leaves nothing unrepaired.
// With an odd seed the cut point only kills the daemon (what it wrote stays
// in the page cache), and the power goes during the mount that recovers
// from that (mount-time recovery removes objects too), as after a crash
// loop that a power cut ends.
// For each scenario: a dry run counts its mutating I/O steps N, then every
// cut point 0..N (N: after the last step) runs with several seeds.
//
// Profiles: by default (CI, label unit) every cut point runs once, each with
// a seed of its own (the first seed + the cut point). For a soak:
//   TIERFS_POWERCUT_SEEDS=N    N seeds, S..S+N-1, at every cut point
//   TIERFS_POWERCUT_SEED=S     the first seed (default 1)
//   TIERFS_POWERCUT_CUT=K      only cut point K (to replay a failure)
//   TIERFS_POWERCUT_STRIDE=N   every Nth cut point and the last (the
//                              sanitizer builds of scripts/test.sh, 4)
//   TIERFS_POWERCUT_VERBOSE=1  print what each run's store held
// Each scenario prints its cut points and seeds; a failure prints the cut
// point, the seed, the operations, what the store held, and how to replay it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "fusefs/control/control.h"
#include "fusefs/core/env_vfs.h"
#include "fusefs/core/filesystem.h"
#include "fusefs/core/fsck.h"
#include "store/test_util.h"
#include "store/testing/fault_env.h"

namespace tierfs {
namespace {

constexpr uint64_t kChunk = 64 << 10;
constexpr const char* kVfsName = "tierfs-powercut";

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string Bytes(size_t n, uint32_t seed) {
  auto b = test::RandomBytes(n, seed);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// One operation of a scenario, on paths ("d/f") from the root.
struct Step {
  enum Kind {
    kCreate,  // a new file, `data` written to it before its close
    kMkDir,
    kWrite,  // data at offset
    kFsync,
    kFsyncDir,
    kTruncate,  // to size
    kRename,    // path -> to (replacing it)
    kLink,      // path -> to
    kUnlink,
    kDemote,   // every chunk to the cold tier (Control::Migrate)
    kPromote,  // ... back to the hot tier
    kDrain,    // waits for the reclaimer to free what is unlinked
    kUnmount,  // clean unmount (the Filesystem destroyed); the last step
  } kind = kCreate;
  std::string path, to;
  uint64_t offset = 0;  // kWrite; kTruncate: the size
  std::string data;     // kWrite, kCreate
  // A namespace change (what -o dirsync makes durable before it answers).
  bool changes_names() const {
    return kind == kCreate || kind == kMkDir || kind == kRename || kind == kLink || kind == kUnlink;
  }
  std::string Describe() const {
    static const char* const kNames[] = {"create",   "mkdir",  "write",  "fsync",  "fsyncdir",
                                         "truncate", "rename", "link",   "unlink", "demote",
                                         "promote",  "drain",  "unmount"};
    std::string s = kNames[kind];
    if (!path.empty()) s += " " + path;
    if (!to.empty()) s += " -> " + to;
    if (kind == kWrite) s += " @" + std::to_string(offset) + " +" + std::to_string(data.size());
    if (kind == kTruncate) s += " to " + std::to_string(offset);
    return s;
  }
};

Step Make(Step::Kind kind, std::string path = "", std::string to = "", uint64_t offset = 0,
          std::string data = "") {
  Step s;
  s.kind = kind;
  s.path = std::move(path);
  s.to = std::move(to);
  s.offset = offset;
  s.data = std::move(data);
  return s;
}
// A new file, and `data` written to it before it is closed.
Step Create(std::string p, std::string data = "") {
  return Make(Step::kCreate, std::move(p), "", 0, std::move(data));
}
Step MkDir(std::string p) { return Make(Step::kMkDir, std::move(p)); }
Step Write(std::string p, uint64_t off, std::string data) {
  return Make(Step::kWrite, std::move(p), "", off, std::move(data));
}
Step Fsync(std::string p) { return Make(Step::kFsync, std::move(p)); }
Step FsyncDir() { return Make(Step::kFsyncDir); }
Step Truncate(std::string p, uint64_t size) {
  return Make(Step::kTruncate, std::move(p), "", size);
}
Step Rename(std::string p, std::string to) {
  return Make(Step::kRename, std::move(p), std::move(to));
}
Step Link(std::string p, std::string to) { return Make(Step::kLink, std::move(p), std::move(to)); }
Step Unlink(std::string p) { return Make(Step::kUnlink, std::move(p)); }
Step Demote(std::string p) { return Make(Step::kDemote, std::move(p)); }
Step Promote(std::string p) { return Make(Step::kPromote, std::move(p)); }
Step Drain() { return Make(Step::kDrain); }
Step Unmount() { return Make(Step::kUnmount); }

struct Scenario {
  std::string name;
  uint64_t inline_max = 0;
  std::vector<Step> steps;
  bool dirsync = false;  // mounted with -o dirsync
};

// What the scenario has made of one inode.
struct ModelFile {
  std::vector<std::string> versions;  // its whole contents over time
  size_t floor = 0;                   // versions[floor] was fsync'ed: no older one may come back
  bool written = false;               // written since then: only the untouched bytes are known
  std::vector<std::pair<uint64_t, uint64_t>> touched;  // [begin, end) written since
};

// The namespace after some prefix of the steps: path -> inode (-1: a directory).
using Names = std::map<std::string, int>;

struct Model {
  Names names;
  std::vector<ModelFile> files;

  // Applies s to the model (as the filesystem would if it succeeds); `acked`:
  // the filesystem said it did (an fsync then moves the floor).
  void Apply(const Step& s, bool acked) {
    switch (s.kind) {
      case Step::kCreate:
        names[s.path] = static_cast<int>(files.size());
        files.push_back(ModelFile{{""}, 0, false, {}});
        if (!s.data.empty()) Apply(Write(s.path, 0, s.data), acked);
        break;
      case Step::kMkDir:
        names[s.path] = -1;
        break;
      case Step::kWrite: {
        ModelFile& f = files[names.at(s.path)];
        std::string c = f.versions.back();
        if (c.size() < s.offset + s.data.size()) c.resize(s.offset + s.data.size());
        std::memcpy(c.data() + s.offset, s.data.data(), s.data.size());
        f.versions.push_back(std::move(c));
        f.written = true;
        f.touched.emplace_back(s.offset, s.offset + s.data.size());
        break;
      }
      case Step::kFsync:
        if (acked) Settle(files[names.at(s.path)]);
        break;
      case Step::kTruncate: {
        ModelFile& f = files[names.at(s.path)];
        std::string c = f.versions.back();
        c.resize(s.offset);
        f.versions.push_back(std::move(c));
        break;
      }
      case Step::kRename: {
        const int ino = names.at(s.path);
        names.erase(s.path);
        names[s.to] = ino;
        break;
      }
      case Step::kLink:
        names[s.to] = names.at(s.path);
        break;
      case Step::kUnlink:
        names.erase(s.path);
        break;
      case Step::kUnmount:
        if (acked) {
          for (ModelFile& f : files) Settle(f);
        }
        break;
      case Step::kFsyncDir:
      case Step::kDemote:
      case Step::kPromote:
      case Step::kDrain:
        break;
    }
  }
  static void Settle(ModelFile& f) {
    f.floor = f.versions.size() - 1;
    f.written = false;
    f.touched.clear();
  }
  // Why `got` cannot be inode `ino`'s content ("" when it can).
  std::string ContentProblem(int ino, const std::string& got) const {
    const ModelFile& f = files[ino];
    if (!f.written) {
      for (size_t v = f.floor; v < f.versions.size(); ++v) {
        if (got == f.versions[v]) return "";
      }
      return "content is none of the " + std::to_string(f.versions.size() - f.floor) +
             " it may have (" + Summary(got) + "; fsync'ed " + Summary(f.versions[f.floor]) + ")";
    }
    const std::string& base = f.versions[f.floor];
    for (uint64_t i = 0; i < base.size(); ++i) {
      bool overwritten = false;
      for (auto [b, e] : f.touched) overwritten |= b <= i && i < e;
      if (overwritten) continue;
      if (i >= got.size()) {
        return "fsync'ed bytes from " + std::to_string(i) + " lost: size " +
               std::to_string(got.size()) + " < " + std::to_string(base.size());
      }
      if (got[i] != base[i]) {
        return "fsync'ed byte " + std::to_string(i) + " changed (" + Summary(got) + ")";
      }
    }
    return "";
  }
  static std::string Summary(const std::string& c) {
    size_t zeros = 0;
    for (char ch : c) zeros += ch == 0;
    return std::to_string(c.size()) + " bytes, " + std::to_string(zeros) + " zeros";
  }
};

// What a mount shows: path -> (inode number, content; nullopt for a directory).
struct Seen {
  std::map<std::string, std::pair<uint64_t, std::optional<std::string>>> entries;
  std::string Describe() const {
    std::ostringstream o;
    for (const auto& [p, e] : entries) {
      o << "  " << p << " ino " << e.first;
      if (e.second) o << ": " << Model::Summary(*e.second);
      o << "\n";
    }
    return o.str();
  }
};

// Why the namespace `seen` is not `names` with `model`'s contents ("" if it is).
std::string Mismatch(const Model& model, const Names& names, const Seen& seen) {
  std::map<int, uint64_t> ino_of;  // model inode -> the mount's
  std::map<uint64_t, int> model_of;
  for (const auto& [path, id] : names) {
    auto it = seen.entries.find(path);
    if (it == seen.entries.end()) return path + " missing";
    const auto& [ino, content] = it->second;
    if ((id < 0) != !content.has_value()) return path + " has the wrong type";
    if (id < 0) continue;
    // Names of one model inode are links of one inode, and no other's.
    if (ino_of.emplace(id, ino).first->second != ino ||
        model_of.emplace(ino, id).first->second != id) {
      return path + " is linked wrongly (ino " + std::to_string(ino) + ")";
    }
    if (std::string why = model.ContentProblem(id, *content); !why.empty()) {
      return path + ": " + why;
    }
  }
  for (const auto& [path, e] : seen.entries) {
    if (!names.count(path)) return path + " should not exist";
  }
  return "";
}

class PowerCutTest : public ::testing::Test {
 protected:
  MountConfig Config(const Scenario& sc, const std::string& store) const {
    MountConfig c;
    c.store_dir = store;
    c.chunk_size = kChunk;
    c.buffer_pool = 4 << 20;
    c.cache_size = 1 << 20;
    c.inline_max = sc.inline_max;
    c.dirsync = sc.dirsync;
    c.policy.cold_after_ns = -1;  // the migrator moves nothing by itself
    c.policy.promote_reads = 0;
    return c;
  }

  // A fresh store, durable, created once and copied for every run.
  void MakeTemplate(const Scenario& sc) {
    template_ = base_.path() + "/template-" + sc.name;
    auto fs = Filesystem::Open(Config(sc, template_), Env::Default());
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  }

  static Result<uint64_t> Resolve(Filesystem& fs, const std::string& path) {
    uint64_t ino = kRootIno;
    std::stringstream parts(path);
    for (std::string name; std::getline(parts, name, '/');) {
      TIERFS_ASSIGN_OR_RETURN(struct stat st, fs.Lookup(ino, name));
      fs.Forget(st.st_ino, 1);
      ino = st.st_ino;
    }
    return ino;
  }
  static std::pair<std::string, std::string> Split(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return {"", path};
    return {path.substr(0, slash), path.substr(slash + 1)};
  }

  // Runs one step on fs as the kernel would send it (a lookup per path, an
  // open around data operations, every lookup forgotten again).
  static Status Run(std::unique_ptr<Filesystem>& fs, const Step& s) {
    if (s.kind == Step::kUnmount) {
      fs.reset();
      return Status::OK();
    }
    if (s.kind == Step::kFsyncDir) return fs->FsyncDir();
    if (s.kind == Step::kDrain) {
      (void)fs->reclaimer().Drain(kReclaimWait);
      return Status::OK();
    }
    auto [dir, name] = Split(s.path);
    TIERFS_ASSIGN_OR_RETURN(uint64_t parent, Resolve(*fs, dir));
    switch (s.kind) {
      case Step::kCreate: {
        TIERFS_ASSIGN_OR_RETURN(struct stat st, fs->Create(parent, name, 0644, Caller{}));
        // Written before the close, as a new file is (and only such a file
        // may go inline).
        Status result;
        if (!s.data.empty())
          result = fs->Write(st.st_ino, 0, std::as_bytes(std::span(s.data))).status();
        Status closed = fs->Release(st.st_ino, true);
        fs->Forget(st.st_ino, 1);
        return result.ok() ? closed : result;
      }
      case Step::kMkDir: {
        TIERFS_ASSIGN_OR_RETURN(struct stat st,
                                fs->MakeNode(parent, name, S_IFDIR | 0755, 0, Caller{}));
        fs->Forget(st.st_ino, 1);
        return Status::OK();
      }
      case Step::kUnlink:
        return fs->Unlink(parent, name);
      case Step::kRename:
      case Step::kLink: {
        auto [to_dir, to_name] = Split(s.to);
        TIERFS_ASSIGN_OR_RETURN(uint64_t to_parent, Resolve(*fs, to_dir));
        if (s.kind == Step::kRename) {
          return fs->Rename(parent, name, to_parent, to_name, RenameMode::kNormal);
        }
        TIERFS_ASSIGN_OR_RETURN(uint64_t ino, Resolve(*fs, s.path));
        TIERFS_ASSIGN_OR_RETURN(struct stat st, fs->Link(ino, to_parent, to_name));
        fs->Forget(st.st_ino, 1);
        return Status::OK();
      }
      default:
        break;
    }
    TIERFS_ASSIGN_OR_RETURN(struct stat st, fs->Lookup(parent, name));
    const uint64_t ino = st.st_ino;
    Status result;
    auto opened = fs->Open(ino, false, true, true, Caller{});
    if (!opened.ok()) {
      fs->Forget(ino, 1);
      return opened.status();
    }
    switch (s.kind) {
      case Step::kWrite: {
        auto n = fs->Write(ino, s.offset, std::as_bytes(std::span(s.data)));
        result = n.status();
        break;
      }
      case Step::kFsync:
        result = fs->Fsync(ino, false);
        break;
      case Step::kTruncate: {
        Filesystem::SetAttrRequest req;
        req.size = s.offset;
        result = fs->SetAttr(ino, req).status();
        break;
      }
      case Step::kDemote:
        result = Control(*fs).Migrate(ino, Tier::kCold);
        break;
      case Step::kPromote:
        result = Control(*fs).Migrate(ino, Tier::kHot);
        break;
      default:
        result = Status::InvalidArgument("not a file step");
    }
    Status closed = fs->Release(ino, true);
    fs->Forget(ino, 1);
    return result.ok() ? closed : result;
  }

  // What the mounted store holds, walked from the root.
  static Status Walk(Filesystem& fs, uint64_t dir, const std::string& prefix, Seen* seen) {
    std::vector<std::pair<std::string, struct stat>> entries;
    TIERFS_RETURN_IF_ERROR(
        fs.ReadDir(dir, 0, [&](const std::string& n, const struct stat& st, uint64_t) {
          if (n != "." && n != "..") entries.emplace_back(n, st);
          return true;
        }));
    for (const auto& [n, unused] : entries) {
      TIERFS_ASSIGN_OR_RETURN(struct stat st, fs.Lookup(dir, n));
      const std::string path = prefix.empty() ? n : prefix + "/" + n;
      if (S_ISDIR(st.st_mode)) {
        seen->entries[path] = {st.st_ino, std::nullopt};
        TIERFS_RETURN_IF_ERROR(Walk(fs, st.st_ino, path, seen));
        continue;
      }
      std::string content;
      while (content.size() < static_cast<uint64_t>(st.st_size)) {
        TIERFS_ASSIGN_OR_RETURN(ReadResult r, fs.Read(st.st_ino, content.size(), kMaxReadBytes));
        if (r.total == 0) break;
        for (const ReadPiece& p : r.view()) {
          const size_t at = content.size();
          content.resize(at + p.length);
          if (p.file) {
            auto n = p.file->PRead(
                p.file_offset, std::as_writable_bytes(std::span(content)).subspan(at, p.length));
            TIERFS_RETURN_IF_ERROR(n.status());
          } else if (p.data) {
            std::memcpy(content.data() + at, p.data.data(), p.length);
          }
        }
      }
      seen->entries[path] = {st.st_ino, std::move(content)};
    }
    return Status::OK();
  }

  // One run: cut at `cut_point` with `seed`; returns a failure ("" if none).
  // cut_point < 0: every step runs and the cut comes after the last (the
  // dry run); `ops`, when given, gets the mutating I/O steps they took.
  std::string RunOnce(const Scenario& sc, int cut_point, uint64_t seed, int* ops) {
    test::TempDir run(base_.path());
    const std::string store = run.path() + "/store";
    std::filesystem::copy(template_, store, std::filesystem::copy_options::recursive);
    FaultInjectionEnv env(Env::Default());
    Model model;
    std::vector<Names> prefixes{model.names};  // prefixes[i]: after the first i steps
    size_t durable = 0;                        // every prefix shorter than this was made durable
    std::string log;
    {
      test::EnvVfs vfs(kVfsName, &env);
      MountConfig config = Config(sc, store);
      config.sqlite_vfs = kVfsName;
      auto opened = Filesystem::Open(config, &env);
      if (!opened.ok()) return "mount: " + opened.status().ToString();
      std::unique_ptr<Filesystem> fs = std::move(opened).value();
      const int start = env.mutating_ops();
      if (cut_point >= 0) env.CrashAfter(cut_point);
      for (size_t i = 0; i < sc.steps.size(); ++i) {
        const Step& s = sc.steps[i];
        Status st = Run(fs, s);
        const bool acked = st.ok() && !env.crashed();
        model.Apply(s, acked);
        prefixes.push_back(model.names);
        log += "  " + std::to_string(i) + ": " + s.Describe() + (acked ? "" : " (cut)") + "\n";
        if (!acked) {
          if (!env.crashed()) return "step " + s.Describe() + " failed: " + st.ToString();
          break;
        }
        if (s.kind == Step::kFsync || s.kind == Step::kFsyncDir || s.kind == Step::kUnmount ||
            (sc.dirsync && s.changes_names())) {
          durable = i + 1;
        }
      }
      if (ops != nullptr) *ops = env.mutating_ops() - start;
      env.CrashAfter(0);  // the power goes: nothing more reaches the disk
      fs.reset();
    }
    std::string where =
        "cut point " + std::to_string(cut_point) + ", seed " + std::to_string(seed) + "\n" + log;
    if (seed % 2 == 1) {
      // Odd seeds: the cut point killed the daemon only (the page cache
      // lives on), and the power goes during the mount that recovers from
      // it: right after the mount, or before its second or third object
      // unlink (when it removes that many).
      env.ClearFaults();
      test::EnvVfs vfs(kVfsName, &env);
      MountConfig config = Config(sc, store);
      config.sqlite_vfs = kVfsName;
      if (const int unlinks = static_cast<int>(seed / 2 % 3); unlinks > 0) {
        env.RunBefore(
            FaultOp::kUnlink, [&env] { env.CrashAfter(0); }, unlinks);
      }
      auto fs = Filesystem::Open(config, &env);
      ++second_cuts_;
      if (env.crashed()) ++second_cuts_in_removals_;
      if (!fs.ok() && !env.crashed()) return where + "recovery mount: " + fs.status().ToString();
      env.CrashAfter(0);
      where += "  (a kill; the power cut came in the recovery mount)\n";
    }
    Status cut = env.DropUnsyncedData(FaultInjectionEnv::PowerCut{seed});
    if (!cut.ok()) return where + "power cut: " + cut.ToString();
    Seen seen;
    {
      auto fs = Filesystem::Open(Config(sc, store), Env::Default());
      if (!fs.ok()) return where + "mount after the cut: " + fs.status().ToString();
      Status walked = Walk(**fs, kRootIno, "", &seen);
      if (!walked.ok()) return where + "reading the store: " + walked.ToString();
    }
    if (verbose_) std::printf("%sit holds:\n%s", where.c_str(), seen.Describe().c_str());
    std::string best;
    bool matched = false;
    for (size_t k = durable; k < prefixes.size() && !matched; ++k) {
      std::string why = Mismatch(model, prefixes[k], seen);
      matched = why.empty();
      if (k == durable || prefixes.size() - 1 == k) {
        best += "  after " + std::to_string(k) + " steps: " + why + "\n";
      }
    }
    if (!matched) {
      return where + "the store is no prefix of the steps from " + std::to_string(durable) +
             " on:\n" + best + "it holds:\n" + seen.Describe();
    }
    auto fsck = RunFsck(store, /*repair=*/true, /*scrub=*/false);
    if (!fsck.ok()) return where + "fsck: " + fsck.status().ToString();
    if (!fsck->clean()) return where + "fsck left problems: " + FsckJson(*fsck);
    return "";
  }

  void RunScenario(const Scenario& sc) {
    MakeTemplate(sc);
    // Short profile: one seed per cut point, a different one at each (the
    // first seed + the cut point). Long: the same `seeds` at every one.
    const bool soak = std::getenv("TIERFS_POWERCUT_SEEDS") != nullptr;
    const uint64_t seeds = soak ? std::max<uint64_t>(1, EnvNumber("TIERFS_POWERCUT_SEEDS", 1)) : 1;
    const uint64_t first_seed = EnvNumber("TIERFS_POWERCUT_SEED", 1);
    const int only_cut = static_cast<int>(EnvNumber("TIERFS_POWERCUT_CUT", ~0ull));
    const int stride =
        static_cast<int>(std::max<uint64_t>(1, EnvNumber("TIERFS_POWERCUT_STRIDE", 1)));
    int ops = 0;
    std::string dry = RunOnce(sc, -1, first_seed, &ops);
    ASSERT_EQ(dry, "") << sc.name << ", the cut after the last step";
    second_cuts_ = second_cuts_in_removals_ = 0;
    const auto began = std::chrono::steady_clock::now();
    int runs = 0, cut_points = 0;
    for (int k = 0; k <= ops; ++k) {
      if (only_cut >= 0 && k != only_cut) continue;
      if (only_cut < 0 && k % stride != 0 && k != ops) continue;
      ++cut_points;
      // (By ordinal, not k: with a stride the seeds still alternate between
      // a plain cut and a kill-then-cut.)
      const uint64_t from = soak ? first_seed : first_seed + static_cast<uint64_t>(cut_points - 1);
      for (uint64_t seed = from; seed < from + seeds; ++seed) {
        ++runs;
        std::string failure = RunOnce(sc, k, seed, nullptr);
        ASSERT_EQ(failure, "") << sc.name << ": replay with TIERFS_POWERCUT_CUT=" << k
                               << " TIERFS_POWERCUT_SEED=" << seed << " TIERFS_POWERCUT_SEEDS=1";
      }
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    const uint64_t last_seed =
        soak ? first_seed + seeds - 1 : first_seed + static_cast<uint64_t>(cut_points - 1);
    std::printf(
        "[powercut] %s: %d cut points (of %d mutating steps + the end), %s seeds %llu..%llu"
        ": %d runs (%d killed, then cut in their recovery mount, %d of them before one of"
        " its removals), %.1f s\n",
        sc.name.c_str(), cut_points, ops, soak ? "each with" : "one each, of",
        static_cast<unsigned long long>(first_seed), static_cast<unsigned long long>(last_seed),
        runs, second_cuts_, second_cuts_in_removals_, secs);
  }

  // Under /dev/shm when there is one: the Env decides what is durable, so
  // the real disk's fsyncs would only cost time.
  test::TempDir base_{std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp"};
  std::string template_;
  const bool verbose_ = std::getenv("TIERFS_POWERCUT_VERBOSE") != nullptr;
  int second_cuts_ = 0, second_cuts_in_removals_ = 0;  // runs cut during their recovery
};

// A file written and fsync'ed is intact whatever comes after; a second file
// written after it may be lost or kept, never mixed into the first.
TEST_F(PowerCutTest, FsyncedFile) {
  RunScenario({"fsynced_file",
               0,
               {Create("f"), Write("f", 0, Bytes(2 * kChunk + 100, 1)), Fsync("f"), Create("g"),
                Write("g", 0, Bytes(kChunk, 2)), Write("f", 10, Bytes(100, 3)), Fsync("g")}});
}

// The issue's reproduction: f and t fsync'ed, t renamed over f, the old f
// freed by the reclaimer. After the cut f holds the old or the new bytes.
TEST_F(PowerCutTest, RenameOverAnFsyncedFile) {
  RunScenario({"rename_over_fsynced",
               0,
               {Create("f"), Write("f", 0, Bytes(2 * kChunk, 10)), Fsync("f"), Create("t"),
                Write("t", 0, Bytes(2 * kChunk, 11)), Fsync("t"), Rename("t", "f"), Drain(),
                Create("later"), Write("later", 0, Bytes(5000, 12))}});
}

// fsyncdir makes every namespace change before it durable, in order.
TEST_F(PowerCutTest, DirectoryFsync) {
  RunScenario({"directory_fsync",
               0,
               {MkDir("d"), Create("d/a"), Create("d/b"), Rename("d/b", "d/c"), FsyncDir(),
                Unlink("d/a"), MkDir("d/e"), Create("d/e/x"), Rename("d/c", "d/e/c"), FsyncDir(),
                Create("d/y"), Unlink("d/e/c")}});
}

// A truncate of an fsync'ed file: its old content or the truncated one,
// never zeros up to the old size.
TEST_F(PowerCutTest, TruncateOfAnFsyncedFile) {
  RunScenario(
      {"truncate_fsynced",
       0,
       {Create("f"), Write("f", 0, Bytes(3 * kChunk, 20)), Fsync("f"), Truncate("f", kChunk + 1000),
        Create("g"), Write("g", 0, Bytes(4000, 21)), Truncate("f", 0)}});
}

// Hard links: both names show one inode; when the last name goes, the
// inode's data stays until that is durable.
TEST_F(PowerCutTest, HardLinks) {
  RunScenario(
      {"hard_links",
       0,
       {Create("f"), Write("f", 0, Bytes(kChunk + 500, 30)), Fsync("f"), Link("f", "g"), FsyncDir(),
        Unlink("f"), Unlink("g"), Drain(), Create("h"), Write("h", 0, Bytes(100, 31))}});
}

// Unlinking one name of an fsync'ed file while another remains frees
// nothing: the other name keeps every byte.
TEST_F(PowerCutTest, UnlinkWhileAnotherNameRemains) {
  RunScenario({"unlink_other_name_remains",
               0,
               {Create("f"), Write("f", 0, Bytes(2 * kChunk, 40)), Fsync("f"), Link("f", "g"),
                Unlink("f"), Drain(), FsyncDir(), Create("h"), Rename("h", "g")}});
}

// Tier moves: an fsync'ed file demoted to the cold directory and promoted
// back is intact at every step of both moves.
TEST_F(PowerCutTest, TierMoves) {
  RunScenario({"tier_moves",
               0,
               {Create("f"), Write("f", 0, Bytes(2 * kChunk + 300, 50)), Fsync("f"), Demote("f"),
                Promote("f"), Demote("f"), Write("f", kChunk, Bytes(100, 51)), Fsync("f")}});
}

// Inline spill: a small file fsync'ed inline, then grown past inline_max:
// its fsync'ed bytes are never lost while they move to chunk 0.
TEST_F(PowerCutTest, InlineSpill) {
  RunScenario({"inline_spill",
               4096,
               {Create("f", Bytes(1000, 60)), Fsync("f"), Write("f", 1000, Bytes(8000, 61)),
                Create("g", Bytes(300, 62)), Fsync("g")}});
}

// A clean unmount makes everything written before it durable — files and
// their data, fsync'ed or not: a power cut right after loses nothing.
TEST_F(PowerCutTest, Unmount) {
  RunScenario({"unmount",
               0,
               {Create("a"), Write("a", 0, Bytes(kChunk + 10, 70)), MkDir("d"), Create("d/b"),
                Write("d/b", 0, Bytes(3000, 71)), Create("c"), Write("c", 0, Bytes(kChunk, 72)),
                Rename("c", "d/c"), Unmount()}});
}

// -o dirsync: every namespace change is durable once answered, so the
// store shows all of them up to the one the cut interrupted.
TEST_F(PowerCutTest, Dirsync) {
  Scenario sc{"dirsync",
              0,
              {MkDir("d"), Create("d/a", Bytes(3000, 80)), Create("d/b"), Rename("d/b", "d/c"),
               Link("d/a", "e"), Unlink("d/a"), Rename("d/c", "d/a"), Unlink("e"), Drain()}};
  sc.dirsync = true;
  RunScenario(sc);
}

}  // namespace
}  // namespace tierfs
