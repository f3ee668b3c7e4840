// MetadataStore with group commit (MetadataOptions::group_commit): changes
// show at once and reach the database only when their batch commits; a
// process that dies leaves exactly the committed batches (a prefix of the
// changes); a failed change undoes itself alone; a batch that cannot commit
// is lost whole and the store then refuses changes.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "tests/fusefs/meta/metadata_test_util.h"

namespace tierfs {
namespace {

class GroupCommitTest : public MetadataTest {
 protected:
  void SetUp() override { Reopen(Grouped()); }

  MetadataOptions Grouped() {
    MetadataOptions opts;
    opts.group_commit = true;
    opts.batch_opened = [this] { ++batches_opened_; };
    return opts;
  }

  // Runs `work` on a group-commit store in a child process that then dies
  // without committing, closing or checkpointing (as a SIGKILL would), and
  // reopens the database in this process. `work` returns false on a failure.
  void CrashAfter(const std::function<bool(MetadataStore&)>& work) {
    store_.reset();
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      MetadataOptions opts;
      opts.group_commit = true;
      auto opened = MetadataStore::Open(db_path(), opts);
      if (!opened.ok()) _exit(1);
      _exit(work(**opened) ? 0 : 2);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    Reopen();
  }

  int batches_opened_ = 0;
};

bool Made(MetadataStore& s, uint64_t parent, std::string_view name, uint32_t mode) {
  return s.Create(parent, name, Node(mode), At(1)).ok();
}

TEST_F(GroupCommitTest, AProcessCrashLeavesExactlyTheCommittedBatches) {
  CrashAfter([](MetadataStore& s) {
    if (!Made(s, kRootIno, "a", S_IFREG | 0644) || !Made(s, kRootIno, "b", S_IFREG | 0644)) {
      return false;
    }
    if (!s.Commit().ok()) return false;
    // Applied at once: later calls see them ...
    if (!Made(s, kRootIno, "c", S_IFREG | 0644) || !Made(s, kRootIno, "d", S_IFDIR | 0755)) {
      return false;
    }
    auto d = s.Lookup(kRootIno, "d");
    if (!d.ok() || !Made(s, d->ino, "e", S_IFREG | 0644)) return false;
    if (!s.Rename(kRootIno, "a", kRootIno, "z", RenameMode::kNormal, At(2)).ok()) return false;
    if (!s.Unlink(kRootIno, "b", At(2)).ok()) return false;
    return s.Lookup(kRootIno, "z").ok() && !s.Lookup(kRootIno, "b").ok();
  });
  // ... but only the committed batch is in the database.
  EXPECT_TRUE(Exists(kRootIno, "a"));
  EXPECT_TRUE(Exists(kRootIno, "b"));
  EXPECT_FALSE(Exists(kRootIno, "c"));
  EXPECT_FALSE(Exists(kRootIno, "d"));
  EXPECT_FALSE(Exists(kRootIno, "z"));
  EXPECT_EQ(*store_->InodeCount(), 3u);
  EXPECT_EQ(Attr(kRootIno).nlink, 2u);  // the uncommitted mkdir took its link back too
  // The numbers the lost creates had are handed out again: LastIno says
  // where the committed ones end (mount-time recovery removes objects above).
  EXPECT_EQ(*store_->LastIno(), Attr(store_->Lookup(kRootIno, "b")->ino).ino);
}

TEST_F(GroupCommitTest, SyncCommitsTheBatchDurably) {
  CrashAfter([](MetadataStore& s) {
    return Made(s, kRootIno, "a", S_IFREG | 0644) && s.Sync().ok() &&
           Made(s, kRootIno, "b", S_IFREG | 0644);
  });
  EXPECT_TRUE(Exists(kRootIno, "a"));
  EXPECT_FALSE(Exists(kRootIno, "b"));
}

TEST_F(GroupCommitTest, AFullBatchCommitsItself) {
  CrashAfter([](MetadataStore& s) {
    for (uint64_t i = 0; i < kMaxBatchOps + 3; ++i) {
      if (!Made(s, kRootIno, Numbered("f", static_cast<int>(i)), S_IFREG | 0644)) return false;
    }
    return true;
  });
  EXPECT_TRUE(Exists(kRootIno, Numbered("f", static_cast<int>(kMaxBatchOps) - 1)));
  EXPECT_FALSE(Exists(kRootIno, Numbered("f", static_cast<int>(kMaxBatchOps))));
  EXPECT_EQ(*store_->InodeCount(), kMaxBatchOps + 1);
}

TEST_F(GroupCommitTest, AFailedChangeUndoesItselfAloneAndTheBatchGoesOn) {
  InodeAttr a = MakeFile(kRootIno, "a");
  EXPECT_TRUE(
      Fails(store_->Create(kRootIno, "a", Node(S_IFREG | 0644), At(2)).status(), Code::kExists));
  EXPECT_TRUE(FailsWith(store_->Rmdir(kRootIno, "a", At(2)).status(), ENOTDIR));
  EXPECT_TRUE(FailsWith(store_->Link(kRootIno, kRootIno, "root2", At(2)).status(), EPERM));
  InodeAttr b = MakeFile(kRootIno, "b");
  EXPECT_EQ(batches_opened_, 1);
  ASSERT_TRUE(store_->Commit().ok());
  EXPECT_TRUE(store_->Commit().ok());  // nothing open: nothing to do
  MakeFile(kRootIno, "c");
  EXPECT_EQ(batches_opened_, 2);
  Reopen();
  EXPECT_EQ(store_->Lookup(kRootIno, "a")->ino, a.ino);
  EXPECT_EQ(store_->Lookup(kRootIno, "b")->ino, b.ino);
  EXPECT_TRUE(Exists(kRootIno, "c"));  // closing the store commits its batch
  EXPECT_FALSE(Exists(kRootIno, "root2"));
  EXPECT_EQ(*store_->InodeCount(), 4u);
}

// A batch whose COMMIT fails (here the WAL cannot grow, as on a full disk)
// is rolled back whole by SQLite: the store says so and takes nothing more.
TEST_F(GroupCommitTest, ALostBatchRefusesEveryLaterChange) {
  InodeAttr f = MakeFile(kRootIno, "f");
  ASSERT_TRUE(store_->Commit().ok());
  ASSERT_TRUE(store_->health().ok());
  MakeFile(kRootIno, "g");
  AttrUpdate u;
  u.size = 777;
  ASSERT_TRUE(store_->SetAttrs({{f.ino, u}}, At(30)).ok());
  EXPECT_EQ(Attr(f.ino).size, 777u);
  const std::string wal = db_path() + "-wal";
  Status st = WithFileFull(wal, [&] { return store_->Commit(); });
  ASSERT_FALSE(st.ok()) << "the WAL grew past RLIMIT_FSIZE";
  EXPECT_FALSE(store_->health().ok());
  EXPECT_NE(store_->health().message().find("lost"), std::string::npos)
      << store_->health().ToString();
  EXPECT_FALSE(store_->Create(kRootIno, "h", Node(S_IFREG | 0644), At(3)).ok());
  EXPECT_FALSE(store_->Sync().ok());
  // What is read now is the committed state, not the lost batch's rows.
  EXPECT_EQ(Attr(f.ino).size, 0u);
  EXPECT_FALSE(Exists(kRootIno, "g"));
  Reopen(Grouped());
  EXPECT_TRUE(store_->health().ok());
  EXPECT_TRUE(Exists(kRootIno, "f"));
  EXPECT_FALSE(Exists(kRootIno, "g"));
  EXPECT_EQ(Attr(f.ino).size, 0u);
}

}  // namespace
}  // namespace tierfs
