// Round-trip, random-access and argument tests for ColdObjectWriter/Reader.
#include "compress/cold_object.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <tuple>
#include <vector>

#include "compress/cold_format.h"
#include "compress/endian.h"
#include "compress/memory_io.h"
#include "tests/compress/test_util.h"

namespace tierfs {
namespace {

using testing::DecodeObject;
using testing::EncodeObject;
using testing::MakeRandomData;
using testing::MakeTextData;

constexpr uint32_t k4K = 4096;
constexpr uint32_t k64K = 64 << 10;

// Counts the reads that reach the underlying source.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(std::span<const std::byte> data) : inner_(data) {}
  uint64_t size() const override { return inner_.size(); }
  Status ReadExactAt(uint64_t offset, std::span<std::byte> dst) override {
    ++reads;
    last_offset = offset;
    last_size = dst.size();
    return inner_.ReadExactAt(offset, dst);
  }
  int reads = 0;
  uint64_t last_offset = 0;
  uint64_t last_size = 0;

 private:
  MemorySource inner_;
};

class FailingSink final : public ByteSink {
 public:
  explicit FailingSink(int ok_appends) : ok_appends_(ok_appends) {}
  Status Append(std::span<const std::byte>) override {
    if (ok_appends_-- > 0) return Status::OK();
    return Status::IOError("injected", 5);
  }

 private:
  int ok_appends_;
};

enum class DataKind { kText, kRandom };

// (logical size, frame size, codec, level, data kind)
using RoundTripParam = std::tuple<size_t, uint32_t, Codec, int, DataKind>;

class RoundTripTest : public ::testing::TestWithParam<RoundTripParam> {};

TEST_P(RoundTripTest, DecodesWhatWasEncoded) {
  const auto [size, frame_size, codec, level, kind] = GetParam();
  const auto data = kind == DataKind::kText ? MakeTextData(size) : MakeRandomData(size);
  auto object = EncodeObject(data, frame_size, {codec, level});
  ASSERT_TRUE(object.ok()) << object.status().ToString();

  MemorySource source(*object);
  auto reader = ColdObjectReader::Open(&source);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->logical_size(), size);
  EXPECT_EQ((*reader)->frame_size(), frame_size);
  EXPECT_EQ((*reader)->codec(), codec);
  EXPECT_EQ((*reader)->frame_count(), (size + frame_size - 1) / frame_size);

  uint64_t stored_total = 0;
  for (size_t i = 0; i < (*reader)->frame_count(); ++i) {
    const ColdFrameInfo& f = (*reader)->frame(i);
    const uint32_t logical = (*reader)->frame_logical_size(i);
    EXPECT_LE(f.stored_size, logical);
    stored_total += f.stored_size;
    // Text compresses well except in tiny tail frames; random data never does.
    if (codec == Codec::kNone || kind == DataKind::kRandom) {
      EXPECT_FALSE(f.compressed) << "frame " << i;
      EXPECT_EQ(f.stored_size, logical);
    } else if (logical >= k4K) {
      EXPECT_TRUE(f.compressed) << "frame " << i;
      EXPECT_LT(f.stored_size * 2, logical) << "frame " << i;
    }
  }
  EXPECT_EQ(object->size(), cold_format::kHeaderSize + stored_total +
                                (*reader)->frame_count() * cold_format::kIndexEntrySize +
                                cold_format::kFooterSize);

  auto decoded = DecodeObject(&source);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(*decoded == data);
}

INSTANTIATE_TEST_SUITE_P(Sizes, RoundTripTest,
                         ::testing::Combine(::testing::Values(0, 1, 4095, k64K, k64K + 1,
                                                              10 * k64K + 123),
                                            ::testing::Values(k64K),
                                            ::testing::Values(Codec::kZstd), ::testing::Values(3),
                                            ::testing::Values(DataKind::kText, DataKind::kRandom)));

INSTANTIATE_TEST_SUITE_P(FrameSizes, RoundTripTest,
                         ::testing::Combine(::testing::Values(3 * (1 << 20) + 17),
                                            ::testing::Values(k4K, 3 * k4K, k64K, 256u << 10,
                                                              1u << 20),
                                            ::testing::Values(Codec::kZstd), ::testing::Values(1),
                                            ::testing::Values(DataKind::kText)));

INSTANTIATE_TEST_SUITE_P(Levels, RoundTripTest,
                         ::testing::Combine(::testing::Values(300000), ::testing::Values(k64K),
                                            ::testing::Values(Codec::kZstd),
                                            ::testing::Values(1, 3, 19),
                                            ::testing::Values(DataKind::kText, DataKind::kRandom)));

