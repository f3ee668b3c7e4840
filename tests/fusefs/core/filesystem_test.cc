// The filesystem core without FUSE: data across chunks and holes, cached
// sizes written back and persistent, open-unlinked files, truncate,
// fallocate, lseek, settings fixed at creation, and fsck
// finding and repairing damage. Real SQLite, real object files.
#include "fusefs/core/filesystem.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/falloc.h>
#include <sys/xattr.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "common/temp_dir.h"
#include "fusefs/control/control.h"
#include "fusefs/core/fs_fixture.h"
#include "fusefs/core/fsck.h"
#include "store/test_util.h"
#include "store/testing/fault_env.h"

namespace tierfs {
namespace {

constexpr uint64_t kChunk = test::kFixtureChunk;

Filesystem::SetAttrRequest SizeTo(uint64_t size) {
  Filesystem::SetAttrRequest r;
  r.size = size;
  return r;
}

class WatchedCommits;

class FilesystemTest : public test::FsFixture {
 protected:
  // fs_ (the fixture's) may run over counting_env_ (ours, destroyed first).
  void TearDown() override { fs_.reset(); }
  // Mounts over counting_env_ with the store wrapped in a WatchedCommits.
  WatchedCommits* MountWatched(MountConfig c = {});
  // Reads through the read plan the FUSE layer would send.
  std::vector<std::byte> Read(uint64_t ino, uint64_t off, size_t len) {
    auto r = fs_->Read(ino, off, len);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::byte> out;
    if (!r.ok()) return out;
    for (const ReadPiece& p : r->view()) {
      size_t at = out.size();
      out.resize(at + p.length);
      if (p.file) {
        auto n = p.file->PRead(p.file_offset, std::span(out).subspan(at));
        EXPECT_TRUE(n.ok() && *n == p.length);
      } else if (p.data) {
        std::memcpy(out.data() + at, p.data.data(), p.length);
      }
    }
    EXPECT_EQ(out.size(), r->total);
    return out;
  }

  FaultInjectionEnv counting_env_{Env::Default()};  // outlives fs_ (a remount)
};

TEST_F(FilesystemTest, DataAcrossChunksAndHolesReadsBack) {
  uint64_t ino = NewFile("f");
  std::vector<std::byte> model(5 * kChunk + 123);
  auto a = test::RandomBytes(kChunk + 1000, 1);  // chunks 0..2
  auto b = test::RandomBytes(5000, 2);           // chunk 4; chunk 3 stays a hole
  Write(ino, kChunk - 500, a);
  std::copy(a.begin(), a.end(), model.begin() + kChunk - 500);
  Write(ino, 4 * kChunk + 100, b);
  std::copy(b.begin(), b.end(), model.begin() + 4 * kChunk + 100);
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(model.size())).ok());
  EXPECT_EQ(Read(ino, 0, model.size() + 100), model);
  EXPECT_EQ(fs_->store().ListGroup(ino).size(), 4u);  // chunks 0, 1, 2, 4
  // The same bytes when some chunks are cold.
  ASSERT_TRUE(Control(*fs_).Migrate(ino, Tier::kCold).ok());
  EXPECT_EQ(fs_->UsageOf(ino).hot_bytes, 0u);
  EXPECT_EQ(Read(ino, 0, model.size()), model);
  std::vector<std::byte> mid(model.begin() + kChunk - 10, model.begin() + kChunk + 10);
  EXPECT_EQ(Read(ino, kChunk - 10, 20), mid);
}

TEST_F(FilesystemTest, CachedSizeIsWrittenBackAndSurvivesRemount) {
  uint64_t ino = NewFile("f");
  auto data = test::RandomBytes(3 * kChunk, 3);
  Write(ino, 0, data);
  EXPECT_EQ(fs_->GetAttr(ino)->st_size, static_cast<off_t>(data.size()));
  ASSERT_TRUE(fs_->Release(ino).ok());  // close: no durability promised, no SQL
  ASSERT_TRUE(fs_->SyncAll().ok());     // what the write-back thread does
  EXPECT_EQ(fs_->metadata().GetAttr(ino)->size, data.size());
  Write(ino, data.size(), data);
  Mount();  // unmount writes back too
  auto st = fs_->Lookup(kRootIno, "f");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_size, static_cast<off_t>(2 * data.size()));
  EXPECT_EQ(Read(ino, 0, data.size()), data);
}

// Runs a callback once, right after the next GetAttr or Lookup has read SQLite: the
// moment a concurrent write-back can commit and drop the cached values that
// the read is about to be overlaid with.
class AfterGetAttr : public MetadataStoreWrapper {
 public:
  using MetadataStoreWrapper::MetadataStoreWrapper;
  std::function<void()> then;
  Result<InodeAttr> GetAttr(uint64_t ino) override {
    return Then(MetadataStoreWrapper::GetAttr(ino));
  }
  Result<InodeAttr> Lookup(uint64_t parent, std::string_view name) override {
    return Then(MetadataStoreWrapper::Lookup(parent, name));
  }

 private:
  Result<InodeAttr> Then(Result<InodeAttr> r) {
    if (auto f = std::exchange(then, nullptr)) f();
    return r;
  }
};

// The difftest soak saw a read leave atime behind mtime about once in
// 400,000 operations: a getattr read SQLite, the write-back thread committed
// the cached atime and dropped it, and the overlay found nothing to lay over
// SQLite's older value.
TEST_F(FilesystemTest, TimesDoNotGoBackWhenAWriteBackCommitsDuringAGetattr) {
  AfterGetAttr* hook = nullptr;
  MountConfig c;
  c.atime = AtimeMode::kStrictatime;  // every read moves atime
  Mount(c, &counting_env_, [&](std::unique_ptr<MetadataStore> m) {
    auto w = std::make_unique<AfterGetAttr>(std::move(m));
    hook = w.get();
    return w;
  });
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::RandomBytes(100, 40));
  ASSERT_TRUE(fs_->SyncAll().ok());
  const Timespec old_atime = fs_->metadata().GetAttr(ino)->atime;
  // (The clock moves on between the stamps: the daemon's, like the
  // kernel's, may give the same time to changes in one tick.)
  counting_env_.SetNowNanos((old_atime.sec + 1) * 1000000000LL + 1);
  Read(ino, 0, 1);  // atime = now, cached
  counting_env_.SetNowNanos((old_atime.sec + 2) * 1000000000LL + 2);
  Write(ino, 0, test::RandomBytes(10, 41));  // mtime = now, cached
  auto cached = fs_->GetAttr(ino);
  ASSERT_TRUE(cached.ok());
  ASSERT_NE(cached->st_atim.tv_nsec, old_atime.nsec);
  hook->then = [&] { ASSERT_TRUE(fs_->SyncAll().ok()); };  // the write-back thread's turn
  auto st = fs_->GetAttr(ino);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_atim.tv_sec, cached->st_atim.tv_sec);
  EXPECT_EQ(st->st_atim.tv_nsec, cached->st_atim.tv_nsec);
  EXPECT_EQ(st->st_mtim.tv_sec, cached->st_mtim.tv_sec);
  EXPECT_EQ(st->st_mtim.tv_nsec, cached->st_mtim.tv_nsec);
  // The same for a lookup, which reads the inode with the entry.
  counting_env_.SetNowNanos((old_atime.sec + 3) * 1000000000LL + 3);
  Read(ino, 0, 1);
  cached = fs_->GetAttr(ino);
  ASSERT_TRUE(cached.ok());
  hook->then = [&] { ASSERT_TRUE(fs_->SyncAll().ok()); };
  st = fs_->Lookup(kRootIno, "f");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_atim.tv_nsec, cached->st_atim.tv_nsec);
  EXPECT_EQ(st->st_atim.tv_sec, cached->st_atim.tv_sec);
  // And that is what the store holds, after a remount.
  Mount();
  st = fs_->GetAttr(ino);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_atim.tv_sec, cached->st_atim.tv_sec);
  EXPECT_EQ(st->st_atim.tv_nsec, cached->st_atim.tv_nsec);
  EXPECT_EQ(st->st_mtim.tv_sec, cached->st_mtim.tv_sec);
  EXPECT_EQ(st->st_mtim.tv_nsec, cached->st_mtim.tv_nsec);
}

