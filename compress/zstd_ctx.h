// Per-thread zstd compression and decompression contexts.
//
// Creating a zstd context costs a few hundred KiB of allocation, so each
// thread keeps one of each for its lifetime instead of one per frame.
//
// Thread-safety: each function returns the calling thread's own context; the
// pointer must not be handed to another thread. Returns nullptr when the
// context cannot be allocated (the next call retries).
#pragma once

#include <zstd.h>

namespace tierfs {

ZSTD_CCtx* ThreadLocalCCtx();
ZSTD_DCtx* ThreadLocalDCtx();

}  // namespace tierfs
