// FaultInjectionEnv's crash model itself: file contents are durable at
// File::Sync, directory entries (create, mkdir, rename, unlink) only after
// SyncDir of their directory; DropUnsyncedData applies what a power cut
// leaves: at worst (no argument), or as ext4 can (a PowerCut: a prefix of
// the entry changes, each file's unsynced content whole or not at all).
#include "store/testing/fault_env.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>

#include "store/test_util.h"

namespace tierfs {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

std::string Contents(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void Put(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// Writes and fsyncs data through env (a create when the file is new).
void WriteSynced(Env& env, const std::string& path, const std::string& data) {
  auto f = env.Open(path, OpenOptions{.write = true, .create = true, .truncate = true});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->PWrite(0, std::as_bytes(std::span(data))).ok());
  ASSERT_TRUE((*f)->Sync().ok());
}

// Overwrites the start of an existing file through env, without a sync.
void WriteUnsynced(Env& env, const std::string& path, const std::string& data) {
  auto f = env.Open(path, OpenOptions{.write = true});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->PWrite(0, std::as_bytes(std::span(data))).ok());
}

class FaultEnvTest : public ::testing::Test {
 protected:
  FaultEnvTest() : env_(Env::Default()), d_(dir_.path()) {}
  TempDir dir_;
  FaultInjectionEnv env_;
  const std::string d_;
};

TEST_F(FaultEnvTest, UnsyncedCreateVanishesEvenWhenItsDataWasSynced) {
  WriteSynced(env_, d_ + "/new", "data");
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(fs::exists(d_ + "/new"));
}

TEST_F(FaultEnvTest, CreateSurvivesAfterSyncDirWithItsSyncedContent) {
  WriteSynced(env_, d_ + "/new", "synced");
  ASSERT_TRUE(env_.SyncDir(d_).ok());
  WriteUnsynced(env_, d_ + "/new", "LOST!!!");
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents(d_ + "/new"), "synced");
}