// The kernel's readahead stops at the end of each object file; a reader
// going through a file in order has the next chunk's object read ahead
// halfway through the current one. Random reads prefetch nothing.
TEST_F(FilesystemTest, ASequentialReaderHasTheNextChunkReadAhead) {
  Mount({}, &counting_env_);
  uint64_t ino = NewFile("f");
  auto data = test::RandomBytes(4 * kChunk, 50);
  Write(ino, 0, data);
  auto read_aheads = [&] { return counting_env_.ops(FaultOp::kWillNeed); };
  int before = read_aheads();
  std::vector<std::byte> got;
  for (uint64_t off = 0; off < data.size(); off += 16 << 10) {
    auto piece = Read(ino, off, 16 << 10);
    got.insert(got.end(), piece.begin(), piece.end());
  }
  EXPECT_EQ(got, data);
  // (Given on the store's read-ahead workers: wait for them, not a timing.)
  for (int i = 0; i < 1000 && read_aheads() - before < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(read_aheads() - before, 4);  // chunk 0 at the start, 1..3 halfway through 0..2
  before = read_aheads();
  Read(ino, 3 * kChunk + 100, 10);
  Read(ino, kChunk + 5000, 10000);
  Read(ino, 200, 30000);
  EXPECT_EQ(read_aheads() - before, 0);
}

TEST_F(FilesystemTest, OpenUnlinkedFileLivesUntilLastCloseAndForget) {
  uint64_t ino = NewFile("f");             // open once, one kernel lookup
  auto data = test::RandomBytes(5000, 4);  // (larger than inline_max: in an object)
  Write(ino, 0, data);
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  EXPECT_TRUE(fs_->Lookup(kRootIno, "f").status().IsNotFound());
  EXPECT_EQ(Read(ino, 0, 5000), data);
  Write(ino, 5000, data);
  ASSERT_TRUE(fs_->Release(ino).ok());
  EXPECT_EQ(fs_->store().ListGroup(ino).size(), 1u);  // the kernel still knows it
  EXPECT_EQ(fs_->reclaimer().pending(), 0u);
  fs_->Forget(ino, 1);
  ASSERT_TRUE(fs_->reclaimer().Drain(kReclaimWait));
  EXPECT_TRUE(fs_->store().ListGroup(ino).empty());
  EXPECT_TRUE(fs_->metadata().GetAttr(ino).status().IsNotFound());
}

TEST_F(FilesystemTest, OrphansLeftByACrashAreFreedAtTheNextMount) {
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::RandomBytes(1000, 5));
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  Mount();  // the "crash": the file was never closed
  EXPECT_TRUE(fs_->store().ListGroup(ino).empty());
  EXPECT_TRUE(fs_->metadata().GetAttr(ino).status().IsNotFound());
}

// A listing whose SQLite step fails at the entry named `fail_at`.
class FailingReadDir : public MetadataStoreWrapper {
 public:
  using MetadataStoreWrapper::MetadataStoreWrapper;
  std::string fail_at;  // empty: never
  Status ReadDir(uint64_t ino, uint64_t after,
                 const std::function<bool(const DirEntry&)>& fn) override {
    bool cut = false;
    Status st = MetadataStoreWrapper::ReadDir(ino, after, [&](const DirEntry& e) {
      cut = e.name == fail_at;
      return !cut && fn(e);
    });
    return cut ? Status::IOError("injected: disk I/O error") : st;
  }
};

// The entries of a readdirplus are looked up (counted) as they are filled:
// an error after some were filled must answer them, or the kernel never
// learns of those lookups and the inodes are never freed.
TEST_F(FilesystemTest, ReaddirplusAnswersWhatItFilledWhenALaterEntryFails) {
  FailingReadDir* hook = nullptr;
  Mount({}, Env::Default(), [&](std::unique_ptr<MetadataStore> m) {
    auto w = std::make_unique<FailingReadDir>(std::move(m));
    hook = w.get();
    return w;
  });
  std::vector<uint64_t> inos;
  for (const char* name : {"a", "b", "c", "d"}) {
    inos.push_back(NewFile(name));
    ASSERT_TRUE(fs_->Release(inos.back()).ok());
    fs_->Forget(inos.back(), 1);  // the create's lookup
  }
  hook->fail_at = "c";
  std::vector<std::string> names;
  std::vector<uint64_t> looked_up;
  uint64_t last = 0;
  auto take = [&](const std::string& name, const struct stat& st, uint64_t cookie) {
    names.push_back(name);
    if (name != "." && name != "..") looked_up.push_back(st.st_ino);
    last = cookie;
    return true;
  };
  ASSERT_TRUE(fs_->ReadDirPlus(kRootIno, 0, take).ok());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "a", "b"}));
  // From there on nothing can be filled: now the error is the answer.
  Status st = fs_->ReadDirPlus(kRootIno, last, take);
  EXPECT_EQ(st.code(), Code::kIOError) << st.ToString();
  EXPECT_EQ(names.size(), 4u);
  // The kernel holds one lookup of each entry it got: its forgets free them.
  hook->fail_at.clear();
  for (const char* name : {"a", "b"}) ASSERT_TRUE(fs_->Unlink(kRootIno, name).ok());
  for (uint64_t ino : looked_up) EXPECT_TRUE(fs_->Forget(ino, 1));
  ASSERT_TRUE(fs_->reclaimer().Drain(kReclaimWait));
  for (uint64_t ino : looked_up) {
    EXPECT_TRUE(fs_->metadata().GetAttr(ino).status().IsNotFound()) << ino;
  }
}

// A forget of more lookups than were counted is our bug: reported, and the
// inode is still freed once unlinked and closed.
TEST_F(FilesystemTest, AForgetOfMoreLookupsThanCountedIsReportedAndStillFrees) {
  uint64_t ino = NewFile("f");  // one lookup
  Write(ino, 0, test::RandomBytes(5000, 60));
  auto again = fs_->Lookup(kRootIno, "f");  // two
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  ASSERT_TRUE(fs_->Release(ino).ok());
  EXPECT_TRUE(fs_->Forget(ino, 1));
  EXPECT_EQ(fs_->store().ListGroup(ino).size(), 1u);  // one lookup left
  EXPECT_FALSE(fs_->Forget(ino, 3));                  // two more than it had
  ASSERT_TRUE(fs_->reclaimer().Drain(kReclaimWait));
  EXPECT_TRUE(fs_->store().ListGroup(ino).empty());
  EXPECT_TRUE(fs_->metadata().GetAttr(ino).status().IsNotFound());
  EXPECT_FALSE(fs_->Forget(ino, 1));  // no longer known at all
}

// O_NOATIME (reads_atime false at open, touch_atime false per read) leaves
// atime; a read through another open still moves it.
TEST_F(FilesystemTest, ReadsThroughAnONoatimeOpenLeaveAtime) {
  MountConfig c;
  c.atime = AtimeMode::kStrictatime;  // every other read moves atime
  Mount(c, &counting_env_);
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::RandomBytes(100, 61));
  ASSERT_TRUE(fs_->Release(ino).ok());
  const Timespec before = fs_->metadata().GetAttr(ino)->atime;
  counting_env_.SetNowNanos((before.sec + 10) * 1000000000LL);
  auto opened = fs_->Open(ino, false, /*reads_atime=*/false, false, Caller{});
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->keep_cache);  // its reads may come from the kernel's pages
  auto r = fs_->Read(ino, 0, 10, /*touch_atime=*/false);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->atime_changed);
  ASSERT_TRUE(fs_->Read(ino, 200, 10, false).ok());  // at EOF
  ASSERT_TRUE(fs_->SyncAll().ok());
  EXPECT_EQ(fs_->GetAttr(ino)->st_atim.tv_sec, before.sec);
  EXPECT_EQ(fs_->GetAttr(ino)->st_atim.tv_nsec, before.nsec);
  // An empty file's atime moves at open (no read reaches us): not for O_NOATIME.
  uint64_t empty = NewFile("e");
  ASSERT_TRUE(fs_->Release(empty).ok());
  const Timespec empty_before = fs_->metadata().GetAttr(empty)->atime;
  counting_env_.SetNowNanos((before.sec + 20) * 1000000000LL);
  ASSERT_TRUE(fs_->Open(empty, false, false, false, Caller{}).ok());
  EXPECT_EQ(fs_->GetAttr(empty)->st_atim.tv_sec, empty_before.sec);
  // Another open's read moves it.
  ASSERT_TRUE(fs_->Open(ino, false, true, false, Caller{}).ok());
  r = fs_->Read(ino, 0, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->atime_changed);
  EXPECT_EQ(fs_->GetAttr(ino)->st_atim.tv_sec, before.sec + 20);
  counting_env_.SetNowNanos(0);
}

