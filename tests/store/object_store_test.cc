// ObjectStore on real files: reads and writes in both tiers, tier moves,
// frame cache, persistence, the store lock, and concurrency with moves.
#include "store/object_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/test_util.h"

namespace tierfs {
namespace {

using test::RandomBytes;
using test::TextBytes;

StoreOptions SmallOptions() { return test::TestStoreOptions(64 << 10, 1 << 20); }

using ObjectStoreTest = test::StoreTest;

constexpr size_t kFrame = 64 << 10;  // SmallOptions' and the fixture's frame size

// Ten frames of text written to k and demoted; returns the bytes.
std::vector<std::byte> TenColdFrames(ObjectStore& store, ObjectKey k, int seed) {
  auto data = TextBytes(10 * kFrame, seed);
  EXPECT_TRUE(store.Write(k, 0, data).ok());
  EXPECT_TRUE(store.Demote(k).ok());
  return data;
}

TEST_F(ObjectStoreTest, WriteThenReadHot) {
  auto data = RandomBytes(300000, 1);
  ObjectKey k{7, 3};
  ASSERT_TRUE(store_->Write(k, 0, data).ok());
  EXPECT_EQ(ReadAll(k, data.size() + 100), data);
  auto info = store_->Stat(k);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tier, Tier::kHot);
  EXPECT_EQ(info->logical_size, data.size());
  EXPECT_TRUE(std::filesystem::exists(store_->HotPath(k)));
}

TEST_F(ObjectStoreTest, EmptyWriteChangesNothing) {
  // An empty write past the end once stretched the logical size past the
  // file's end, and a spliced read of the object came up short.
  ObjectKey k{7, 4};
  ASSERT_TRUE(store_->Write(k, 0, RandomBytes(10, 2)).ok());
  ASSERT_TRUE(store_->Write(k, 5000, {}).ok());
  EXPECT_EQ(store_->Stat(k)->logical_size, 10u);
  EXPECT_EQ(std::filesystem::file_size(store_->HotPath(k)), 10u);
  ASSERT_TRUE(store_->Write({7, 5}, 100, {}).ok());
  EXPECT_TRUE(store_->Stat({7, 5}).status().IsNotFound());
}

TEST_F(ObjectStoreTest, ReadOfMissingObjectIsNotFound) {
  std::vector<std::byte> buf(10);
  EXPECT_TRUE(store_->Read({1, 1}, 0, buf).status().IsNotFound());
}

TEST_F(ObjectStoreTest, ReadLeaseUsesThePool) {
  auto data = RandomBytes(64 << 10, 2);
  ASSERT_TRUE(store_->Write({1, 0}, 0, data).ok());
  auto before = store_->pool().stats();
  auto lease = store_->ReadLease({1, 0}, 0, data.size());
  ASSERT_TRUE(lease.ok());
  EXPECT_TRUE(lease->pooled());
  ASSERT_EQ(lease->size(), data.size());
  EXPECT_TRUE(std::equal(data.begin(), data.end(), lease->data()));
  EXPECT_EQ(store_->pool().stats().overflow_allocations, before.overflow_allocations);
}

TEST_F(ObjectStoreTest, DemoteCompressesAndReadsBackIdentically) {
  auto data = TextBytes(1000000, 3);
  ObjectKey k{2, 0};
  ASSERT_TRUE(store_->Write(k, 0, data).ok());
  ASSERT_TRUE(store_->Demote(k).ok());
  auto info = store_->Stat(k);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tier, Tier::kCold);
  EXPECT_EQ(info->logical_size, data.size());
  EXPECT_LT(info->stored_bytes, data.size() / 2);
  EXPECT_FALSE(std::filesystem::exists(store_->HotPath(k)));
  EXPECT_TRUE(std::filesystem::exists(store_->ColdName(k)));
  EXPECT_EQ(ReadAll(k, data.size()), data);
  // Unaligned read across a frame boundary.
  std::vector<std::byte> part(100000);
  auto n = store_->Read(k, 60000, part);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, part.size());
  EXPECT_TRUE(std::equal(part.begin(), part.end(), data.begin() + 60000));
  StoreStats s = store_->stats();
  EXPECT_EQ(s.cold_objects, 1u);
  EXPECT_EQ(s.cold_bytes, data.size());
  EXPECT_EQ(s.demotions, 1u);
}

