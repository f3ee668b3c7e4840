// The tierfs cold object format: framed zstd with an index and checksums.
// The byte layout is specified in compress/FORMAT.md (format version 1).
//
// ColdObjectWriter streams logical bytes into a ByteSink, one frame at a time;
// ColdObjectReader opens an object from a ByteSource, validates header, index
// and footer, and decodes single frames on demand so that a small random read
// touches one frame only. Neither class allocates anything whose size comes
// from the object before bounds-checking it: a corrupt or hostile object gives
// Status::Corruption, never a crash or a huge allocation.
//
// Thread-safety: a writer is used by one thread. A reader is immutable after
// Open(); ReadFrame() may be called from several threads at once provided the
// ByteSource's ReadExactAt is thread-safe (pread-based sources are).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "compress/byte_io.h"
#include "compress/status.h"

namespace tierfs {

enum class Codec : uint8_t { kNone = 0, kZstd = 1 };

struct CompressionOptions {
  Codec codec = Codec::kZstd;
  int level = 3;  // zstd level, 1..19 (ignored for kNone)
};

inline constexpr uint32_t kMinFrameSize = 4096;
inline constexpr uint32_t kMaxFrameSize = 16u << 20;
inline constexpr uint32_t kDefaultFrameSize = 256u << 10;

struct ColdFrameInfo {
  uint64_t offset = 0;       // where the stored bytes start in the object
  uint32_t stored_size = 0;  // bytes on disk (== logical size when raw)
  bool compressed = false;
  uint64_t checksum = 0;  // XXH64 of the logical bytes
};

class ColdObjectWriter {
 public:
  // logical_size: total bytes that will be added; frame_size in
  // [kMinFrameSize, kMaxFrameSize], a multiple of 4096.
  static Result<std::unique_ptr<ColdObjectWriter>> Create(ByteSink* sink, uint64_t logical_size,
                                                          uint32_t frame_size,
                                                          CompressionOptions opts);
  ~ColdObjectWriter();
  ColdObjectWriter(const ColdObjectWriter&) = delete;
  ColdObjectWriter& operator=(const ColdObjectWriter&) = delete;

  // Adds the next frame's logical bytes: exactly frame_size bytes for every
  // frame but the last, which holds the remainder (1..frame_size bytes).
  Status AddFrame(std::span<const std::byte> logical);
  // Writes index and footer. Fails if fewer bytes were added than promised.
  Status Finish();
  // Bytes written to the sink so far.
  uint64_t stored_bytes() const;

 private:
  struct Impl;
  explicit ColdObjectWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class ColdObjectReader {
 public:
  // Reads and validates header, footer and index. Does not keep the source
  // alive: the caller keeps it valid for the reader's lifetime.
  static Result<std::unique_ptr<ColdObjectReader>> Open(ByteSource* source);
  ~ColdObjectReader();
  ColdObjectReader(const ColdObjectReader&) = delete;
  ColdObjectReader& operator=(const ColdObjectReader&) = delete;

  uint64_t logical_size() const;
  uint32_t frame_size() const;
  size_t frame_count() const;
  Codec codec() const;
  const ColdFrameInfo& frame(size_t i) const;
  // Logical size of frame i (frame_size except possibly the last).
  uint32_t frame_logical_size(size_t i) const;

  // Decodes frame i into dst (dst.size() >= frame_logical_size(i)), using
  // scratch (scratch.size() >= frame(i).stored_size, frame_size() always
  // suffices) for the stored bytes. Verifies the checksum.
  Status ReadFrame(size_t i, std::span<std::byte> scratch, std::span<std::byte> dst) const;

 private:
  struct Impl;
  explicit ColdObjectReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tierfs
