// Benchmarks of the cold object codec, one frame at a time: compression
// (ColdObjectWriter::AddFrame) and decompression (ColdObjectReader::ReadFrame)
// swept over zstd level (0 = codec none, the copy-only baseline) and frame
// size, on deterministic text-like data.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "compress/cold_object.h"
#include "compress/memory_io.h"
#include "tests/compress/test_util.h"

namespace tierfs {
namespace {

constexpr int kFramesInData = 8;  // distinct frames cycled through

// Counts appended bytes and drops them.
class CountingSink final : public ByteSink {
 public:
  Status Append(std::span<const std::byte> data) override {
    bytes += data.size();
    return Status::OK();
  }
  uint64_t bytes = 0;
};

CompressionOptions OptionsFor(int level) {
  return level == 0 ? CompressionOptions{Codec::kNone, 0} : CompressionOptions{Codec::kZstd, level};
}

void SweepArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"level", "frame"});
  b->ArgsProduct({{0, 1, 3, 9, 19}, {64 << 10, 256 << 10, 1 << 20}});
}

void BM_Compress_Frame(benchmark::State& state) {
  const int level = static_cast<int>(state.range(0));
  const auto frame_size = static_cast<uint32_t>(state.range(1));
  const auto data = testing::MakeTextData(size_t{kFramesInData} * frame_size);
  CountingSink sink;
  // Large enough that the writer never runs out of frames.
  auto writer =
      ColdObjectWriter::Create(&sink, uint64_t{frame_size} << 32, frame_size, OptionsFor(level));
  if (!writer.ok()) return state.SkipWithError(writer.status().ToString().c_str());
  const uint64_t header_bytes = sink.bytes;
  int64_t frames = 0;
  for (auto _ : state) {
    const auto frame =
        std::span(data).subspan(size_t{frame_size} * (frames % kFramesInData), frame_size);
    if (Status s = (*writer)->AddFrame(frame); !s.ok()) {
      return state.SkipWithError(s.ToString().c_str());
    }
    ++frames;
  }
  state.SetBytesProcessed(frames * frame_size);
  state.counters["ratio"] =
      static_cast<double>(frames * frame_size) / static_cast<double>(sink.bytes - header_bytes);
}
BENCHMARK(BM_Compress_Frame)->Apply(SweepArgs);

void BM_Decompress_Frame(benchmark::State& state) {
  const int level = static_cast<int>(state.range(0));
  const auto frame_size = static_cast<uint32_t>(state.range(1));
  const auto data = testing::MakeTextData(size_t{kFramesInData} * frame_size);
  auto object = testing::EncodeObject(data, frame_size, OptionsFor(level));
  if (!object.ok()) return state.SkipWithError(object.status().ToString().c_str());
  MemorySource source(*object);
  auto reader = ColdObjectReader::Open(&source);
  if (!reader.ok()) return state.SkipWithError(reader.status().ToString().c_str());
  uint64_t stored = 0;
  for (int i = 0; i < kFramesInData; ++i) stored += (*reader)->frame(i).stored_size;
  std::vector<std::byte> scratch(frame_size), dst(frame_size);
  int64_t frames = 0;
  for (auto _ : state) {
    if (Status s = (*reader)->ReadFrame(frames % kFramesInData, scratch, dst); !s.ok()) {
      return state.SkipWithError(s.ToString().c_str());
    }
    benchmark::DoNotOptimize(dst.data());
    ++frames;
  }
  state.SetBytesProcessed(frames * frame_size);
  state.counters["ratio"] = static_cast<double>(data.size()) / static_cast<double>(stored);
}
BENCHMARK(BM_Decompress_Frame)->Apply(SweepArgs);

}  // namespace
}  // namespace tierfs