// File handle generations: SipHash-2-4 of the inode number (pinned to the
// reference vector: a handle given out must stay valid across versions),
// different per inode and per store, the same at every mount; the root's is
// 0, as the kernel has it.
TEST_F(FilesystemTest, FileHandleGenerationsAreKeyedAndStable) {
  auto ref = ParseHandleKey("000102030405060708090a0b0c0d0e0f");
  ASSERT_TRUE(ref.has_value());
  // SipHash-2-4 of bytes 00..07 under key 00..0f is 0x93f5f5799a932462.
  EXPECT_EQ(HandleGeneration(*ref, 0x0706050403020100ull), 0x9a932462u);
  EXPECT_FALSE(ParseHandleKey("00010203").has_value());
  EXPECT_FALSE(ParseHandleKey("000102030405060708090a0b0c0d0eXX").has_value());

  EXPECT_EQ(fs_->Generation(kRootIno), 0u);
  std::vector<uint64_t> inos;
  std::set<uint32_t> gens;
  for (int i = 0; i < 8; ++i) {
    inos.push_back(NewFile(std::string(1, static_cast<char>('a' + i))));
    gens.insert(fs_->Generation(inos.back()));
  }
  EXPECT_EQ(gens.size(), inos.size());
  EXPECT_EQ(gens.count(1), 0u);  // the generation every handle had before
  std::vector<uint32_t> before;
  for (uint64_t ino : inos) before.push_back(fs_->Generation(ino));
  Mount();
  for (size_t i = 0; i < inos.size(); ++i) EXPECT_EQ(fs_->Generation(inos[i]), before[i]);
  // Another store, the same inode numbers: other generations.
  test::TempDir other;
  MountConfig c;
  c.store_dir = other.path() + "/store";
  c.chunk_size = kChunk;
  auto fs2 = Filesystem::Open(c, Env::Default());
  ASSERT_TRUE(fs2.ok()) << fs2.status().ToString();
  int same = 0;
  for (size_t i = 0; i < inos.size(); ++i) same += (*fs2)->Generation(inos[i]) == before[i];
  EXPECT_EQ(same, 0);
}

// A clock whose coarse reading lags the fine one, as the kernel's does by
// up to a tick.
class SkewedClockEnv : public Env {
 public:
  std::atomic<int64_t> coarse{0}, fine{0};
  Result<std::unique_ptr<File>> Open(const std::string& path, const OpenOptions& o) override {
    return base_->Open(path, o);
  }
  Status Rename(const std::string& from, const std::string& to) override {
    return base_->Rename(from, to);
  }
  Status Unlink(const std::string& path) override { return base_->Unlink(path); }
  Status MkDir(const std::string& path) override { return base_->MkDir(path); }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  Result<FileStat> Stat(const std::string& path) override { return base_->Stat(path); }
  Result<FsSpace> StatFs(const std::string& path) override { return base_->StatFs(path); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }
  int64_t NowNanos() override { return fine; }
  int64_t CoarseNowNanos() override { return coarse; }

 private:
  Env* const base_ = Env::Default();
};

// Every daemon stamp comes from the kernel's clock (the coarse one, or a
// later time the kernel sent), so that what the kernel stamps afterwards
// (a touch, a cached write) is never earlier; the kernel's ctime is kept.
TEST_F(FilesystemTest, StampsComeFromTheKernelsClock) {
  constexpr int64_t kSec = 1000000000;
  SkewedClockEnv clock;
  const int64_t t = 1700000000 * kSec;
  clock.coarse = t;
  clock.fine = t + 3000000;  // 3 ms ahead
  Mount({}, &clock);
  uint64_t ino = NewFile("f");
  auto born = fs_->GetAttr(ino);
  ASSERT_TRUE(born.ok());
  EXPECT_EQ(born->st_ctim.tv_sec * kSec + born->st_ctim.tv_nsec, t);
  // A touch in the same tick: the kernel sends its time (the coarse one) as
  // mtime and ctime; neither is before the create.
  Filesystem::SetAttrRequest touch;
  touch.atime = touch.mtime = touch.ctime = Timespec{t / kSec, t % kSec};
  auto touched = fs_->SetAttr(ino, touch);
  ASSERT_TRUE(touched.ok());
  EXPECT_GE(touched->st_mtim.tv_sec * kSec + touched->st_mtim.tv_nsec, t);
  // A ctime the kernel sent ahead of the coarse clock (multigrain: a fine
  // time it gave another inode) is kept, and later stamps are not before it.
  const int64_t k = t + 2000000;
  Filesystem::SetAttrRequest flush;
  flush.mtime = flush.ctime = Timespec{k / kSec, k % kSec};
  ASSERT_TRUE(fs_->SetAttr(ino, flush).ok());
  ASSERT_TRUE(fs_->SyncAll().ok());
  auto stored = fs_->metadata().GetAttr(ino);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->ctime, (Timespec{k / kSec, k % kSec}));
  uint64_t next = NewFile("g");
  auto g = fs_->GetAttr(next);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->st_ctim.tv_sec * kSec + g->st_ctim.tv_nsec, k);
  // A kernel time ahead of the fine clock came before the clock was set
  // back: forgotten, stamps follow the clock again.
  clock.coarse = t - 10 * kSec;
  clock.fine = t - 10 * kSec + 3000000;
  uint64_t after = NewFile("h");
  EXPECT_EQ(fs_->GetAttr(after)->st_ctim.tv_sec, t / kSec - 10);
  // A read while a writer holds the file (its cached writes stamped by the
  // kernel, at most the fine clock) takes atime from the fine clock.
  auto opened = fs_->Open(ino, false, true, true, Caller{});
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(fs_->Read(ino, 0, 1).ok());
  auto read = fs_->GetAttr(ino);
  EXPECT_EQ(read->st_atim.tv_sec * kSec + read->st_atim.tv_nsec, t - 10 * kSec + 3000000);
  ASSERT_TRUE(fs_->Release(ino, true).ok());
  fs_.reset();  // before the clock goes
}

// A gate the test opens: Wait() blocks until Open().
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);  // notified under the lock: a waiter may destroy the gate next
    open_ = true;
    cv_.notify_all();
  }
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// The hot object files of a file's chunks [0, n) that exist on disk.
size_t ObjectFiles(Filesystem& fs, uint64_t ino, uint64_t n) {
  size_t files = 0;
  for (uint64_t i = 0; i < n; ++i) files += std::filesystem::exists(fs.store().HotPath({ino, i}));
  return files;
}

// Unlink and the last forget answer before the reclaimer has removed a
// single object: its first object unlink is held at a gate.
TEST_F(FilesystemTest, UnlinkAndForgetAnswerBeforeTheObjectsAreRemoved) {
  Mount({}, &counting_env_);
  uint64_t ino = NewFile("big");
  Write(ino, 0, test::RandomBytes(3 * kChunk, 30));
  ASSERT_TRUE(fs_->Release(ino).ok());
  Gate gate;
  counting_env_.RunBefore(FaultOp::kUnlink, [&] { gate.Wait(); });
  ASSERT_TRUE(fs_->Unlink(kRootIno, "big").ok());
  fs_->Forget(ino, 1);  // returns at once: the free is queued
  EXPECT_EQ(ObjectFiles(*fs_, ino, 3), 3u);
  EXPECT_EQ(fs_->metadata().GetAttr(ino)->nlink, 0u);  // the row waits too
  EXPECT_EQ(fs_->reclaimer().pending(), 1u);
  // status counts the space as it will be; a new inode gets a new number.
  const StatusReport r = fs_->Report();
  EXPECT_EQ(r.reclaim.pending, 1u);
  EXPECT_EQ(r.inodes, 1u);  // the root
  EXPECT_EQ(r.store.hot_objects, 0u);
  EXPECT_EQ(r.store.hot_bytes, 0u);
  EXPECT_NE(Control(*fs_).StatusJson().find("\"reclaim_pending\":1,"), std::string::npos);
  EXPECT_GT(NewFile("next"), ino);
  gate.Open();
  ASSERT_TRUE(fs_->reclaimer().Drain(kReclaimWait));
  EXPECT_EQ(ObjectFiles(*fs_, ino, 3), 0u);
  EXPECT_TRUE(fs_->metadata().GetAttr(ino).status().IsNotFound());
  EXPECT_EQ(fs_->reclaimer().stats().reclaimed, 1u);
  EXPECT_NE(Control(*fs_).StatusJson().find("\"reclaim_pending\":0,"), std::string::npos);
  Mount();
  EXPECT_EQ(ObjectFiles(*fs_, ino, 3), 0u);
  EXPECT_TRUE(fs_->metadata().GetAttr(ino).status().IsNotFound());
  EXPECT_TRUE(fs_->Lookup(kRootIno, "big").status().IsNotFound());
}

