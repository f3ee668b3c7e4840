// The control channel over a filesystem core, without FUSE: pin, migrate,
// readonly, where, status and explain, who may use each, and explain's
// pages. Real SQLite, real object files.
#include "fusefs/control/control.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "fusefs/control/explain.h"
#include "fusefs/core/fs_fixture.h"
#include "store/test_util.h"

namespace tierfs {
namespace {

constexpr uint64_t kChunk = test::kFixtureChunk;

class ControlTest : public test::FsFixture {
 protected:
  void SetUp() override { Mount(); }
  // (Re)mounts the store, and the control channel over it.
  void Mount() {
    control_.reset();
    test::FsFixture::Mount();
    control_ = std::make_unique<Control>(*fs_);
  }

  std::unique_ptr<Control> control_;  // over fs_
};

TEST_F(ControlTest, ControlXattrsPinMigrateAndReport) {
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::TextBytes(2 * kChunk, 10));
  ASSERT_TRUE(control_->Set(ino, "user.tierfs.migrate", "cold", Caller{}).ok());
  auto where = control_->Get(ino, "user.tierfs.where", Caller{});
  ASSERT_TRUE(where.ok());
  EXPECT_NE(where->find("\"hot_bytes\":0,\"cold_bytes\":131072"), std::string::npos) << *where;
  ASSERT_TRUE(control_->Set(ino, "user.tierfs.pin", "1", Caller{}).ok());
  EXPECT_TRUE(fs_->UsageOf(ino).pinned);
  EXPECT_TRUE(fs_->store().IsPinned(ino));
  auto status = control_->Get(kRootIno, "user.tierfs.status", Caller{});
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->find("\"cold_objects\":2"), std::string::npos) << *status;
  EXPECT_EQ(control_->Set(ino, "user.tierfs.migrate", "lukewarm", Caller{}).posix_errno(), EINVAL);
  EXPECT_EQ(control_->Remove("user.tierfs.pin").posix_errno(), EINVAL);
  // A name under user.tierfs. that is no control reads as an absent xattr.
  EXPECT_EQ(control_->Get(ino, "user.tierfs.bogus", Caller{}).status().posix_errno(), ENODATA);
  // The FUSE ops send control names here, every other name to the
  // Filesystem, which stores it: so controls are not stored and not
  // listed; ordinary xattrs are.
  EXPECT_TRUE(IsControlName("user.tierfs.pin"));
  EXPECT_TRUE(IsControlName("user.tierfs.bogus"));
  EXPECT_FALSE(IsControlName("user.tierfs"));
  EXPECT_FALSE(IsControlName("user.mine"));
  ASSERT_TRUE(fs_->SetXattr(ino, "user.mine", "v", 0).ok());
  EXPECT_EQ(*fs_->ListXattr(ino), std::vector<std::string>{"user.mine"});
  EXPECT_EQ(fs_->SetXattr(ino, "os2.x", "v", 0).posix_errno(), EOPNOTSUPP);
  Mount();
  EXPECT_TRUE(fs_->store().IsPinned(ino));  // pins persist
}

