// Encoding and decoding of cold objects (format version 1, compress/FORMAT.md).
//
// Validation order on Open matters: every size or offset read from the object
// is checked against the source size before it is used to allocate or read, so
// a hostile object costs at most a buffer as large as the object itself.
#include "compress/cold_object.h"

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "compress/cold_format.h"
#include "compress/endian.h"
#include "compress/zstd_ctx.h"

namespace tierfs {

namespace cf = cold_format;

namespace {

uint64_t Checksum(std::span<const std::byte> data) {
  return XXH64(data.data(), data.size(), cf::kChecksumSeed);
}

void PutMagic(std::byte* dst, std::string_view magic) { std::memcpy(dst, magic.data(), 8); }

bool HasMagic(const std::byte* src, std::string_view magic) {
  return std::memcmp(src, magic.data(), 8) == 0;
}

uint64_t FrameCountFor(uint64_t logical_size, uint32_t frame_size) {
  return logical_size / frame_size + (logical_size % frame_size != 0 ? 1 : 0);
}

bool ValidFrameSize(uint64_t frame_size) {
  return frame_size >= kMinFrameSize && frame_size <= kMaxFrameSize && frame_size % 4096 == 0;
}

// Logical bytes in frame i of an object; i < FrameCountFor(logical_size, frame_size).
uint32_t LogicalSizeOfFrame(uint64_t logical_size, uint32_t frame_size, uint64_t i) {
  const uint64_t start = i * frame_size;
  const uint64_t remaining = logical_size - start;
  return static_cast<uint32_t>(remaining < frame_size ? remaining : frame_size);
}

Status Corrupt(const std::string& what) { return Status::Corruption("cold object: " + what); }

}  // namespace

// ---------------------------------------------------------------------------
// Writer

struct ColdObjectWriter::Impl {
  ByteSink* sink = nullptr;
  uint64_t logical_size = 0;
  uint32_t frame_size = 0;
  CompressionOptions opts;
  uint64_t frame_count = 0;
  uint64_t frames_added = 0;
  uint64_t bytes_added = 0;
  uint64_t stored_bytes = 0;  // everything appended to the sink so far
  bool finished = false;
  Status sticky_error;             // first sink error; the object is unusable after it
  std::vector<std::byte> scratch;  // compressed frame, ZSTD_compressBound(frame_size)
  std::vector<std::byte> index;    // encoded index entries so far

  Status Append(std::span<const std::byte> data) {
    Status s = sink->Append(data);
    if (!s.ok()) {
      sticky_error = s;
      return s;
    }
    stored_bytes += data.size();
    return Status::OK();
  }

  Status WriteHeader() {
    std::array<std::byte, cf::kHeaderSize> h{};
    PutMagic(&h[cf::kHeaderMagicOffset], cf::kHeaderMagic);
    PutLittleEndian<uint16_t>(&h[cf::kHeaderVersionOffset], cf::kVersion);
    PutLittleEndian<uint8_t>(&h[cf::kHeaderCodecOffset], static_cast<uint8_t>(opts.codec));
    PutLittleEndian<uint8_t>(&h[cf::kHeaderFlagsOffset], 0);
    PutLittleEndian<uint32_t>(&h[cf::kHeaderSizeOffset], cf::kHeaderSize);
    PutLittleEndian<uint32_t>(&h[cf::kHeaderFrameSizeOffset], frame_size);
    PutLittleEndian<uint32_t>(&h[cf::kHeaderReservedOffset], 0);
    PutLittleEndian<uint64_t>(&h[cf::kHeaderLogicalSizeOffset], logical_size);
    PutLittleEndian<uint64_t>(&h[cf::kHeaderFrameCountOffset], frame_count);
    PutLittleEndian<uint64_t>(&h[cf::kHeaderChecksumOffset],
                              Checksum(std::span(h).first(cf::kHeaderChecksumOffset)));
    return Append(h);
  }