// The daemon dies while a free is queued (the store's first object unlink
// is where it crashes): the inode stays an orphan with all its objects, and
// the next mount frees both.
TEST_F(FilesystemTest, AReclaimCutByACrashIsFinishedByTheNextMount) {
  Mount({}, &counting_env_);
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::RandomBytes(2 * kChunk, 31));
  ASSERT_TRUE(fs_->Fsync(ino, false).ok());  // durable, so the crash keeps the objects
  ASSERT_TRUE(fs_->Release(ino).ok());
  counting_env_.RunBefore(FaultOp::kUnlink, [&] { counting_env_.CrashAfter(0); });
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  fs_->Forget(ino, 1);
  ASSERT_TRUE(fs_->reclaimer().Drain(kReclaimWait));
  EXPECT_EQ(fs_->reclaimer().stats().errors, 1u);
  fs_.reset();
  ASSERT_TRUE(counting_env_.DropUnsyncedData().ok());
  counting_env_.ClearFaults();
  const std::string store = dir_.path() + "/store";
  auto fsck = RunFsck(store, /*repair=*/false, /*scrub=*/false);
  ASSERT_TRUE(fsck.ok()) << fsck.status().ToString();
  EXPECT_TRUE(fsck->clean());
  EXPECT_EQ(fsck->reclaim_pending, 1u);
  EXPECT_EQ(fsck->objects, 2u);  // both chunks are still there
  // A mount finds it (ListOrphans) and frees it before it answers anything.
  Mount();
  EXPECT_EQ(ObjectFiles(*fs_, ino, 2), 0u);
  EXPECT_TRUE(fs_->metadata().GetAttr(ino).status().IsNotFound());
  Mount();
  EXPECT_EQ(ObjectFiles(*fs_, ino, 2), 0u);
  EXPECT_TRUE(fs_->metadata().GetAttr(ino).status().IsNotFound());
  EXPECT_TRUE(fs_->metadata().ListOrphans()->empty());
}

// Notes whether a namespace change (an unlink, a new size, inline bytes
// dropped) is applied but not durable yet: a plain COMMIT (synchronous=NORMAL)
// is not, only CommitDurably or Sync are.
class WatchedCommits : public MetadataStoreWrapper {
 public:
  using MetadataStoreWrapper::MetadataStoreWrapper;
  std::atomic<bool> undurable{false};
  Result<InodeAttr> Unlink(uint64_t parent, std::string_view name, Timespec now) override {
    auto r = MetadataStoreWrapper::Unlink(parent, name, now);
    if (r.ok()) undurable = true;
    return r;
  }
  Result<InodeAttr> SetAttr(uint64_t ino, const AttrUpdate& u, Timespec now) override {
    auto r = MetadataStoreWrapper::SetAttr(ino, u, now);
    if (r.ok()) undurable = true;
    return r;
  }
  std::function<void()> before_drop_inline;  // runs at each DropInline
  Status DropInline(uint64_t ino) override {
    if (before_drop_inline) before_drop_inline();
    Status st = MetadataStoreWrapper::DropInline(ino);
    if (st.ok()) undurable = true;
    return st;
  }
  Status CommitDurably() override {
    Status st = MetadataStoreWrapper::CommitDurably();
    if (st.ok()) undurable = false;
    return st;
  }
  Status Sync() override {
    Status st = MetadataStoreWrapper::Sync();
    if (st.ok()) undurable = false;
    return st;
  }
};

WatchedCommits* FilesystemTest::MountWatched(MountConfig c) {
  WatchedCommits* meta = nullptr;
  Mount(c, &counting_env_, [&](std::unique_ptr<MetadataStore> m) {
    auto w = std::make_unique<WatchedCommits>(std::move(m));
    meta = w.get();
    return w;
  });
  return meta;
}

// The reclaimer removes a dead inode's objects only once the unlink that
// killed it is durable: a power cut that took the unlink back would
// otherwise bring the file back with its data gone (a plain COMMIT may reach
// the disk after the object unlinks do).
TEST_F(FilesystemTest, TheReclaimerRemovesObjectsOnlyAfterTheUnlinkIsDurable) {
  WatchedCommits* meta = MountWatched();
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::RandomBytes(2 * kChunk, 35));
  ASSERT_TRUE(fs_->Fsync(ino, false).ok());
  ASSERT_TRUE(fs_->Release(ino).ok());
  std::atomic<int> removed_uncommitted{-1};
  counting_env_.RunBefore(FaultOp::kUnlink, [&] { removed_uncommitted = meta->undurable ? 1 : 0; });
  ASSERT_TRUE(fs_->Unlink(kRootIno, "f").ok());
  fs_->Forget(ino, 1);
  // Draining ends the reclaimer's gathering: it frees well before the
  // journal's own commit would come (Journal::kCommitDelay).
  ASSERT_TRUE(fs_->reclaimer().Drain(kReclaimWait));
  EXPECT_EQ(removed_uncommitted, 0) << "an object was removed before its unlink was durable";
  EXPECT_EQ(ObjectFiles(*fs_, ino, 2), 0u);
}

// A truncate cuts objects only once the new size is durable: cut first, a
// power cut that lost the size would show the old size over zeros.
TEST_F(FilesystemTest, ATruncateCutsObjectsOnlyAfterTheNewSizeIsDurable) {
  WatchedCommits* meta = MountWatched();
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::RandomBytes(2 * kChunk, 36));
  ASSERT_TRUE(fs_->Fsync(ino, false).ok());
  std::atomic<int> removed_undurable{-1}, cut_undurable{-1};
  counting_env_.RunBefore(FaultOp::kUnlink, [&] { removed_undurable = meta->undurable ? 1 : 0; });
  counting_env_.RunBefore(FaultOp::kTruncate, [&] { cut_undurable = meta->undurable ? 1 : 0; });
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(kChunk / 2)).ok());
  EXPECT_EQ(removed_undurable, 0) << "chunk 1 was removed before the new size was durable";
  EXPECT_EQ(cut_undurable, 0) << "chunk 0 was cut before the new size was durable";
  Mount();
  EXPECT_EQ(fs_->GetAttr(ino)->st_size, static_cast<off_t>(kChunk / 2));
  EXPECT_EQ(ObjectFiles(*fs_, ino, 2), 1u);
}

// A clean unmount makes the data written since the mount durable, not only
// the sizes: a power cut right after it must not leave files at full size
// over zeros. (The store's files go through the FaultInjectionEnv, whose
// DropUnsyncedData is what a power cut leaves of them.)
TEST_F(FilesystemTest, UnmountMakesUnsyncedDataDurable) {
  Mount({}, &counting_env_);
  uint64_t ino = NewFile("f");
  auto data = test::RandomBytes(2 * kChunk + 100, 39);
  Write(ino, 0, data);
  ASSERT_TRUE(fs_->Release(ino).ok());
  fs_.reset();  // unmount
  ASSERT_TRUE(counting_env_.DropUnsyncedData().ok());
  Mount();
  EXPECT_EQ(Read(ino, 0, data.size()), data);
}

// Objects of an inode number above the last committed one can only come
// from a create that group commit had not committed when the daemon died;
// the number is handed out again, so the next mount removes them before the
// new file can show them.
TEST_F(FilesystemTest, ObjectsOfACreateACrashTookBackAreRemovedAtMount) {
  uint64_t ino = NewFile("kept");
  Write(ino, 0, test::RandomBytes(kChunk, 36));
  ASSERT_TRUE(fs_->Release(ino).ok());
  // As if a create of ino + 1 was lost while its data reached the store.
  ASSERT_TRUE(fs_->store().Write(ObjectKey{ino + 1, 0}, 0, test::RandomBytes(kChunk, 37)).ok());
  ASSERT_TRUE(fs_->store().Write(ObjectKey{ino + 1, 3}, 0, test::RandomBytes(100, 38)).ok());
  Mount();
  EXPECT_EQ(ObjectFiles(*fs_, ino + 1, 4), 0u);
  EXPECT_EQ(ObjectFiles(*fs_, ino, 1), 1u);
  const uint64_t reused = NewFile("new");
  ASSERT_EQ(reused, ino + 1);
  ASSERT_TRUE(fs_->SetAttr(reused, SizeTo(4 * kChunk)).ok());
  EXPECT_EQ(Read(reused, 0, 4 * kChunk), std::vector<std::byte>(4 * kChunk));
}

// Holds the reclaimer's row transactions at a gate, counts them, and fails
// the next `failed_creates` creates with ENOSPC (each opening the gate, as
// a full disk whose frees are pending).
class HeldDeletes : public MetadataStoreWrapper {
 public:
  using MetadataStoreWrapper::MetadataStoreWrapper;
  Gate gate;
  std::atomic<int> failed_creates{0};
  std::atomic<int> batches{0};
  std::vector<size_t> batch_sizes;  // written by the reclaimer thread, read after a drain
  Status DeleteInodes(std::span<const uint64_t> inos) override {
    gate.Wait();
    ++batches;
    batch_sizes.push_back(inos.size());
    return MetadataStoreWrapper::DeleteInodes(inos);
  }
  Result<InodeAttr> Create(uint64_t parent, std::string_view name, const NewNode& node,
                           Timespec now) override {
    if (failed_creates > 0) {
      --failed_creates;
      gate.Open();
      return Status::NoSpace("database or disk is full (test)");
    }
    return MetadataStoreWrapper::Create(parent, name, node, now);
  }
};

// `held`: the gate starts closed.
MetadataWrap Wrapping(HeldDeletes** out, bool held = true) {
  return [out, held](std::unique_ptr<MetadataStore> m) {
    auto w = std::make_unique<HeldDeletes>(std::move(m));
    if (!held) w->gate.Open();
    *out = w.get();
    return w;
  };
}

