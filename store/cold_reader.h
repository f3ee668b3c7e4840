// ColdReader: reads of cold objects. Opens a cold object through the cold
// backend into a validated ColdHandle, serves byte ranges of it frame by
// frame through the FrameCache (each frame decoded into a pooled buffer), and
// decodes ahead of a sequential reader on a few worker threads. The same
// workers take the hot tier's read-ahead hints (the `hot_will_need` function
// the store gives it), so that one set of threads serves both tiers.
//
// A frame is cached under (generation, index): the table gives every cold
// copy a generation never used before (ObjectTable), so a frame of an older
// copy is never served for a newer one.
//
// Thread-safety: thread-safe. Its only lock is the frame cache's (and the
// pool's and the backend's inside them), taken after any object lock and
// never together with the table's or the handle cache's. Callers of Read,
// Frame and Open hold the object's lock (ObjectStore::LockFor) at least
// shared, or own a handle of a copy that no one can change.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "compress/cold_object.h"
#include "store/buffer_pool.h"
#include "store/cold_backend.h"
#include "store/frame_cache.h"
#include "store/object_key.h"
#include "store/worker_pool.h"

namespace tierfs {

// An open cold object: the backend's object and its validated reader.
struct ColdHandle {
  std::string name;  // ColdBackend::NameOf(key), for messages
  std::unique_ptr<ColdObject> object;
  std::unique_ptr<ColdObjectReader> reader;
  std::atomic<int64_t> last_frame{-1};  // the last frame a read reached (DecodeAhead)
};

struct ColdReaderOptions {
  uint64_t frame_cache_bytes = 0;
  int64_t decode_ahead_depth = 0;  // frames decoded ahead of a sequential reader; 0: none
  size_t read_ahead_threads = 1;
};

class ColdReader {
 public:
  // `cold` and `pool` outlive the reader; hot_will_need runs on a worker.
  ColdReader(ColdBackend* cold, BufferPool* pool, const ColdReaderOptions& opts,
             std::function<void(const ObjectKey&)> hot_will_need);
  ~ColdReader();  // stops the workers before anything they use goes
  ColdReader(const ColdReader&) = delete;
  ColdReader& operator=(const ColdReader&) = delete;

  // Opens and validates the object's cold copy (Corruption when it is not
  // a valid cold object).
  Result<std::shared_ptr<ColdHandle>> Open(const ObjectKey& key);
  // Copies [offset, offset + dst.size()) of the object (the caller clamps
  // it to the object's size) into dst, then, when the reads of this handle
  // go in order and this one entered a new frame, queues the next frames
  // for the workers. Returns the count.
  Result<size_t> Read(const std::shared_ptr<ColdHandle>& h, uint64_t gen, uint64_t offset,
                      std::span<std::byte> dst);
  // Frame i of the object, from the cache or decoded; use_cache false
  // decodes it and leaves the cache alone (a promotion, a verify).
  Result<std::shared_ptr<const CachedFrame>> Frame(const ColdHandle& h, uint64_t gen, size_t i,
                                                   bool use_cache);
  // Queues `key` for hot_will_need on a worker (dropped when the queue is
  // full: a hint).
  void HotWillNeed(const ObjectKey& key);

  FrameCacheStats cache_stats() const { return cache_.stats(); }
  uint64_t frames_decoded() const { return frames_decoded_.load(std::memory_order_relaxed); }
  uint64_t frames_decoded_ahead() const {
    return frames_decoded_ahead_.load(std::memory_order_relaxed);
  }

 private:
  // A worker's job: decode frame `frame` of a cold object (handle set), or
  // call hot_will_need_(key).
  struct AheadJob {
    std::shared_ptr<ColdHandle> handle;
    uint64_t gen = 0;
    uint32_t frame = 0;
    ObjectKey key;
  };
  // Frame i decoded into a fresh pooled buffer (counted in frames_decoded_).
  Result<std::shared_ptr<const CachedFrame>> DecodeFrame(const ColdHandle& h, size_t i);
  void DecodeAhead(const std::shared_ptr<ColdHandle>& h, uint64_t gen, uint64_t offset, size_t len);
  WorkerPool<AheadJob>& Workers();  // starts them the first time
  void RunAheadJob(AheadJob& job);  // on a worker: decode one frame unless cached or claimed

  ColdBackend* const cold_;
  BufferPool* const pool_;
  const int64_t decode_ahead_depth_;
  const std::function<void(const ObjectKey&)> hot_will_need_;
  FrameCache cache_;
  std::atomic<uint64_t> frames_decoded_{0}, frames_decoded_ahead_{0};
  // The workers start with the first job (Workers()), so an open that reads
  // nothing (status, fsck, a mount that only writes) starts no thread.
  // Declared last: its threads stop (joined) before anything they use goes.
  const size_t threads_;
  std::once_flag started_;
  std::unique_ptr<WorkerPool<AheadJob>> workers_;
};

}  // namespace tierfs