INSTANTIATE_TEST_SUITE_P(NoCodec, RoundTripTest,
                         ::testing::Combine(::testing::Values(0, 1, k4K, 5 * k4K + 7),
                                            ::testing::Values(k4K), ::testing::Values(Codec::kNone),
                                            ::testing::Values(0),
                                            ::testing::Values(DataKind::kText, DataKind::kRandom)));

TEST(ColdObjectTest, MaxFrameSizeRoundTrips) {
  const auto data = MakeTextData(kMaxFrameSize + 5);
  auto object = EncodeObject(data, kMaxFrameSize, {Codec::kZstd, 1});
  ASSERT_TRUE(object.ok()) << object.status().ToString();
  auto decoded = DecodeObject(*object);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_TRUE(*decoded == data);
}

TEST(ColdObjectTest, EmptyObjectIsHeaderAndFooterOnly) {
  auto object = EncodeObject({}, k4K);
  ASSERT_TRUE(object.ok());
  EXPECT_EQ(object->size(), cold_format::kMinObjectSize);
  MemorySource source(*object);
  auto reader = ColdObjectReader::Open(&source);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ((*reader)->frame_count(), 0u);
}

TEST(ColdObjectTest, RandomFrameReadTouchesOnlyThatFrame) {
  const auto data = MakeTextData(20 * k4K + 100);
  auto object = EncodeObject(data, k4K);
  ASSERT_TRUE(object.ok());
  CountingSource source(*object);
  auto reader = ColdObjectReader::Open(&source);
  ASSERT_TRUE(reader.ok());
  std::vector<std::byte> scratch(k4K), dst(k4K);
  for (size_t i : {13u, 0u, 20u, 7u}) {
    source.reads = 0;
    ASSERT_TRUE((*reader)->ReadFrame(i, scratch, dst).ok());
    EXPECT_EQ(source.reads, 1);
    EXPECT_EQ(source.last_offset, (*reader)->frame(i).offset);
    EXPECT_EQ(source.last_size, (*reader)->frame(i).stored_size);
    const uint32_t n = (*reader)->frame_logical_size(i);
    EXPECT_TRUE(std::equal(dst.begin(), dst.begin() + n, data.begin() + i * k4K));
  }
}