// A write or a create that finds the disk full while frees are pending
// waits for them and tries once more (rm big; write works on a full disk);
// with nothing pending the ENOSPC is answered at once.
TEST_F(FilesystemTest, AFullDiskWriteOrCreateWaitsForPendingFreesAndRetriesOnce) {
  HeldDeletes* meta = nullptr;
  Mount({}, &counting_env_, Wrapping(&meta));
  auto free_one = [&](const std::string& name, int seed) {
    uint64_t ino = NewFile(name);
    Write(ino, 0, test::RandomBytes(kChunk, seed));
    EXPECT_TRUE(fs_->Release(ino).ok());
    EXPECT_TRUE(fs_->Unlink(kRootIno, name).ok());
    fs_->Forget(ino, 1);  // queued; the reclaimer waits at the gate
    return ino;
  };
  uint64_t target = NewFile("target");
  // A chunk write: the store's write fails once with ENOSPC, and that
  // write opens the gate (space is being freed).
  uint64_t big = free_one("big1", 32);
  counting_env_.RunBefore(FaultOp::kWrite, [&] { meta->gate.Open(); });
  counting_env_.FailOp(FaultOp::kWrite, Status::NoSpace("no space (test)"), 1);
  const int writes = counting_env_.ops(FaultOp::kWrite);
  auto data = test::RandomBytes(5000, 33);  // (larger than inline_max: an object write)
  Write(target, 0, data);
  EXPECT_EQ(counting_env_.ops(FaultOp::kWrite) - writes, 2);  // failed, then done
  EXPECT_EQ(fs_->reclaimer().pending(), 0u);
  EXPECT_TRUE(fs_->metadata().GetAttr(big).status().IsNotFound());
  // A create: SQLite finds the disk full once.
  meta->gate.Close();
  free_one("big2", 34);
  meta->failed_creates = 1;
  EXPECT_NE(NewFile("new"), 0u);
  EXPECT_EQ(fs_->reclaimer().pending(), 0u);
  // Nothing pending: ENOSPC at once, one attempt.
  counting_env_.FailOp(FaultOp::kWrite, Status::NoSpace("no space (test)"), 1);
  const int before = counting_env_.ops(FaultOp::kWrite);
  EXPECT_TRUE(fs_->Write(target, 0, data).status().IsNoSpace());
  EXPECT_EQ(counting_env_.ops(FaultOp::kWrite) - before, 1);
  meta->failed_creates = 1;
  EXPECT_TRUE(fs_->Create(kRootIno, "full", 0644, Caller{}).status().IsNoSpace());
  Mount();
  EXPECT_EQ(Read(target, 0, data.size()), data);
  EXPECT_TRUE(fs_->Lookup(kRootIno, "new").ok());
  EXPECT_TRUE(fs_->Lookup(kRootIno, "full").status().IsNotFound());
  EXPECT_TRUE(fs_->metadata().ListOrphans()->empty());
}

// Unmount (destroying the core) frees everything queued before the store
// closes: the next mount finds no orphan to free. Orphans a mount does
// find are freed in batches of Reclaimer::kBatch rows per transaction.
TEST_F(FilesystemTest, UnmountDrainsTheQueueAndOrphansAreFreedInBatches) {
  constexpr int kFiles = Reclaimer::kBatch + 44;
  auto name = [](char prefix,
                 int i) {  // (not "f" + to_string(i): a -Wrestrict false positive of GCC 12)
    std::string n(1, prefix);
    return n += std::to_string(i);
  };
  std::vector<uint64_t> inos;
  for (int i = 0; i < kFiles; ++i) {
    inos.push_back(NewFile(name('f', i)));
    Write(inos.back(), 0, test::RandomBytes(100, 40 + i));
    ASSERT_TRUE(fs_->Release(inos.back()).ok());
  }
  HeldDeletes* meta = nullptr;
  Mount({}, Env::Default(), Wrapping(&meta));
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(fs_->Lookup(kRootIno, name('f', i)).ok());
    ASSERT_TRUE(fs_->Unlink(kRootIno, name('f', i)).ok());
    fs_->Forget(inos[i], 1);
  }
  EXPECT_EQ(fs_->reclaimer().pending(), static_cast<uint64_t>(kFiles));  // all held at the gate
  std::thread unmount([&] { fs_.reset(); });
  meta->gate.Open();
  unmount.join();
  // The next mount: nothing left to free.
  Mount({}, Env::Default(), Wrapping(&meta, /*held=*/false));
  EXPECT_EQ(meta->batches, 0);
  EXPECT_EQ(*fs_->metadata().InodeCount(), 1u);
  for (uint64_t ino : inos) ASSERT_EQ(ObjectFiles(*fs_, ino, 1), 0u) << ino;
  // Orphans left open at a "crash" are freed by the next mount in batches.
  inos.clear();
  for (int i = 0; i < kFiles; ++i) {
    inos.push_back(NewFile(name('g', i)));
    Write(inos.back(), 0, test::RandomBytes(100, 400 + i));
    ASSERT_TRUE(fs_->Unlink(kRootIno, name('g', i)).ok());  // still open
  }
  Mount({}, Env::Default(), Wrapping(&meta, /*held=*/false));
  EXPECT_EQ(meta->batch_sizes, (std::vector<size_t>{Reclaimer::kBatch, 44}));
  EXPECT_EQ(*fs_->metadata().InodeCount(), 1u);
  for (uint64_t ino : inos) ASSERT_EQ(ObjectFiles(*fs_, ino, 1), 0u) << ino;
}

TEST_F(FilesystemTest, HardLinksShareDataAndRenameOverDropsTheTarget) {
  uint64_t a = NewFile("a");
  Write(a, 0, test::RandomBytes(100, 6));
  ASSERT_TRUE(fs_->Release(a).ok());
  ASSERT_TRUE(fs_->Link(a, kRootIno, "b").ok());
  EXPECT_EQ(fs_->GetAttr(a)->st_nlink, 2u);
  uint64_t c = NewFile("c");
  Write(c, 0, test::RandomBytes(100, 7));
  ASSERT_TRUE(fs_->Release(c).ok());
  ASSERT_TRUE(fs_->Rename(kRootIno, "a", kRootIno, "c", RenameMode::kNormal).ok());
  fs_->Forget(c, 1);
  ASSERT_TRUE(fs_->reclaimer().Drain(kReclaimWait));
  EXPECT_TRUE(fs_->store().ListGroup(c).empty());
  EXPECT_EQ(fs_->Lookup(kRootIno, "c")->st_ino, a);
  EXPECT_EQ(fs_->GetAttr(a)->st_nlink, 2u);
}

TEST_F(FilesystemTest, TruncateDropsAndTrimsChunks) {
  uint64_t ino = NewFile("f");
  auto data = test::RandomBytes(3 * kChunk, 8);
  Write(ino, 0, data);
  ASSERT_TRUE(Control(*fs_).Migrate(ino, Tier::kCold).ok());
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(kChunk + 10)).ok());
  auto objs = fs_->store().ListGroup(ino);
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_EQ(objs[1].logical_size, 10u);
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(2 * kChunk)).ok());
  auto got = Read(ino, 0, 3 * kChunk);
  ASSERT_EQ(got.size(), 2 * kChunk);
  EXPECT_TRUE(std::equal(got.begin(), got.begin() + kChunk + 10, data.begin()));
  EXPECT_TRUE(std::all_of(got.begin() + kChunk + 10, got.end(),
                          [](std::byte b) { return b == std::byte{0}; }));
}

TEST_F(FilesystemTest, FallocatePunchHoleAndLseek) {
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::RandomBytes(4 * kChunk, 9));
  ASSERT_TRUE(
      fs_->Fallocate(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kChunk, 2 * kChunk).ok());
  EXPECT_EQ(fs_->store().ListGroup(ino).size(), 2u);  // whole chunks 1, 2 removed
  auto hole = Read(ino, kChunk, 2 * kChunk);
  EXPECT_TRUE(std::all_of(hole.begin(), hole.end(), [](std::byte b) { return b == std::byte{0}; }));
  EXPECT_EQ(fs_->GetAttr(ino)->st_size, static_cast<off_t>(4 * kChunk));
  EXPECT_EQ(*fs_->Lseek(ino, 10, SEEK_HOLE), kChunk);
  EXPECT_EQ(*fs_->Lseek(ino, kChunk, SEEK_DATA), 3 * kChunk);
  EXPECT_EQ(fs_->Lseek(ino, 5 * kChunk, SEEK_DATA).status().posix_errno(), ENXIO);
  ASSERT_TRUE(fs_->Fallocate(ino, 0, 0, 6 * kChunk).ok());
  EXPECT_EQ(fs_->GetAttr(ino)->st_size, static_cast<off_t>(6 * kChunk));
  EXPECT_EQ(fs_->Fallocate(ino, FALLOC_FL_COLLAPSE_RANGE, 0, kChunk).posix_errno(), EOPNOTSUPP);
}

