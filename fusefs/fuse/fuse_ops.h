// The libfuse low-level glue: builds the operations table over a Filesystem
// and its control channel and runs a session. Only fusefs/fuse/ includes
// fuse_lowlevel.h: fuse_ops.cc (the session, the namespace ops), file_ops.cc
// (open files), xattr_ops.cc (xattrs and controls), request.h (what they
// share).
// Thread-safety: RunSession blocks the calling thread and runs the
// multithreaded session loop; ops run on libfuse's worker threads.
#pragma once

#include <functional>
#include <string>

#include "fusefs/control/control.h"
#include "fusefs/core/config.h"
#include "fusefs/core/filesystem.h"

namespace tierfs {

// Mounts fs at config.mountpoint and serves it until unmounted or signalled
// (SIGTERM, SIGINT, SIGHUP); control (over fs) answers the control names.
// `ready` is called once the mount exists (or with a non-OK status if it
// could not be made). Returns the session's end status; from then on the
// process ignores those signals (it is flushing and about to exit: see
// RunSession).
Status RunSession(Filesystem* fs, Control* control, const MountConfig& config,
                  const std::function<void(const Status&)>& ready);

}  // namespace tierfs
