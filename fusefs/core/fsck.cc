// Fsck implementation; see fsck.h.
#include "fusefs/core/fsck.h"

#include <sys/stat.h>

#include <functional>
#include <map>
#include <sstream>

#include "fusefs/core/json.h"
#include "fusefs/core/reclaimer.h"
#include "fusefs/core/store_settings.h"
#include "fusefs/meta/metadata.h"
#include "store/object_store.h"

namespace tierfs {

bool FsckReport::clean() const {
  for (const FsckProblem& p : problems) {
    if (!p.repaired) return false;
  }
  return true;
}

namespace {

// ino -> a path of it, by walking the namespace from the root.
std::map<uint64_t, std::string> PathsOf(MetadataStore& meta) {
  std::map<uint64_t, std::string> paths;
  std::function<void(uint64_t, const std::string&)> walk = [&](uint64_t dir,
                                                               const std::string& prefix) {
    std::vector<DirEntry> entries;
    (void)meta.ReadDir(dir, 0, [&](const DirEntry& e) {
      entries.push_back(e);
      return true;
    });
    for (const DirEntry& e : entries) {
      std::string p = prefix + "/" + e.name;
      if (!paths.emplace(e.ino, p).second) continue;
      if (S_ISDIR(e.mode)) walk(e.ino, p);
    }
  };
  paths[kRootIno] = "/";
  walk(kRootIno, "");
  return paths;
}

// A store that is not mounted, open for fsck or takeover: its lock held,
// its metadata and its objects (writable: the cold tier is claimed).
struct UnmountedStore {
  std::unique_ptr<FileLock> lock;
  std::unique_ptr<MetadataStore> meta;
  StoreSettings settings;
  std::unique_ptr<ObjectStore> store;
};

Result<UnmountedStore> OpenUnmounted(const std::string& store_dir, bool take_over) {
  struct stat st;
  if (::stat((store_dir + "/meta.db").c_str(), &st) != 0) {
    return Status::NotFound(store_dir + " is not a tierfs store (no meta.db)");
  }
  UnmountedStore u;
  auto lock = Env::Default()->LockFile(store_dir + "/LOCK");
  if (!lock.ok()) {
    if (lock.status().code() == Code::kBusy) {
      return Status::Busy("store " + store_dir + " is mounted or in use; unmount it first");
    }
    return lock.status();
  }
  u.lock = std::move(lock).value();
  MetadataOptions mo;
  mo.create_if_missing = false;
  TIERFS_ASSIGN_OR_RETURN(u.meta, MetadataStore::Open(store_dir + "/meta.db", mo));
  TIERFS_ASSIGN_OR_RETURN(u.settings, LoadStoreSettings(*u.meta, MountConfig{}));
  StoreOptions so = ObjectStoreOptions(u.settings);
  so.buffer_pool_bytes = 4 << 20;
  so.frame_cache_bytes = 0;
  so.take_over = take_over;
  TIERFS_ASSIGN_OR_RETURN(u.store, ObjectStore::Open(Env::Default(), store_dir, so));
  return u;
}

}  // namespace

Status TakeOverColdTier(const std::string& store_dir) {
  return OpenUnmounted(store_dir, /*take_over=*/true).status();
}

Result<FsckReport> RunFsck(const std::string& store_dir, bool repair, bool scrub,
                           const FsckProgress& progress) {
  TIERFS_ASSIGN_OR_RETURN(UnmountedStore u, OpenUnmounted(store_dir, /*take_over=*/false));
  const std::unique_ptr<MetadataStore>& meta = u.meta;
  const uint64_t chunk = u.settings.chunk_size;
  ObjectStore& store = *u.store;

  FsckReport report;
  std::map<uint64_t, InodeAttr> inodes;
  TIERFS_RETURN_IF_ERROR(meta->ForEachInode([&](const InodeAttr& a) {
    inodes[a.ino] = a;
    return true;
  }));
  report.inodes = inodes.size();
  auto paths = PathsOf(*meta);
  auto path_of = [&](uint64_t ino) {
    auto it = paths.find(ino);
    return it == paths.end() ? std::string("(inode ") + std::to_string(ino) + ")" : it->second;
  };
  auto add = [&](std::string kind, std::string detail, std::string path, Status fix) {
    report.problems.push_back({std::move(kind), std::move(detail), std::move(path), fix.ok()});
  };

  std::vector<uint64_t> unlinked;
  for (const auto& [ino, a] : inodes) {
    if (a.nlink == 0) unlinked.push_back(ino);
  }
  report.reclaim_pending = unlinked.size();
  if (repair && !unlinked.empty()) {
    Reclaimer reclaimer(meta.get(), &store,
                        {[](const std::function<Status()>& op) { return op(); },
                         [&](std::span<const uint64_t> freed) { report.reclaimed += freed.size(); },
                         // The rows fsck read may sit in a WAL a killed daemon
                         // left unsynced: durable before any object goes.
                         [&] { return meta->CommitDurably(); }});
    Status st = reclaimer.FreeNow(unlinked);
    report.reclaim_pending -= report.reclaimed;
    if (!st.ok()) add("reclaim_failed", st.ToString(), "", st);
  }
  std::vector<ObjectInfo> objects = store.List();
  report.objects = objects.size();
  uint64_t bytes_total = 0, bytes_done = 0, done = 0;
  for (const ObjectInfo& o : objects) bytes_total += o.logical_size;
  for (const ObjectInfo& o : objects) {
    struct Tick {  // reports this object as checked on every path out of the loop body
      const FsckProgress& progress;
      uint64_t& done;
      uint64_t& bytes_done;
      uint64_t size, total, bytes_total;
      ~Tick() {
        ++done;
        bytes_done += size;
        if (progress) progress(done, total, bytes_done, bytes_total);
      }
    } tick{progress, done, bytes_done, o.logical_size, objects.size(), bytes_total};
    const std::string obj = std::to_string(o.key.group) + "." + std::to_string(o.key.index);
    auto it = inodes.find(o.key.group);
    // An unlinked inode's objects go with it (reclaim_pending), whatever
    // its recorded size says of them.
    if (it != inodes.end() && it->second.nlink == 0) continue;
    Status fix = Status::NotSupported("not repaired");
    if (it == inodes.end() || !S_ISREG(it->second.mode)) {
      if (repair) fix = store.Remove(o.key);
      add("orphan_object", "object " + obj + " belongs to no file", "", fix);
      continue;
    }
    if (it->second.inline_data) {
      // A spill cut short by a crash: the inline bytes are the file.
      if (repair) fix = store.Remove(o.key);
      add("inline_with_objects", "object " + obj + " of a file whose bytes are inline",
          path_of(o.key.group), fix);
      continue;
    }
    const uint64_t start = o.key.index * chunk;
    const uint64_t size = it->second.size;
    if (start >= size && ReservationOnly(o)) {
      // fallocate(KEEP_SIZE) past EOF: blocks kept on purpose
    } else if (start >= size) {
      if (repair) fix = store.Remove(o.key);
      add("beyond_eof", "object " + obj + " starts past the file size " + std::to_string(size),
          path_of(o.key.group), fix);
    } else if (start + o.logical_size > size) {
      if (repair) fix = store.Truncate(o.key, size - start);
      add("beyond_eof", "object " + obj + " extends past the file size " + std::to_string(size),
          path_of(o.key.group), fix);
    }
    if (o.tier == Tier::kCold && (o.damaged || scrub)) {
      Status v =
          o.damaged ? Status::Corruption("invalid header, index or footer") : store.Verify(o.key);
      if (!v.ok()) {
        add("damaged_object", store.ColdName(o.key) + ": " + v.ToString(), path_of(o.key.group),
            Status::NotSupported("data lost"));
      }
    }
  }
  return report;
}

std::string FsckJson(const FsckReport& r) {
  std::ostringstream o;
  o << "{\"clean\":" << (r.clean() ? "true" : "false") << ",\"inodes\":" << r.inodes
    << ",\"objects\":" << r.objects << ",\"reclaim_pending\":" << r.reclaim_pending
    << ",\"reclaimed\":" << r.reclaimed << ",\"problems\":[";
  for (size_t i = 0; i < r.problems.size(); ++i) {
    const FsckProblem& p = r.problems[i];
    o << (i ? "," : "") << "{\"kind\":" << JsonString(p.kind)
      << ",\"detail\":" << JsonString(p.detail) << ",\"path\":" << JsonString(p.path)
      << ",\"repaired\":" << (p.repaired ? "true" : "false") << "}";
  }
  o << "]}";
  return o.str();
}

}  // namespace tierfs
