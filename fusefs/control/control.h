// Control: the control channel that the tierfs CLI uses on a mounted store
// (xattr names under "user.tierfs."), and the reports it answers with, over
// a Filesystem. The FUSE ops send those names here (IsControlName) and every
// other xattr to the Filesystem: so a control name is never stored, and
// never listed by listxattr.
//
// Control names, and who may use them:
//   get user.tierfs.where    -> {"hot_bytes":..,"cold_bytes":..,"stored_bytes":..,"pinned":..,
//                                "cold_tier":"dir:PATH"|"rados:POOL/NS"}   anyone who can read
//   get user.tierfs.explain[@N] -> tierfs explain of a file from chunk N   the file
//                                  (explain.h)
//   get user.tierfs.status   -> the status report (any inode)               root
//   set user.tierfs.pin      <- "1" | "0"                                   the file's owner
//   set user.tierfs.migrate  <- "hot" | "cold"                              or root
//   set user.tierfs.readonly <- "1" | "0"  (mount -o remount,ro|rw)        root
// ("root" includes the user the daemon runs as: on a mount made by a user,
// that user owns the store directory and could change it directly.)
// "Anyone who can read the file" is the kernel's check: with
// default_permissions (always on), vfs_getxattr's xattr_permission() asks
// inode_permission(MAY_READ) for every user.* name before FUSE is called (and
// MAY_WRITE for setxattr), so the daemon does not check read access again.
// What the kernel cannot know is that a user.tierfs.* name changes more than
// the file: that is checked here (RootOnly, OwnerOrRoot).
//
// Thread-safety: all methods are thread-safe (Control holds no state of its
// own; the Filesystem's methods are thread-safe).
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fusefs/core/filesystem.h"

namespace tierfs {

// Whether `name` is a control name (user.tierfs.*): Control's, not an xattr.
bool IsControlName(std::string_view name);

class Control {
 public:
  // `fs` outlives the Control.
  explicit Control(Filesystem& fs) : fs_(fs) {}
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // setxattr, getxattr and removexattr of a control name on inode `ino`,
  // asked by `caller`. A name under user.tierfs. that is no control: EINVAL
  // to set or remove; to get, what the Filesystem answers for an xattr it
  // does not hold.
  Status Set(uint64_t ino, const std::string& name, const std::string& value, const Caller& caller);
  Result<std::string> Get(uint64_t ino, const std::string& name, const Caller& caller);
  Status Remove(const std::string& name);

  // The status report as JSON (what `tierfs status --json` prints).
  std::string StatusJson();
  // `tierfs explain`: per chunk of the file from chunk `first` on, where it
  // is, why, and what the migrator does with it next, as one JSON object
  // (explain.h) of at most kMaxExplainBytes; "next_chunk" names the first
  // chunk left out (null when none).
  Result<std::string> ExplainJson(uint64_t ino, uint64_t first);
  // Moves every chunk of a file to `to` now (tierfs migrate), up to
  // kMigrateThreads chunks at a time; the first error ends it.
  static constexpr size_t kMigrateThreads = 4;
  Status Migrate(uint64_t ino, Tier to);
  // Pins (or unpins) a file in the hot tier, in the namespace and the store.
  Status SetPinned(uint64_t ino, bool pinned);

 private:
  // EPERM unless `caller` is root or the daemon's user (RootOnly), or owns
  // the inode too (OwnerOrRoot); `name` is the control asked for.
  Status RootOnly(const Caller& caller, const std::string& name) const;
  Status OwnerOrRoot(uint64_t ino, const Caller& caller, const std::string& name);
  // user.tierfs.where: the file's bytes in each tier.
  std::string WhereJson(uint64_t ino);

  Filesystem& fs_;
  const uint32_t daemon_uid_ = ::geteuid();  // the mount's owner (RootOnly)
};

}  // namespace tierfs
