// SqliteMetadataStore: the name operations (create, link, unlink, rmdir,
// rename) and the POSIX rules they enforce, listed in fusefs/meta/METADATA.md.
// Thread-safe: each public method runs as one write transaction under mu_.
#include <sys/stat.h>

#include <cerrno>
#include <climits>

#include "fusefs/meta/metadata_sqlite.h"

namespace tierfs {
namespace {

// Hard links per inode, as ext4 (directories are not limited: their nlink
// only counts subdirectories and fits in 32 bits).
constexpr uint32_t kMaxLinks = 65000;
// Upper bound on directory depth when walking up parents; more means a cycle.
constexpr int kMaxDepth = 1 << 20;

Status CheckNewNode(const NewNode& node) {
  switch (node.mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFIFO:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFSOCK:
      if (!node.symlink_target.empty()) return Status::Posix(EINVAL, "target for a non-symlink");
      return Status::OK();
    case S_IFLNK:
      if (node.symlink_target.empty()) return Status::Posix(ENOENT, "empty symlink target");
      if (node.symlink_target.size() >= PATH_MAX) {
        return Status::Posix(ENAMETOOLONG, "symlink target too long");
      }
      return Status::OK();
    default:
      return Status::Posix(EINVAL, "bad file type in mode " + std::to_string(node.mode));
  }
}

// A directory that may receive a new entry: not removed (Linux gives ENOENT
// for creating in a directory that was rmdir'ed while still open).
Status CheckLiveDir(const InodeAttr& dir) {
  if (!S_ISDIR(dir.mode)) {
    return Status::Posix(ENOTDIR, "inode " + std::to_string(dir.ino) + " is not a directory");
  }
  if (dir.nlink == 0) return Status::NotFound("directory was removed");
  return Status::OK();
}

void Touch(InodeAttr* dir, Timespec now) { dir->mtime = dir->ctime = now; }

}  // namespace

Status ValidateName(std::string_view name) {
  if (name.size() > kMaxNameLen) {
    return Status::Posix(ENAMETOOLONG, "name of " + std::to_string(name.size()) + " bytes");
  }
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos) {
    return Status::Posix(EINVAL, "invalid name '" + std::string(name) + "'");
  }
  return Status::OK();
}

Result<InodeAttr> SqliteMetadataStore::Create(uint64_t parent, std::string_view name,
                                              const NewNode& node, Timespec now) {
  TIERFS_RETURN_IF_ERROR(ValidateName(name));
  TIERFS_RETURN_IF_ERROR(CheckNewNode(node));
  return Write([&]() -> Result<InodeAttr> {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr dir, LoadInode(parent));
    TIERFS_RETURN_IF_ERROR(CheckLiveDir(dir));
    TIERFS_ASSIGN_OR_RETURN(std::optional<Entry> existing, FindEntry(parent, name));
    if (existing) return Status::Exists(std::string(name));

    const bool is_dir = S_ISDIR(node.mode);
    InodeAttr a;
    a.mode = node.mode;
    a.uid = node.uid;
    a.gid = node.gid;
    if (dir.mode & S_ISGID) {  // BSD group semantics for setgid directories
      a.gid = dir.gid;
      if (is_dir) a.mode |= S_ISGID;
    }
    a.size = node.symlink_target.size();
    a.nlink = is_dir ? 2 : 1;
    a.rdev = node.rdev;
    a.atime = a.mtime = a.ctime = now;
    TIERFS_ASSIGN_OR_RETURN(
        SqliteStmt insert,
        db_->Prepare("INSERT INTO inodes(mode, uid, gid, size, nlink, rdev, atime_sec, atime_nsec, "
                     "mtime_sec, mtime_nsec, ctime_sec, ctime_nsec, symlink_target) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7, ?8, ?7, ?8, ?9)"));
    insert.Bind(a.mode).Bind(a.uid).Bind(a.gid).Bind(static_cast<int64_t>(a.size)).Bind(a.nlink);
    insert.Bind(static_cast<int64_t>(a.rdev)).Bind(now.sec).Bind(now.nsec);
    if (S_ISLNK(a.mode)) {
      insert.BindBlob(node.symlink_target);
    } else {
      insert.BindNull();
    }
    TIERFS_RETURN_IF_ERROR(insert.Run());
    a.ino = db_->LastInsertRowid();
    Stage(a.ino, a);
    TIERFS_RETURN_IF_ERROR(InsertEntry(parent, name, a.ino));
    if (is_dir) ++dir.nlink;
    Touch(&dir, now);
    TIERFS_RETURN_IF_ERROR(StoreInode(dir));
    return a;
  });
}

