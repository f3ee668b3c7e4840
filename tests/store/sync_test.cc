// ObjectStore::SyncGroup (a file's fsync): it syncs the objects changed since
// their last sync and each directory that gained an object, once — counted
// through FaultInjectionEnv — and what it skips was durable already: after a
// power cut (unsynced data dropped) every synced object reads back whole.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "store/test_util.h"
#include "store/testing/fault_env.h"

namespace tierfs {
namespace {

using test::RandomBytes;

class SyncGroupTest : public test::StoreTest {
 protected:
  // The fsyncs and directory fsyncs that fn performed.
  template <class F>
  std::pair<int, int> Counted(F&& fn) {
    const int files = env_.ops(FaultOp::kSync), dirs = env_.ops(FaultOp::kSyncDir);
    fn();
    return {env_.ops(FaultOp::kSync) - files, env_.ops(FaultOp::kSyncDir) - dirs};
  }
  FaultInjectionEnv env_{Env::Default()};
};

TEST_F(SyncGroupTest, SyncsOnlyWhatChangedAndEachDirectoryOnce) {
  Reopen(test::TestStoreOptions(64 << 10, 1 << 20), &env_);
  constexpr uint64_t kGroup = 7;
  std::vector<std::vector<std::byte>> data;
  std::set<std::string> dirs;
  for (uint64_t i = 0; i < 6; ++i) {
    data.push_back(RandomBytes(20000, static_cast<int>(i)));
    ASSERT_TRUE(store_->Write({kGroup, i}, 0, data.back()).ok());
    dirs.insert(std::filesystem::path(store_->HotPath({kGroup, i})).parent_path());
  }
  ASSERT_TRUE(store_->Write({kGroup + 1, 0}, 0, data[0]).ok());  // another file: not synced
  auto [files, dir_syncs] = Counted([&] { ASSERT_TRUE(store_->SyncGroup(kGroup).ok()); });
  EXPECT_EQ(files, 6);
  EXPECT_EQ(dir_syncs, static_cast<int>(dirs.size()));
  // Nothing changed: nothing to do.
  EXPECT_EQ(Counted([&] { ASSERT_TRUE(store_->SyncGroup(kGroup).ok()); }), std::make_pair(0, 0));
  EXPECT_EQ(Counted([&] { ASSERT_TRUE(store_->Sync({kGroup, 3}).ok()); }), std::make_pair(0, 0));
  // One object overwritten: one fsync, no directory.
  data[2] = RandomBytes(20000, 100);
  ASSERT_TRUE(store_->Write({kGroup, 2}, 0, data[2]).ok());
  EXPECT_EQ(Counted([&] { ASSERT_TRUE(store_->SyncGroup(kGroup).ok()); }), std::make_pair(1, 0));
  // A power cut now loses nothing of the group.
  store_.reset();
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  Reopen();
  for (uint64_t i = 0; i < 6; ++i) EXPECT_EQ(ReadAll({kGroup, i}), data[i]) << "object " << i;
}

}  // namespace
}  // namespace tierfs
