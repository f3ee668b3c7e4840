// EnvVfs: a SQLite VFS over a tierfs Env, for tests. With the Env a
// FaultInjectionEnv (store/testing/fault_env.h), meta.db and its WAL go through the
// same crash point and the same power-cut model as the object files, as
// SQLite's own crash-test VFS (test6.c) does for SQLite: an unsynced commit
// in the WAL is lost with the other unsynced state.
//
// What it mirrors of SQLite's unix VFS: reads past the end are short reads
// filled with zeros; xSync fsyncs the file, and the first xSync of a WAL or
// journal this VFS created also fsyncs its directory (unix's
// UNIXFILE_DIRSYNC), so that the WAL's name is durable with its first
// commit; xDelete with syncDir fsyncs the directory; xAccess(EXISTS) is
// false for an empty file; sector size 4096 and powersafe overwrite (which
// the power-cut model keeps: a file's unsynced content survives whole or
// not at all). What it leaves out: locks are no-ops (one process, and tierfs
// sets locking_mode=EXCLUSIVE before journal_mode=WAL, so the WAL index
// lives in heap memory); the shared-memory methods answer SQLITE_IOERR, so a
// connection that would need a -shm file fails loudly instead of silently
// running without the VFS; temporary files without a name (statement
// journals that spill) live in memory. Names, randomness, sleep and time
// come from the default VFS.
//
// Thread-safety: the VFS may be used by any thread; a file by one
// connection at a time (SQLite serializes a connection's use of its files).
// Register it before opening a database through it, and unregister it
// (destroy the EnvVfs) only once every connection using it is closed.
#pragma once

#include <sqlite3.h>

#include <string>

#include "store/env.h"

namespace tierfs::test {

class EnvVfs {
 public:
  // Registers a VFS named `name` (not the default) whose files are opened
  // through env.
  EnvVfs(std::string name, Env* env);
  ~EnvVfs();  // unregisters it
  EnvVfs(const EnvVfs&) = delete;
  EnvVfs& operator=(const EnvVfs&) = delete;

  const std::string& name() const { return name_; }
  Env* env() const { return env_; }
  sqlite3_vfs* base() const { return base_; }  // the default VFS

 private:
  const std::string name_;
  Env* const env_;
  sqlite3_vfs* const base_;
  sqlite3_vfs vfs_{};
};

}  // namespace tierfs::test
