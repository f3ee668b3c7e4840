// Byte layout of the cold object format, version 1 (see compress/FORMAT.md):
// sizes, field offsets and magics shared by the codec, its tests and fuzzer.
//
// Thread-safety: constants only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tierfs::cold_format {

inline constexpr uint16_t kVersion = 1;
inline constexpr std::string_view kHeaderMagic = "TIERFSC1";
inline constexpr std::string_view kFooterMagic = "TIERFSF1";
inline constexpr uint64_t kChecksumSeed = 0;  // XXH64 seed everywhere

// Header: 64 bytes at offset 0.
inline constexpr size_t kHeaderSize = 64;
inline constexpr size_t kHeaderMagicOffset = 0;
inline constexpr size_t kHeaderVersionOffset = 8;       // u16
inline constexpr size_t kHeaderCodecOffset = 10;        // u8
inline constexpr size_t kHeaderFlagsOffset = 11;        // u8
inline constexpr size_t kHeaderSizeOffset = 12;         // u32
inline constexpr size_t kHeaderFrameSizeOffset = 16;    // u32
inline constexpr size_t kHeaderReservedOffset = 20;     // u32
inline constexpr size_t kHeaderLogicalSizeOffset = 24;  // u64
inline constexpr size_t kHeaderFrameCountOffset = 32;   // u64
inline constexpr size_t kHeaderZeroOffset = 40;         // 16 zero bytes
inline constexpr size_t kHeaderZeroSize = 16;
inline constexpr size_t kHeaderChecksumOffset = 56;  // u64, XXH64 of bytes [0, 56)

// Index entry: 24 bytes each, frame_count of them at index_offset.
inline constexpr size_t kIndexEntrySize = 24;
inline constexpr size_t kEntryOffsetOffset = 0;      // u64
inline constexpr size_t kEntryStoredSizeOffset = 8;  // u32
inline constexpr size_t kEntryFlagsOffset = 12;      // u32
inline constexpr size_t kEntryChecksumOffset = 16;   // u64, XXH64 of the logical bytes
inline constexpr uint32_t kEntryFlagCompressed = 1u << 0;

// Footer: the last 32 bytes.
inline constexpr size_t kFooterSize = 32;
inline constexpr size_t kFooterIndexOffsetOffset = 0;     // u64
inline constexpr size_t kFooterFrameCountOffset = 8;      // u64
inline constexpr size_t kFooterIndexChecksumOffset = 16;  // u64, XXH64 of the index bytes
inline constexpr size_t kFooterMagicOffset = 24;

inline constexpr size_t kMinObjectSize = kHeaderSize + kFooterSize;

}  // namespace tierfs::cold_format
