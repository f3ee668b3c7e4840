// Helpers shared by the compress/ tests, fuzzer and benchmark: deterministic
// test data and whole-object encode/decode over memory.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "compress/cold_format.h"
#include "compress/cold_object.h"
#include "compress/endian.h"
#include "compress/memory_io.h"

namespace tierfs::testing {

// Text-like data (words from a small dictionary, numbers, punctuation) that
// compresses roughly like logs or source code.
inline std::vector<std::byte> MakeTextData(size_t n, uint32_t seed = 1) {
  static constexpr std::array<std::string_view, 24> kWords = {
      "the",   "object", "store",  "frame", "cold",  "hot",    "tier",  "inode",
      "read",  "write",  "status", "index", "error", "bytes",  "cache", "policy",
      "mount", "fuse",   "chunk",  "file",  "data",  "offset", "size",  "checksum"};
  std::mt19937 rng(seed);
  std::vector<std::byte> out;
  out.reserve(n + 32);
  std::string token;
  while (out.size() < n) {
    const uint32_t r = rng();
    if (r % 7 == 0) {
      token = std::to_string(r % 100000) + (r % 3 == 0 ? ",\n" : " ");
    } else {
      token = std::string(kWords[r % kWords.size()]) + " ";
    }
    for (char c : token) out.push_back(static_cast<std::byte>(c));
  }
  out.resize(n);
  return out;
}

// Incompressible bytes.
inline std::vector<std::byte> MakeRandomData(size_t n, uint32_t seed = 1) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng());
  return out;
}

// Encodes data as one cold object; Result so tests can ASSERT on it.
inline Result<std::vector<std::byte>> EncodeObject(std::span<const std::byte> data,
                                                   uint32_t frame_size,
                                                   CompressionOptions opts = {}) {
  MemorySink sink;
  TIERFS_ASSIGN_OR_RETURN(auto writer,
                          ColdObjectWriter::Create(&sink, data.size(), frame_size, opts));
  for (size_t pos = 0; pos < data.size(); pos += frame_size) {
    TIERFS_RETURN_IF_ERROR(
        writer->AddFrame(data.subspan(pos, std::min<size_t>(frame_size, data.size() - pos))));
  }
  TIERFS_RETURN_IF_ERROR(writer->Finish());
  return std::move(sink.data());
}

// Opens an object and decodes every frame in turn into one frame-sized
// buffer, passing each to visit; the first error wins. Allocates nothing
// sized by the object beyond one frame, so it is safe on hostile input.
inline Status VisitFrames(ByteSource* source,
                          const std::function<void(std::span<const std::byte>)>& visit) {
  TIERFS_ASSIGN_OR_RETURN(auto reader, ColdObjectReader::Open(source));
  std::vector<std::byte> scratch(reader->frame_size());
  std::vector<std::byte> frame(reader->frame_size());
  for (size_t i = 0; i < reader->frame_count(); ++i) {
    TIERFS_RETURN_IF_ERROR(reader->ReadFrame(i, scratch, frame));
    visit(std::span(frame).first(reader->frame_logical_size(i)));
  }
  return Status::OK();
}

inline Status CheckObject(ByteSource* source) {
  return VisitFrames(source, [](std::span<const std::byte>) {});
}

inline Result<std::vector<std::byte>> DecodeObject(ByteSource* source) {
  std::vector<std::byte> out;
  TIERFS_RETURN_IF_ERROR(VisitFrames(
      source, [&](std::span<const std::byte> f) { out.insert(out.end(), f.begin(), f.end()); }));
  return out;
}

inline Result<std::vector<std::byte>> DecodeObject(std::span<const std::byte> object) {
  MemorySource source(object);
  return DecodeObject(&source);
}

// Recomputes the header checksum and, when the footer's index_offset lies
// inside the object, the index checksum, so that a deliberately patched field
// gets past them to the deeper checks. Leaves objects under 96 bytes alone.
inline void SealChecksums(std::vector<std::byte>& object) {
  namespace cf = cold_format;
  if (object.size() < cf::kMinObjectSize) return;
  PutLittleEndian<uint64_t>(&object[cf::kHeaderChecksumOffset],
                            XXH64(object.data(), cf::kHeaderChecksumOffset, cf::kChecksumSeed));
  const size_t footer = object.size() - cf::kFooterSize;
  const auto index_offset = GetLittleEndian<uint64_t>(&object[footer]);
  if (index_offset > footer) return;
  PutLittleEndian<uint64_t>(
      &object[footer + cf::kFooterIndexChecksumOffset],
      XXH64(object.data() + index_offset, footer - index_offset, cf::kChecksumSeed));
}

}  // namespace tierfs::testing