// stats() reads totals the table keeps as entries change (statfs asks for
// them on behalf of anyone): after writes, a truncate, a punched hole, tier
// moves both ways, removals and a reopen they are what a count over every
// object gives.
TEST_F(ObjectStoreTest, KeptTotalsAreWhatACountOverTheObjectsGives) {
  auto expect_counted = [&](const char* when) {
    TableStats counted;
    for (const ObjectInfo& o : store_->List()) {
      const bool hot = o.tier == Tier::kHot;
      (hot ? counted.hot_objects : counted.cold_objects) += 1;
      (hot ? counted.hot_bytes : counted.cold_bytes) += o.logical_size;
      (hot ? counted.hot_stored_bytes : counted.cold_stored_bytes) += o.stored_bytes;
      counted.damaged_objects += o.damaged ? 1 : 0;
    }
    const StoreStats s = store_->stats();
    EXPECT_EQ(s.hot_objects, counted.hot_objects) << when;
    EXPECT_EQ(s.hot_bytes, counted.hot_bytes) << when;
    EXPECT_EQ(s.hot_stored_bytes, counted.hot_stored_bytes) << when;
    EXPECT_EQ(s.cold_objects, counted.cold_objects) << when;
    EXPECT_EQ(s.cold_bytes, counted.cold_bytes) << when;
    EXPECT_EQ(s.cold_stored_bytes, counted.cold_stored_bytes) << when;
    EXPECT_EQ(s.damaged_objects, counted.damaged_objects) << when;
  };
  for (uint64_t i = 0; i < 6; ++i) {
    ASSERT_TRUE(store_->Write({7, i}, 0, TextBytes(100000 + i * 5000, 1)).ok()) << i;
  }
  ASSERT_TRUE(store_->Write({7, 1}, 300000, RandomBytes(4096, 2)).ok());  // grows, sparse
  expect_counted("after writes");
  ASSERT_TRUE(store_->Truncate({7, 2}, 5000).ok());
  ASSERT_TRUE(store_->PunchHole({7, 3}, 0, 65536).ok());
  expect_counted("after a truncate and a punched hole");
  ASSERT_TRUE(store_->Demote({7, 0}).ok());
  ASSERT_TRUE(store_->Demote({7, 4}).ok());
  ASSERT_TRUE(store_->Demote({7, 5}).ok());
  expect_counted("after demotions");
  ASSERT_TRUE(store_->Promote({7, 4}).ok());
  ASSERT_TRUE(store_->Write({7, 5}, 10, RandomBytes(100, 3)).ok());  // promotes
  expect_counted("after promotions");
  ASSERT_TRUE(store_->Remove({7, 0}).ok());
  ASSERT_TRUE(store_->Remove({7, 1}).ok());
  expect_counted("after removals");
  EXPECT_GT(store_->stats().cold_objects + store_->stats().hot_objects, 0u);
  Reopen();
  expect_counted("after a reopen");
  auto removed = store_->RemoveGroup(7);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 4u);
  expect_counted("after removing the group");
  EXPECT_EQ(store_->stats().hot_objects + store_->stats().cold_objects, 0u);
}

TEST_F(ObjectStoreTest, SequentialColdReadDecompressesEachFrameOnce) {
  ObjectKey k{3, 0};
  const auto data = TenColdFrames(*store_, k, 4);
  std::vector<std::byte> buf(4096);
  for (uint64_t off = 0; off < data.size(); off += buf.size()) {
    ASSERT_TRUE(store_->Read(k, off, buf).ok());
    ASSERT_TRUE(std::equal(buf.begin(), buf.end(), data.begin() + off));
  }
  // Decoded by the reader or ahead of it by the workers, never twice.
  StoreStats s = store_->stats();
  EXPECT_EQ(s.frames_decoded, 10u);
  EXPECT_EQ(s.cache.hits + s.cache.misses, data.size() / 4096);
  EXPECT_LE(s.cache.misses, 10u);
}

// Random 4 KiB reads of a cold object decode the one frame each needs, and
// queue nothing for the decode-ahead workers (the reads are not in order).
TEST_F(ObjectStoreTest, RandomColdReadsDecodeOneFrameEach) {
  ObjectKey k{5, 0};
  const auto data = TenColdFrames(*store_, k, 7);
  std::vector<std::byte> buf(4096);
  uint64_t decoded = store_->stats().frames_decoded;
  for (size_t f : {7, 2, 9, 4, 0, 5}) {
    const size_t off = f * kFrame + 1000;
    ASSERT_TRUE(store_->Read(k, off, buf).ok());
    EXPECT_TRUE(std::equal(buf.begin(), buf.end(), data.begin() + off));
    EXPECT_EQ(store_->stats().frames_decoded, ++decoded) << "frame " << f;
  }
  EXPECT_EQ(store_->stats().frames_decoded_ahead, 0u);
}

