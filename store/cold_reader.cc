// ColdReader: see cold_reader.h.
#include "store/cold_reader.h"

#include <algorithm>
#include <cstring>

namespace tierfs {

ColdReader::ColdReader(ColdBackend* cold, BufferPool* pool, const ColdReaderOptions& opts,
                       std::function<void(const ObjectKey&)> hot_will_need)
    : cold_(cold),
      pool_(pool),
      decode_ahead_depth_(opts.decode_ahead_depth),
      hot_will_need_(std::move(hot_will_need)),
      cache_(opts.frame_cache_bytes),
      threads_(opts.read_ahead_threads) {}

ColdReader::~ColdReader() = default;

WorkerPool<ColdReader::AheadJob>& ColdReader::Workers() {
  std::call_once(started_, [this] {
    workers_ = std::make_unique<WorkerPool<AheadJob>>(threads_,
                                                      [this](AheadJob& job) { RunAheadJob(job); });
  });
  return *workers_;
}

Result<std::shared_ptr<ColdHandle>> ColdReader::Open(const ObjectKey& key) {
  auto h = std::make_shared<ColdHandle>();
  h->name = cold_->NameOf(key);
  TIERFS_ASSIGN_OR_RETURN(h->object, cold_->Open(key));
  auto reader = ColdObjectReader::Open(h->object.get());
  if (!reader.ok()) return reader.status().WithContext(h->name);
  h->reader = std::move(reader).value();
  return h;
}

Result<std::shared_ptr<const CachedFrame>> ColdReader::Frame(const ColdHandle& h, uint64_t gen,
                                                             size_t i, bool use_cache) {
  const auto index = static_cast<uint32_t>(i);
  if (use_cache) {
    if (auto hit = cache_.Begin(gen, index)) return hit;  // else: ours to decode
  }
  auto frame = DecodeFrame(h, i);
  if (use_cache) cache_.End(gen, index, frame.ok() ? *frame : nullptr);
  return frame;
}

Result<std::shared_ptr<const CachedFrame>> ColdReader::DecodeFrame(const ColdHandle& h, size_t i) {
  const ColdObjectReader& r = *h.reader;
  std::shared_ptr<CachedFrame> frame = cache_.NewFrame();
  TIERFS_ASSIGN_OR_RETURN(frame->buffer, pool_->Lease(r.frame_size()));
  TIERFS_ASSIGN_OR_RETURN(BufferLease scratch, pool_->Lease(r.frame_size()));
  Status st = r.ReadFrame(i, scratch.span(), frame->buffer.span());
  if (!st.ok()) return st.WithContext(h.name + " frame " + std::to_string(i));
  frame->buffer.set_size(r.frame_logical_size(i));
  frames_decoded_.fetch_add(1, std::memory_order_relaxed);
  return std::shared_ptr<const CachedFrame>(std::move(frame));
}

Result<size_t> ColdReader::Read(const std::shared_ptr<ColdHandle>& h, uint64_t gen, uint64_t offset,
                                std::span<std::byte> dst) {
  const uint64_t fs = h->reader->frame_size();
  size_t done = 0;
  while (done < dst.size()) {
    uint64_t pos = offset + done;
    size_t i = pos / fs;
    TIERFS_ASSIGN_OR_RETURN(auto frame, Frame(*h, gen, i, cache_.enabled()));
    size_t within = pos % fs;
    size_t take = std::min<size_t>(frame->buffer.size() - within, dst.size() - done);
    std::memcpy(dst.data() + done, frame->buffer.data() + within, take);
    done += take;
  }
  DecodeAhead(h, gen, offset, done);
  return done;
}

void ColdReader::DecodeAhead(const std::shared_ptr<ColdHandle>& h, uint64_t gen, uint64_t offset,
                             size_t len) {
  if (decode_ahead_depth_ == 0 || len == 0) return;
  const uint64_t fs = h->reader->frame_size();
  const int64_t first = static_cast<int64_t>(offset / fs);
  const int64_t last = static_cast<int64_t>((offset + len - 1) / fs);
  const int64_t before = h->last_frame.exchange(last);
  // A sequential reader entering a new frame: decode the next ones now, on
  // the workers, so that they are in the cache when it gets there.
  if (last == before || (first != before && first != before + 1)) return;
  const auto frames = static_cast<int64_t>(h->reader->frame_count());
  for (int64_t i = last + 1; i <= last + decode_ahead_depth_ && i < frames; ++i) {
    Workers().Submit(AheadJob{h, gen, static_cast<uint32_t>(i), ObjectKey{}});
  }
}

void ColdReader::HotWillNeed(const ObjectKey& key) {
  AheadJob job;
  job.key = key;
  Workers().Submit(std::move(job));  // dropped when the queue is full: a hint
}

void ColdReader::RunAheadJob(AheadJob& job) {
  if (!job.handle) return hot_will_need_(job.key);
  if (!cache_.TryBegin(job.gen, job.frame)) return;  // cached, or being decoded
  auto frame = DecodeFrame(*job.handle, job.frame);
  cache_.End(job.gen, job.frame, frame.ok() ? *frame : nullptr);
  if (frame.ok()) frames_decoded_ahead_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace tierfs
