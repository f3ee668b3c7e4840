// FaultInjectionEnv's crash model itself: file contents are durable at
// File::Sync, directory entries (create, mkdir, rename, unlink) only after
// SyncDir of their directory; DropUnsyncedData applies what a power cut
// leaves.
#include "store/fault_env.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

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
  auto f = env_.Open(d_ + "/new", OpenOptions{.write = true});
  ASSERT_TRUE(f.ok());
  const std::string lost = "LOST!!!";
  ASSERT_TRUE((*f)->PWrite(0, std::as_bytes(std::span(lost))).ok());
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
  auto f = env_.Open(d_ + "/f", OpenOptions{.write = true});
  ASSERT_TRUE(f.ok());
  const std::string lost = "unsynced";
  ASSERT_TRUE((*f)->PWrite(0, std::as_bytes(std::span(lost))).ok());
  f->reset();
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

}  // namespace
}  // namespace tierfs