// A mount switched to read-only at run time still syncs on fsync: the
// kernel flushes pages it accepted before the switch (writeback writes land
// while read-only), and fsync returning 0 promises they are durable.
TEST_F(FilesystemTest, FsyncSyncsWhileSwitchedReadOnly) {
  Mount({}, &counting_env_);
  uint64_t ino = NewFile("f");
  ASSERT_TRUE(fs_->SetReadOnly(true).ok());
  auto data = test::RandomBytes(kChunk + 100, 41);
  auto n = fs_->Write(ino, 0, data, /*writeback=*/true);
  ASSERT_TRUE(n.ok() && *n == data.size()) << n.status().ToString();
  ASSERT_TRUE(fs_->Fsync(ino, false).ok());
  counting_env_.CrashAfter(0);  // the power goes: nothing more reaches the disk
  fs_.reset();
  ASSERT_TRUE(counting_env_.DropUnsyncedData().ok());
  counting_env_.ClearFaults();
  Mount();
  ASSERT_EQ(fs_->GetAttr(ino)->st_size, static_cast<off_t>(data.size()));
  EXPECT_EQ(Read(ino, 0, data.size()), data);
}

// Range operations cost what exists in the range, not its width: a punch,
// a zero range and a copy over exabytes of a sparse file visit its few
// objects (a walk over chunk indexes would take hours), and a reservation
// that cannot fit fails at once with ENOSPC, changing nothing.
TEST_F(FilesystemTest, RangeOperationsCostWhatExistsNotTheRange) {
  constexpr uint64_t kHuge = 1ull << 62;  // 4 EiB
  const auto started = std::chrono::steady_clock::now();
  uint64_t ino = NewFile("f");
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(kHuge)).ok());
  auto a = test::RandomBytes(kChunk + 10, 42), b = test::RandomBytes(kChunk + 10, 43);
  Write(ino, 0, a);
  Write(ino, kHuge / 2, b);
  // A punch from within chunk 1 to past the end: a's tail in chunk 1 and
  // both of b's chunks go, a's head stays.
  ASSERT_TRUE(
      fs_->Fallocate(ino, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, kChunk + 5, kHuge).ok());
  std::vector<std::byte> kept(a.begin(), a.begin() + kChunk + 5);
  kept.resize(a.size());  // the punched tail reads as zeros
  EXPECT_EQ(Read(ino, 0, a.size()), kept);
  EXPECT_EQ(Read(ino, kHuge / 2, 16), std::vector<std::byte>(16));
  EXPECT_EQ(fs_->store().ListGroup(ino).size(), 2u);  // chunk 0 and the cut chunk 1
  EXPECT_TRUE(fs_->Fallocate(ino, FALLOC_FL_ZERO_RANGE, kChunk, kHuge / 2).IsNoSpace());
  EXPECT_TRUE(fs_->Fallocate(ino, 0, kHuge, kHuge / 2).IsNoSpace());
  EXPECT_EQ(fs_->GetAttr(ino)->st_size, static_cast<off_t>(kHuge));
  EXPECT_EQ(Read(ino, 0, kChunk + 5), std::vector<std::byte>(a.begin(), a.begin() + kChunk + 5));
  // A copy of the whole sparse file into another: only its objects move.
  Write(ino, kHuge / 4 + 7, b);
  uint64_t copy = NewFile("copy");
  auto n = fs_->CopyFileRange(ino, 0, copy, 0, size_t{1} << 50);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(Read(copy, 0, kChunk + 5), std::vector<std::byte>(a.begin(), a.begin() + kChunk + 5));
  auto m = fs_->CopyFileRange(ino, kHuge / 4, copy, kHuge / 4 + 3, size_t{1} << 50);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(Read(copy, kHuge / 4 + 10, b.size()), b);
  EXPECT_EQ(Read(copy, kHuge / 4, 10), std::vector<std::byte>(10));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(FilesystemTest, ReadsAndWritesAreCountedByTier) {
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::TextBytes(kChunk, 11));
  Write(ino, 2 * kChunk, test::TextBytes(kChunk, 12));  // chunk 1 is a hole
  const Metrics& m = fs_->metrics();
  EXPECT_EQ(m.written_bytes(), 2 * kChunk);
  ASSERT_TRUE(Control(*fs_).Migrate(ino, Tier::kCold).ok());
  (void)Read(ino, 0, 3 * kChunk);
  EXPECT_EQ(m.read_bytes(ReadSource::kCold), 2 * kChunk);
  EXPECT_EQ(m.read_bytes(ReadSource::kHole), kChunk);
  ASSERT_TRUE(Control(*fs_).Migrate(ino, Tier::kHot).ok());
  (void)Read(ino, 0, kChunk);
  EXPECT_EQ(m.read_bytes(ReadSource::kHot), kChunk);
}

TEST_F(FilesystemTest, NewNodesBelongToTheCallerWithItsUmask) {
  auto st = fs_->MakeNode(kRootIno, "d", S_IFDIR | 0777, 0, Caller{1000, 2000, 022, {}, {}});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_uid, 1000u);
  EXPECT_EQ(st->st_gid, 2000u);
  EXPECT_EQ(st->st_mode, S_IFDIR | 0755u);
  auto f = fs_->Create(st->st_ino, "f", 0666, Caller{1000, 2000, 077, {}, {}});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->st_mode, S_IFREG | 0600u);
}

TEST_F(FilesystemTest, ChunkSizeIsFixedAtCreation) {
  MountConfig c;
  c.chunk_size = 1 << 20;
  fs_.reset();
  c.store_dir = dir_.path() + "/store";
  auto fs = Filesystem::Open(c, Env::Default());
  ASSERT_FALSE(fs.ok());
  EXPECT_NE(fs.status().message().find("chunk_size is fixed"), std::string::npos);
  Mount();  // without chunk_size: the store's own
  EXPECT_EQ(fs_->chunk_size(), kChunk);
}

TEST_F(FilesystemTest, FsckFindsAndRepairsDamage) {
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::TextBytes(2 * kChunk, 11));
  ASSERT_TRUE(fs_->Release(ino).ok());
  uint64_t gone = NewFile("gone");
  Write(gone, 0, test::TextBytes(100, 12));
  ASSERT_TRUE(Control(*fs_).Migrate(ino, Tier::kCold).ok());
  // An object past the end of file (a crash before the size was written).
  ASSERT_TRUE(fs_->store().Write({ino, 5}, 0, test::TextBytes(10, 13)).ok());
  // An empty object past EOF (a crash after its file was created).
  ASSERT_TRUE(fs_->store().Write({ino, 7}, 0, test::TextBytes(10, 15)).ok());
  ASSERT_TRUE(fs_->store().Truncate({ino, 7}, 0).ok());
  ASSERT_TRUE(fs_->store().Write({999, 0}, 0, test::TextBytes(10, 14)).ok());  // no inode
  ASSERT_TRUE(fs_->Unlink(kRootIno, "gone").ok());  // open + unlinked: a reclaim pending
  // Past its size, as when a crash lost the size: no problem, it goes with the inode.
  ASSERT_TRUE(fs_->store().Write({gone, 3}, 0, test::TextBytes(10, 16)).ok());
  std::string cold0 = fs_->store().ColdName({ino, 0});
  fs_.reset();
  {  // a bit flip inside the first cold frame's data
    std::fstream f(cold0, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x55');
  }
  const std::string store = dir_.path() + "/store";
  auto r = RunFsck(store, /*repair=*/false, /*scrub=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::multiset<std::string> kinds;
  for (const auto& p : r->problems) kinds.insert(p.kind);
  EXPECT_EQ(kinds, (std::multiset<std::string>{"beyond_eof", "beyond_eof", "damaged_object",
                                               "orphan_object"}));
  EXPECT_EQ(r->reclaim_pending, 1u);  // not a problem: the next mount frees it
  for (const auto& p : r->problems) {
    if (p.kind == "damaged_object" || p.kind == "beyond_eof") {
      EXPECT_EQ(p.path, "/f");
    }
  }
  EXPECT_FALSE(r->clean());
  auto fixed = RunFsck(store, /*repair=*/true, /*scrub=*/true);
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->reclaimed, 1u);
  EXPECT_EQ(fixed->reclaim_pending, 0u);
  EXPECT_EQ(fixed->inodes, 3u);  // root, f, gone (freed)
  auto again = RunFsck(store, false, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->reclaim_pending, 0u);
  EXPECT_EQ(again->inodes, 2u);
  ASSERT_EQ(again->problems.size(), 1u);  // damaged data cannot be repaired
  EXPECT_EQ(again->problems[0].kind, "damaged_object");
}