// The first read of a cold object in order queues the next frames (two here:
// an eighth of the 1 MiB cache) for the workers; the reader then finds them
// decoded.
TEST_F(ObjectStoreTest, ASequentialColdReaderFindsTheNextFramesDecodedAhead) {
  ObjectKey k{4, 0};
  const auto data = TenColdFrames(*store_, k, 6);
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE(store_->Read(k, 0, buf).ok());
  // Wait (not a timing assertion: only until the workers are done).
  for (int i = 0; i < 1000 && store_->stats().frames_decoded_ahead < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(store_->stats().frames_decoded_ahead, 2u);
  const FrameCacheStats before = store_->stats().cache;
  for (size_t f = 1; f <= 2; ++f) {
    ASSERT_TRUE(store_->Read(k, f * kFrame, buf).ok());
    EXPECT_TRUE(std::equal(buf.begin(), buf.end(), data.begin() + f * kFrame));
  }
  EXPECT_EQ(store_->stats().cache.misses, before.misses);
  EXPECT_EQ(store_->stats().cache.hits, before.hits + 2);
}

// Threads of this process (a regression test: every open, also a
// read-only one for status or fsck, used to start the read-ahead workers).
size_t ThreadCount() {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

TEST_F(ObjectStoreTest, ReadAheadWorkersStartOnlyWhenFirstNeeded) {
  ObjectKey k{5, 0};
  TenColdFrames(*store_, k, 7);
  store_.reset();
  const size_t before = ThreadCount();
  Reopen();
  EXPECT_EQ(ThreadCount(), before);  // an open that reads nothing starts none
  std::vector<std::byte> buf(4096);
  ASSERT_TRUE(store_->Read(k, 0, buf).ok());  // a sequential reader's first read
  EXPECT_GT(ThreadCount(), before);
}

TEST_F(ObjectStoreTest, WriteToColdObjectPromotesIt) {
  auto data = TextBytes(200000, 5);
  ObjectKey k{4, 1};
  ASSERT_TRUE(store_->Write(k, 0, data).ok());
  ASSERT_TRUE(store_->Demote(k).ok());
  auto patch = RandomBytes(5000, 6);
  ASSERT_TRUE(store_->Write(k, 100000, patch).ok());
  std::copy(patch.begin(), patch.end(), data.begin() + 100000);
  EXPECT_EQ(store_->Stat(k)->tier, Tier::kHot);
  EXPECT_FALSE(std::filesystem::exists(store_->ColdName(k)));
  EXPECT_EQ(ReadAll(k, data.size()), data);
  EXPECT_EQ(store_->stats().promotions, 1u);
}

TEST_F(ObjectStoreTest, PromoteKeepsSparseFilesSparse) {
  std::vector<std::byte> data(4 << 20);
  auto tail = RandomBytes(1000, 7);
  std::copy(tail.begin(), tail.end(), data.end() - 1000);
  ObjectKey k{5, 0};
  ASSERT_TRUE(store_->Write(k, data.size() - 1000, tail).ok());
  ASSERT_TRUE(store_->Demote(k).ok());
  ASSERT_TRUE(store_->Promote(k).ok());
  EXPECT_EQ(ReadAll(k, data.size()), data);
  EXPECT_LT(std::filesystem::file_size(store_->HotPath(k)) / 2, data.size());
  EXPECT_EQ(std::filesystem::file_size(store_->HotPath(k)), data.size());
  auto st = Env::Default()->Stat(store_->HotPath(k));
  ASSERT_TRUE(st.ok());
  EXPECT_LT(st->allocated, 1u << 20);
}

TEST_F(ObjectStoreTest, TruncateShrinksAndGrowsWithZeros) {
  auto data = RandomBytes(100000, 8);
  ObjectKey k{6, 0};
  ASSERT_TRUE(store_->Write(k, 0, data).ok());
  ASSERT_TRUE(store_->Demote(k).ok());
  ASSERT_TRUE(store_->Truncate(k, 50000).ok());
  EXPECT_EQ(store_->Stat(k)->tier, Tier::kHot);
  EXPECT_EQ(store_->Stat(k)->logical_size, 50000u);
  ASSERT_TRUE(store_->Truncate(k, 60000).ok());
  auto got = ReadAll(k, 70000);
  ASSERT_EQ(got.size(), 60000u);
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + 50000, data.begin()));
  EXPECT_TRUE(
      std::all_of(got.begin() + 50000, got.end(), [](std::byte b) { return b == std::byte{0}; }));
}