TEST_F(FaultEnvTest, SyncDirOfAnotherDirectoryDoesNotHelp) {
  fs::create_directory(d_ + "/a");
  fs::create_directory(d_ + "/b");
  WriteSynced(env_, d_ + "/a/f", "x");
  ASSERT_TRUE(env_.SyncDir(d_ + "/b").ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(fs::exists(d_ + "/a/f"));
}

TEST_F(FaultEnvTest, UnsyncedRenameRevertsAndTheReplacedFileComesBack) {
  Put(d_ + "/old", "old content");  // durable before the env saw it
  WriteSynced(env_, d_ + "/tmp", "new content");
  ASSERT_TRUE(env_.SyncDir(d_).ok());
  ASSERT_TRUE(env_.Rename(d_ + "/tmp", d_ + "/old").ok());
  EXPECT_EQ(Contents(d_ + "/old"), "new content");
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(Contents(d_ + "/old"), "old content");
  EXPECT_EQ(Contents(d_ + "/tmp"), "new content");
}

TEST_F(FaultEnvTest, RenameIsDurableAfterSyncDir) {
  WriteSynced(env_, d_ + "/tmp", "content");
  ASSERT_TRUE(env_.Rename(d_ + "/tmp", d_ + "/final").ok());
  ASSERT_TRUE(env_.SyncDir(d_).ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(fs::exists(d_ + "/tmp"));
  EXPECT_EQ(Contents(d_ + "/final"), "content");
}

TEST_F(FaultEnvTest, UnsyncedUnlinkComesBackWithItsDurableContent) {
  Put(d_ + "/pre", "pre-existing");
  ASSERT_TRUE(env_.Unlink(d_ + "/pre").ok());
  WriteSynced(env_, d_ + "/f", "synced");
  ASSERT_TRUE(env_.SyncDir(d_).ok());  // f and the first unlink are durable
  WriteUnsynced(env_, d_ + "/f", "unsynced");
  ASSERT_TRUE(env_.Unlink(d_ + "/f").ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(fs::exists(d_ + "/pre"));
  EXPECT_EQ(Contents(d_ + "/f"), "synced");
}

TEST_F(FaultEnvTest, UnsyncedMkDirVanishesWithItsContents) {
  ASSERT_TRUE(env_.MkDir(d_ + "/sub").ok());
  WriteSynced(env_, d_ + "/sub/f", "x");
  ASSERT_TRUE(env_.SyncDir(d_ + "/sub").ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_FALSE(fs::exists(d_ + "/sub"));
  ASSERT_TRUE(env_.MkDir(d_ + "/sub2").ok());
  ASSERT_TRUE(env_.SyncDir(d_).ok());
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_TRUE(fs::is_directory(d_ + "/sub2"));
}

// Runs `ops` on a fresh directory through a fresh Env, cuts the power with
// `seed`, and returns what `look` sees there afterwards.
template <class Look>
auto AfterCut(uint64_t seed, const std::function<void(FaultInjectionEnv&, const std::string&)>& ops,
              const Look& look) {
  TempDir dir;
  FaultInjectionEnv env(Env::Default());
  ops(env, dir.path());
  EXPECT_TRUE(env.DropUnsyncedData(FaultInjectionEnv::PowerCut{seed}).ok());
  return look(dir.path());
}

// ext4's journal is one ordered stream: what survives of the entry changes
// not yet synced is the first k of them, for any k, never a later one
// without an earlier one.
TEST(PowerCutModelTest, EntryChangesSurviveAsAPrefixInTheirOrder) {
  const std::vector<std::string> names = {"a", "b", "c", "d"};
  auto ops = [&](FaultInjectionEnv& env, const std::string& d) {
    for (const std::string& n : names) WriteSynced(env, d + "/" + n, n);
  };
  auto look = [&](const std::string& d) {
    size_t k = 0;
    while (k < names.size() && fs::exists(d + "/" + names[k])) ++k;
    for (size_t i = k; i < names.size(); ++i) {
      EXPECT_FALSE(fs::exists(d + "/" + names[i])) << names[i] << " survived without " << names[k];
    }
    for (size_t i = 0; i < k; ++i) EXPECT_EQ(Contents(d + "/" + names[i]), names[i]);
    return k;
  };
  std::set<size_t> prefixes;
  for (uint64_t seed = 0; seed < 64; ++seed) prefixes.insert(AfterCut(seed, ops, look));
  EXPECT_EQ(prefixes, (std::set<size_t>{0, 1, 2, 3, 4}));
}

// The page cache writes files back in no order: each file's unsynced
// content survives whole or reverts whole to its last sync, independently
// of the other files'.
TEST(PowerCutModelTest, EachFileKeepsAllOrNoneOfItsUnsyncedContent) {
  auto ops = [](FaultInjectionEnv& env, const std::string& d) {
    for (const char* n : {"/x", "/y"}) {
      WriteSynced(env, d + n, "old");
      ASSERT_TRUE(env.SyncDir(d).ok());
      WriteUnsynced(env, d + n, "new content, longer");
    }
  };
  auto look = [](const std::string& d) { return Contents(d + "/x") + "|" + Contents(d + "/y"); };
  std::set<std::string> seen;
  for (uint64_t seed = 0; seed < 64; ++seed) seen.insert(AfterCut(seed, ops, look));
  const std::string old = "old", cur = "new content, longer";
  EXPECT_EQ(seen, (std::set<std::string>{old + "|" + old, old + "|" + cur, cur + "|" + old,
                                         cur + "|" + cur}));
}

// The shape of the reclaimer bug the model exists for: an unlink in one
// directory reaches the disk while another file's unsynced write (SQLite's
// WAL) does not. Dropping everything unsynced could never show it.
TEST(PowerCutModelTest, AnUnlinkCanSurviveWhileAnotherFilesWriteIsLost) {
  auto ops = [](FaultInjectionEnv& env, const std::string& d) {
    WriteSynced(env, d + "/wal", "before");
    WriteSynced(env, d + "/object", "data");
    ASSERT_TRUE(env.SyncDir(d).ok());
    WriteUnsynced(env, d + "/wal", "commit");
    ASSERT_TRUE(env.Unlink(d + "/object").ok());
  };
  auto look = [](const std::string& d) {
    return std::make_pair(Contents(d + "/wal"), fs::exists(d + "/object"));
  };
  std::set<std::pair<std::string, bool>> seen;
  for (uint64_t seed = 0; seed < 64; ++seed) seen.insert(AfterCut(seed, ops, look));
  EXPECT_TRUE(seen.count({"before", false})) << "the unlink never survived a lost write";
  EXPECT_TRUE(seen.count({"commit", true}));
  // What SyncDir and File::Sync made durable survives every seed.
  for (uint64_t seed = 0; seed < 16; ++seed) {
    AfterCut(
        seed,
        [](FaultInjectionEnv& env, const std::string& d) {
          WriteSynced(env, d + "/kept", "synced");
          ASSERT_TRUE(env.SyncDir(d).ok());
          ASSERT_TRUE(env.Rename(d + "/kept", d + "/moved").ok());
        },
        [](const std::string& d) {
          EXPECT_EQ(Contents(d + (fs::exists(d + "/moved") ? "/moved" : "/kept")), "synced");
          EXPECT_NE(fs::exists(d + "/moved"), fs::exists(d + "/kept"));
          return 0;
        });
  }
}

// One seed, one outcome: a failure found by a seed can be replayed.
TEST(PowerCutModelTest, TheSameSeedGivesTheSameOutcome) {
  auto ops = [](FaultInjectionEnv& env, const std::string& d) {
    for (int i = 0; i < 8; ++i) {
      const std::string n = d + "/f" + std::to_string(i);
      WriteSynced(env, n, "synced");
      WriteUnsynced(env, n, "unsynced " + std::to_string(i));
    }
  };
  auto look = [](const std::string& d) {
    std::string all;
    for (int i = 0; i < 8; ++i) {
      const std::string n = d + "/f" + std::to_string(i);
      all += fs::exists(n) ? Contents(n) : "-";
      all += "|";
    }
    return all;
  };
  std::set<std::string> outcomes;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const std::string first = AfterCut(seed, ops, look);
    EXPECT_EQ(AfterCut(seed, ops, look), first) << "seed " << seed;
    outcomes.insert(first);
  }
  EXPECT_GT(outcomes.size(), 1u);
}

}  // namespace
}  // namespace tierfs