Result<InodeAttr> SqliteMetadataStore::Link(uint64_t ino, uint64_t new_parent,
                                            std::string_view new_name, Timespec now) {
  TIERFS_RETURN_IF_ERROR(ValidateName(new_name));
  return Write([&]() -> Result<InodeAttr> {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr target, LoadInode(ino));
    if (S_ISDIR(target.mode)) return Status::Posix(EPERM, "hard link to a directory");
    if (target.nlink == 0) return Status::NotFound("link to an unlinked inode");
    if (target.nlink >= kMaxLinks) return Status::Posix(EMLINK, "too many links");
    TIERFS_ASSIGN_OR_RETURN(InodeAttr dir, LoadInode(new_parent));
    TIERFS_RETURN_IF_ERROR(CheckLiveDir(dir));
    TIERFS_ASSIGN_OR_RETURN(std::optional<Entry> existing, FindEntry(new_parent, new_name));
    if (existing) return Status::Exists(std::string(new_name));
    TIERFS_RETURN_IF_ERROR(InsertEntry(new_parent, new_name, ino));
    ++target.nlink;
    target.ctime = now;
    Touch(&dir, now);
    TIERFS_RETURN_IF_ERROR(StoreInode(target));
    TIERFS_RETURN_IF_ERROR(StoreInode(dir));
    return target;
  });
}

Result<InodeAttr> SqliteMetadataStore::Unlink(uint64_t parent, std::string_view name,
                                              Timespec now) {
  TIERFS_RETURN_IF_ERROR(ValidateName(name));
  return Write([&]() -> Result<InodeAttr> {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr dir, LoadDir(parent));
    TIERFS_ASSIGN_OR_RETURN(Entry entry, FindExisting(parent, name));
    TIERFS_ASSIGN_OR_RETURN(InodeAttr target, LoadInode(entry.ino));
    if (S_ISDIR(target.mode)) return Status::Posix(EISDIR, "unlink of a directory");
    TIERFS_RETURN_IF_ERROR(DeleteEntry(entry.id));
    if (--target.nlink > 0) target.ctime = now;
    Touch(&dir, now);
    TIERFS_RETURN_IF_ERROR(StoreInode(target));
    TIERFS_RETURN_IF_ERROR(StoreInode(dir));
    return target;
  });
}

Result<InodeAttr> SqliteMetadataStore::Rmdir(uint64_t parent, std::string_view name, Timespec now) {
  TIERFS_RETURN_IF_ERROR(ValidateName(name));
  return Write([&]() -> Result<InodeAttr> {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr dir, LoadDir(parent));
    TIERFS_ASSIGN_OR_RETURN(Entry entry, FindExisting(parent, name));
    TIERFS_ASSIGN_OR_RETURN(InodeAttr target, LoadInode(entry.ino));
    if (!S_ISDIR(target.mode)) return Status::Posix(ENOTDIR, "rmdir of a non-directory");
    TIERFS_ASSIGN_OR_RETURN(bool busy, HasEntries(entry.ino));
    if (busy) return Status::Posix(ENOTEMPTY, "directory not empty");
    TIERFS_RETURN_IF_ERROR(DeleteEntry(entry.id));
    target.nlink = 0;
    --dir.nlink;
    Touch(&dir, now);
    TIERFS_RETURN_IF_ERROR(StoreInode(target));
    TIERFS_RETURN_IF_ERROR(StoreInode(dir));
    return target;
  });
}

Result<RenameResult> SqliteMetadataStore::Rename(uint64_t parent, std::string_view name,
                                                 uint64_t new_parent, std::string_view new_name,
                                                 RenameMode mode, Timespec now) {
  TIERFS_RETURN_IF_ERROR(ValidateName(name));
  TIERFS_RETURN_IF_ERROR(ValidateName(new_name));
  return Write([&] { return RenameLocked(parent, name, new_parent, new_name, mode, now); });
}