TEST_F(ObjectStoreTest, RemoveAndRemoveGroup) {
  auto data = RandomBytes(1000, 9);
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(store_->Write({8, i}, 0, data).ok());
  ASSERT_TRUE(store_->Write({9, 0}, 0, data).ok());
  ASSERT_TRUE(store_->Demote({8, 2}).ok());
  ASSERT_TRUE(store_->Remove({8, 0}).ok());
  EXPECT_TRUE(store_->Stat({8, 0}).status().IsNotFound());
  auto n = store_->RemoveGroup(8);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_FALSE(std::filesystem::exists(store_->ColdName({8, 2})));
  EXPECT_EQ(store_->List().size(), 1u);
  EXPECT_TRUE(store_->Remove({42, 42}).ok());
}

TEST_F(ObjectStoreTest, EverythingSurvivesReopen) {
  auto hot = RandomBytes(123456, 10);
  auto cold = TextBytes(654321, 11);
  ASSERT_TRUE(store_->Write({1, 0}, 0, hot).ok());
  ASSERT_TRUE(store_->Write({1, 1}, 0, cold).ok());
  ASSERT_TRUE(store_->Demote({1, 1}).ok());
  Reopen();
  EXPECT_EQ(store_->Stat({1, 0})->tier, Tier::kHot);
  EXPECT_EQ(store_->Stat({1, 1})->tier, Tier::kCold);
  EXPECT_EQ(store_->Stat({1, 1})->logical_size, cold.size());
  EXPECT_EQ(ReadAll({1, 0}, hot.size()), hot);
  EXPECT_EQ(ReadAll({1, 1}, cold.size()), cold);
}

TEST_F(ObjectStoreTest, SecondOpenOfAStoreIsRefused) {
  auto second = ObjectStore::Open(Env::Default(), dir_.path() + "/store", SmallOptions());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
}

TEST_F(ObjectStoreTest, RecoveryRemovesTempFilesAndPrefersHotDuplicates) {
  auto hot = RandomBytes(5000, 12);
  ASSERT_TRUE(store_->Write({3, 0}, 0, hot).ok());
  ASSERT_TRUE(store_->Write({4, 0}, 0, hot).ok());
  ASSERT_TRUE(store_->Demote({4, 0}).ok());
  std::string cold4 = store_->ColdName({4, 0});
  std::string cold3 = store_->ColdName({3, 0});
  store_.reset();
  // A stale cold duplicate of hot object 3 (a crash between rename and
  // unlink) and a leftover temp file (a crash before rename).
  std::filesystem::copy_file(cold4, cold3);
  std::ofstream(cold4 + ".tmp.99") << "partial";
  Reopen();
  EXPECT_FALSE(std::filesystem::exists(cold4 + ".tmp.99"));
  EXPECT_EQ(store_->Stat({3, 0})->tier, Tier::kHot);
  EXPECT_FALSE(std::filesystem::exists(store_->ColdName({3, 0})));
  EXPECT_EQ(ReadAll({3, 0}, hot.size()), hot);
}

TEST_F(ObjectStoreTest, CorruptColdObjectReadsAsCorruptionAndOthersStillWork) {
  auto data = TextBytes(300000, 13);
  ASSERT_TRUE(store_->Write({1, 0}, 0, data).ok());
  ASSERT_TRUE(store_->Write({2, 0}, 0, data).ok());
  ASSERT_TRUE(store_->Demote({1, 0}).ok());
  ASSERT_TRUE(store_->Demote({2, 0}).ok());
  std::string path = store_->ColdName({1, 0});
  store_.reset();
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    char c;
    f.read(&c, 1);
    f.seekp(200);
    c ^= 0x10;
    f.write(&c, 1);
  }
  Reopen();
  std::vector<std::byte> buf(data.size());
  auto r = store_->Read({1, 0}, 0, buf);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  EXPECT_FALSE(store_->Verify({1, 0}).ok());
  EXPECT_TRUE(store_->Verify({2, 0}).ok());
  EXPECT_EQ(ReadAll({2, 0}, data.size()), data);
}

TEST_F(ObjectStoreTest, CodecNoneStoresRawFrames) {
  StoreOptions o = SmallOptions();
  o.compression.codec = Codec::kNone;
  Reopen(o);
  auto data = TextBytes(200000, 14);
  ASSERT_TRUE(store_->Write({1, 0}, 0, data).ok());
  ASSERT_TRUE(store_->Demote({1, 0}).ok());
  EXPECT_GE(store_->Stat({1, 0})->stored_bytes, data.size());
  EXPECT_EQ(ReadAll({1, 0}, data.size()), data);
}

