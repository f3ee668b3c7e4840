// MetricsText: see metrics_text.h.
#include "fusefs/control/metrics_text.h"

#include "fusefs/metrics/prom_text.h"

namespace tierfs {

namespace {

using L = PromText::Label;

// A family of one gauge or counter per tier.
void ByTier(PromText& p, const char* name, const char* type, const char* help, uint64_t hot,
            uint64_t cold) {
  p.Family(name, type, help);
  p.Sample(name, {L{"tier", "hot"}}, hot);
  p.Sample(name, {L{"tier", "cold"}}, cold);
}

void ByDirection(PromText& p, const char* name, const char* help, uint64_t promote,
                 uint64_t demote) {
  p.Family(name, "counter", help);
  p.Sample(name, {L{"direction", "promote"}}, promote);
  p.Sample(name, {L{"direction", "demote"}}, demote);
}

void Requests(PromText& p, const Metrics& m) {
  // One counter family per FUSE operation: requests, errors, negatives.
  const auto per_op = [&](const char* name, const char* help,
                          uint64_t (Metrics::*count)(FuseOp) const) {
    p.Family(name, "counter", help);
    for (size_t i = 0; i < kFuseOpCount; ++i) {
      const auto op = static_cast<FuseOp>(i);
      p.Sample(name, {L{"op", FuseOpName(op)}}, (m.*count)(op));
    }
  };
  per_op("tierfs_fuse_requests_total", "FUSE requests served, by operation.", &Metrics::requests);
  per_op("tierfs_fuse_errors_total",
         "FUSE requests answered with an error, by operation (not counting the expected "
         "negative answers).",
         &Metrics::errors);
  per_op("tierfs_fuse_negatives_total",
         "FUSE requests answered with an expected negative (ENOENT, ENODATA, ERANGE, EEXIST, "
         "ENOTEMPTY, ENXIO, EOPNOTSUPP), by operation.",
         &Metrics::negatives);
  p.Family("tierfs_fuse_request_duration_seconds", "histogram",
           "Time from receiving a read, write or fsync request to its reply.");
  for (FuseOp op : {FuseOp::kRead, FuseOp::kWrite, FuseOp::kFsync}) {
    const LatencyHistogram::Snapshot s = m.latency(op);
    p.Histogram("tierfs_fuse_request_duration_seconds", {L{"op", FuseOpName(op)}}, kLatencyBounds,
                s.buckets, static_cast<double>(s.sum_ns) / 1e9);
  }
  p.Family("tierfs_read_bytes_total", "counter",
           "Bytes of read replies, by where they came from (hot file, cold frames, holes, "
           "inline files).");
  for (ReadSource s :
       {ReadSource::kHot, ReadSource::kCold, ReadSource::kHole, ReadSource::kInline}) {
    p.Sample("tierfs_read_bytes_total", {L{"tier", ReadSourceName(s)}}, m.read_bytes(s));
  }
  p.Family("tierfs_written_bytes_total", "counter",
           "Bytes written by FUSE writes; they always land hot (a cold chunk is promoted first).");
  p.Sample("tierfs_written_bytes_total", {L{"tier", "hot"}}, m.written_bytes());
}

}  // namespace

std::string MetricsText(const StatusReport& r, const Metrics& m) {
  const StoreStats& s = r.store;
  const MigratorStats& g = r.migrator;
  PromText p;
  p.Family("tierfs_info", "gauge", "Always 1; the store and mountpoint as labels.");
  p.Sample("tierfs_info", {L{"store", r.store_dir}, L{"mountpoint", r.mountpoint}}, uint64_t{1});
  p.Gauge("tierfs_read_only", "1 while the mount is read-only.", uint64_t{r.read_only});
  p.Gauge("tierfs_chunk_size_bytes", "Size of a file chunk (one object).", r.chunk_size);
  p.Gauge("tierfs_inodes", "Inodes in the namespace.", r.inodes);
  ByTier(p, "tierfs_objects", "gauge", "Objects (chunks) in each tier.", s.hot_objects,
         s.cold_objects);
  ByTier(p, "tierfs_logical_bytes", "gauge", "File bytes held in each tier.", s.hot_bytes,
         s.cold_bytes);
  ByTier(p, "tierfs_stored_bytes", "gauge", "Bytes each tier's object files take on disk.",
         s.hot_stored_bytes, s.cold_stored_bytes);
  p.Gauge("tierfs_inline_files", "Small files whose bytes are kept in the namespace database.",
          r.inline_files);
  p.Gauge("tierfs_inline_bytes", "Bytes of the inline files.", r.inline_bytes);
  p.Gauge("tierfs_hot_capacity_bytes", "The hot tier's budget (hot_capacity; 0: unlimited).",
          r.policy.hot_capacity);
  p.Family("tierfs_hot_watermark_bytes", "gauge",
           "The hot tier's high and low watermarks (hot_high, hot_low of hot_capacity).");
  p.Sample("tierfs_hot_watermark_bytes", {L{"level", "high"}}, HighWatermark(r.policy));
  p.Sample("tierfs_hot_watermark_bytes", {L{"level", "low"}}, LowWatermark(r.policy));
  p.Gauge("tierfs_cold_after_seconds", "Idle time after which a chunk is demoted (-1: never).",
          r.policy.cold_after_ns < 0 ? -1.0 : static_cast<double>(r.policy.cold_after_ns) / 1e9);
  p.Gauge("tierfs_compression_saved_bytes", "Bytes compression saves in the cold tier.",
          SavedBytes(s));
  p.Gauge("tierfs_damaged_objects", "Cold objects that failed validation when the store opened.",
          s.damaged_objects);
  ByDirection(p, "tierfs_tier_moves_total",
              "Objects moved between tiers by anyone (migrator, writes, tierfs migrate).",
              s.promotions, s.demotions);
  p.Counter("tierfs_tier_moves_abandoned_total",
            "Tier moves given up because the object changed during the copy.", s.moves_abandoned);
  p.Gauge("tierfs_buffer_pool_preallocated_bytes",
          "Bytes of read buffers preallocated for buffer_pool (not counting the frame cache's).",
          s.pool.bytes_preallocated - s.frame_cache_preallocated);
  p.Gauge("tierfs_buffer_pool_in_use", "Pooled buffers leased now.", s.pool.in_use);
  p.Counter("tierfs_buffer_pool_leases_total", "Buffers leased.", s.pool.leases);
  p.Counter("tierfs_buffer_pool_hits_total", "Leases served from the pool.", s.pool.pool_hits);
  p.Counter("tierfs_buffer_pool_overflows_total",
            "Leases served by a heap allocation because the pool was exhausted.",
            s.pool.overflow_allocations);
  p.Counter("tierfs_buffer_pool_failed_allocations_total",
            "Heap fallbacks refused (out of memory, or larger than a lease may be).",
            s.pool.failed_allocations);
  p.Gauge("tierfs_frame_cache_capacity_bytes", "The frame cache's budget (cache_size).",
          s.cache.capacity);
  p.Gauge("tierfs_frame_cache_preallocated_bytes",
          "Bytes of frame buffers preallocated for the frame cache (cache_size), in the pool.",
          s.frame_cache_preallocated);
  p.Gauge("tierfs_frame_cache_bytes", "Bytes of decompressed frames cached now.", s.cache.bytes);
  p.Counter("tierfs_frame_cache_hits_total", "Cold frame reads served from the cache.",
            s.cache.hits);
  p.Counter("tierfs_frame_cache_misses_total", "Cold frame reads that decompressed the frame.",
            s.cache.misses);
  p.Counter("tierfs_frame_cache_evictions_total", "Frames evicted from the cache.",
            s.cache.evictions);
  p.Counter("tierfs_migrator_passes_total", "Migrator passes finished.", g.passes);
  p.Gauge("tierfs_migrator_last_pass_timestamp_seconds",
          "When the last migrator pass finished (Unix time; 0: none yet).",
          static_cast<double>(g.last_pass_ns) / 1e9);
  p.Gauge("tierfs_migrator_queued_moves", "Moves the running pass planned and has not done.",
          g.queued);
  ByDirection(p, "tierfs_migrator_moves_total", "Objects the migrator moved, by direction.",
              g.promoted, g.demoted);
  ByDirection(p, "tierfs_migrator_moved_bytes_total",
              "File bytes the migrator moved, by direction.", g.promoted_bytes, g.demoted_bytes);
  p.Counter("tierfs_migrator_failed_moves_total",
            "Migrator moves that failed (not counting objects changed or removed meanwhile).",
            g.failed_moves);
  p.Counter("tierfs_migrator_errors_total", "Failed migrator moves plus passes that threw.",
            g.errors);
  p.Gauge("tierfs_reclaim_pending_inodes",
          "Unlinked inodes waiting for the reclaimer to free their objects and rows.",
          r.reclaim.pending);
  p.Counter("tierfs_reclaimed_inodes_total", "Unlinked inodes the reclaimer freed.",
            r.reclaim.reclaimed);
  p.Counter("tierfs_reclaim_batches_total",
            "Transactions the reclaimer ran, each deleting the rows of a batch of inodes.",
            r.reclaim.batches);
  p.Counter("tierfs_reclaim_errors_total",
            "Inodes a failed free left to the next mount (which frees them).", r.reclaim.errors);
  Requests(p, m);
  return p.str();
}

}  // namespace tierfs