TEST(ColdObjectTest, ConcurrentReadersShareNothing) {
  const auto data = MakeTextData(64 * k4K);
  auto object = EncodeObject(data, k4K);
  ASSERT_TRUE(object.ok());
  MemorySource source(*object);
  auto reader = ColdObjectReader::Open(&source);
  ASSERT_TRUE(reader.ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::byte> scratch(k4K), dst(k4K);
      for (size_t i = t; i < 64; i += 2) {
        const bool same = (*reader)->ReadFrame(i, scratch, dst).ok() &&
                          std::equal(dst.begin(), dst.end(), data.begin() + i * k4K);
        if (!same) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(ColdObjectTest, RawFrameChecksumMismatchIsCorruption) {
  const auto data = MakeRandomData(3 * k4K);
  auto object = EncodeObject(data, k4K);
  ASSERT_TRUE(object.ok());
  (*object)[cold_format::kHeaderSize + k4K + 10] ^= std::byte{0x40};  // inside frame 1
  MemorySource source(*object);
  auto reader = ColdObjectReader::Open(&source);
  ASSERT_TRUE(reader.ok());
  std::vector<std::byte> scratch(k4K), dst(k4K);
  EXPECT_TRUE((*reader)->ReadFrame(0, scratch, dst).ok());
  const Status s = (*reader)->ReadFrame(1, scratch, dst);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.ToString();
  EXPECT_TRUE((*reader)->ReadFrame(2, scratch, dst).ok());
}

TEST(ColdObjectTest, CompressedFrameChecksumIsVerified) {
  const auto data = MakeTextData(2 * k4K);
  auto object = EncodeObject(data, k4K);
  ASSERT_TRUE(object.ok());
  // Change frame 0's recorded checksum and re-seal the index, so only the
  // per-frame check can notice.
  auto& bytes = *object;
  const uint64_t index_offset = GetLittleEndian<uint64_t>(&bytes[bytes.size() - 32]);
  std::byte* entry = &bytes[index_offset];
  PutLittleEndian<uint64_t>(entry + cold_format::kEntryChecksumOffset, 12345);
  testing::SealChecksums(bytes);
  MemorySource source(bytes);
  auto reader = ColdObjectReader::Open(&source);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  ASSERT_TRUE((*reader)->frame(0).compressed);
  std::vector<std::byte> scratch(k4K), dst(k4K);
  const Status s = (*reader)->ReadFrame(0, scratch, dst);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("checksum"), std::string::npos) << s.ToString();
}

TEST(ColdObjectTest, ReadFrameChecksArguments) {
  const auto data = MakeTextData(k4K + 10);
  auto object = EncodeObject(data, k4K);
  ASSERT_TRUE(object.ok());
  MemorySource source(*object);
  auto reader = ColdObjectReader::Open(&source);
  ASSERT_TRUE(reader.ok());
  std::vector<std::byte> scratch(k4K), dst(k4K), tiny(5);
  EXPECT_EQ((*reader)->ReadFrame(2, scratch, dst).code(), Code::kInvalidArgument);
  EXPECT_EQ((*reader)->ReadFrame(0, scratch, tiny).code(), Code::kInvalidArgument);
  EXPECT_EQ((*reader)->ReadFrame(0, tiny, dst).code(), Code::kInvalidArgument);
  // The 10-byte tail frame fits a 10-byte dst.
  EXPECT_TRUE((*reader)->ReadFrame(1, scratch, std::span(dst).first(10)).ok());
}

TEST(ColdObjectTest, CreateRejectsBadArguments) {
  MemorySink sink;
  const CompressionOptions zstd3{Codec::kZstd, 3};
  for (uint32_t fs : {0u, 1u, 4095u, 5000u, kMaxFrameSize + k4K}) {
    EXPECT_EQ(ColdObjectWriter::Create(&sink, 10, fs, zstd3).status().code(),
              Code::kInvalidArgument)
        << fs;
  }
  for (int level : {0, -1, 20}) {
    EXPECT_EQ(ColdObjectWriter::Create(&sink, 10, k4K, {Codec::kZstd, level}).status().code(),
              Code::kInvalidArgument)
        << level;
  }
  EXPECT_TRUE(ColdObjectWriter::Create(&sink, 10, k4K, {Codec::kNone, 0}).ok());
  EXPECT_EQ(ColdObjectWriter::Create(&sink, 10, k4K, {static_cast<Codec>(7), 3}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ColdObjectWriter::Create(nullptr, 10, k4K, zstd3).status().code(),
            Code::kInvalidArgument);
}

TEST(ColdObjectTest, WriterEnforcesFrameSequence) {
  const auto data = MakeTextData(2 * k4K + 1);
  const auto bytes = std::span<const std::byte>(data);
  MemorySink sink;
  auto writer = ColdObjectWriter::Create(&sink, data.size(), k4K, {});
  ASSERT_TRUE(writer.ok());
  auto& w = **writer;
  EXPECT_EQ(w.AddFrame(bytes.first(k4K - 1)).code(), Code::kInvalidArgument);
  ASSERT_TRUE(w.AddFrame(bytes.first(k4K)).ok());
  EXPECT_EQ(w.Finish().code(), Code::kInvalidArgument);  // bytes missing
  ASSERT_TRUE(w.AddFrame(bytes.subspan(k4K, k4K)).ok());
  EXPECT_EQ(w.AddFrame(bytes.subspan(2 * k4K, 2)).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.AddFrame({}).code(), Code::kInvalidArgument);
  ASSERT_TRUE(w.AddFrame(bytes.subspan(2 * k4K)).ok());
  EXPECT_EQ(w.AddFrame(bytes.first(1)).code(), Code::kInvalidArgument);  // too much
  ASSERT_TRUE(w.Finish().ok());
  EXPECT_EQ(w.stored_bytes(), sink.data().size());
  EXPECT_EQ(w.Finish().code(), Code::kInvalidArgument);
  auto decoded = DecodeObject(sink.data());
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(*decoded == data);
}

TEST(ColdObjectTest, SinkErrorsPropagateAndStick) {
  const auto data = MakeTextData(3 * k4K);
  const auto bytes = std::span<const std::byte>(data);
  EXPECT_EQ(
      ColdObjectWriter::Create(std::make_unique<FailingSink>(0).get(), 1, k4K, {}).status().code(),
      Code::kIOError);
  FailingSink sink(2);  // header and frame 0 succeed
  auto writer = ColdObjectWriter::Create(&sink, data.size(), k4K, {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->AddFrame(bytes.first(k4K)).ok());
  const Status s = (*writer)->AddFrame(bytes.subspan(k4K, k4K));
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(s.posix_errno(), 5);
  EXPECT_EQ((*writer)->AddFrame(bytes.subspan(2 * k4K)).code(), Code::kIOError);
  EXPECT_EQ((*writer)->Finish().code(), Code::kIOError);
}

}  // namespace
}  // namespace tierfs