TEST_F(FilesystemTest, RefusesToStartAnEmptyNamespaceOverExistingObjects) {
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::RandomBytes(5000, 15));
  fs_.reset();
  const std::string db = dir_.path() + "/store/meta.db";
  for (bool empty : {false, true}) {
    std::filesystem::remove(db);
    if (empty) std::ofstream(db).flush();
    MountConfig c;
    c.store_dir = dir_.path() + "/store";
    auto fs = Filesystem::Open(c, Env::Default());
    ASSERT_FALSE(fs.ok());
    EXPECT_TRUE(fs.status().IsCorruption()) << fs.status().ToString();
    EXPECT_NE(fs.status().message().find("refusing"), std::string::npos);
    EXPECT_EQ(std::filesystem::exists(db), empty);  // nothing created
  }
}

TEST_F(FilesystemTest, FsckRefusesAMountedStore) {
  auto r = RunFsck(dir_.path() + "/store", false, false);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unmount it first"), std::string::npos);
}

TEST(MountOptionsTest, ParsesEveryOptionAndRefusesMalformedOnes) {
  MountConfig c;
  ASSERT_TRUE(ApplyMountOptions("cold_after=60,hot_capacity=2G,hot_high=80,hot_low=50,"
                                "compress=zstd:7,chunk_size=1M,buffer_pool=32M,cache_size=16M,"
                                "promote_reads=0,migrate_rate=10M,log_level=debug,"
                                "meta_sync=full,allow_other,fsname=x,defaults,cold_dir=/c",
                                &c)
                  .ok());
  EXPECT_EQ(c.policy.cold_after_ns, 60'000'000'000);
  EXPECT_EQ(c.policy.hot_capacity, 2ull << 30);
  EXPECT_EQ(c.policy.hot_high_pct, 80u);
  EXPECT_EQ(c.policy.hot_low_pct, 50u);
  EXPECT_EQ(c.compression.level, 7);
  EXPECT_EQ(c.chunk_size, 1u << 20);
  EXPECT_EQ(c.buffer_pool, 32u << 20);
  EXPECT_EQ(c.cache_size, 16u << 20);
  EXPECT_EQ(c.policy.promote_reads, 0u);
  EXPECT_EQ(c.migrate_rate, 10u << 20);
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_TRUE(c.sync_full);
  EXPECT_TRUE(c.allow_other);
  EXPECT_EQ(c.cold_dir, "/c");
  EXPECT_EQ(c.fuse_options, (std::vector<std::string>{"allow_other", "fsname=x"}));
  ASSERT_TRUE(ApplyMountOptions("metrics_file=/var/lib/node/tierfs.prom,metrics_interval=15,"
                                "metrics=127.0.0.1:9477",
                                &c)
                  .ok());
  EXPECT_EQ(c.metrics_file, "/var/lib/node/tierfs.prom");
  EXPECT_EQ(c.metrics_interval, 15u);
  EXPECT_EQ(c.metrics_addr, "127.0.0.1");
  EXPECT_EQ(c.metrics_port, 9477u);
  ASSERT_TRUE(ApplyMountOptions("cold_backend=rados:cold-pool,ceph_conf=/etc/ceph/x.conf,"
                                "ceph_id=tierfs,rados_timeout=7",
                                &c)
                  .ok());
  EXPECT_EQ(c.cold_backend, "rados:cold-pool");
  EXPECT_EQ(c.ceph_conf, "/etc/ceph/x.conf");
  EXPECT_EQ(c.ceph_id, "tierfs");
  EXPECT_EQ(c.rados_timeout, 7u);
  for (const char* bad : {"bogus",
                          "bogus=1",
                          "cold_after=abc",
                          "cold_after=-1",
                          "hot_capacity=12Q",
                          "hot_high=0",
                          "hot_high=101",
                          "compress=zstd:99",
                          "compress=lz4",
                          "chunk_size=3000",
                          "chunk_size=128M",
                          "log_level=loud",
                          "meta_sync=sometimes",
                          "cold_dir=relative",
                          "hot_high=50,hot_low=60",
                          "cold_after=9000000001",
                          "cold_after=18446744073709551615",
                          "nodiratimes",
                          "cold_after",
                          "ro=1",
                          "comment",
                          "metrics_file=rel.prom",
                          "metrics_file=/m.txt",
                          "metrics_interval=5",
                          "metrics_interval=0,metrics_file=/m.prom",
                          "metrics_interval=3601,metrics_file=/m.prom",
                          "metrics=127.0.0.1",
                          "metrics=:9477",
                          "metrics=localhost:9477",
                          "metrics=127.0.0.1:0",
                          "metrics=127.0.0.1:65536",
                          "metrics=[::1]:9477",
                          "cold_backend=s3:bucket",
                          "cold_backend=rados:",
                          "ceph_conf=ceph.conf",
                          "ceph_id=client.admin",
                          "ceph_id=a/b",
                          "rados_timeout=0",
                          "rados_timeout=3601",
                          "rados_timeout=soon"}) {
    MountConfig m;
    Status st = ApplyMountOptions(bad, &m);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    std::string name = std::string(bad).substr(0, std::string(bad).find_first_of("=,"));
    EXPECT_NE(st.message().find(name), std::string::npos) << bad << ": " << st.message();
  }
}

// The table is the parser: each flag and prefix entry parses by its name
// alone, each valued one refuses to go without a value.
TEST(MountOptionsTest, EveryTableEntryIsWhatTheParserAccepts) {
  ASSERT_GT(MountOptions().size(), 50u);
  for (const MountOption& o : MountOptions()) {
    MountConfig c;
    const std::string name(o.name);
    if (o.form == MountOption::Form::kValued) {
      EXPECT_EQ(o.Synopsis(), name + "=");
      EXPECT_NE(ApplyMountOptions(name, &c).message().find("needs a value"), std::string::npos)
          << name;
    } else {
      const std::string text = o.form == MountOption::Form::kPrefix ? name + "anything" : name;
      EXPECT_EQ(o.Synopsis(), o.form == MountOption::Form::kPrefix ? name + "*" : name);
      EXPECT_TRUE(ApplyMountOptions(text, &c).ok()) << text;
    }
  }
}

TEST(MountOptionsTest, GenericOptionsFromMountAndFstab) {
  MountConfig c;
  ASSERT_TRUE(ApplyMountOptions("nodiratime,lazytime,_netdev,nofail,x-systemd.automount,"
                                "comment=x,noexec,nosuid,ro,remount",
                                &c)
                  .ok());
  EXPECT_TRUE(c.read_only);
  EXPECT_TRUE(c.remount);
  EXPECT_EQ(c.atime, AtimeMode::kRelatime);
  EXPECT_FALSE(c.dirsync);
  EXPECT_EQ(c.fuse_options, (std::vector<std::string>{"noexec", "nosuid"}));
  ASSERT_TRUE(ApplyMountOptions("rw,strictatime,dirsync", &c).ok());
  EXPECT_FALSE(c.read_only);
  EXPECT_EQ(c.atime, AtimeMode::kStrictatime);
  EXPECT_TRUE(c.dirsync);
  ASSERT_TRUE(ApplyMountOptions("noatime,sync", &c).ok());
  EXPECT_EQ(c.atime, AtimeMode::kNoatime);
  ASSERT_TRUE(ApplyMountOptions("relatime,cold_after=9000000000", &c).ok());
  EXPECT_EQ(c.atime, AtimeMode::kRelatime);
  EXPECT_EQ(c.policy.cold_after_ns, 9'000'000'000'000'000'000);
}

// ---- inline files ---------------------------------------------------------------

// inline_max as a mount with inline files has it (they are off by default).
MountConfig InlineOn() {
  MountConfig c;
  c.inline_max = 4096;
  return c;
}

std::vector<std::byte> Concat(std::vector<std::byte> a, const std::vector<std::byte>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A small new file keeps its bytes in the namespace (inline_max=4K): no object file, read
// back after a remount, counted by where, stat and status.
TEST_F(FilesystemTest, ASmallFileKeepsItsBytesInlineAcrossARemount) {
  Mount(InlineOn());
  uint64_t ino = NewFile("small");
  const auto data = test::RandomBytes(3000, 40);
  Write(ino, 0, test::RandomBytes(1000, 41));
  Write(ino, 0, data);  // rewritten in place
  ASSERT_TRUE(fs_->Release(ino).ok());
  EXPECT_TRUE(fs_->store().ListGroup(ino).empty());
  EXPECT_EQ(Read(ino, 0, 4096), data);
  EXPECT_EQ(Read(ino, 1000, 100), std::vector<std::byte>(data.begin() + 1000, data.begin() + 1100));
  EXPECT_EQ(fs_->UsageOf(ino).inline_bytes, 3000u);
  EXPECT_EQ(fs_->GetAttr(ino)->st_blocks, 6);
  EXPECT_EQ(fs_->Report().inline_files, 1u);
  EXPECT_EQ(fs_->metrics().read_bytes(ReadSource::kInline), 3100u);
  EXPECT_EQ(*fs_->Lseek(ino, 10, SEEK_DATA), 10u);
  EXPECT_EQ(*fs_->Lseek(ino, 10, SEEK_HOLE), 3000u);
  Mount(InlineOn());
  EXPECT_EQ(Read(ino, 0, 4096), data);
  EXPECT_TRUE(fs_->store().ListGroup(ino).empty());
  EXPECT_TRUE(fs_->metadata().GetAttr(ino)->inline_data);
  EXPECT_EQ(fs_->Report().inline_bytes, 3000u);
  // With inline_max=0 new files get objects, and inline ones still read.
  MountConfig off;
  off.inline_max = 0;
  Mount(off);
  EXPECT_EQ(Read(ino, 0, 4096), data);
  uint64_t other = NewFile("other");
  Write(other, 0, data);
  EXPECT_EQ(fs_->store().ListGroup(other).size(), 1u);
}

// A write past inline_max moves the bytes to chunk 0 first ("spill"); so do
// fallocate and copy_file_range, which work on objects.
TEST_F(FilesystemTest, AnInlineFileSpillsToAnObjectWhenItOutgrowsInlineMax) {
  Mount(InlineOn());
  uint64_t ino = NewFile("grows");
  const auto head = test::RandomBytes(3000, 42), tail = test::RandomBytes(3000, 43);
  Write(ino, 0, head);
  Write(ino, 3000, tail);  // ends at 6000 > 4096
  EXPECT_EQ(fs_->store().ListGroup(ino).size(), 1u);
  EXPECT_FALSE(fs_->metadata().GetAttr(ino)->inline_data);
  EXPECT_EQ(Read(ino, 0, 6000), Concat(head, tail));
  Mount(InlineOn());
  EXPECT_EQ(Read(ino, 0, 6000), Concat(head, tail));

  uint64_t a = NewFile("a"), b = NewFile("b"), c = NewFile("c");
  Write(a, 0, head);
  Write(b, 0, tail);
  ASSERT_EQ(*fs_->CopyFileRange(a, 0, b, 1000, 1000), 1000u);
  auto want = tail;
  std::copy(head.begin(), head.begin() + 1000, want.begin() + 1000);
  EXPECT_EQ(Read(b, 0, 3000), want);
  EXPECT_EQ(Read(a, 0, 3000), head);
  Write(c, 0, head);
  ASSERT_TRUE(fs_->Fallocate(c, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 100).ok());
  auto punched = head;
  std::fill(punched.begin(), punched.begin() + 100, std::byte{0});
  EXPECT_EQ(Read(c, 0, 3000), punched);
  Mount(InlineOn());
  EXPECT_EQ(Read(b, 0, 3000), want);
  EXPECT_EQ(Read(c, 0, 3000), punched);
}

// An empty object at a file's end (its create durable, its data and size
// not: what a power cut after a directory fsync leaves) is removed by the
// next mount, so that fsck finds the store clean, as it finds it after any
// other recovery.
TEST_F(FilesystemTest, AnEmptyObjectAtTheEndOfAFileIsRemovedAtMount) {
  uint64_t ino = NewFile("f");
  ASSERT_TRUE(fs_->Release(ino).ok());
  ASSERT_TRUE(fs_->store().Write({ino, 0}, 0, test::RandomBytes(10, 47)).ok());
  ASSERT_TRUE(fs_->store().Truncate({ino, 0}, 0).ok());
  Mount();
  EXPECT_TRUE(fs_->store().ListGroup(ino).empty());
  fs_.reset();
  auto report = RunFsck(dir_.path() + "/store", /*repair=*/false, /*scrub=*/false);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->clean()) << FsckJson(*report);
}

// A new store's own directory entry is durable before anything in it: an
// fsync'ed file of a store made just before a power cut is there after it.
TEST_F(FilesystemTest, ANewStoreSurvivesAPowerCutWithItsFsyncedFiles) {
  fs_.reset();
  std::filesystem::remove_all(dir_.path() + "/store");
  created_ = false;
  Mount({}, &counting_env_);
  uint64_t ino = NewFile("f");
  auto data = test::RandomBytes(1000, 46);
  Write(ino, 0, data);
  ASSERT_TRUE(fs_->Fsync(ino, false).ok());
  ASSERT_TRUE(counting_env_.DropUnsyncedData().ok());  // before the unmount's syncs
  Mount();
  auto st = fs_->Lookup(kRootIno, "f");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(Read(st->st_ino, 0, data.size()), data);
}

// A spill makes chunk 0 durable before it drops the inline bytes: the
// drop's commit may reach the disk before unsynced object bytes do, and a
// power cut would then leave an fsync'ed small file as zeros.
TEST_F(FilesystemTest, ASpillSyncsChunkZeroBeforeItDropsTheInlineBytes) {
  WatchedCommits* meta = MountWatched(InlineOn());
  uint64_t ino = NewFile("grows");
  const auto head = test::RandomBytes(3000, 44);
  Write(ino, 0, head);
  ASSERT_TRUE(fs_->Fsync(ino, false).ok());
  ASSERT_TRUE(fs_->metadata().GetAttr(ino)->inline_data);
  const int syncs_before = counting_env_.ops(FaultOp::kSync);
  int syncs_at_drop = -1;
  meta->before_drop_inline = [&] { syncs_at_drop = counting_env_.ops(FaultOp::kSync); };
  Write(ino, 3000, test::RandomBytes(3000, 45));  // ends past inline_max: spills
  EXPECT_GT(syncs_at_drop, syncs_before) << "inline bytes dropped before chunk 0 was synced";
  meta->before_drop_inline = nullptr;
  Mount(InlineOn());
  EXPECT_EQ(Read(ino, 0, 3000), head);
}

// Truncating an inline file keeps it inline; bytes cut off read as zeros
// when it grows again, also after a remount, and truncating to 0 lets it
// be written inline again.
TEST_F(FilesystemTest, TruncatingAnInlineFileNeverBringsBackCutBytes) {
  Mount(InlineOn());
  uint64_t ino = NewFile("t");
  const auto data = test::RandomBytes(3000, 44);
  Write(ino, 0, data);
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(100)).ok());
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(3000)).ok());
  auto want = std::vector<std::byte>(data.begin(), data.begin() + 100);
  want.resize(3000);
  EXPECT_EQ(Read(ino, 0, 3000), want);
  EXPECT_TRUE(fs_->metadata().GetAttr(ino)->inline_data);
  Mount(InlineOn());
  EXPECT_EQ(Read(ino, 0, 3000), want);
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(0)).ok());
  Write(ino, 10, data);
  auto again = std::vector<std::byte>(10);
  again.insert(again.end(), data.begin(), data.end());
  EXPECT_EQ(Read(ino, 0, 4096), again);
  EXPECT_TRUE(fs_->store().ListGroup(ino).empty());
  // Growing past inline_max by truncate spills: the bytes stay, the rest is a hole.
  ASSERT_TRUE(fs_->SetAttr(ino, SizeTo(3 * kChunk)).ok());
  EXPECT_FALSE(fs_->metadata().GetAttr(ino)->inline_data);
  again.resize(3 * kChunk);
  EXPECT_EQ(Read(ino, 0, 3 * kChunk), again);
}