  // Returns the bytes to store for one frame and whether they are compressed.
  Result<std::pair<std::span<const std::byte>, bool>> Encode(std::span<const std::byte> logical) {
    if (opts.codec == Codec::kNone) return std::pair{logical, false};
    ZSTD_CCtx* cctx = ThreadLocalCCtx();
    if (cctx == nullptr) return Status::NoMemory("cannot allocate a zstd compression context");
    const size_t n = ZSTD_compressCCtx(cctx, scratch.data(), scratch.size(), logical.data(),
                                       logical.size(), opts.level);
    if (ZSTD_isError(n)) {
      return Status::IOError(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    }
    // Raw when zstd does not strictly shrink the frame, so stored <= logical always.
    if (n >= logical.size()) return std::pair{logical, false};
    return std::pair{std::span<const std::byte>(scratch.data(), n), true};
  }
};

Result<std::unique_ptr<ColdObjectWriter>> ColdObjectWriter::Create(ByteSink* sink,
                                                                   uint64_t logical_size,
                                                                   uint32_t frame_size,
                                                                   CompressionOptions opts) {
  if (sink == nullptr) return Status::InvalidArgument("cold object writer: null sink");
  if (!ValidFrameSize(frame_size)) {
    return Status::InvalidArgument("cold object writer: frame size " + std::to_string(frame_size) +
                                   " is not a multiple of 4096 in [4 KiB, 16 MiB]");
  }
  if (opts.codec != Codec::kNone && opts.codec != Codec::kZstd) {
    return Status::InvalidArgument("cold object writer: unknown codec " +
                                   std::to_string(static_cast<int>(opts.codec)));
  }
  if (opts.codec == Codec::kZstd && (opts.level < 1 || opts.level > 19)) {
    return Status::InvalidArgument("cold object writer: zstd level " + std::to_string(opts.level) +
                                   " is not in 1..19");
  }
  auto impl = std::make_unique<Impl>();
  impl->sink = sink;
  impl->logical_size = logical_size;
  impl->frame_size = frame_size;
  impl->opts = opts;
  impl->frame_count = FrameCountFor(logical_size, frame_size);
  if (opts.codec == Codec::kZstd) impl->scratch.resize(ZSTD_compressBound(frame_size));
  TIERFS_RETURN_IF_ERROR(impl->WriteHeader());
  return std::unique_ptr<ColdObjectWriter>(new ColdObjectWriter(std::move(impl)));
}

ColdObjectWriter::ColdObjectWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ColdObjectWriter::~ColdObjectWriter() = default;

Status ColdObjectWriter::AddFrame(std::span<const std::byte> logical) {
  Impl& w = *impl_;
  TIERFS_RETURN_IF_ERROR(w.sticky_error);
  if (w.finished) return Status::InvalidArgument("cold object writer: AddFrame after Finish");
  if (w.frames_added == w.frame_count) {
    return Status::InvalidArgument("cold object writer: more frames than the logical size holds");
  }
  const uint32_t expected = LogicalSizeOfFrame(w.logical_size, w.frame_size, w.frames_added);
  if (logical.size() != expected) {
    return Status::InvalidArgument("cold object writer: frame " + std::to_string(w.frames_added) +
                                   " has " + std::to_string(logical.size()) + " bytes, expected " +
                                   std::to_string(expected));
  }
  TIERFS_ASSIGN_OR_RETURN(const auto encoded, w.Encode(logical));
  const auto [stored, compressed] = encoded;

  std::array<std::byte, cf::kIndexEntrySize> entry{};
  PutLittleEndian<uint64_t>(&entry[cf::kEntryOffsetOffset], w.stored_bytes);
  PutLittleEndian<uint32_t>(&entry[cf::kEntryStoredSizeOffset],
                            static_cast<uint32_t>(stored.size()));
  PutLittleEndian<uint32_t>(&entry[cf::kEntryFlagsOffset],
                            compressed ? cf::kEntryFlagCompressed : 0);
  PutLittleEndian<uint64_t>(&entry[cf::kEntryChecksumOffset], Checksum(logical));

  TIERFS_RETURN_IF_ERROR(w.Append(stored));
  w.index.insert(w.index.end(), entry.begin(), entry.end());
  ++w.frames_added;
  w.bytes_added += logical.size();
  return Status::OK();
}

Status ColdObjectWriter::Finish() {
  Impl& w = *impl_;
  TIERFS_RETURN_IF_ERROR(w.sticky_error);
  if (w.finished) return Status::InvalidArgument("cold object writer: Finish called twice");
  if (w.bytes_added != w.logical_size) {
    return Status::InvalidArgument("cold object writer: Finish after " +
                                   std::to_string(w.bytes_added) + " of " +
                                   std::to_string(w.logical_size) + " bytes");
  }
  std::array<std::byte, cf::kFooterSize> footer{};
  PutLittleEndian<uint64_t>(&footer[cf::kFooterIndexOffsetOffset], w.stored_bytes);
  PutLittleEndian<uint64_t>(&footer[cf::kFooterFrameCountOffset], w.frame_count);
  PutLittleEndian<uint64_t>(&footer[cf::kFooterIndexChecksumOffset], Checksum(w.index));
  PutMagic(&footer[cf::kFooterMagicOffset], cf::kFooterMagic);
  TIERFS_RETURN_IF_ERROR(w.Append(w.index));
  TIERFS_RETURN_IF_ERROR(w.Append(footer));
  w.finished = true;
  return Status::OK();
}

uint64_t ColdObjectWriter::stored_bytes() const { return impl_->stored_bytes; }

// ---------------------------------------------------------------------------
// Reader

struct ColdObjectReader::Impl {
  ByteSource* source = nullptr;
  Codec codec = Codec::kNone;
  uint32_t frame_size = 0;
  uint64_t logical_size = 0;
  std::vector<ColdFrameInfo> frames;
};

namespace {

struct Header {
  Codec codec;
  uint32_t frame_size;
  uint64_t logical_size;
  uint64_t frame_count;
};

Result<Header> ParseHeader(std::span<const std::byte, cf::kHeaderSize> h) {
  if (!HasMagic(&h[cf::kHeaderMagicOffset], cf::kHeaderMagic)) return Corrupt("bad header magic");
  // The version is checked before the checksum so that a later version may
  // lay out (and checksum) the rest of its header differently.
  const auto version = GetLittleEndian<uint16_t>(&h[cf::kHeaderVersionOffset]);
  if (version > cf::kVersion) {
    return Status::NotSupported("cold object: format version " + std::to_string(version) +
                                " is newer than the supported version 1");
  }
  if (version != cf::kVersion) return Corrupt("format version " + std::to_string(version));
  if (GetLittleEndian<uint64_t>(&h[cf::kHeaderChecksumOffset]) !=
      Checksum(h.first(cf::kHeaderChecksumOffset))) {
    return Corrupt("header checksum mismatch");
  }
  const auto codec = GetLittleEndian<uint8_t>(&h[cf::kHeaderCodecOffset]);
  if (codec != static_cast<uint8_t>(Codec::kNone) && codec != static_cast<uint8_t>(Codec::kZstd)) {
    return Corrupt("unknown codec " + std::to_string(codec));
  }
  if (GetLittleEndian<uint8_t>(&h[cf::kHeaderFlagsOffset]) != 0) return Corrupt("header flags");
  if (GetLittleEndian<uint32_t>(&h[cf::kHeaderSizeOffset]) != cf::kHeaderSize) {
    return Corrupt("header size is not 64");
  }
  const bool reserved_zero =
      GetLittleEndian<uint32_t>(&h[cf::kHeaderReservedOffset]) == 0 &&
      std::all_of(&h[cf::kHeaderZeroOffset], &h[cf::kHeaderZeroOffset + cf::kHeaderZeroSize],
                  [](std::byte b) { return b == std::byte{0}; });
  if (!reserved_zero) return Corrupt("reserved header bytes are not zero");
  Header out{static_cast<Codec>(codec), GetLittleEndian<uint32_t>(&h[cf::kHeaderFrameSizeOffset]),
             GetLittleEndian<uint64_t>(&h[cf::kHeaderLogicalSizeOffset]),
             GetLittleEndian<uint64_t>(&h[cf::kHeaderFrameCountOffset])};
  if (!ValidFrameSize(out.frame_size)) {
    return Corrupt("frame size " + std::to_string(out.frame_size));
  }
  if (out.frame_count != FrameCountFor(out.logical_size, out.frame_size)) {
    return Corrupt("frame count does not match logical size");
  }
  return out;
}

// Checks the footer against the header and the source size; returns index_offset.
Result<uint64_t> ParseFooter(std::span<const std::byte, cf::kFooterSize> f, const Header& header,
                             uint64_t source_size) {
  if (!HasMagic(&f[cf::kFooterMagicOffset], cf::kFooterMagic)) return Corrupt("bad footer magic");
  if (GetLittleEndian<uint64_t>(&f[cf::kFooterFrameCountOffset]) != header.frame_count) {
    return Corrupt("footer frame count differs from header");
  }
  // Bound frame_count by the source before multiplying, so nothing overflows.
  if (header.frame_count > source_size / cf::kIndexEntrySize) {
    return Corrupt("frame count too large for the object size");
  }
  const uint64_t index_bytes = header.frame_count * cf::kIndexEntrySize;
  const uint64_t index_offset = GetLittleEndian<uint64_t>(&f[cf::kFooterIndexOffsetOffset]);
  if (index_offset < cf::kHeaderSize || index_bytes + cf::kFooterSize > source_size ||
      index_offset != source_size - cf::kFooterSize - index_bytes) {
    return Corrupt("index offset inconsistent with object size");
  }
  return index_offset;
}

}  // namespace

Result<std::unique_ptr<ColdObjectReader>> ColdObjectReader::Open(ByteSource* source) {
  if (source == nullptr) return Status::InvalidArgument("cold object reader: null source");
  const uint64_t size = source->size();
  if (size < cf::kMinObjectSize) return Corrupt("object smaller than header and footer");

  std::array<std::byte, cf::kHeaderSize> header_bytes;
  TIERFS_RETURN_IF_ERROR(source->ReadExactAt(0, header_bytes));
  TIERFS_ASSIGN_OR_RETURN(const Header header, ParseHeader(header_bytes));

  std::array<std::byte, cf::kFooterSize> footer_bytes;
  TIERFS_RETURN_IF_ERROR(source->ReadExactAt(size - cf::kFooterSize, footer_bytes));
  TIERFS_ASSIGN_OR_RETURN(const uint64_t index_offset, ParseFooter(footer_bytes, header, size));

  // Bounded by the source size (checked in ParseFooter).
  std::vector<std::byte> index(header.frame_count * cf::kIndexEntrySize);
  TIERFS_RETURN_IF_ERROR(source->ReadExactAt(index_offset, index));
  if (GetLittleEndian<uint64_t>(&footer_bytes[cf::kFooterIndexChecksumOffset]) != Checksum(index)) {
    return Corrupt("index checksum mismatch");
  }

  auto impl = std::make_unique<Impl>();
  impl->source = source;
  impl->codec = header.codec;
  impl->frame_size = header.frame_size;
  impl->logical_size = header.logical_size;
  impl->frames.resize(header.frame_count);
  // Frames are stored back to back from the end of the header to the index.
  uint64_t expected_offset = cf::kHeaderSize;
  for (uint64_t i = 0; i < header.frame_count; ++i) {
    const std::byte* e = &index[i * cf::kIndexEntrySize];
    ColdFrameInfo& info = impl->frames[i];
    info.offset = GetLittleEndian<uint64_t>(e + cf::kEntryOffsetOffset);
    info.stored_size = GetLittleEndian<uint32_t>(e + cf::kEntryStoredSizeOffset);
    info.checksum = GetLittleEndian<uint64_t>(e + cf::kEntryChecksumOffset);
    const auto flags = GetLittleEndian<uint32_t>(e + cf::kEntryFlagsOffset);
    info.compressed = (flags & cf::kEntryFlagCompressed) != 0;
    auto bad = [i](const std::string& what) {
      return Corrupt("frame " + std::to_string(i) + ": " + what);
    };
    if ((flags & ~cf::kEntryFlagCompressed) != 0) return bad("unknown flags");
    if (info.compressed && header.codec != Codec::kZstd) {
      return bad("compressed in an object without codec");
    }
    if (info.offset != expected_offset) return bad("offset out of place");
    if (info.stored_size > index_offset - info.offset) {
      return bad("extends into the index");
    }
    const uint32_t logical = LogicalSizeOfFrame(header.logical_size, header.frame_size, i);
    if (info.compressed ? info.stored_size >= logical : info.stored_size != logical) {
      return bad("stored size " + std::to_string(info.stored_size) + " invalid for logical size " +
                 std::to_string(logical));
    }
    expected_offset = info.offset + info.stored_size;
  }
  if (expected_offset != index_offset) return Corrupt("gap between last frame and index");
  return std::unique_ptr<ColdObjectReader>(new ColdObjectReader(std::move(impl)));
}

ColdObjectReader::ColdObjectReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ColdObjectReader::~ColdObjectReader() = default;

uint64_t ColdObjectReader::logical_size() const { return impl_->logical_size; }
uint32_t ColdObjectReader::frame_size() const { return impl_->frame_size; }
size_t ColdObjectReader::frame_count() const { return impl_->frames.size(); }
Codec ColdObjectReader::codec() const { return impl_->codec; }

const ColdFrameInfo& ColdObjectReader::frame(size_t i) const {
  assert(i < impl_->frames.size());
  return impl_->frames[i];
}

uint32_t ColdObjectReader::frame_logical_size(size_t i) const {
  assert(i < impl_->frames.size());
  return LogicalSizeOfFrame(impl_->logical_size, impl_->frame_size, i);
}

Status ColdObjectReader::ReadFrame(size_t i, std::span<std::byte> scratch,
                                   std::span<std::byte> dst) const {
  if (i >= impl_->frames.size()) {
    return Status::InvalidArgument("cold object: frame " + std::to_string(i) + " out of range");
  }
  const ColdFrameInfo& info = impl_->frames[i];
  const uint32_t logical = frame_logical_size(i);
  if (dst.size() < logical) return Status::InvalidArgument("cold object: dst too small");
  dst = dst.first(logical);
  auto bad = [i](const std::string& what) {
    return Corrupt("frame " + std::to_string(i) + ": " + what);
  };
  if (!info.compressed) {
    // Raw frames need no scratch: read them straight into place.
    TIERFS_RETURN_IF_ERROR(impl_->source->ReadExactAt(info.offset, dst));
  } else {
    if (scratch.size() < info.stored_size) {
      return Status::InvalidArgument("cold object: scratch too small");
    }
    const auto stored = scratch.first(info.stored_size);
    TIERFS_RETURN_IF_ERROR(impl_->source->ReadExactAt(info.offset, stored));
    if (ZSTD_getFrameContentSize(stored.data(), stored.size()) != logical) {
      return bad("zstd content size differs from frame size");
    }
    if (ZSTD_findFrameCompressedSize(stored.data(), stored.size()) != stored.size()) {
      return bad("not exactly one zstd frame");
    }
    ZSTD_DCtx* dctx = ThreadLocalDCtx();
    if (dctx == nullptr) return Status::NoMemory("cannot allocate a zstd decompression context");
    const size_t n =
        ZSTD_decompressDCtx(dctx, dst.data(), dst.size(), stored.data(), stored.size());
    if (ZSTD_isError(n)) {
      return bad(std::string("zstd: ") + ZSTD_getErrorName(n));
    }
    if (n != logical) return bad("decompressed size differs from frame size");
  }
  if (Checksum(dst) != info.checksum) return bad("checksum mismatch");
  return Status::OK();
}

}  // namespace tierfs
