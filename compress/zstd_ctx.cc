// Per-thread zstd contexts, freed when their thread exits.
#include "compress/zstd_ctx.h"

#include <memory>

namespace tierfs {

namespace {
struct CCtxDeleter {
  void operator()(ZSTD_CCtx* ctx) const { ZSTD_freeCCtx(ctx); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* ctx) const { ZSTD_freeDCtx(ctx); }
};
}  // namespace

ZSTD_CCtx* ThreadLocalCCtx() {
  thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> ctx;
  if (!ctx) ctx.reset(ZSTD_createCCtx());
  return ctx.get();
}

ZSTD_DCtx* ThreadLocalDCtx() {
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> ctx;
  if (!ctx) ctx.reset(ZSTD_createDCtx());
  return ctx.get();
}

}  // namespace tierfs
