// Benchmarks of the object store API (Google Benchmark), each against the
// obvious alternative in the same run:
//   BM_Read_Pooled/<bytes>    read a hot object into a pooled lease
//   BM_Read_Reserved/<bytes>  ... into a fresh std::vector sized up front
//   BM_Read_Growing/<bytes>   ... into a std::vector grown as data arrives
//   BM_Read_RawPread/<bytes>  pread of the object file into a reused buffer (ceiling)
//   BM_Write_Hot/<bytes>      overwrite a hot object
//   BM_Read_Cold/<bytes>/<cache>  read a cold (compressed) object, frame cache off/on
//   BM_Read_Cold_Random4K     4 KiB reads at random offsets of a 16 MiB cold
//                             object, frame cache off (one frame each)
//   BM_Demote/<bytes>         hot -> cold move (compress + fsync + rename)
//   BM_Read_Pooled_Concurrent 64 KiB pooled reads from 1..8 threads
// Objects live in a store under $TIERFS_BENCH_DIR (default /tmp); data is
// in the page cache, so these measure the store's own overhead and copies.
// With CEPH_CONF and TIERFS_BENCH_RADOS_POOL set, the cold benchmarks run a
// second time with the cold tier in that pool (a namespace of their own,
// emptied at exit): BM_Read_Cold_Rados, BM_Read_Cold_Random4K_Rados,
// BM_Demote_Rados (scripts/bench-rados.sh runs them beside rados bench).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "store/object_store.h"
#include "tests/store/test_util.h"

namespace tierfs {
namespace {

constexpr size_t kSizes[] = {4 << 10, 64 << 10, 256 << 10, 1 << 20, 16 << 20};
constexpr size_t kGrowStep = 4096;  // the naive loop reads a page at a time

// Where the cold tier is: a directory in the store, or a RADOS pool.
enum class ColdOn { kDir, kRados };

const char* RadosPool() { return std::getenv("TIERFS_BENCH_RADOS_POOL"); }

// Stores for the whole run (frame cache on and off, for each cold tier
// used), opened when first used and emptied and removed at exit.
class BenchStore {
 public:
  static BenchStore& Get(bool frame_cache = true, ColdOn cold = ColdOn::kDir) {
    if (cold == ColdOn::kRados) {
      static BenchStore cached(true, cold), uncached(false, cold);
      return frame_cache ? cached : uncached;
    }
    static BenchStore cached(true, cold), uncached(false, cold);
    return frame_cache ? cached : uncached;
  }
  ObjectStore& store() { return *store_; }
  // A hot object of `bytes` (created once), key group = size.
  ObjectKey Hot(size_t bytes) {
    std::lock_guard lock(mu_);
    ObjectKey k{bytes, 0};
    if (!store_->Stat(k).ok()) Fill(k, bytes, /*text=*/false);
    return k;
  }
  // A cold object of compressible data; group = size + 1.
  ObjectKey Cold(size_t bytes) {
    std::lock_guard lock(mu_);
    ObjectKey k{bytes + 1, 0};
    if (!store_->Stat(k).ok()) {
      Fill(k, bytes, /*text=*/true);
      Check(store_->Demote(k));
    }
    return k;
  }
  static void Check(const Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "store_bench: %s\n", s.ToString().c_str());
      std::abort();
    }
  }