// The control channel checks who asks: the whole mount's controls are
// root's, a file's its owner's or root's; queries need only what the kernel
// checked (read access). A refused switch to read-only leaves the mount
// writable, a refused pin leaves the file unpinned, also after a remount.
TEST_F(ControlTest, ControlXattrsCheckTheCaller) {
  Caller user;
  user.uid = user.gid = 65534;
  uint64_t mine = 0;
  {
    auto st = fs_->Create(kRootIno, "mine", 0644, user);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    mine = st->st_ino;
  }
  uint64_t roots = NewFile("roots");
  Write(roots, 0, test::TextBytes(kChunk, 40));
  EXPECT_EQ(control_->Set(mine, "user.tierfs.readonly", "1", user).posix_errno(), EPERM);
  EXPECT_FALSE(fs_->read_only());
  EXPECT_EQ(control_->Set(roots, "user.tierfs.pin", "1", user).posix_errno(), EPERM);
  EXPECT_EQ(control_->Set(roots, "user.tierfs.migrate", "cold", user).posix_errno(), EPERM);
  EXPECT_EQ(fs_->UsageOf(roots).cold_bytes, 0u);
  EXPECT_EQ(control_->Get(roots, "user.tierfs.status", user).status().posix_errno(), EPERM);
  EXPECT_TRUE(control_->Get(roots, "user.tierfs.where", user).ok());
  EXPECT_TRUE(control_->Get(roots, "user.tierfs.explain", user).ok());
  ASSERT_TRUE(control_->Set(mine, "user.tierfs.pin", "1", user).ok());
  ASSERT_TRUE(control_->Set(mine, "user.tierfs.migrate", "cold", user).ok());
  Mount();
  EXPECT_FALSE(fs_->read_only());
  EXPECT_FALSE(fs_->store().IsPinned(roots));
  EXPECT_TRUE(fs_->store().IsPinned(mine));
  ASSERT_TRUE(control_->Set(roots, "user.tierfs.readonly", "1", Caller{}).ok());  // root
  EXPECT_TRUE(fs_->read_only());
}

TEST_F(ControlTest, ExplainNamesEachChunkTierAndReason) {
  uint64_t ino = NewFile("f");
  Write(ino, 0, test::TextBytes(2 * kChunk, 13));
  ASSERT_TRUE(fs_->store().Demote({ino, 1}).ok());
  auto e = control_->Get(ino, "user.tierfs.explain", Caller{});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_NE(e->find("\"index\":0,\"tier\":\"hot\""), std::string::npos) << *e;
  EXPECT_NE(e->find("\"index\":1,\"tier\":\"cold\""), std::string::npos) << *e;
  EXPECT_NE(e->find("\"reason\":\"request\""), std::string::npos) << *e;
  EXPECT_NE(e->find("\"reason\":\"new\""), std::string::npos) << *e;
  EXPECT_NE(e->find("\"outlook\":\"never-idle\""), std::string::npos) << *e;  // cold_after < 0
  EXPECT_NE(e->find("],\"next_chunk\":null}"), std::string::npos) << *e;
  // From chunk 1 on: chunk 0 is left out.
  auto from1 = control_->Get(ino, "user.tierfs.explain@1", Caller{});
  ASSERT_TRUE(from1.ok());
  EXPECT_EQ(from1->find("\"index\":0,"), std::string::npos) << *from1;
  EXPECT_NE(from1->find("\"index\":1,"), std::string::npos) << *from1;
  EXPECT_EQ(control_->Get(ino, "user.tierfs.explain@x", Caller{}).status().posix_errno(), EINVAL);
}

TEST_F(ControlTest, ExplainPagesStayUnderTheXattrLimit) {
  uint64_t ino = NewFile("big");
  for (uint64_t i = 0; i < 400; ++i) Write(ino, i * kChunk, test::TextBytes(10, 14));
  std::string name = "user.tierfs.explain";
  std::set<uint64_t> seen;
  for (int page = 0; page < 100; ++page) {
    auto e = control_->Get(ino, name, Caller{});
    ASSERT_TRUE(e.ok());
    EXPECT_LE(e->size(), kMaxExplainBytes);
    for (size_t p = e->find("{\"index\":"); p != std::string::npos;
         p = e->find("{\"index\":", p + 1)) {
      seen.insert(std::stoull(e->substr(p + 9)));
    }
    const size_t at = e->rfind("\"next_chunk\":");
    const std::string next = e->substr(at + 13);
    if (next.rfind("null", 0) == 0) break;
    name = "user.tierfs.explain@" + next.substr(0, next.size() - 1);
  }
  EXPECT_EQ(seen.size(), 400u);
}

}  // namespace
}  // namespace tierfs