TEST_F(ObjectStoreTest, ConcurrentReadersAndWritersDuringMoves) {
  constexpr size_t kSize = 256 << 10;
  constexpr int kObjects = 4;
  // Each object holds a repeated byte value; writers rewrite it whole, so a
  // reader must always see a single value (never a torn or stale-mixed one
  // from a move racing a write).
  for (int i = 0; i < kObjects; ++i) {
    std::vector<std::byte> v(kSize, std::byte{1});
    ASSERT_TRUE(store_->Write({uint64_t(i), 0}, 0, v).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    while (!stop) {
      for (int i = 0; i < kObjects; ++i) {
        Status s1 = store_->Demote({uint64_t(i), 0});
        Status s2 = store_->Promote({uint64_t(i), 0});
        if ((!s1.ok() && s1.code() != Code::kBusy) || (!s2.ok() && s2.code() != Code::kBusy)) {
          ++errors;
        }
      }
    }
  });
  std::vector<std::atomic<int>> last(kObjects);
  threads.emplace_back([&] {
    for (int round = 2; round < 60; ++round) {
      for (int i = 0; i < kObjects; ++i) {
        std::vector<std::byte> v(kSize, std::byte(round));
        if (!store_->Write({uint64_t(i), 0}, 0, v).ok()) ++errors;
      }
    }
  });
  threads.emplace_back([&] {
    std::vector<std::byte> buf(kSize);
    while (!stop) {
      for (int i = 0; i < kObjects; ++i) {
        auto n = store_->Read({uint64_t(i), 0}, 0, buf);
        if (!n.ok() || *n != kSize) {
          ++errors;
          continue;
        }
        // Writes of whole objects are not atomic for readers, but every byte
        // must be a value some write produced (no garbage from a swap).
        for (std::byte b : buf) {
          if (b == std::byte{0}) {
            ++errors;
            break;
          }
        }
      }
    }
  });
  threads[1].join();
  stop = true;
  threads[0].join();
  threads[2].join();
  EXPECT_EQ(errors.load(), 0);
  // The final content is the last write, whatever tier the object is in.
  for (int i = 0; i < kObjects; ++i) {
    auto got = ReadAll({uint64_t(i), 0}, kSize);
    EXPECT_EQ(got, std::vector<std::byte>(kSize, std::byte{59}));
  }
  Reopen();
  for (int i = 0; i < kObjects; ++i) {
    EXPECT_EQ(ReadAll({uint64_t(i), 0}, kSize), std::vector<std::byte>(kSize, std::byte{59}));
  }
}

// A file left at an object's hot path (by a failed unlink, a restore, a
// stray copy) must not leak its old bytes into a new object through holes.
TEST_F(ObjectStoreTest, NewObjectStartsEmptyDespiteALeftoverFileAtItsHotPath) {
  ObjectKey k{11, 0};
  const std::string path = store_->HotPath(k);
  {
    std::ofstream f(path, std::ios::binary);
    std::string junk(100000, 'J');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto data = RandomBytes(1000, 15);
  ASSERT_TRUE(store_->Write(k, 5000, data).ok());
  EXPECT_EQ(store_->Stat(k)->logical_size, 6000u);
  EXPECT_EQ(std::filesystem::file_size(path), 6000u);
  std::vector<std::byte> expected(6000, std::byte{0});
  std::copy(data.begin(), data.end(), expected.begin() + 5000);
  EXPECT_EQ(ReadAll(k, 200000), expected);
  Reopen();
  EXPECT_EQ(ReadAll(k, 200000), expected);
}

// The pool's heap fallback failing is a Status, not a bad_alloc thrown
// across the store boundary.
TEST_F(ObjectStoreTest, ReadLeaseTheHeapCannotGiveIsNoMemoryNotAnException) {
  auto data = RandomBytes(1000, 16);
  ASSERT_TRUE(store_->Write({1, 0}, 0, data).ok());
  Result<BufferLease> lease = Status::IOError("not run");
  EXPECT_NO_THROW(lease = store_->ReadLease({1, 0}, 0, size_t{1} << 50));
  ASSERT_FALSE(lease.ok());
  EXPECT_EQ(lease.status().code(), Code::kNoMemory) << lease.status().ToString();
  auto ok = store_->ReadLease({1, 0}, 0, data.size());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), data.size());
}

}  // namespace
}  // namespace tierfs
