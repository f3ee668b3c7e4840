// What `tierfs mount` checks of STORE and MOUNTPOINT: see mount_checks.h.
#include "fusefs/cli/mount_checks.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>
#include <vector>

namespace tierfs::cli {
namespace {

namespace fs = std::filesystem;

// `inner` is `outer` or lies under it (both canonical, no trailing "/").
bool IsWithin(const fs::path& inner, const fs::path& outer) {
  return std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end()).first == outer.end();
}

// p with symlinks, "." and ".." resolved; a path that does not exist yet
// through its nearest existing parent (which may be a symlink into the
// mountpoint). Without a trailing "/": "/a/b/" iterates as a, b and "".
Result<fs::path> Canonical(const std::string& what, const std::string& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  if (ec) return Status::Posix(ec.value(), what + " " + p + ": " + ec.message());
  if (!c.has_filename() && c.has_parent_path() && c != c.root_path()) c = c.parent_path();
  return c;
}

// Names a tierfs store holds before its meta.db exists, or that a
// filesystem puts at its root: not someone's data.
bool Ignorable(const std::string& name) {
  return name == "lost+found" || name == "LOCK" || name == "tierfs.log";
}

}  // namespace

Status CheckStoreAndMountpointApart(const std::string& store, const std::string& mountpoint) {
  TIERFS_ASSIGN_OR_RETURN(const fs::path mnt, Canonical("mountpoint", mountpoint));
  TIERFS_ASSIGN_OR_RETURN(const fs::path st, Canonical("store", store));
  const std::string where =
      (st.string() == store ? store : store + " (" + st.string() + ")") + " and mountpoint " +
      (mnt.string() == mountpoint ? mountpoint : mountpoint + " (" + mnt.string() + ")");
  if (st == mnt) {
    return Status::InvalidArgument(
        "store " + where +
        " are the same directory: the daemon would reach its store through its own mount and "
        "hang; keep the store outside the mountpoint");
  }
  if (IsWithin(st, mnt)) {
    return Status::InvalidArgument(
        "store " + where +
        ": the store lies inside the mountpoint, so the daemon would reach its store through its "
        "own mount and hang; keep the store outside the mountpoint");
  }
  if (IsWithin(mnt, st)) {
    return Status::InvalidArgument("store " + where +
                                   ": the mountpoint lies inside the store, which holds only "
                                   "what tierfs puts there; mount it elsewhere");
  }
  return Status::OK();
}

Status CheckStoreDirectory(const std::string& store) {
  std::error_code ec;
  const fs::file_status status = fs::status(store, ec);
  if (status.type() == fs::file_type::not_found) return Status::OK();  // created by the mount
  if (ec) return Status::Posix(ec.value(), "store " + store + ": " + ec.message());
  if (fs::exists(fs::symlink_status(fs::path(store) / "meta.db", ec))) return Status::OK();
  std::set<std::string> found;  // sorted, so the message is stable
  for (fs::directory_iterator it(store, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!Ignorable(name)) found.insert(std::move(name));
  }
  if (ec) return Status::Posix(ec.value(), "store " + store + ": " + ec.message());
  if (found.empty()) return Status::OK();
  constexpr size_t kShown = 5;
  std::string list;
  size_t shown = 0;
  for (const std::string& name : found) {
    if (shown == kShown) break;
    list += (shown++ ? ", '" : "'") + name + "'";
  }
  if (found.size() > kShown) list += " and " + std::to_string(found.size() - kShown) + " more";
  if (found.contains("hot")) {
    // Not someone's directory but a store that lost its namespace (hot/ is
    // made after meta.db; cold/ may be elsewhere, -o cold_dir).
    return Status::Corruption("store " + store + " has no meta.db but holds what a store does (" +
                              list +
                              "): its namespace is lost; refusing to start an empty one over "
                              "it");
  }
  return Status::InvalidArgument(
      "store " + store + " is not a tierfs store (it has no meta.db) and is not empty: found " +
      list + ". A new store is created only in an empty or new directory (e.g. " +
      (fs::path(store) / "tierfs").string() +
      "), so that it never mixes with or overwrites "
      "files it did not create; nothing was changed");
}

}  // namespace tierfs::cli