 private:
  BenchStore(bool frame_cache, ColdOn cold) {
    const char* base = std::getenv("TIERFS_BENCH_DIR");
    const std::string name = std::string("tierfs_store_bench_") + std::to_string(getpid()) +
                             (frame_cache ? "_cached" : "_uncached") +
                             (cold == ColdOn::kRados ? "_rados" : "");
    dir_ = std::string(base ? base : "/tmp") + "/" + name;
    StoreOptions o;
    if (cold == ColdOn::kRados) {
      o.rados.pool = RadosPool();
      o.rados.conf = std::getenv("CEPH_CONF");
      o.rados.ns = name;
    }
    o.max_io = 16 << 20;
    o.buffer_pool_bytes = 128ull << 20;
    o.frame_cache_bytes = frame_cache ? 64ull << 20 : 0;
    auto s = ObjectStore::Open(Env::Default(), dir_, o);
    Check(s.status());
    store_ = std::move(s).value();
  }
  ~BenchStore() {
    for (const ObjectInfo& o : store_->List()) (void)store_->Remove(o.key);  // the pool too
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Fill(ObjectKey k, size_t bytes, bool text) {
    auto data = text ? test::TextBytes(bytes, 1) : test::RandomBytes(bytes, 1);
    Check(store_->Write(k, 0, data));
  }
  std::mutex mu_;
  std::string dir_;
  std::unique_ptr<ObjectStore> store_;
};

void Sizes(benchmark::internal::Benchmark* b) {
  for (size_t s : kSizes) b->Arg(static_cast<int64_t>(s));
}

void BM_Read_Pooled(benchmark::State& state) {
  auto& bs = BenchStore::Get();
  const size_t n = static_cast<size_t>(state.range(0));
  ObjectKey k = bs.Hot(n);
  for (auto _ : state) {
    auto lease = bs.store().ReadLease(k, 0, n);
    BenchStore::Check(lease.status());
    benchmark::DoNotOptimize(lease->data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["overflow"] = static_cast<double>(bs.store().pool().stats().overflow_allocations);
}
BENCHMARK(BM_Read_Pooled)->Apply(Sizes);

void BM_Read_Reserved(benchmark::State& state) {
  auto& bs = BenchStore::Get();
  const size_t n = static_cast<size_t>(state.range(0));
  ObjectKey k = bs.Hot(n);
  for (auto _ : state) {
    std::vector<std::byte> v(n);
    BenchStore::Check(bs.store().Read(k, 0, v).status());
    benchmark::DoNotOptimize(v.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Read_Reserved)->Apply(Sizes);

void BM_Read_Growing(benchmark::State& state) {
  auto& bs = BenchStore::Get();
  const size_t n = static_cast<size_t>(state.range(0));
  ObjectKey k = bs.Hot(n);
  for (auto _ : state) {
    std::vector<std::byte> v;
    for (;;) {
      const size_t old = v.size();
      v.resize(old + kGrowStep);
      auto got = bs.store().Read(k, old, std::span(v).subspan(old));
      BenchStore::Check(got.status());
      v.resize(old + *got);
      if (*got < kGrowStep) break;
    }
    benchmark::DoNotOptimize(v.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Read_Growing)->Apply(Sizes);

void BM_Read_RawPread(benchmark::State& state) {
  auto& bs = BenchStore::Get();
  const size_t n = static_cast<size_t>(state.range(0));
  ObjectKey k = bs.Hot(n);
  int fd = ::open(bs.store().HotPath(k).c_str(), O_RDONLY);
  std::vector<std::byte> buf(n);
  for (auto _ : state) {
    ssize_t got = ::pread(fd, buf.data(), n, 0);
    if (got != static_cast<ssize_t>(n)) state.SkipWithError("short pread");
    benchmark::DoNotOptimize(buf.data());
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Read_RawPread)->Apply(Sizes);

void BM_Write_Hot(benchmark::State& state) {
  auto& bs = BenchStore::Get();
  const size_t n = static_cast<size_t>(state.range(0));
  const ObjectKey k{(1ull << 40) + n, 0};
  auto data = test::RandomBytes(n, 2);
  for (auto _ : state) BenchStore::Check(bs.store().Write(k, 0, data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_Write_Hot)->Arg(1 << 10)->Apply(Sizes);

void ReadCold(benchmark::State& state, ColdOn cold) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto& bs = BenchStore::Get(/*frame_cache=*/state.range(1) != 0, cold);
  ObjectKey k = bs.Cold(n);
  std::vector<std::byte> buf(std::min<size_t>(n, 1 << 20));
  for (auto _ : state) {
    for (size_t off = 0; off < n; off += buf.size()) {
      BenchStore::Check(bs.store().Read(k, off, buf).status());
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
  state.counters["ratio"] = static_cast<double>(n) / bs.store().Stat(k)->stored_bytes;
}
void BM_Read_Cold(benchmark::State& state) { ReadCold(state, ColdOn::kDir); }
void ReadColdArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"bytes", "cache"})->ArgsProduct({{64 << 10, 1 << 20, 16 << 20}, {0, 1}});
}
BENCHMARK(BM_Read_Cold)->Apply(ReadColdArgs);

void ReadColdRandom4K(benchmark::State& state, ColdOn cold) {
  constexpr size_t kObject = 16 << 20, kRead = 4096;
  auto& bs = BenchStore::Get(/*frame_cache=*/false, cold);
  ObjectKey k = bs.Cold(kObject);
  std::vector<std::byte> buf(kRead);
  std::mt19937_64 rng(7);
  const uint64_t decoded = bs.store().stats().frames_decoded;
  for (auto _ : state) {
    BenchStore::Check(bs.store().Read(k, rng() % (kObject / kRead) * kRead, buf).status());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRead));
  state.counters["frames_per_read"] =
      static_cast<double>(bs.store().stats().frames_decoded - decoded) /
      static_cast<double>(state.iterations());
}
void BM_Read_Cold_Random4K(benchmark::State& state) { ReadColdRandom4K(state, ColdOn::kDir); }
BENCHMARK(BM_Read_Cold_Random4K)->UseRealTime();

void Demote(benchmark::State& state, ColdOn cold) {
  auto& bs = BenchStore::Get(true, cold);
  const size_t n = static_cast<size_t>(state.range(0));
  const ObjectKey k{(2ull << 40) + n, 0};
  auto data = test::TextBytes(n, 3);
  for (auto _ : state) {
    state.PauseTiming();
    BenchStore::Check(bs.store().Write(k, 0, data));
    state.ResumeTiming();
    BenchStore::Check(bs.store().Demote(k));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n));
}
void BM_Demote(benchmark::State& state) { Demote(state, ColdOn::kDir); }
void DemoteArgs(benchmark::internal::Benchmark* b) {
  b->Arg(64 << 10)->Arg(1 << 20)->Arg(4 << 20)->UseRealTime();
}
BENCHMARK(BM_Demote)->Apply(DemoteArgs);

void BM_Read_Pooled_Concurrent(benchmark::State& state) {
  auto& bs = BenchStore::Get();
  constexpr size_t kRead = 64 << 10;
  ObjectKey k = bs.Hot(16 << 20);
  size_t off = static_cast<size_t>(state.thread_index()) * kRead;
  for (auto _ : state) {
    auto lease = bs.store().ReadLease(k, off, kRead);
    BenchStore::Check(lease.status());
    benchmark::DoNotOptimize(lease->data());
    off = (off + 8 * kRead) % (16 << 20);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kRead));
}
BENCHMARK(BM_Read_Pooled_Concurrent)->ThreadRange(1, 8)->UseRealTime();

// The cold benchmarks again with the cold tier on RADOS, when a pool is given.
void RegisterRados() {
  if (!RadosPool() || !std::getenv("CEPH_CONF")) return;
  benchmark::RegisterBenchmark("BM_Read_Cold_Rados", [](benchmark::State& s) {
    ReadCold(s, ColdOn::kRados);
  })->Apply(ReadColdArgs);
  benchmark::RegisterBenchmark("BM_Read_Cold_Random4K_Rados", [](benchmark::State& s) {
    ReadColdRandom4K(s, ColdOn::kRados);
  })->UseRealTime();
  benchmark::RegisterBenchmark("BM_Demote_Rados", [](benchmark::State& s) {
    Demote(s, ColdOn::kRados);
  })->Apply(DemoteArgs);
}

}  // namespace
}  // namespace tierfs

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  tierfs::RegisterRados();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
