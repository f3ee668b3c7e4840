// Regression corpus of broken cold objects: truncations, bit flips, crafted
// hostile fields (with checksums recomputed so the deep checks are reached)
// and the stored crasher files in tests/compress/corpus/. Every one must give
// a non-OK status, never a crash or an allocation sized by the hostile field.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <new>
#include <vector>

#include "compress/cold_format.h"
#include "compress/cold_object.h"
#include "compress/endian.h"
#include "compress/memory_io.h"
#include "tests/compress/test_util.h"

// Records the largest single operator-new allocation, so tests can assert
// that hostile sizes never reach an allocator.
namespace {
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

void* operator new(size_t n) {
  size_t seen = g_largest_allocation.load(std::memory_order_relaxed);
  while (n > seen && !g_largest_allocation.compare_exchange_weak(seen, n)) {
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  try {
    return operator new(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace tierfs {
namespace {

namespace cf = cold_format;
using testing::CheckObject;
using testing::EncodeObject;
using testing::MakeRandomData;
using testing::MakeTextData;
using testing::SealChecksums;

constexpr uint32_t k4K = 4096;
constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

Status Check(std::span<const std::byte> object) {
  MemorySource source(object);
  return CheckObject(&source);
}

bool IsRejection(const Status& s) {
  return s.code() == Code::kCorruption || s.code() == Code::kNotSupported;
}

// Three frames: compressed, raw, and a short compressed tail.
std::vector<std::byte> SmallObject() {
  auto data = MakeTextData(k4K, 1);
  const auto random = MakeRandomData(k4K, 2);
  const auto tail = MakeTextData(1000, 3);
  data.insert(data.end(), random.begin(), random.end());
  data.insert(data.end(), tail.begin(), tail.end());
  auto object = EncodeObject(data, k4K);
  EXPECT_TRUE(object.ok());
  return std::move(object).value();
}

std::vector<std::byte> BigObject() {
  auto object = EncodeObject(MakeTextData(64 * k4K + 77), k4K);
  EXPECT_TRUE(object.ok());
  return std::move(object).value();
}

uint64_t IndexOffset(const std::vector<std::byte>& object) {
  return GetLittleEndian<uint64_t>(&object[object.size() - cf::kFooterSize]);
}

template <class T>
void PatchHeader(std::vector<std::byte>& object, size_t offset, T value) {
  PutLittleEndian<T>(&object[offset], value);
  SealChecksums(object);
}
template <class T>
void PatchEntry(std::vector<std::byte>& object, size_t frame, size_t field, T value) {
  PutLittleEndian<T>(&object[IndexOffset(object) + frame * cf::kIndexEntrySize + field], value);
  SealChecksums(object);
}
void PatchFooter(std::vector<std::byte>& object, size_t field, uint64_t value) {
  PutLittleEndian<uint64_t>(&object[object.size() - cf::kFooterSize + field], value);
}

// Expects Corruption without any allocation larger than the object itself.
void ExpectCorruptionWithoutBigAllocation(const std::vector<std::byte>& object) {
  g_largest_allocation = 0;
  const Status s = Check(object);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_LE(g_largest_allocation.load(), std::max<size_t>(object.size(), 1 << 20));
}

TEST(CorruptionTest, BaseObjectsAreValid) {
  EXPECT_TRUE(Check(SmallObject()).ok());
  EXPECT_TRUE(Check(BigObject()).ok());
}

TEST(CorruptionTest, EveryTruncationOfSmallObjectIsRejected) {
  const auto object = SmallObject();
  for (size_t n = 0; n < object.size(); ++n) {
    const Status s = Check(std::span(object).first(n));
    ASSERT_TRUE(IsRejection(s)) << "length " << n << ": " << s.ToString();
  }
}

TEST(CorruptionTest, SelectedTruncationsOfBigObjectAreRejected) {
  const auto object = BigObject();
  const size_t n = object.size();
  for (size_t len : {size_t{0}, size_t{1}, size_t{63}, size_t{64}, size_t{95}, size_t{96},
                     size_t{97}, n / 3, n / 2, n - 57, n - 33, n - 32, n - 31, n - 24, n - 1}) {
    const Status s = Check(std::span(object).first(len));
    EXPECT_TRUE(IsRejection(s)) << "length " << len << ": " << s.ToString();
  }
}

// Every flip outside compressed payloads must be detected. Inside one, zstd
// ignores some bits (an unused header bit, slack in entropy tables), so a flip
// may decode to the very same bytes; what must never happen is a frame that
// decodes to different bytes without an error.
TEST(CorruptionTest, EveryBitFlipOfSmallObjectIsDetectedOrHarmless) {
  auto object = SmallObject();
  const auto original = testing::DecodeObject(object);
  ASSERT_TRUE(original.ok());
  std::vector<bool> in_compressed_payload(object.size());
  {
    MemorySource source(object);
    auto reader = ColdObjectReader::Open(&source);
    ASSERT_TRUE(reader.ok());
    for (size_t i = 0; i < (*reader)->frame_count(); ++i) {
      const ColdFrameInfo& f = (*reader)->frame(i);
      if (!f.compressed) continue;
      std::fill_n(in_compressed_payload.begin() + f.offset, f.stored_size, true);
    }
  }
  int harmless = 0;
  for (size_t pos = 0; pos < object.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      const auto mask = static_cast<std::byte>(1 << bit);
      object[pos] ^= mask;
      const auto decoded = testing::DecodeObject(object);
      object[pos] ^= mask;
      SCOPED_TRACE(::testing::Message() << "byte " << pos << " bit " << bit);
      if (decoded.ok() && in_compressed_payload[pos]) {
        ASSERT_TRUE(*decoded == *original);
        ++harmless;
      } else {
        ASSERT_TRUE(IsRejection(decoded.status())) << decoded.status().ToString();
      }
    }
  }
  // Sanity: the ignored bits are few.
  EXPECT_LT(harmless, 100);
}

TEST(CorruptionTest, WrongMagicsAreRejected) {
  auto object = SmallObject();
  object[cf::kHeaderMagicOffset + 7] = std::byte{'2'};
  SealChecksums(object);
  EXPECT_TRUE(Check(object).IsCorruption());
  object = SmallObject();
  object[object.size() - 1] = std::byte{'2'};
  EXPECT_TRUE(Check(object).IsCorruption());
}

TEST(CorruptionTest, NewerVersionIsNotSupported) {
  auto object = SmallObject();
  PatchHeader<uint16_t>(object, cf::kHeaderVersionOffset, 2);
  const Status s = Check(object);
  EXPECT_EQ(s.code(), Code::kNotSupported) << s.ToString();
  EXPECT_NE(s.message().find("version 2"), std::string::npos) << s.ToString();
  PatchHeader<uint16_t>(object, cf::kHeaderVersionOffset, 0);
  EXPECT_TRUE(Check(object).IsCorruption());
}

TEST(CorruptionTest, InvalidHeaderFieldsWithValidChecksumAreRejected) {
  struct Case {
    size_t offset;
    size_t width;
    uint64_t value;
  };
  for (const Case& c : std::initializer_list<Case>{
           {cf::kHeaderCodecOffset, 1, 2},
           {cf::kHeaderFlagsOffset, 1, 1},
           {cf::kHeaderSizeOffset, 4, 128},
           {cf::kHeaderReservedOffset, 4, 1},
           {cf::kHeaderZeroOffset + 15, 1, 1},
           {cf::kHeaderFrameSizeOffset, 4, 0},
           {cf::kHeaderFrameSizeOffset, 4, 4097},
           {cf::kHeaderFrameSizeOffset, 4, 8192},
           {cf::kHeaderFrameSizeOffset, 4, kMaxFrameSize + k4K},
           {cf::kHeaderLogicalSizeOffset, 8, 1},
       }) {
    auto object = SmallObject();
    if (c.width == 1) PatchHeader<uint8_t>(object, c.offset, c.value);
    if (c.width == 4) PatchHeader<uint32_t>(object, c.offset, c.value);
    if (c.width == 8) PatchHeader<uint64_t>(object, c.offset, c.value);
    const Status s = Check(object);
    EXPECT_TRUE(s.IsCorruption()) << "offset " << c.offset << ": " << s.ToString();
  }
}

TEST(CorruptionTest, HugeHeaderValuesAreRejectedWithoutAllocating) {
  auto object = SmallObject();
  PatchHeader<uint64_t>(object, cf::kHeaderFrameCountOffset, kMax64);
  ExpectCorruptionWithoutBigAllocation(object);

  // A consistent but huge logical size, in header and footer alike.
  object = SmallObject();
  const uint64_t huge_count = kMax64 / k4K + 1;
  PatchHeader<uint64_t>(object, cf::kHeaderLogicalSizeOffset, kMax64);
  PatchHeader<uint64_t>(object, cf::kHeaderFrameCountOffset, huge_count);
  PatchFooter(object, cf::kFooterFrameCountOffset, huge_count);
  ExpectCorruptionWithoutBigAllocation(object);

  // frame_count * 24 wraps around to a small number.
  object = SmallObject();
  const uint64_t wrapping_count = (kMax64 / cf::kIndexEntrySize) + 1;
  PatchHeader<uint64_t>(object, cf::kHeaderLogicalSizeOffset, wrapping_count * k4K);
  PatchHeader<uint64_t>(object, cf::kHeaderFrameCountOffset, wrapping_count);
  PatchFooter(object, cf::kFooterFrameCountOffset, wrapping_count);
  ExpectCorruptionWithoutBigAllocation(object);
}

TEST(CorruptionTest, HugeFooterValuesAreRejectedWithoutAllocating) {
  for (uint64_t index_offset : {uint64_t{0}, uint64_t{63}, kMax64, kMax64 - 100}) {
    auto object = SmallObject();
    PatchFooter(object, cf::kFooterIndexOffsetOffset, index_offset);
    ExpectCorruptionWithoutBigAllocation(object);
  }
  auto object = SmallObject();
  PatchFooter(object, cf::kFooterFrameCountOffset, kMax64);
  ExpectCorruptionWithoutBigAllocation(object);
}

TEST(CorruptionTest, InvalidIndexEntriesWithValidChecksumAreRejected) {
  struct Case {
    size_t frame;
    size_t field;
    bool wide;
    uint64_t value;
  };
  const auto base = SmallObject();
  const uint64_t frame1 = GetLittleEndian<uint64_t>(&base[IndexOffset(base) + 24]);
  for (const Case& c : std::initializer_list<Case>{
           {0, cf::kEntryOffsetOffset, true, kMax64},
           {0, cf::kEntryOffsetOffset, true, kMax64 - 10},
           {0, cf::kEntryOffsetOffset, true, 0},
           {0, cf::kEntryOffsetOffset, true, 65},
           {1, cf::kEntryOffsetOffset, true, frame1 - 1},  // overlaps frame 0
           {1, cf::kEntryOffsetOffset, true, frame1 + 1},  // gap
           {0, cf::kEntryStoredSizeOffset, false, 0xFFFFFFFF},
           {0, cf::kEntryStoredSizeOffset, false, k4K},      // compressed must shrink
           {1, cf::kEntryStoredSizeOffset, false, k4K - 1},  // raw must be exact
           {2, cf::kEntryStoredSizeOffset, false, 0},
           {0, cf::kEntryFlagsOffset, false, 2},
           {1, cf::kEntryFlagsOffset, false, 1},  // raw frame marked compressed
       }) {
    auto object = base;
    if (c.wide) {
      PatchEntry<uint64_t>(object, c.frame, c.field, c.value);
    } else {
      PatchEntry<uint32_t>(object, c.frame, c.field, static_cast<uint32_t>(c.value));
    }
    SCOPED_TRACE(::testing::Message() << "frame " << c.frame << " field " << c.field);
    ExpectCorruptionWithoutBigAllocation(object);
  }
}

TEST(CorruptionTest, CompressedFrameInUncompressedObjectIsRejected) {
  auto object = SmallObject();
  PatchHeader<uint8_t>(object, cf::kHeaderCodecOffset, static_cast<uint8_t>(Codec::kNone));
  EXPECT_TRUE(Check(object).IsCorruption());
}

TEST(CorruptionTest, StoredCorpusIsRejected) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CORPUS_DIR)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<char> chars{std::istreambuf_iterator<char>(in), {}};
    std::vector<std::byte> object(chars.size());
    std::transform(chars.begin(), chars.end(), object.begin(),
                   [](char c) { return static_cast<std::byte>(c); });
    g_largest_allocation = 0;
    const Status s = Check(object);
    EXPECT_TRUE(IsRejection(s)) << entry.path() << ": " << s.ToString();
    EXPECT_LE(g_largest_allocation.load(), std::max<size_t>(object.size(), 1 << 20))
        << entry.path();
    ++files;
  }
  EXPECT_GE(files, 5);
}

}  // namespace
}  // namespace tierfs
