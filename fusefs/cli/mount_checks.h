// What `tierfs mount` checks of STORE and MOUNTPOINT before anything is
// created or mounted (fusefs/cli/cli.cc): the store must not be reached through
// its own mount, and a store is created only where it cannot mix with, or
// overwrite, files it did not make.
// Thread-safety: plain functions for the CLI's one thread.
#pragma once

#include <string>

#include "compress/status.h"

namespace tierfs::cli {

// Refuses a store that is the mountpoint or lies under it (the daemon would
// reach its own store through its own mount and hang on the first access)
// and a mountpoint under the store. Paths are compared canonical (symlinks
// resolved; a store that does not exist yet by its nearest existing parent).
Status CheckStoreAndMountpointApart(const std::string& store, const std::string& mountpoint);

// Refuses an existing STORE directory that is not a tierfs store (holds no
// meta.db) and is not empty, naming what it found. Not counted as content:
// lost+found (the root of a fresh filesystem) and LOCK and tierfs.log (what
// a first mount that failed before creating meta.db leaves). A directory
// with hot/ but no meta.db is a store that lost its namespace, and is
// refused as such. A missing STORE is fine: the mount creates it.
Status CheckStoreDirectory(const std::string& store);

}  // namespace tierfs::cli