// What a crash can leave of an inline file, and what the next mount makes
// of it: a spill cut short (the object written, the inline bytes not yet
// dropped) keeps the inline bytes and loses the object; inline bytes past
// a size the crash lost are cut.
TEST_F(FilesystemTest, TheNextMountRepairsWhatACrashLeavesOfAnInlineFile) {
  Mount(InlineOn());
  uint64_t spilled = NewFile("spilled"), longer = NewFile("longer");
  const auto data = test::RandomBytes(3000, 45);
  Write(spilled, 0, data);
  Write(longer, 0, std::vector<std::byte>(data.begin(), data.begin() + 100));
  ASSERT_TRUE(fs_->Fsync(longer, false).ok());
  ASSERT_TRUE(fs_->store().Write(ObjectKey{spilled, 0}, 0, test::RandomBytes(kChunk, 46)).ok());
  ASSERT_TRUE(fs_->metadata().WriteInline(longer, data).ok());  // size stays 100
  Mount(InlineOn());
  EXPECT_TRUE(fs_->store().ListGroup(spilled).empty());
  EXPECT_EQ(Read(spilled, 0, 4096), data);
  ASSERT_TRUE(fs_->SetAttr(longer, SizeTo(3000)).ok());
  auto want = std::vector<std::byte>(data.begin(), data.begin() + 100);
  want.resize(3000);
  EXPECT_EQ(Read(longer, 0, 3000), want);
}

}  // namespace
}  // namespace tierfs
