// The tierfs command line: mount, status, where, pin, unpin, migrate, fsck.
// RunCli is what main() calls (and what tests may call in-process); it
// returns the process exit code and writes errors to stderr.
// Thread-safety: call from the main thread only (mount may fork).
#pragma once

namespace tierfs {

int RunCli(int argc, char** argv);

}  // namespace tierfs