Result<RenameResult> SqliteMetadataStore::RenameLocked(uint64_t parent, std::string_view name,
                                                       uint64_t new_parent,
                                                       std::string_view new_name, RenameMode mode,
                                                       Timespec now) {
  InodeSet set;
  TIERFS_ASSIGN_OR_RETURN(InodeAttr * dir, LoadInto(set, parent));
  TIERFS_ASSIGN_OR_RETURN(InodeAttr * new_dir, LoadInto(set, new_parent));
  if (!S_ISDIR(dir->mode)) return Status::Posix(ENOTDIR, "source parent is not a directory");
  TIERFS_RETURN_IF_ERROR(CheckLiveDir(*new_dir));
  TIERFS_ASSIGN_OR_RETURN(Entry src, FindExisting(parent, name));
  TIERFS_ASSIGN_OR_RETURN(std::optional<Entry> dst, FindEntry(new_parent, new_name));
  if (dst && mode == RenameMode::kNoReplace) return Status::Exists(std::string(new_name));
  if (!dst && mode == RenameMode::kExchange) return Status::NotFound(std::string(new_name));
  // Both names already refer to the same inode: POSIX says do nothing.
  if (dst && dst->ino == src.ino) return RenameResult{};

  TIERFS_ASSIGN_OR_RETURN(InodeAttr * moved, LoadInto(set, src.ino));
  // Within one directory nothing can move into its own subtree.
  const bool same_dir = parent == new_parent;
  if (S_ISDIR(moved->mode) && !same_dir) {
    TIERFS_RETURN_IF_ERROR(CheckNotInSubtree(src.ino, new_parent));
  }
  RenameResult result;
  if (mode == RenameMode::kExchange) {
    TIERFS_RETURN_IF_ERROR(ExchangeEntries(set, dir, src, new_dir, *dst, now));
  } else {
    TIERFS_ASSIGN_OR_RETURN(result, MoveEntry(set, dir, src, new_dir, new_name, dst, now));
  }
  moved->ctime = now;
  Touch(dir, now);
  Touch(new_dir, now);
  TIERFS_RETURN_IF_ERROR(StoreAll(set));
  return result;
}

Status SqliteMetadataStore::CheckNotInSubtree(uint64_t ancestor, uint64_t dir) {
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt up,
                          db_->Prepare("SELECT parent FROM dentries WHERE ino = ? LIMIT 1"));
  for (int depth = 0; dir != kRootIno; ++depth) {
    if (dir == ancestor) return Status::Posix(EINVAL, "move of a directory into itself");
    if (depth == kMaxDepth) {
      return Status::Corruption("directory cycle above inode " + std::to_string(dir));
    }
    TIERFS_ASSIGN_OR_RETURN(bool found, up.Bind(dir).Step());
    if (!found) return Status::OK();  // a removed directory: not below anything
    dir = up.Int64(0);
    up.Reset();
  }
  return Status::OK();
}

Status SqliteMetadataStore::ExchangeEntries(InodeSet& set, InodeAttr* dir, Entry src,
                                            InodeAttr* new_dir, Entry dst, Timespec now) {
  TIERFS_ASSIGN_OR_RETURN(InodeAttr * other, LoadInto(set, dst.ino));
  if (S_ISDIR(other->mode) && dir != new_dir) {
    TIERFS_RETURN_IF_ERROR(CheckNotInSubtree(dst.ino, dir->ino));
  }
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt swap,
                          db_->Prepare("UPDATE dentries SET ino = ? WHERE id = ?"));
  TIERFS_RETURN_IF_ERROR(swap.Bind(dst.ino).Bind(src.id).Run());
  swap.Reset();
  TIERFS_RETURN_IF_ERROR(swap.Bind(src.ino).Bind(dst.id).Run());
  // A directory moving between parents takes its ".." link with it.
  const int src_dirs = S_ISDIR(set.at(src.ino).mode) ? 1 : 0;
  const int dst_dirs = S_ISDIR(other->mode) ? 1 : 0;
  dir->nlink += dst_dirs - src_dirs;
  new_dir->nlink += src_dirs - dst_dirs;
  other->ctime = now;
  return Status::OK();
}

Result<RenameResult> SqliteMetadataStore::MoveEntry(InodeSet& set, InodeAttr* dir, Entry src,
                                                    InodeAttr* new_dir, std::string_view new_name,
                                                    std::optional<Entry> dst, Timespec now) {
  const bool moving_dir = S_ISDIR(set.at(src.ino).mode);
  RenameResult result;
  if (dst) {
    TIERFS_ASSIGN_OR_RETURN(InodeAttr * old, LoadInto(set, dst->ino));
    const bool old_dir = S_ISDIR(old->mode);
    if (moving_dir && !old_dir) return Status::Posix(ENOTDIR, "directory over a non-directory");
    if (!moving_dir && old_dir) return Status::Posix(EISDIR, "non-directory over a directory");
    if (old_dir) {
      TIERFS_ASSIGN_OR_RETURN(bool busy, HasEntries(dst->ino));
      if (busy) return Status::Posix(ENOTEMPTY, "target directory not empty");
    }
    TIERFS_RETURN_IF_ERROR(DeleteEntry(dst->id));
    if (old_dir) {
      old->nlink = 0;
      --new_dir->nlink;
    } else {
      --old->nlink;
    }
    old->ctime = now;
    result.replaced = *old;
  }
  TIERFS_ASSIGN_OR_RETURN(SqliteStmt move,
                          db_->Prepare("UPDATE dentries SET parent = ?, name = ? WHERE id = ?"));
  TIERFS_RETURN_IF_ERROR(move.Bind(new_dir->ino).BindBlob(new_name).Bind(src.id).Run());
  if (moving_dir) {
    --dir->nlink;
    ++new_dir->nlink;
  }
  return result;
}

}  // namespace tierfs
